"""Unicode: compatibility forms, case folding, look-alike letters, format characters,
combining marks and symbols, in one translate table and a few whole-string passes."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import cast

from bot.crisis.normalize.ascii import (
    ASCII_TABLE,
    BREAK,
    BYTES_DELETE,
    BYTES_TABLE,
    COMMA,
    DOT,
    SOFT_BREAK,
    ascii_fast,
)
from bot.crisis.normalize.homoglyphs import HOMOGLYPHS
from bot.crisis.normalize.leet import symbol_leet
from bot.crisis.normalize.spelling import join_dotted

_QUOTES = "'‘’‛′´ʼ"
_DECOMPOSED_QUOTES = [q for q in _QUOTES if unicodedata.normalize("NFKD", q) != q]


# Everything above ASCII that is assigned, as far as the tables go (above U+30000 only tags
# and variation selectors matter: the rest is unassigned or private use).
_RANGES = (range(0x80, 0x30000), range(0xE0000, 0xE1000))


def build_unicode_table() -> dict[int, str | None]:
    """One translate table for the slow path: drop format/control/unassigned code points,
    map homoglyphs and Unicode punctuation, and put spaces around symbols (emoji) so that
    "💊💊" becomes two words."""
    table: dict[int, str | None] = dict(ASCII_TABLE)
    for rng in _RANGES:
        for cp in rng:
            ch = chr(cp)
            cat = unicodedata.category(ch)
            if cat in ("Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me"):
                table[cp] = None
            elif cat in ("Zs", "Zl", "Zp"):
                table[cp] = " " if cat == "Zs" else f" {BREAK} "
            elif cat == "So" or cat == "Sk":
                table[cp] = f" {ch} "
            elif cat in ("Pd", "Ps", "Pe", "Pc", "Sm", "Sc"):
                table[cp] = " "
            elif cat in ("Pi", "Pf", "Po"):
                table[cp] = None if ch in _QUOTES else f" {BREAK} "
    # Emoji variation selectors are Mn and already dropped; skin tones are Sk: drop them.
    for cp in range(0x1F3FB, 0x1F400):
        table[cp] = None
    for src, dst in HOMOGLYPHS.items():
        table[ord(src)] = dst
    for q in _QUOTES:
        table[ord(q)] = None
    table[ord("\u2026")] = f" {BREAK} "  # ellipsis
    table[ord("、")] = f" {SOFT_BREAK} "
    table[ord("，")] = f" {SOFT_BREAK} "
    return table


TABLE_END = 0x30000


@functools.cache
def unicode_table() -> list[int | str | None]:
    """`build_unicode_table` as a list indexed by code point (below U+30000; identity is the
    code point itself). str.translate looks a list up without hashing and without raising
    KeyError for every unmapped character, about twice as fast as with the dict. Above the
    list only the tag block U+E0000-U+E0FFF is mapped (dropped): see `unicode_step`."""
    table: list[int | str | None] = list(range(TABLE_END))
    for cp, value in build_unicode_table().items():
        if cp < TABLE_END:
            table[cp] = value
        elif not (TAGS_START <= cp < TAGS_END and value is None):  # pragma: no cover
            raise AssertionError(f"unexpected table entry U+{cp:X}")
    return table


TAGS_START, TAGS_END = 0xE0000, 0xE1000
_TAGS_RE = re.compile("[\U000E0000-\U000E0FFF]+")
_TAGS_UTF8 = "\U000E0000".encode()[:2]  # the first two bytes of every tag character
_MARKS = ("Mn", "Me")  # nonspacing and enclosing combining marks (accents, zalgo)


@functools.cache
def _marks_re() -> re.Pattern[str]:
    """Runs of combining marks below U+10000: one regex pass drops them all. (With a
    character above U+FFFF in the class, the regex engine would test every other character
    against each of those ranges in turn; marks up there are left to the Unicode table.)"""
    marks = [cp for cp in range(0x80, 0x10000) if unicodedata.category(chr(cp)) in _MARKS]
    spans: list[list[int]] = []
    for cp in marks:
        if spans and spans[-1][1] == cp - 1:
            spans[-1][1] = cp
        else:
            spans.append([cp, cp])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                                    for a, b in spans) + "]+")


def strip_marks(text: str) -> str:
    """`text`, decomposed (NFKD), without its combining marks (below U+10000): "dié" and
    "die" + U+0301 both become "die", and zalgo text its letters."""
    for quote in _DECOMPOSED_QUOTES:
        # "I´m": an apostrophe to drop, not a space and an accent.
        if quote in text:
            text = text.replace(quote, "")
    return _marks_re().sub("", unicodedata.normalize("NFKD", text))


# Invisible characters used to split words ("k\u200bill"). Removing them first often leaves
# plain ASCII, which skips the Unicode work below (a large share of adversarial input).
# One str.replace per character present: a translate table would cost a dict look-up (and
# a KeyError) for every character of the message.
INVISIBLE = tuple(chr(cp) for cp in (0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E,
                                      0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF))
_ALL_ASCII = bytes(range(128))
# Up to this many distinct non-ASCII characters (in up to _MAX_REST bytes of them), one
# str.replace each beats translating every character of a long text.
_MAX_REST = 1024
_MAX_DISTINCT = 32


def unicode_step(text: str) -> str:
    """The non-ASCII part of `_slow`: NFKD without combining marks, case folding, symbol
    leetspeak, the Unicode table (homoglyphs included), then NFKC."""
    # Marks go before case folding, which would turn U+0345 (a mark) into a letter. Case
    # folding brings no mark back and keeps the text NFKD (a unit test checks this for
    # every character).
    text = strip_marks(text).casefold()
    text = join_dotted(symbol_leet(text))
    if text.isascii():
        # Only ASCII left: the byte table does the same as the Unicode table (up to runs
        # of spaces, which _tail collapses), and NFKC leaves ASCII alone.
        return ascii_fast(text)
    table = unicode_table()
    utf8 = text.encode("utf-8", "surrogatepass")
    # The non-ASCII characters of the text (UTF-8 keeps ASCII bytes apart).
    rest = utf8.translate(None, _ALL_ASCII)
    chars = set(rest.decode("utf-8", "surrogatepass")) if len(rest) <= _MAX_REST else ()
    if 0 < len(chars) <= _MAX_DISTINCT:
        # ASCII punctuation as bytes, then each distinct non-ASCII character once. No
        # replacement introduces a character that a later one would change again.
        raw = utf8.translate(BYTES_TABLE, BYTES_DELETE)
        if DOT in raw:
            raw = raw.replace(b".", b" . ")
        if COMMA in raw:
            raw = raw.replace(b",", b" , ")
        text = raw.decode("utf-8", "surrogatepass")
        for ch in chars:
            cp = ord(ch)
            if cp < TABLE_END:
                new = table[cp]
                if new.__class__ is not int:
                    text = text.replace(ch, cast("str | None", new) or "")
            elif TAGS_START <= cp < TAGS_END:
                text = text.replace(ch, "")
    else:
        if _TAGS_UTF8 in utf8:
            text = _TAGS_RE.sub("", text)
        text = text.translate(table)
    return unicodedata.normalize("NFKC", text)
