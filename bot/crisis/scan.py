"""`python -m bot scan`: run the detector over messages on stdin, one result per line.

Input: bytes, one message per line; either a JSON object with a string "text" field or
plain text (a line starting with "{" must be such a JSON object). Output: one JSON object
per input line, in order. Message text is never written anywhere, errors included.

Input is read in batches of whatever has arrived (one read of up to 64 KiB), and the
answers to a batch are written and flushed together: a file streams through at full
speed, and a line typed or piped in slowly is answered as soon as it is complete.
Lines longer than the detector's limit are scanned in overlapping windows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Protocol, TextIO

from bot.crisis.detector import Detection, Detector, default_detector
from bot.crisis.hybrid import ModelState, Policy, Verdict, fuse
from bot.crisis.model import CrisisModel
from bot.crisis.normalize import MAX_CHARS

_NO_CRISIS = json.dumps({"crisis": False, "category": None, "severity": None,
                         "subject": None, "rule": None})
_CHUNK = 1 << 16
# Consecutive windows of a long line share this many characters, so that a phrase with
# the words around it (contexts look a few dozen words away at most) is whole in one.
OVERLAP = 1000
_SPACES = " \n\t\r"


class Readable(Protocol):
    """Binary input with `read1` (sys.stdin.buffer, io.BytesIO): one read of what is there."""

    def read1(self, size: int = ..., /) -> bytes: ...


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


def windows(text: str, size: int = MAX_CHARS, overlap: int = OVERLAP) -> Iterator[str]:
    """`text` in pieces of at most `size` characters, each sharing `overlap` characters with
    the next. Pieces start and end at white space where there is some nearby, so that no
    word is cut into a shorter one ("skill" into "kill")."""
    start = 0
    while len(text) - start > size:
        end = start + size
        low = end - overlap // 2
        cut = max(text.rfind(ch, low, end) for ch in _SPACES)
        if cut <= low:
            cut = end
        yield text[start:cut]
        nxt = cut - overlap
        space = min((i for i in (text.find(ch, nxt, cut) for ch in _SPACES) if i >= 0),
                    default=-1)
        start = space + 1 if space >= 0 else nxt
    yield text[start:]


def detect_long(det: Detector, text: str) -> Detection | None:
    """The most serious detection in any window of `text` (one call for a short text)."""
    if len(text) <= MAX_CHARS:
        return det.detect(text)
    best: Detection | None = None
    for piece in windows(text):
        found = det.detect(piece)
        if found is not None and (best is None or found.rank > best.rank):
            best = found
    return best


def _lines(stdin: Readable) -> Iterator[list[bytes]]:
    """Batches of complete lines: those that one read of the input brought in."""
    rest = b""
    while True:
        chunk = stdin.read1(_CHUNK)
        if not chunk:
            if rest:
                yield [rest]
            return
        lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = lines.pop()
        if lines:
            yield lines


# With the model, answers are written in groups this size, so the first comes quickly.
MODEL_GROUP = 32


def _result(found: Detection | None, verdict: Verdict | None, explain: bool) -> dict:
    out: dict = {"crisis": found is not None,
                 "category": found.category if found else None,
                 "severity": found.severity if found else None,
                 "subject": found.subject if found else None,
                 "rule": found.rule if found else None}
    if verdict is not None and explain:
        # Which part decided, and why; the output shape without --explain is unchanged.
        out["decided_by"] = verdict.decided_by
        out["model"] = verdict.model
        out["probability"] = (round(verdict.probability, 3)
                              if verdict.probability is not None else None)
        rule = verdict.rule_detection
        out["rule_hit"] = rule.rule if rule else None
    return out


def run_scan(stdin: Readable, stdout: TextIO, stderr: TextIO, summary: bool = False,
             detector: Detector | None = None, model: CrisisModel | None = None,
             policy: Policy | None = None, explain: bool = False) -> int:
    """Scan every line of `stdin`; write one JSON result per line to `stdout`. Returns 0:
    unreadable lines are answered with an {"error": ...} line and the scan goes on.

    With a model, each line is decided as the bot decides (rules, then the model, fused by
    `policy`); `explain` adds the model's probability and which rule fired, never text."""
    det = detector or default_detector()
    policy = policy or Policy()
    counts: Counter[str] = Counter()
    number = 0
    for batch in _lines(stdin):
        step = MODEL_GROUP if model is not None else len(batch)
        for i in range(0, len(batch), step):
            out: list[str] = []
            group = batch[i:i + step]
            parsed = []
            for line in group:
                number += 1
                text, error = _text_of(line)
                parsed.append((number, text or "", error))
            texts = [t for _, t, e in parsed if e is None]
            scores = iter(model.score(texts) if model is not None and texts else ())
            for n, text, error in parsed:
                if error is not None:
                    counts["errors"] += 1
                    out.append(json.dumps({"error": f"line {n}: {error}"}))
                    continue
                found = detect_long(det, text)
                verdict = None
                if model is not None:
                    verdict = fuse(found, next(scores), ModelState.SCORED, policy)
                    found = verdict.detection
                    counts[f"decided by {verdict.decided_by}"] += 1
                if found is None and not explain:
                    out.append(_NO_CRISIS)
                    continue
                if found is not None:
                    counts["crises"] += 1
                    counts[f"{found.category}/{found.severity}"] += 1
                out.append(json.dumps(_result(found, verdict, explain)))
            out.append("")
            stdout.write("\n".join(out))
            stdout.flush()
    counts["lines"] = number
    if summary:
        stderr.write(f"lines: {counts['lines']}\n")
        stderr.write(f"crises: {counts['crises']}\n")
        for key in sorted(k for k in counts if "/" in k):
            stderr.write(f"  {key}: {counts[key]}\n")
        for key in sorted(k for k in counts if k.startswith("decided by")):
            stderr.write(f"{key}: {counts[key]}\n")
        stderr.write(f"errors: {counts['errors']}\n")
        stderr.flush()
    return 0
