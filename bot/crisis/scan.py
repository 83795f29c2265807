"""`python -m bot scan`: run the detector over messages on stdin, one result per line.

Input: bytes, one message per line; either a JSON object with a string "text" field or
plain text (a line starting with "{" must be such a JSON object). Output: one JSON object
per input line, in order. Message text is never written anywhere, errors included.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import BinaryIO, TextIO

from bot.crisis.detector import Detector, default_detector

_NO_CRISIS = json.dumps({"crisis": False, "category": None, "severity": None,
                         "subject": None, "rule": None})


def _text_of(line: bytes) -> tuple[str | None, str | None]:
    """(text, None) or (None, error message). The error never contains the text."""
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"
    decoded = decoded.rstrip("\r\n")
    if not decoded.lstrip().startswith("{"):
        return decoded, None
    try:
        obj = json.loads(decoded)
    except (ValueError, RecursionError) as exc:
        pos = getattr(exc, "pos", None)
        where = f" at character {pos}" if pos is not None else ""
        return None, f"invalid JSON{where}"
    if not isinstance(obj, dict):
        return None, "JSON line is not an object"
    if "text" not in obj:
        return None, "JSON object has no \"text\" field"
    if not isinstance(obj["text"], str):
        return None, "\"text\" field is not a string"
    return obj["text"], None


def run_scan(stdin: BinaryIO, stdout: TextIO, stderr: TextIO, summary: bool = False,
             detector: Detector | None = None) -> int:
    """Scan every line of `stdin`; write one JSON result per line to `stdout`. Returns 0:
    unreadable lines are answered with an {"error": ...} line and the scan goes on."""
    det = detector or default_detector()
    counts: Counter[str] = Counter()
    for number, line in enumerate(stdin, start=1):
        counts["lines"] += 1
        text, error = _text_of(line)
        if error is not None:
            counts["errors"] += 1
            stdout.write(json.dumps({"error": f"line {number}: {error}"}) + "\n")
            continue
        found = det.detect(text or "")
        if found is None:
            stdout.write(_NO_CRISIS + "\n")
            continue
        counts["crises"] += 1
        counts[f"{found.category}/{found.severity}"] += 1
        stdout.write(json.dumps({"crisis": True, "category": found.category,
                                 "severity": found.severity, "subject": found.subject,
                                 "rule": found.rule}) + "\n")
    stdout.flush()
    if summary:
        stderr.write(f"lines: {counts['lines']}\n")
        stderr.write(f"crises: {counts['crises']}\n")
        for key in sorted(k for k in counts if "/" in k):
            stderr.write(f"  {key}: {counts[key]}\n")
        stderr.write(f"errors: {counts['errors']}\n")
        stderr.flush()
    return 0
