"""The `scan` contract: one JSON result per line, in order, never echoing message text."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.crisis.normalize import MAX_CHARS
from bot.crisis.scan import run_scan, windows

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


def test_crisis_at_the_end_of_a_long_line_is_found() -> None:
    """A line longer than the detector's limit is scanned in windows, to its end."""
    filler = "we talked about the meeting and the weather and the long drive home " * 300
    assert len(filler) > 2 * MAX_CHARS
    for text in (filler + "i want to die", "i want to die " + filler,
                 filler[:MAX_CHARS - 5] + " i want to die " + filler):
        _, lines, _, _ = _scan(json.dumps({"text": text}).encode() + b"\n")
        assert lines[0]["crisis"] is True and lines[0]["rule"] == "suicide-passive-self"
    _, lines, _, _ = _scan(filler.encode() + b"\n")
    assert lines[0]["crisis"] is False


def test_the_most_serious_window_wins() -> None:
    """An urgent crisis in a later window beats a concern in an earlier one."""
    filler = "and then we went to the shop for some bread " * 300
    text = "i want to die " + filler + " i took all my pills"
    _, lines, _, _ = _scan(text.encode() + b"\n")
    assert (lines[0]["category"], lines[0]["severity"]) == ("overdose", "urgent")


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet="abc", min_size=1, max_size=30), max_size=600),
       size=st.integers(200, 800))
def test_windows_cover_the_text_without_cutting_words(words: list[str], size: int) -> None:
    """Windows are at most `size` long, cover every character, overlap, and start and end
    at spaces, so no word is cut into a shorter one."""
    text = " ".join(words)
    overlap = size // 4
    pieces = list(windows(text, size, overlap))
    assert all(len(p) <= size for p in pieces)
    assert pieces[0] == text[:len(pieces[0])]
    assert text.endswith(pieces[-1])
    covered = 0
    position = 0
    for piece in pieces:
        position = text.index(piece, position)
        assert position <= covered  # no gap
        assert position == 0 or text[position - 1] == " "
        end = position + len(piece)
        assert end == len(text) or text[end] == " "
        covered = end
        position += 1
    assert covered == len(text)


class _Trickle(io.RawIOBase):
    """Input that arrives one line per read; records what was answered before each read."""

    def __init__(self, lines: list[bytes], out: io.StringIO):
        self.lines, self.out, self.seen = list(lines), out, []

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        self.seen.append(self.out.getvalue().count("\n"))
        return self.lines.pop(0) if self.lines else b""


def test_each_batch_is_answered_before_the_next_read() -> None:
    """A slow producer gets each answer as soon as its line is complete."""
    out = io.StringIO()
    stdin = _Trickle([b"hello\n", b"i want to ", b"die\n", b"bye"], out)
    run_scan(stdin, out, io.StringIO())
    assert stdin.seen == [0, 1, 1, 2, 2]  # "bye" has no newline: answered at the end
    assert [json.loads(line)["crisis"] for line in out.getvalue().splitlines()] == [
        False, True, False]
