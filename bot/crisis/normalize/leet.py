"""Leetspeak: digits and symbols standing for letters (``k1ll``, ``d!e``, ``$uicide``).

A leet character counts only between two letters (k1ll, d!e) or as the first character
of a word followed by two letters ($uicide, 0verdose); "30mg" and "24/7" are untouched.
Symbols are undone before punctuation becomes spaces, digits after (so that characters
dropped in between, such as apostrophes, cannot hide a digit from the rule). Look-alike
letters count as the letters they stand for (see homoglyphs.py).
"""

from __future__ import annotations

import re

from bot.crisis.normalize.homoglyphs import LETTER, LETTER_OR_DIGIT

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "!": "i", "$": "s",
        "@": "a", "|": "l", "+": "t"}
# One pattern per symbol with a plain replacement string (no Python callback per match).
# Each starts with the symbol itself so that the regex engine jumps from one occurrence to
# the next instead of trying every position; the lookbehinds look back over it (".").
_SYMBOL_SUBS = [
    (sym, re.compile(
        re.escape(sym) + f"(?:(?<={LETTER}.)(?={LETTER})"
        + (f"|(?<!{LETTER_OR_DIGIT}.)(?={LETTER}{{2}})" if sym in "$@" else "") + ")"))
    for sym in "!$@|+"]
DIGIT_TABLE = str.maketrans({k: v for k, v in LEET.items() if k.isdigit()})
_LEET_DIGITS = "013457"
# On words separated by single spaces, with a space at both ends. A whole word of letters
# and leet digits that starts with a letter and has a digit ("w4nt", "d13"); possessive, so
# no pass back over a word. And a word that starts with 0, 1 or 3 before two letters
# ("0verdose"): only that first digit changes (one pattern per digit, each starting with a
# literal, with a plain replacement string).
_LEET_WORD_RE = re.compile(r" ([a-z]++[013457][a-z013457]*+)(?= )")
_LEET_INITIAL = [(f" {d}", re.compile(f" {d}(?=[a-z]{{2}})"), f" {LEET[d]}") for d in "013"]
# 1 for the leet characters, 0 for the others: one bytes.translate and a memchr test.
LEET_FLAGS = bytes(int(chr(c) in LEET) for c in range(256))


def digit_leet(text: str) -> str:
    """Undo leet digits in words ("w4nt t0 d13" -> "want to die"); "30mg" stays."""
    if not any(d in text for d in _LEET_DIGITS):
        return text
    # C-level operations only: the leet words are cut out with one regex split, translated
    # all at once (NUL keeps them apart) and put back; then the word-initial digits.
    text = f" {text} "
    parts = _LEET_WORD_RE.split(text)
    if len(parts) > 1:
        words = parts[1::2]
        if "\x00" in text:  # never after the tables (control characters are dropped)
            parts[1::2] = [" " + w.translate(DIGIT_TABLE) for w in words]
        else:
            parts[1::2] = (" " + "\x00 ".join(words)).translate(DIGIT_TABLE).split("\x00")
        text = "".join(parts)
    # Whole leet words start with a letter, these with a digit: the two never overlap.
    for literal, pattern, letter in _LEET_INITIAL:
        if literal in text:
            text = pattern.sub(letter, text)
    return text[1:-1]


def symbol_leet(text: str) -> str:
    for sym, pattern in _SYMBOL_SUBS:
        if sym in text:
            text = pattern.sub(LEET[sym], text)
    return text


# Could symbol_leet or digit_leet change an ASCII text? Asked on a copy of the bytes with
# every character replaced by its class, so that a few `in` tests (C, no regex) decide:
# letters -> "a", digits -> "0", "!|+" -> "!", "$@" -> "$", anything else -> ".".
_SYMBOL_CLASSES = bytes(
    ord("a") if chr(c).isascii() and chr(c).isalpha() else ord("0") if 48 <= c <= 57
    else ord("!") if chr(c) in "!|+" else ord("$") if chr(c) in "$@" else ord(".")
    for c in range(256))
# For the normalised form (lower case, single spaces): letters -> "a", 0/1/3 -> "0",
# 4/5/7 -> "1", space -> " ", anything else -> ".".
_DIGIT_CLASSES = bytes(
    ord("a") if 97 <= c <= 122 else ord("0") if chr(c) in "013" else ord("1")
    if chr(c) in "457" else ord(" ") if c == 32 else ord(".")
    for c in range(256))


def symbol_leet_possible(data: bytes) -> bool:
    """Would `symbol_leet` change this ASCII text (lower-cased or not)? Exactly when a leet
    symbol stands between two letters, or a $/@ that does not follow a letter or digit
    comes before two letters."""
    m = b"." + data.translate(_SYMBOL_CLASSES)
    if b"$" not in m:  # (memchr first: the longer patterns are slower to look for)
        return b"!" in m and b"a!a" in m
    return b"a!a" in m or b"a$a" in m or b".$aa" in m or b"!$aa" in m or b"$$aa" in m


def digit_leet_possible(data: bytes) -> bool:
    """Could `digit_leet` change this normalised ASCII text? When a leet digit follows a
    letter, or a 0/1/3 starting a word comes before two letters (a superset: "a1." says
    yes, but the word is not all letters and digits)."""
    m = b" " + data.translate(_DIGIT_CLASSES)
    if b"0" not in m:
        return b"1" in m and b"a1" in m
    return b"a0" in m or b"a1" in m or b" 0aa" in m
