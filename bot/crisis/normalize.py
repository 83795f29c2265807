"""Turn a chat message into the plain form the crisis rules are matched against.

The output is lower-case words separated by single spaces. Sentence punctuation
(``. ! ? ; :`` and new lines) becomes a ``.`` token and commas a ``,`` token, so the
context checks can stop at clause breaks; other punctuation and Discord markdown
become spaces; apostrophes are dropped (``don't`` -> ``dont``). Rule phrases go
through the same function, so a rule written as "I'm" matches "im", "I'm" and "I’m".

Evasions undone: Unicode compatibility forms (NFKC) and case folding, zero-width and
other format characters, combining marks ("zalgo"), Cyrillic/Greek look-alike letters,
leetspeak inside words (``k1ll``, ``d!e``, ``$uicide``), elongation (``dieeee`` -> ``die``;
runs of three or more of one letter become one), and letter-spaced words
(``k i l l  m y s e l f`` -> ``killmyself``; the rule loader adds space-free variants of
every phrase so that form matches too). Letters separated by hyphens or asterisks
(``o-v-e-r-d-o-s-e``, ``c*u*t``) are letter-spaced words once those become spaces; three or
more single letters joined by dots (``c.u.t``, ``k.y.s.``) are joined too, a final dot
staying a sentence break (``e.g.`` and ``i.e.`` have two letters and stay as they are).

Speed: most messages are short ASCII without any of those tricks. They take the fast
path (one ``bytes.translate`` + a split/join, see `quick`). The full path does every step
with whole-string C operations (``str.replace``, ``bytes.translate``, regex passes with a
literal first character, no Python callback per character or per match), so its cost grows
linearly with the length of the message whatever it contains; cheap checks skip the steps
that have nothing to do. ``normalize`` is idempotent.
"""

from __future__ import annotations

import operator
import re
import sys
import unicodedata

# Discord allows 4,000 characters (Nitro); anything longer is cut so that no input
# can make the detector slow.
MAX_CHARS = 6000

BREAK = "."
SOFT_BREAK = ","

# --- ASCII punctuation and markdown ---------------------------------------------------
_SENTENCE = ".!?;:\n\r\t\v\f"
_SPACE = "`*_~|>#\"()[]{}<>/\\-+=&^%$@"
_ASCII_TABLE: dict[int, str | None] = {c: None for c in range(32)}  # control chars
_ASCII_TABLE.update({ord(c): f" {BREAK} " for c in _SENTENCE})
_ASCII_TABLE.update({ord(c): " " for c in _SPACE})
_ASCII_TABLE[ord(",")] = f" {SOFT_BREAK} "
_ASCII_TABLE[ord("'")] = None
_ASCII_TABLE[0x7F] = None

# --- look-alike letters from other scripts (after case folding) ------------------------
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "ո": "n", "ս": "u", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ъ": "b", "ь": "b", "г": "r", "п": "n", "и": "u", "л": "n", "ц": "u",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "σ": "o", "ς": "s", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "μ": "u", "δ": "d", "θ": "o", "λ": "l",
    # Latin look-alikes outside a-z
    "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t",
}

_QUOTES = "'‘’‛′´ʼ"


def _build_unicode_table() -> dict[int, str | None]:
    """One translate table for the slow path: drop format/control/unassigned code points,
    map homoglyphs and Unicode punctuation, and put spaces around symbols (emoji) so that
    "💊💊" becomes two words."""
    table: dict[int, str | None] = dict(_ASCII_TABLE)
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
    for src, dst in _HOMOGLYPHS.items():
        table[ord(src)] = dst
    for q in _QUOTES:
        table[ord(q)] = None
    table[ord("\u2026")] = f" {BREAK} "  # ellipsis
    table[ord("、")] = f" {SOFT_BREAK} "
    table[ord("，")] = f" {SOFT_BREAK} "
    return table


_TABLE_END = 0x30000
_UNICODE_LIST: list[int | str | None] | None = None


def _unicode_table() -> list[int | str | None]:
    """`_build_unicode_table` as a list indexed by code point (below U+30000; identity is the
    code point itself). str.translate looks a list up without hashing and without raising
    KeyError for every unmapped character, about twice as fast as with the dict. Above the
    list only the tag block U+E0000-U+E0FFF is mapped (dropped): see `_unicode_step`."""
    global _UNICODE_LIST
    if _UNICODE_LIST is None:
        table: list[int | str | None] = list(range(_TABLE_END))
        for cp, value in _build_unicode_table().items():
            if cp < _TABLE_END:
                table[cp] = value
            elif not (_TAGS_START <= cp < _TAGS_END and value is None):  # pragma: no cover
                raise AssertionError(f"unexpected table entry U+{cp:X}")
        _UNICODE_LIST = table
    return _UNICODE_LIST


_TAGS_START, _TAGS_END = 0xE0000, 0xE1000
_YPOGEGRAMMENI, _IOTA = "\u0345", "\u03b9"  # casefold("\u0345") == "\u03b9"
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_TAGS_RE = re.compile("[\U000E0000-\U000E0FFF]+")
_TAGS_UTF8 = "\U000E0000".encode()[:2]  # the first two bytes of every tag character

# Blocks of 64 code points made (almost) only of combining marks, the ones zalgo text is
# made of: each block is the characters whose UTF-8 starts with one prefix.
_MARK_BLOCKS = (0x0300, 0x0340, 0x1DC0, 0x20C0)
_MARK_PREFIXES: list[tuple[bytes, re.Pattern[bytes] | None]] | None = None


def _drop_mark_blocks(utf8: bytes) -> str | None:
    """The text (as UTF-8) without the characters of _MARK_BLOCKS, or None when there are
    none to drop. A block counts only when the Unicode table drops all of its characters
    that the text holds, so the result translates exactly like the text. Deleting the
    prefix bytes is a C-level pass; what is left of each character is invalid UTF-8, which
    the decoder drops (as it does lone surrogates, which the table drops too)."""
    global _MARK_PREFIXES
    if _MARK_PREFIXES is None:
        table = _unicode_table()
        prefixes = []
        for start in _MARK_BLOCKS:
            prefix = chr(start).encode()[:-1]
            # The last bytes of the kept characters, as one character class after the prefix.
            kept = b"".join(re.escape(chr(cp).encode()[-1:]) for cp in range(start, start + 64)
                            if table[cp] is not None)
            prefixes.append((prefix, re.compile(re.escape(prefix) + b"[" + kept + b"]")
                             if kept else None))
        _MARK_PREFIXES = prefixes
    # (An int is looked for with memchr, much faster than a two-byte needle.)
    drop = [prefix for prefix, kept_re in _MARK_PREFIXES
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


# --- leetspeak, elongation, letter spacing ----------------------------------------------
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "!": "i", "$": "s",
         "@": "a", "|": "l", "+": "t"}
# A leet character counts only between two letters (k1ll, d!e) or as the first character
# of a word followed by two letters ($uicide, 0verdose); "30mg" and "24/7" are untouched.
# Symbols are undone before punctuation becomes spaces, digits after (so that characters
# dropped in between, such as apostrophes, cannot hide a digit from the rule).
# Look-alike letters count as the letters they stand for ("к!ll"): the Unicode table maps
# them later, and testing for them here gives the same result as mapping them first.
_LETTER = "[a-z" + "".join(_HOMOGLYPHS) + "]"
_LETTER_OR_DIGIT = "[a-z0-9" + "".join(_HOMOGLYPHS) + "]"
# One pattern per symbol with a plain replacement string (no Python callback per match).
# Each starts with the symbol itself so that the regex engine jumps from one occurrence to
# the next instead of trying every position; the lookbehinds look back over it (".").
_SYMBOL_SUBS = [
    (sym, re.compile(
        re.escape(sym) + f"(?:(?<={_LETTER}.)(?={_LETTER})"
        + (f"|(?<!{_LETTER_OR_DIGIT}.)(?={_LETTER}{{2}})" if sym in "$@" else "") + ")"))
    for sym in "!$@|+"]
_DIGIT_TABLE = str.maketrans({k: v for k, v in _LEET.items() if k.isdigit()})
_LEET_DIGITS = "013457"
# On words separated by single spaces, with a space at both ends. A whole word of letters
# and leet digits that starts with a letter and has a digit ("w4nt", "d13"); possessive, so
# no pass back over a word. And a word that starts with 0, 1 or 3 before two letters
# ("0verdose"): only that first digit changes (one pattern per digit, each starting with a
# literal, with a plain replacement string).
_LEET_WORD_RE = re.compile(r" ([a-z]++[013457][a-z013457]*+)(?= )")
_LEET_INITIAL = [(f" {d}", re.compile(f" {d}(?=[a-z]{{2}})"), f" {_LEET[d]}") for d in "013"]
_ELONG_RE = re.compile(r"([a-z])\1\1+")
# C-level replacement for r"\1": a template would call back into Python for every match.
_GROUP1 = operator.itemgetter(1)
# On text with a space at both ends: three single-letter words in a row ("k i l").
_SPACED_RE = re.compile(r" [a-z] [a-z] [a-z] ")
# A run of three or more single-letter words, without its leading space.
_RUN_RE = re.compile(r" ([a-z](?: [a-z]){2,})(?= )")
# Three or more single letters joined by dots ("c.u.t", "k.y.s."): the match starts at the
# first dot (a literal, so the regex engine jumps from dot to dot) and runs to the last
# letter; the letter before it must not follow a letter or digit, and the last one must not
# be followed by one. Look-alike letters count as letters (see _LETTER). A final dot stays a
# sentence break. "e.g." and "i.e." have two letters and are left alone.
_WORDISH = r"[^\W_]"
_DOTTED_RE = re.compile(
    rf"(\.(?<={_LETTER}\.)(?<!{_WORDISH}{_LETTER}\.){_LETTER}(?:\.{_LETTER})+)(?!{_WORDISH})")
# The same on raw ASCII bytes of any case, for `quick`.
_DOTTED_ASCII_RE = re.compile(
    rb"\.(?<=[A-Za-z]\.)(?<![A-Za-z0-9][A-Za-z]\.)[A-Za-z](?:\.[A-Za-z])+(?![A-Za-z0-9])")


def _join_dotted(text: str) -> str:
    """Drop the dots of dotted single letters ("c.u.t" -> "cut"). One regex split; the
    matches (letters and dots only) are undotted all at once, kept apart by spaces."""
    if "." not in text:
        return text
    parts = _DOTTED_RE.split(text)
    if len(parts) > 1:
        parts[1::2] = " ".join(parts[1::2]).replace(".", "").split(" ")
        text = "".join(parts)
    return text


def _digit_leet(text: str) -> str:
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
            parts[1::2] = [" " + w.translate(_DIGIT_TABLE) for w in words]
        else:
            parts[1::2] = (" " + "\x00 ".join(words)).translate(_DIGIT_TABLE).split("\x00")
        text = "".join(parts)
    # Whole leet words start with a letter, these with a digit: the two never overlap.
    for literal, pattern, letter in _LEET_INITIAL:
        if literal in text:
            text = pattern.sub(letter, text)
    return text[1:-1]


def _symbol_leet(text: str) -> str:
    for sym, pattern in _SYMBOL_SUBS:
        if sym in text:
            text = pattern.sub(_LEET[sym], text)
    return text


def _maybe_triple(text: str) -> bool:
    """Does `text` hold three equal letters a-z in a row (what _ELONG_RE looks for)?

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


def _join_spaced(tokens: list[str]) -> list[str]:
    """Join runs of three or more single-letter tokens into one word (reference version of
    `_join_runs`, used when the text holds a NUL)."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and "a" <= tok <= "z":
            run.append(tok)
            continue
        if len(run) >= 3:
            joined = _ELONG_RE.sub(r"\1", "".join(run))
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


def _join_runs(text: str) -> str:
    """`_join_spaced` on a whole single-spaced text, with C-level string operations only:
    the runs are cut out with one regex split, joined and de-elongated all at once (NUL
    keeps them apart), and put back."""
    if "\x00" in text:  # never after the tables above (control characters are dropped)
        return " ".join(_join_spaced(text.split(" ")))
    parts = _RUN_RE.split(f" {text} ")
    runs = parts[1::2]
    if not runs:
        return text
    joined = "\x00".join(runs).replace(" ", "")
    if _maybe_triple(joined):
        joined = _ELONG_RE.sub(_GROUP1, joined)
    words = joined.split("\x00")
    if min(map(len, words)) < 2:
        words = [w if len(w) >= 2 else r for w, r in zip(words, runs, strict=True)]
    parts[1::2] = (" " + "\x00 ".join(words)).split("\x00")
    return "".join(parts)[1:-1]


def _tail(text: str, collapsed: bool) -> str:
    """Digit leetspeak, spaces, elongation and letter spacing: the steps after the tables.
    `collapsed` says the text is already single-spaced with no other white space."""
    text = _digit_leet(text)
    if not collapsed:
        # The tables leave no white space but " " (the same as " ".join(text.split()),
        # without making a string object for every word).
        while "  " in text:
            text = text.replace("  ", " ")
        text = text.strip(" ")
    if _maybe_triple(text):
        text = _ELONG_RE.sub(_GROUP1, text)
    if _SPACED_RE.search(f" {text} ") is None:
        return text
    return _join_runs(text)


# Invisible characters used to split words ("k\u200bill"). Removing them first often leaves
# plain ASCII, which skips the Unicode work below (a large share of adversarial input).
# One str.replace per character present: a translate table would cost a dict look-up (and
# a KeyError) for every character of the message.
_INVISIBLE = tuple(chr(cp) for cp in (0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E,
                                      0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF))
_ALL_ASCII = bytes(range(128))
# Up to this many distinct non-ASCII characters (in up to _MAX_REST bytes of them), one
# str.replace each beats translating every character of a long text.
_MAX_REST = 1024
_MAX_DISTINCT = 32


_FOLD_KEPT: tuple[re.Pattern[str], dict[str, str]] | None = None


def _fold_kept(text: str, folded: str) -> str | None:
    """NFKC(folded), where folded = text.casefold() and text is NFKC, without a second NFKC
    pass when case folding changed only characters that NFKC gives back; else None.

    Zalgo text is thousands of marks, and a second pass over them is slow. Their case
    folding usually changes only U+0345 (a mark, folded to a plain iota) and letters such as
    U+1E99 (y with a ring, folded to "y" and the ring): letters whose folding is their own
    canonical decomposition, which NFKC composes again. Left over after NFKC, U+0345 is the
    last mark of its sequence (it has the highest combining class); an iota there composes
    with nothing, so NFKC leaves it (checked for every character when this was written)."""
    global _FOLD_KEPT
    if _FOLD_KEPT is None:
        kept = {}
        for cp in range(0x80, 0x10000):  # (multi-character foldings are all below U+FB20)
            ch = chr(cp)
            fold = ch.casefold()
            if (len(fold) > 1 and unicodedata.normalize("NFKC", ch) == ch
                    and unicodedata.normalize("NFD", fold) == unicodedata.normalize("NFD", ch)):
                kept[ch] = fold
        _FOLD_KEPT = re.compile("[" + "".join(kept) + "]"), kept
    kept_re, kept = _FOLD_KEPT
    if _YPOGEGRAMMENI in text:
        text = text.replace(_YPOGEGRAMMENI, _IOTA)
    expected = text
    if len(folded) != len(text):  # (those letters fold to several characters)
        for ch in set(kept_re.findall(text)):
            expected = expected.replace(ch, kept[ch])
    return text if expected == folded else None


def _unicode_step(text: str) -> str:
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
    text = _join_dotted(_symbol_leet(text))
    if text.isascii():
        # Only ASCII left: the byte table does the same as the Unicode table (up to runs
        # of spaces, which _tail collapses), and NFKC leaves ASCII alone.
        return _ascii_fast(text)
    table = _unicode_table()
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
        raw = utf8.translate(_BYTES_TABLE, _BYTES_DELETE)
        if _DOT in raw:
            raw = raw.replace(b".", b" . ")
        if _COMMA in raw:
            raw = raw.replace(b",", b" , ")
        text = raw.decode("utf-8", "surrogatepass")
        for ch in chars:
            cp = ord(ch)
            if cp < _TABLE_END:
                new = table[cp]
                if new.__class__ is not int:
                    text = text.replace(ch, new or "")
            elif _TAGS_START <= cp < _TAGS_END:
                text = text.replace(ch, "")
    else:
        if _TAGS_UTF8 in utf8:
            text = _TAGS_RE.sub("", text)
        text = text.translate(table)
    return unicodedata.normalize("NFKC", text)


def _slow(text: str) -> str:
    if not text.isascii():
        stripped = text
        for ch in _INVISIBLE:
            if ch in stripped:
                stripped = stripped.replace(ch, "")
        if stripped.isascii():
            text = stripped
    if text.isascii():
        # NFKC, casefold and the homoglyph table do nothing to ASCII beyond lower().
        text = text.lower()
        if _symbol_leet_possible(text.encode("ascii")):
            text = _symbol_leet(text)
        return _tail(_ascii_fast(_join_dotted(text)), collapsed=True)
    return _tail(_unicode_step(text), collapsed=False)


def normalize_once(text: str) -> str:
    """One pass of the full normalisation: what the detector matches against when the fast
    path does not apply. Equal to `normalize` except in rare constructed cases."""
    return _slow(text[:MAX_CHARS])


# Byte-level version of _ASCII_TABLE: bytes.translate is one C loop. Sentence punctuation
# becomes "." and is padded afterwards with two replace() calls. Bytes 128-255 (parts of
# UTF-8 sequences) are left alone.
_BYTES_TABLE = bytearray(range(256))
_BYTES_DELETE = bytearray()
for _c in range(128):
    _v = _ASCII_TABLE.get(_c, chr(_c))
    if _v is None:
        _BYTES_DELETE.append(_c)
    else:
        _BYTES_TABLE[_c] = ord(_v.strip() or " ")
# The same with upper-case letters lowered, for `quick`.
_LOWER_BYTES_TABLE = bytes(_BYTES_TABLE).translate(
    bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))
_BYTES_TABLE = bytes(_BYTES_TABLE)
_BYTES_DELETE = bytes(_BYTES_DELETE)
# 1 for the leet characters, 0 for the others: one bytes.translate and a memchr test.
_LEET_FLAGS = bytes(int(chr(c) in _LEET) for c in range(256))
_DOT, _COMMA = ord("."), ord(",")


def _ascii_fast(low: str) -> str:
    raw = low.encode("ascii").translate(_BYTES_TABLE, _BYTES_DELETE)
    if _DOT in raw:
        raw = raw.replace(b".", b" . ")
    if _COMMA in raw:
        raw = raw.replace(b",", b" , ")
    return b" ".join(raw.split()).decode("ascii")


# Could _symbol_leet or _digit_leet change an ASCII text? Asked on a copy of the bytes with
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


def _symbol_leet_possible(data: bytes) -> bool:
    """Would `_symbol_leet` change this ASCII text (lower-cased or not)? Exactly when a leet
    symbol stands between two letters, or a $/@ that does not follow a letter or digit
    comes before two letters."""
    m = b"." + data.translate(_SYMBOL_CLASSES)
    if b"$" not in m:  # (memchr first: the longer patterns are slower to look for)
        return b"!" in m and b"a!a" in m
    return b"a!a" in m or b"a$a" in m or b".$aa" in m or b"!$aa" in m or b"$$aa" in m


def _digit_leet_possible(data: bytes) -> bool:
    """Could `_digit_leet` change this normalised ASCII text? When a leet digit follows a
    letter, or a 0/1/3 starting a word comes before two letters (a superset: "a1." says
    yes, but the word is not all letters and digits)."""
    m = b" " + data.translate(_DIGIT_CLASSES)
    if b"0" not in m:
        return b"1" in m and b"a1" in m
    return b"a0" in m or b"a1" in m or b" 0aa" in m


def quick(text: str) -> str | None:
    """The cheap part of `normalize` for plain ASCII chat, or None when the text needs the
    full treatment (non-ASCII, leetspeak or dotted letters). Elongation and letter spacing
    are NOT undone here: the detector finds them with gate patterns in its one automaton
    pass and then calls `complete_quick`. Not idempotent on its own; use `normalize`
    everywhere else."""
    if not text.isascii() or len(text) > MAX_CHARS:
        return None
    data = text.encode("ascii")
    # (An int is looked for with memchr; a bytes needle costs a buffer request each time.)
    if _DOT in data and _DOTTED_ASCII_RE.search(data):
        return None
    raw = data.translate(_LOWER_BYTES_TABLE, _BYTES_DELETE)
    if _DOT in raw:
        raw = raw.replace(b".", b" . ")
    if _COMMA in raw:
        raw = raw.replace(b",", b" , ")
    out = b" ".join(raw.split())
    # Most chat has no digit or symbol at all; the precise checks run only when it does.
    if 1 in data.translate(_LEET_FLAGS) and (
            _symbol_leet_possible(data) or _digit_leet_possible(out)):
        return None
    return out.decode("ascii")


def complete_quick(out: str) -> str:
    """`normalize_once(text)` given `out = quick(text)` (not None): only elongation and
    letter spacing are left to undo (quick bails out on leetspeak)."""
    return _tail(out, collapsed=True)


def needs_completion(out: str) -> bool:
    """Could `complete_quick(out)` differ from `out`? (Never False when it would.)"""
    return _maybe_triple(out) or _SPACED_RE.search(f" {out} ") is not None


def normalize(text: str) -> str:
    """The matching form of `text` (see the module docstring). Never raises on a str."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    out = quick(text)
    if out is not None and not needs_completion(out):
        return out
    # NFKC, case folding and the tables can each expose work for another step; a second
    # pass is cheap on the rare messages that get here and makes the result idempotent.
    return _slow(_slow(text))


def normalize_slow(text: str) -> str:
    """`normalize` without the fast path; for tests that the two agree."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    return _slow(_slow(text))


if __name__ == "__main__":  # pragma: no cover - manual check
    for line in sys.stdin:
        print(normalize(line))
