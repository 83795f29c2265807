"""Unicode: compatibility forms, case folding, look-alike letters, format characters,
combining marks and symbols, in one translate table and a few whole-string passes."""

from __future__ import annotations

import functools
import re
import unicodedata

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


def build_unicode_table() -> dict[int, str | None]:
    """One translate table for the slow path: drop format/control/unassigned code points,
    map homoglyphs and Unicode punctuation, and put spaces around symbols (emoji) so that
    "💊💊" becomes two words."""
    table: dict[int, str | None] = dict(ASCII_TABLE)
    ranges = [range(0x80, 0x30000), range(0xE0000, 0xE1000)]
    for rng in ranges:
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
_YPOGEGRAMMENI, _IOTA = "\u0345", "\u03b9"  # casefold("\u0345") == "\u03b9"
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_TAGS_RE = re.compile("[\U000E0000-\U000E0FFF]+")
_TAGS_UTF8 = "\U000E0000".encode()[:2]  # the first two bytes of every tag character

# Blocks of 64 code points made (almost) only of combining marks, the ones zalgo text is
# made of: each block is the characters whose UTF-8 starts with one prefix.
_MARK_BLOCKS = (0x0300, 0x0340, 0x1DC0, 0x20C0)


@functools.cache
def _mark_prefixes() -> list[tuple[bytes, re.Pattern[bytes] | None]]:
    """Per block of _MARK_BLOCKS: its UTF-8 prefix, and a pattern for the characters of the
    block that the Unicode table keeps (None if it drops them all)."""
    table = unicode_table()
    prefixes = []
    for start in _MARK_BLOCKS:
        prefix = chr(start).encode()[:-1]
        # The last bytes of the kept characters, as one character class after the prefix.
        kept = b"".join(re.escape(chr(cp).encode()[-1:]) for cp in range(start, start + 64)
                        if table[cp] is not None)
        prefixes.append((prefix, re.compile(re.escape(prefix) + b"[" + kept + b"]")
                         if kept else None))
    return prefixes


def _drop_mark_blocks(utf8: bytes) -> str | None:
    """The text (as UTF-8) without the characters of _MARK_BLOCKS, or None when there are
    none to drop. A block counts only when the Unicode table drops all of its characters
    that the text holds, so the result translates exactly like the text. Deleting the
    prefix bytes is a C-level pass; what is left of each character is invalid UTF-8, which
    the decoder drops (as it does lone surrogates, which the table drops too)."""
    # (An int is looked for with memchr, much faster than a two-byte needle.)
    drop = [prefix for prefix, kept_re in _mark_prefixes()
            if prefix[0] in utf8 and prefix in utf8 and (
                kept_re is None or kept_re.search(utf8) is None)]
    if not drop:
        return None
    # One-byte prefixes all in one pass; the others (rare) one by one.
    utf8 = utf8.translate(None, b"".join(p for p in drop if len(p) == 1))
    for prefix in drop:
        if len(prefix) > 1:
            utf8 = utf8.replace(prefix, b"")
    return utf8.decode("utf-8", "ignore")


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


@functools.cache
def _folds_kept() -> tuple[re.Pattern[str], dict[str, str]]:
    """The letters whose case folding is several characters that NFKC composes back into
    the letter (see `_fold_kept`), as a pattern and a map to their folding."""
    kept = {}
    for cp in range(0x80, 0x10000):  # (multi-character foldings are all below U+FB20)
        ch = chr(cp)
        fold = ch.casefold()
        if (len(fold) > 1 and unicodedata.normalize("NFKC", ch) == ch
                and unicodedata.normalize("NFD", fold) == unicodedata.normalize("NFD", ch)):
            kept[ch] = fold
    return re.compile("[" + "".join(kept) + "]"), kept


def _fold_kept(text: str, folded: str) -> str | None:
    """NFKC(folded), where folded = text.casefold() and text is NFKC, without a second NFKC
    pass when case folding changed only characters that NFKC gives back; else None.

    Zalgo text is thousands of marks, and a second pass over them is slow. Their case
    folding usually changes only U+0345 (a mark, folded to a plain iota) and letters such as
    U+1E99 (y with a ring, folded to "y" and the ring): letters whose folding is their own
    canonical decomposition, which NFKC composes again. Left over after NFKC, U+0345 is the
    last mark of its sequence (it has the highest combining class); an iota there composes
    with nothing, so NFKC leaves it (checked for every character when this was written)."""
    kept_re, kept = _folds_kept()
    if _YPOGEGRAMMENI in text:
        text = text.replace(_YPOGEGRAMMENI, _IOTA)
    expected = text
    if len(folded) != len(text):  # (those letters fold to several characters)
        for ch in set(kept_re.findall(text)):
            expected = expected.replace(ch, kept[ch])
    return text if expected == folded else None


def unicode_step(text: str) -> str:
    """The non-ASCII part of `_slow`: NFKC, case folding, symbol leetspeak, the Unicode table
    (homoglyphs included), then NFKC again."""
    # ASCII capitals are folded first: case folding turns them into the same letters after
    # the first NFKC anyway, and this way that NFKC already composes the lower-case letters
    # with their marks, which usually spares the second NFKC (see _fold_kept). The result
    # is the same (checked, when this was written, for every ASCII letter followed by any
    # two marks of U+0300-U+036F, U+1DC0-U+1DFF and U+20D0-U+20F0). As bytes: translating
    # a non-ASCII str is slow.
    ascii_part = text.encode("ascii", "ignore")
    if ascii_part != ascii_part.lower():
        text = text.encode("utf-8", "surrogatepass").translate(_ASCII_LOWER).decode(
            "utf-8", "surrogatepass")
    text = unicodedata.normalize("NFKC", text)
    folded = text.casefold()
    if folded != text:
        text = _fold_kept(text, folded) or unicodedata.normalize("NFKC", folded)
    text = join_dotted(symbol_leet(text))
    if text.isascii():
        # Only ASCII left: the byte table does the same as the Unicode table (up to runs
        # of spaces, which _tail collapses), and NFKC leaves ASCII alone.
        return ascii_fast(text)
    table = unicode_table()
    utf8 = text.encode("utf-8", "surrogatepass")
    # The non-ASCII characters of the text (UTF-8 keeps ASCII bytes apart).
    rest = utf8.translate(None, _ALL_ASCII)
    if len(rest) > _MAX_REST:
        # Zalgo: translating thousands of combining marks one by one is the slow part.
        marked = _drop_mark_blocks(utf8)
        if marked is not None:
            text = marked
            utf8 = text.encode("utf-8")
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
                    text = text.replace(ch, new or "")
            elif TAGS_START <= cp < TAGS_END:
                text = text.replace(ch, "")
    else:
        if _TAGS_UTF8 in utf8:
            text = _TAGS_RE.sub("", text)
        text = text.translate(table)
    return unicodedata.normalize("NFKC", text)
