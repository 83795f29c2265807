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
every phrase so that form matches too).

Speed: most messages are short ASCII without any of those tricks. They take the fast
path (``str.lower`` + one ``str.translate`` + a split/join); one precompiled regex
decides whether the slower steps are needed. ``normalize`` is idempotent.
"""

from __future__ import annotations

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


_UNICODE_TABLE: dict[int, str | None] | None = None


def _unicode_table() -> dict[int, str | None]:
    global _UNICODE_TABLE
    if _UNICODE_TABLE is None:
        _UNICODE_TABLE = _build_unicode_table()
    return _UNICODE_TABLE


# Homoglyphs must map before leetspeak is undone; this small table does only that.
_HOMOGLYPH_TABLE = {ord(k): v for k, v in _HOMOGLYPHS.items()}

# --- leetspeak, elongation, letter spacing ----------------------------------------------
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "!": "i", "$": "s",
         "@": "a", "|": "l", "+": "t"}
# A leet character counts only between two letters (k1ll, d!e) or as the first character
# of a word followed by two letters ($uicide, 0verdose); "30mg" and "24/7" are untouched.
# Symbols are undone before punctuation becomes spaces, digits after (so that characters
# dropped in between, such as apostrophes, cannot hide a digit from the rule).
_SYMBOL_LEET_RE = re.compile(r"(?<=[a-z])[!$@|+](?=[a-z])|(?<![a-z0-9])[$@](?=[a-z]{2})")
# The same, one pattern per symbol with a plain replacement string (no Python callback per
# match). Each looks at the text as it was before any symbol of the same kind was undone;
# different symbols can chain ("k!|l"), which the single pattern also allows via letters.
_SYMBOL_SUBS = [
    (sym, re.compile(rf"(?<=[a-z]){re.escape(sym)}(?=[a-z])"
                     + (rf"|(?<![a-z0-9]){re.escape(sym)}(?=[a-z]{{2}})" if sym in "$@" else "")))
    for sym in "!$@|+"]
# Digits are undone in whole words that start with a letter and contain only letters and
# leet digits ("w4nt", "t0", "d13"), or as the first character before two letters.
_DIGIT_LEET_RE = re.compile(r"(?<![^ ])[a-z][a-z013457]*[013457][a-z013457]*(?![^ ])"
                            r"|(?<![^ ])[013](?=[a-z]{2})")
_DIGIT_TABLE = str.maketrans({k: v for k, v in _LEET.items() if k.isdigit()})
_ELONG_RE = re.compile(r"([a-z])\1\1+")
# Cheap test on the lower-cased ASCII text: does any slow step have work to do? It may
# say yes when nothing needs doing, never the reverse (tests compare both paths).
_DROPPED = r"[\x00-\x1f\x7f']*"
_NEEDS_SLOW = re.compile(
    r"[a-z][!$@|+][a-z]|(?<![a-z0-9])[$@][a-z]{2}"   # symbol leet
    rf"|([a-z]){_DROPPED}\1{_DROPPED}\1"              # elongation (' is dropped later)
    r"|(?<![a-z])[a-z][^a-z0-9,.!?;:\n\r\t\v\f]+[a-z][^a-z0-9,.!?;:\n\r\t\v\f]+[a-z](?![a-z])"
)
_SYMBOL_CHECK = re.compile(r"[a-z][!$@|+][a-z]|(?<![a-z0-9])[$@][a-z]{2}")
_WORD_INITIAL_DIGIT = re.compile(r"(?<![^ ])[013][a-z]{2}")
_DIGIT_CHECK = re.compile(r"[a-z][013457]|(?<![^ ])[013][a-z]{2}")


def _digit_leet_token(tok: str) -> str:
    once = _DIGIT_LEET_RE.sub(_leet_word, tok)
    # A second pass catches a word-initial digit whose next letters were digits before.
    if _WORD_INITIAL_DIGIT.search(once) is None:
        return once
    return _DIGIT_LEET_RE.sub(_leet_word, once)


def _digit_leet(text: str) -> str:
    if _DIGIT_CHECK.search(text) is None:
        return text
    # The patterns never cross a space, so each distinct word is undone once: a wall of
    # repeated leet words costs one dict look-up per word, not one regex callback each.
    toks = text.split(" ")
    done = {t: _digit_leet_token(t) for t in set(toks) if _DIGIT_CHECK.search(t)}
    return " ".join([done.get(t, t) for t in toks])


def _join_spaced(tokens: list[str]) -> list[str]:
    """Join runs of three or more single-letter tokens into one word."""
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


_SPACED_RE = re.compile(r"(?<!\S)[a-z] [a-z] [a-z](?!\S)")


def _leet_word(m: re.Match[str]) -> str:
    return m.group().translate(_DIGIT_TABLE)


# Invisible characters used to split words ("k\u200bill"). Removing them first often leaves
# plain ASCII, which skips the Unicode work below (a large share of adversarial input).
_INVISIBLE = {cp: None for cp in (0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E,
                                  0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF)}


def _slow(text: str) -> str:
    if not text.isascii():
        stripped = text.translate(_INVISIBLE)
        if stripped.isascii():
            text = stripped
    if text.isascii():
        # NFKC, casefold and the homoglyph table do nothing to ASCII beyond lower().
        text = text.lower()
        if _SYMBOL_CHECK.search(text) is not None:
            for sym, pattern in _SYMBOL_SUBS:
                if sym in text:
                    text = pattern.sub(_LEET[sym], text)
        text = _ascii_fast(text)
    else:
        text = unicodedata.normalize("NFKC", text)
        text = unicodedata.normalize("NFKC", text.casefold())
        text = text.translate(_HOMOGLYPH_TABLE)
        if _SYMBOL_CHECK.search(text) is not None:
            for sym, pattern in _SYMBOL_SUBS:
                if sym in text:
                    text = pattern.sub(_LEET[sym], text)
        text = unicodedata.normalize("NFKC", text.translate(_unicode_table()))
    text = " ".join(_ELONG_RE.sub(r"\1", _digit_leet(text)).split())
    if _SPACED_RE.search(text) is None:
        return text
    return " ".join(_join_spaced(text.split(" ")))


def normalize_once(text: str) -> str:
    """One pass of the full normalisation: what the detector matches against when the fast
    path does not apply. Equal to `normalize` except in rare constructed cases."""
    return _slow(text[:MAX_CHARS])


# Byte-level version of _ASCII_TABLE for the fast path: bytes.translate is one C loop.
# Sentence punctuation becomes "." and is padded afterwards with two replace() calls.
_BYTES_TABLE = bytearray(range(256))
_BYTES_DELETE = bytearray()
for _c in range(128):
    _v = _ASCII_TABLE.get(_c, chr(_c))
    if _v is None:
        _BYTES_DELETE.append(_c)
    else:
        _BYTES_TABLE[_c] = ord(_v.strip() or " ")
_BYTES_TABLE = bytes(_BYTES_TABLE)
_BYTES_DELETE = bytes(_BYTES_DELETE)
_NOT_LEET = bytes(c for c in range(256) if chr(c) not in _LEET)


def _ascii_fast(low: str) -> str:
    raw = low.encode("ascii").translate(_BYTES_TABLE, _BYTES_DELETE)
    if b"." in raw:
        raw = raw.replace(b".", b" . ")
    if b"," in raw:
        raw = raw.replace(b",", b" , ")
    return b" ".join(raw.split()).decode("ascii")


_ANY_LEET = re.compile(r"[013457!$@|+]")


def quick(text: str) -> str | None:
    """The cheap part of `normalize` for plain ASCII chat, or None when the text needs the
    full treatment (non-ASCII or leetspeak). Elongation and letter spacing are NOT undone
    here: the detector finds them with gate patterns in its one automaton pass and then
    calls `normalize`. Not idempotent on its own; use `normalize` everywhere else."""
    if not text.isascii() or len(text) > MAX_CHARS:
        return None
    low = text.lower()
    raw = low.encode("ascii").translate(_BYTES_TABLE, _BYTES_DELETE)
    if b"." in raw:
        raw = raw.replace(b".", b" . ")
    if b"," in raw:
        raw = raw.replace(b",", b" , ")
    out = b" ".join(raw.split()).decode("ascii")
    # Most chat has no digit or symbol at all; the precise checks run only when it does.
    if _ANY_LEET.search(low) is not None and (
        _SYMBOL_CHECK.search(low) is not None or _DIGIT_CHECK.search(out) is not None
    ):
        return None
    return out


def normalize(text: str) -> str:
    """The matching form of `text` (see the module docstring). Never raises on a str."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    if text.isascii():
        low = text.lower()
        if _NEEDS_SLOW.search(low) is None:
            out = _ascii_fast(low)
            if _DIGIT_CHECK.search(out) is None:
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
