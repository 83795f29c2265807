"""The `scan` contract: one JSON result per line, in order, never echoing message text."""

from __future__ import annotations

import io
import json

from bot.crisis.scan import run_scan

MARKER = "zqxj-marker-7731"


def _scan(data: bytes, summary: bool = False) -> tuple[int, list[dict], str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_scan(io.BytesIO(data), out, err, summary=summary)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, lines, out.getvalue(), err.getvalue()


def test_order_and_fields() -> None:
    """Each input line gives one object, in order, with nulls when there is no crisis."""
    data = b"hello there\n" + json.dumps({"text": "I took all my pills"}).encode() + b"\n\n"
    code, lines, _, _ = _scan(data)
    assert code == 0
    assert lines[0] == {"crisis": False, "category": None, "severity": None,
                        "subject": None, "rule": None}
    assert lines[1]["crisis"] is True and lines[1]["category"] == "overdose"
    assert lines[1]["severity"] == "urgent" and lines[1]["subject"] == "self"
    assert lines[1]["rule"] == "overdose-self"
    assert lines[2]["crisis"] is False  # empty line = empty message
    assert len(lines) == 3


def test_error_lines_continue() -> None:
    """Bad JSON, missing or non-string text and invalid UTF-8 yield errors; the scan goes on."""
    data = b"\n".join([
        b'{"text": 5}', b'{"nope": "x"}', b"{not json", b"\xff\xfe bad bytes", b"[1, 2]",
        b"i want to die",
    ]) + b"\n"
    code, lines, _, _ = _scan(data)
    assert code == 0
    assert all("error" in line for line in lines[:4])
    assert "not a string" in lines[0]["error"]
    assert "no \"text\"" in lines[1]["error"]
    assert "invalid JSON" in lines[2]["error"]
    assert "UTF-8" in lines[3]["error"]
    assert lines[4]["crisis"] is False  # a plain line that does not start with {
    assert lines[5]["crisis"] is True


def test_no_text_is_echoed() -> None:
    """A unique marker in every kind of line never appears in stdout or stderr."""
    data = b"\n".join([
        f"i want to die {MARKER}".encode(),
        f"hello {MARKER}".encode(),
        json.dumps({"text": f"{MARKER} kill myself"}).encode(),
        f'{{"text": "{MARKER}" broken'.encode(),
        f'{{"other": "{MARKER}"}}'.encode(),
        MARKER.encode() + b"\xff",
    ]) + b"\n"
    _, lines, out, err = _scan(data, summary=True)
    assert len(lines) == 6
    assert MARKER not in out and MARKER not in err


def test_summary_counts() -> None:
    """summary=True prints line, crisis and error counts to stderr."""
    data = b"i want to die\nhello\n{bad\n"
    _, _, _, err = _scan(data, summary=True)
    assert "lines: 3" in err and "crises: 1" in err and "errors: 1" in err
    assert "suicide/concern: 1" in err
