"""Words spelled out: elongation (``dieeee``), letter spacing (``k i l l``) and dotted
letters (``c.u.t``)."""

from __future__ import annotations

import operator
import re

from bot.crisis.normalize.homoglyphs import LETTER

ELONG_RE = re.compile(r"([a-z])\1\1+")
# C-level replacement for r"\1": a template would call back into Python for every match.
GROUP1 = operator.itemgetter(1)
# On text with a space at both ends: three single-letter words in a row ("k i l").
SPACED_RE = re.compile(r" [a-z] [a-z] [a-z] ")
# A run of three or more single-letter words, without its leading space.
_RUN_RE = re.compile(r" ([a-z](?: [a-z]){2,})(?= )")
# Three or more single letters joined by dots ("c.u.t", "k.y.s."): the match starts at the
# first dot (a literal, so the regex engine jumps from dot to dot) and runs to the last
# letter; the letter before it must not follow a letter or digit, and the last one must not
# be followed by one. Look-alike letters count as letters (see LETTER). A final dot stays a
# sentence break. "e.g." and "i.e." have two letters and are left alone.
_WORDISH = r"[^\W_]"
_DOTTED_RE = re.compile(
    rf"(\.(?<={LETTER}\.)(?<!{_WORDISH}{LETTER}\.){LETTER}(?:\.{LETTER})+)(?!{_WORDISH})")
# The same on raw ASCII bytes of any case, for `quick`.
DOTTED_ASCII_RE = re.compile(
    rb"\.(?<=[A-Za-z]\.)(?<![A-Za-z0-9][A-Za-z]\.)[A-Za-z](?:\.[A-Za-z])+(?![A-Za-z0-9])")


def join_dotted(text: str) -> str:
    """Drop the dots of dotted single letters ("c.u.t" -> "cut"). One regex split; the
    matches (letters and dots only) are undotted all at once, kept apart by spaces."""
    if "." not in text:
        return text
    parts = _DOTTED_RE.split(text)
    if len(parts) > 1:
        parts[1::2] = " ".join(parts[1::2]).replace(".", "").split(" ")
        text = "".join(parts)
    return text


def maybe_triple(text: str) -> bool:
    """Does `text` hold three equal letters a-z in a row (what ELONG_RE looks for)?

    XOR of the bytes with themselves shifted by one byte is zero where two neighbours are
    equal; OR-ing in 1 wherever the byte is not a letter leaves zero only where a letter
    equals the next byte; two zero bytes in a row mean three equal letters. A few
    big-integer operations in C, several times cheaper than a regex with a back-reference."""
    if text.isascii():
        raw = text.encode("ascii")
    else:
        # First without the other characters (few, or most of the text: then this is very
        # short): dropping them can only add triples, so "no" is final.
        raw = text.encode("ascii", "ignore")
        n = int.from_bytes(raw, "little")
        if b"\x00\x00" not in (n ^ (n >> 8)).to_bytes(len(raw), "little"):
            return False
        raw = text.encode("ascii", "replace")  # other characters become "?", not a letter
    n = int.from_bytes(raw, "little")
    x = (n ^ (n >> 8)) | int.from_bytes(raw.translate(_NOT_LETTER), "little")
    return b"\x00\x00" in x.to_bytes(len(raw), "little")


_NOT_LETTER = bytes(0 if 97 <= c <= 122 else 1 for c in range(256))


def join_spaced(tokens: list[str]) -> list[str]:
    """Join runs of three or more single-letter tokens into one word (reference version of
    `join_runs`, used when the text holds a NUL)."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and "a" <= tok <= "z":
            run.append(tok)
            continue
        if len(run) >= 3:
            joined = ELONG_RE.sub(r"\1", "".join(run))
            # A run of one repeated letter ("a a a") would collapse to a single letter and
            # be joined with its neighbours on a second pass; leave it as it is.
            if len(joined) >= 2:
                out.append(joined)
            else:
                out.extend(run)
        else:
            out.extend(run)
        run = []
        if tok:
            out.append(tok)
    return out


def join_runs(text: str) -> str:
    """`join_spaced` on a whole single-spaced text, with C-level string operations only:
    the runs are cut out with one regex split, joined and de-elongated all at once (NUL
    keeps them apart), and put back."""
    if "\x00" in text:  # never after the tables above (control characters are dropped)
        return " ".join(join_spaced(text.split(" ")))
    parts = _RUN_RE.split(f" {text} ")
    runs = parts[1::2]
    if not runs:
        return text
    joined = "\x00".join(runs).replace(" ", "")
    if maybe_triple(joined):
        joined = ELONG_RE.sub(GROUP1, joined)
    words = joined.split("\x00")
    if min(map(len, words)) < 2:
        words = [w if len(w) >= 2 else r for w, r in zip(words, runs, strict=True)]
    parts[1::2] = (" " + "\x00 ".join(words)).split("\x00")
    return "".join(parts)[1:-1]
