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

Each step keeps its tables beside its functions: ``ascii`` (punctuation, markdown),
``unicode`` (NFKC, case folding, the Unicode table, marks), ``homoglyphs``, ``leet`` and
``spelling`` (dotted letters, elongation, letter spacing). This module puts them in order.
"""

from __future__ import annotations

from bot.crisis.normalize.ascii import (
    BREAK,
    BYTES_DELETE,
    COMMA,
    DOT,
    LOWER_BYTES_TABLE,
    SOFT_BREAK,
    ascii_fast,
)
from bot.crisis.normalize.leet import (
    LEET_FLAGS,
    digit_leet,
    digit_leet_possible,
    symbol_leet,
    symbol_leet_possible,
)
from bot.crisis.normalize.spelling import (
    DOTTED_ASCII_RE,
    ELONG_RE,
    GROUP1,
    SPACED_RE,
    join_dotted,
    join_runs,
    maybe_triple,
)
from bot.crisis.normalize.unicode import INVISIBLE, unicode_step

__all__ = ["BREAK", "MAX_CHARS", "SOFT_BREAK", "complete_quick", "needs_completion",
           "normalize", "normalize_once", "normalize_slow", "quick"]

# Discord allows 4,000 characters (Nitro); anything longer is cut so that no input
# can make the detector slow.
MAX_CHARS = 6000


def _tail(text: str, collapsed: bool) -> str:
    """Digit leetspeak, spaces, elongation and letter spacing: the steps after the tables.
    `collapsed` says the text is already single-spaced with no other white space."""
    text = digit_leet(text)
    if not collapsed:
        # The tables leave no white space but " " (the same as " ".join(text.split()),
        # without making a string object for every word).
        while "  " in text:
            text = text.replace("  ", " ")
        text = text.strip(" ")
    if maybe_triple(text):
        text = ELONG_RE.sub(GROUP1, text)
    if SPACED_RE.search(f" {text} ") is None:
        return text
    return join_runs(text)


def _slow(text: str) -> str:
    if not text.isascii():
        stripped = text
        for ch in INVISIBLE:
            if ch in stripped:
                stripped = stripped.replace(ch, "")
        if stripped.isascii():
            text = stripped
    if text.isascii():
        # NFKC, casefold and the homoglyph table do nothing to ASCII beyond lower().
        text = text.lower()
        if symbol_leet_possible(text.encode("ascii")):
            text = symbol_leet(text)
        return _tail(ascii_fast(join_dotted(text)), collapsed=True)
    return _tail(unicode_step(text), collapsed=False)


def normalize_once(text: str) -> str:
    """One pass of the full normalisation: what the detector matches against when the fast
    path does not apply. Equal to `normalize` except in rare constructed cases."""
    return _slow(text[:MAX_CHARS])


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
    if DOT in data and DOTTED_ASCII_RE.search(data):
        return None
    raw = data.translate(LOWER_BYTES_TABLE, BYTES_DELETE)
    if DOT in raw:
        raw = raw.replace(b".", b" . ")
    if COMMA in raw:
        raw = raw.replace(b",", b" , ")
    out = b" ".join(raw.split())
    # Most chat has no digit or symbol at all; the precise checks run only when it does.
    if 1 in data.translate(LEET_FLAGS) and (
            symbol_leet_possible(data) or digit_leet_possible(out)):
        return None
    return out.decode("ascii")


def complete_quick(out: str) -> str:
    """`normalize_once(text)` given `out = quick(text)` (not None): only elongation and
    letter spacing are left to undo (quick bails out on leetspeak)."""
    return _tail(out, collapsed=True)


def needs_completion(out: str) -> bool:
    """Could `complete_quick(out)` differ from `out`? (Never False when it would.)"""
    return maybe_triple(out) or SPACED_RE.search(f" {out} ") is not None


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
