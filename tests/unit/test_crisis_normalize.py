"""Normalisation undoes the tricks people use (and filters miss) before matching."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.crisis.normalize import (
    MAX_CHARS,
    complete_quick,
    needs_completion,
    normalize,
    normalize_once,
    quick,
)
from bot.crisis.normalize.homoglyphs import HOMOGLYPHS
from bot.crisis.normalize.leet import (
    DIGIT_TABLE,
    LEET,
    digit_leet,
    digit_leet_possible,
    symbol_leet,
    symbol_leet_possible,
)
from bot.crisis.normalize.spelling import join_dotted, join_runs, join_spaced, maybe_triple
from bot.crisis.normalize.unicode import build_unicode_table, unicode_step


@pytest.mark.parametrize(("raw", "expected"), [
    ("I want to DIEEEE", "i want to die"),
    ("sooooo tired", "so tired"),
    ("k1ll mys3lf", "kill myself"),
    ("i want to d!e", "i want to die"),
    ("$uicide", "suicide"),
    ("1 w4nt t0 d13", "1 want to die"),
    ("k i l l  m y s e l f", "killmyself"),
    ("s u i c i d e", "suicide"),
    ("||i want to die||", "i want to die"),
    ("> **kill** ~~myself~~ __now__ `ok`", "kill myself now ok"),
    ("*i* _want_ to die", "i want to die"),
    ("I’m gonna kms", "im gonna kms"),
    ("кill myself", "kill myself"),           # Cyrillic к
    ("ρlease", "please"),                     # Greek rho
    ("ki\u200bll my\u200dself", "kill myself"),
    ("k̷i̷l̷l̷ m̷y̷s̷e̷l̷f̷", "kill myself"),  # combining marks
    ("ｋｉｌｌ ｍｙｓｅｌｆ", "kill myself"),     # full-width (NFKC)
    ("i od'd", "i odd"),
    ("💊💊 now", "💊 💊 now"),
])
def test_tricks_are_undone(raw: str, expected: str) -> None:
    """Each evasion trick normalises to the plain words a rule phrase is written in."""
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("i want to dié", "i want to die"),                  # a precomposed letter
    ("i want to die\u0301", "i want to die"),           # a combining mark after it
    ("i want to d\u0301ie", "i want to die"),           # a mark after the first letter
    ("I WANT TO DÏE", "i want to die"),
    ("i\u0345 want", "i want"),                         # a mark that case folds to a letter
    ("ᾳ", "a"),                                         # a letter with that mark built in
    ("I´m done", "im done"),                            # an acute accent as an apostrophe
    ("café au lait", "cafe au lait"),
    ("한국어", "한국어"),                                  # Hangul decomposes and composes back
])
def test_accents_and_combining_marks_are_dropped(raw: str, expected: str) -> None:
    """Accented letters, precomposed or not, match the plain letters a rule is written in."""
    assert normalize(raw) == expected


def test_case_folding_brings_no_marks_back() -> None:
    """Marks are dropped before case folding; that is only enough because folding a
    decomposed, mark-free character never gives a mark or a text that NFKD would change
    (true of the Unicode version Python ships; this fails if a later one breaks it)."""
    broken = []
    for cp in [*range(0x80, 0xD800), *range(0xE000, 0x30000)]:
        ch = chr(cp)
        if unicodedata.normalize("NFKD", ch) != ch or unicodedata.category(ch) in ("Mn", "Me"):
            continue
        folded = ch.casefold()
        if folded != ch and (_without_marks(folded) != folded
                             or not unicodedata.is_normalized("NFKD", folded)):
            broken.append(f"U+{cp:04X}")
    assert broken == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("c.u.t", "cut"),
    ("s.u.i.c.i.d.a.l", "suicidal"),
    ("k.y.s.", "kys ."),                      # the final dot stays a sentence break
    ("o-v-e-r-d-o-s-e", "overdose"),
    ("k.m.s", "kms"),
    ("K.M.S", "kms"),
    ("c*u*t", "cut"),
    ("k.i.l.l m.y.s.e.l.f", "kill myself"),
    ("i want to c.u.t tonight", "i want to cut tonight"),
    ("_c.u.t_", "cut"),                       # markdown around it
    ("с.u.т", "cut"),                         # Cyrillic с and т
    ("ｃ．ｕ．ｔ", "cut"),                       # full-width (NFKC)
    ("U.S.A. I want to die", "usa . i want to die"),
])
def test_separated_letters_are_joined(raw: str, expected: str) -> None:
    """Three or more single letters joined by dots, hyphens or asterisks become one word."""
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("i.e. this", "i . e . this"),            # two letters: an abbreviation
    ("e.g. that", "e . g . that"),
    ("a. b. c.", "a . b . c ."),              # spaces after the dots: a list, not a word
    ("c.u.ts", "c . u . ts"),                 # the last part is not a single letter
    ("j.k.rowling", "j . k . rowling"),
    ("1.2.3", "1 . 2 . 3"),
    ("c..u..t", "c . . u . . t"),
    ("i'm done.i want to sleep", "im done . i want to sleep"),
])
def test_other_dots_stay_sentence_breaks(raw: str, expected: str) -> None:
    """Abbreviations with two letters, spaced lists and dots between words are untouched."""
    assert normalize(raw) == expected


def test_quick_declines_dotted_letters() -> None:
    """The fast path leaves dotted letters to the full path instead of splitting them."""
    assert quick("i will c.u.t") is None
    assert quick("e.g. this") == "e . g . this"


_WORDISH = r"[^\W_]"
_REF_LETTER = "[a-z" + "".join(HOMOGLYPHS) + "]"
_REF_DOTTED = re.compile(
    rf"(?<!{_WORDISH}){_REF_LETTER}(?:\.{_REF_LETTER}){{2,}}(?!{_WORDISH})")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abck.._ 1é-сΑ")), max_size=40))
@example("a.b.cd.e.f.g")
@example("x1.a.b.c")
def test_join_dotted_is_the_regex_definition(text: str) -> None:
    """Runs of three or more single letters between dots, not touching a letter or digit,
    lose their dots; nothing else changes."""
    expected = _REF_DOTTED.sub(lambda m: m.group().replace(".", ""), text)
    assert join_dotted(text) == expected


def test_sentence_punctuation_becomes_break_tokens() -> None:
    """Sentence ends and commas stay visible as tokens so contexts can stop at them."""
    assert normalize("I'm not okay. I want to die, really!") == (
        "im not okay . i want to die , really .")


@pytest.mark.parametrize("raw", ["took 30mg at 10pm", "24/7 support", "2nd time", "b12"])
def test_numbers_are_not_leetspeak(raw: str) -> None:
    """Doses, times and ordinals keep their digits: only words with letters are de-leeted."""
    assert any(ch.isdigit() for ch in normalize(raw))


def test_quick_declines_what_it_cannot_do() -> None:
    """The fast path gives up on non-ASCII and leetspeak instead of returning a wrong form."""
    assert quick("кill myself") is None
    assert quick("k1ll myself") is None
    assert quick("just a normal message, ok?") == "just a normal message , ok ."


@pytest.mark.parametrize("raw", ["", "😂😂😂", "\x00\x01\x7f", "\ud800 lone", "a" * 10000])
def test_bad_input_is_handled(raw: str) -> None:
    """Empty, emoji-only, control characters, lone surrogates and huge input give a str."""
    out = normalize(raw)
    assert isinstance(out, str)
    assert len(out) <= 10000


# --- the fast implementations against plain reference definitions -------------------------
# The normalize package does each step with whole-string C operations; these references say what
# each step means, written the obvious way (one regex, a token loop, a translate table).

_REF_DIGIT_LEET = re.compile(
    r"(?<![^ ])[a-z][a-z013457]*[013457][a-z013457]*(?![^ ])|(?<![^ ])[013](?=[a-z]{2})")
_REF_SYMBOL = [(sym, re.compile(rf"(?<=[a-z]){re.escape(sym)}(?=[a-z])" + (
    rf"|(?<![a-z0-9]){re.escape(sym)}(?=[a-z]{{2}})" if sym in "$@" else "")))
    for sym in "!$@|+"]
_HOMOGLYPHS = str.maketrans(HOMOGLYPHS)

WORDS = st.lists(st.sampled_from(
    ["a", "b", "k", "i", "l", "kill", "k1ll", "0verdose", "1ab5", "d13", "w4nt", "313", "x",
     "aaa", "dieee", "3", "30mg", "0", "1", "oo", "l0l", "a1.", "", ".", ",", "к", "кill",
     "3ll", "1am", "0ne", "3x", "4ll", "7ab",
     "k!ll", "$uicide", "@ll", "d!e", "💊", "e\u0301", "\u200b"]), max_size=40).map(" ".join)
CHARS = st.text(alphabet=st.sampled_from(list(
    "abcdeiklmosty !$@|+013457'.,\n\u200bакеοι😂💊\u0301\u0345ßİﬁ\U000e0041\x00\ud800ＡK"
    "\u0300\u034f\u036f\u0370\u0374\u037e\u1dc0\u20c0\u20d0-*WYJ\u030a\u030c\u0331ẙΐ")),
    max_size=60)


@settings(max_examples=500, deadline=None)
@given(WORDS)
@example("0verdose 1 am 1am 3ll k1ll 30mg b12 3x a1. w4nt")
def test_digit_leet_is_the_regex_definition(text: str) -> None:
    """Whole leet words and word-initial 0/1/3 are undone, nothing else."""
    expected = _REF_DIGIT_LEET.sub(lambda m: m.group().translate(DIGIT_TABLE), text)
    assert digit_leet(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.one_of(WORDS, CHARS))
def test_symbol_leet_treats_look_alikes_as_their_letters(text: str) -> None:
    """Undoing symbols on the raw text, then mapping look-alike letters, is the same as
    mapping them first and undoing symbols between plain letters."""
    expected = text.translate(_HOMOGLYPHS)
    for sym, pattern in _REF_SYMBOL:
        expected = pattern.sub(LEET[sym], expected)
    assert symbol_leet(text).translate(_HOMOGLYPHS) == expected


@settings(max_examples=500, deadline=None)
@given(st.one_of(WORDS, CHARS.filter(str.isascii), st.text(alphabet="ab $@!|+01.", max_size=30)))
@example("!$ab")
@example("$$ab")
@example("1$ab")
@example("a@b")
@example("x 0ab")
def test_leet_checks_match_their_regexes(text: str) -> None:
    """The byte-class checks say yes exactly when the regex finds something."""
    data = text.encode("ascii", "ignore")
    low = data.decode().lower()
    assert symbol_leet_possible(data) == any(p.search(low) for _, p in _REF_SYMBOL)
    assert digit_leet_possible(data) == bool(
        re.search(r"[a-z][013457]|(?<![^ ])[013][a-z]{2}", data.decode()))


@settings(max_examples=500, deadline=None)
@given(st.one_of(WORDS, CHARS, st.text(alphabet="aab .", max_size=30)))
@example("aa😂a")  # letters either side of another character are not neighbours
@example("...   111")
@example("x\x00\x00\x00")
def test_maybe_triple_finds_exactly_elongation(text: str) -> None:
    """The cheap test says yes exactly when three equal letters follow each other."""
    assert maybe_triple(text) == bool(re.search(r"([a-z])\1\1", text))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "k", "i", "l", "x", "ab", "kill", ".", "ii"]),
                min_size=1, max_size=40).map(" ".join))
def test_join_runs_equals_the_token_loop(text: str) -> None:
    """The regex-split version joins exactly the runs the token loop joins."""
    assert join_runs(text) == " ".join(join_spaced(text.split(" ")))


@pytest.fixture(scope="module")
def unicode_dict() -> dict[int, str | None]:
    """The Unicode table in its defining form (a dict for str.translate)."""
    return build_unicode_table()


def _without_marks(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me"))


def _reference_unicode_step(text: str, unicode_dict) -> str:
    """What `unicode_step` must give, computed the slow, obvious way with the dict table."""
    text = text.replace("\u00b4", "")  # an acute accent on its own is an apostrophe
    folded = _without_marks(unicodedata.normalize("NFKD", text)).casefold()
    symbols = folded.translate(_HOMOGLYPHS)
    for sym, pattern in _REF_SYMBOL:
        symbols = pattern.sub(LEET[sym], symbols)
    symbols = _REF_DOTTED.sub(lambda m: m.group().replace(".", ""), symbols)
    return unicodedata.normalize("NFKC", symbols.translate(unicode_dict))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(CHARS, st.text(max_size=80)))
def test_unicode_step_paths_equal_the_translate_table(text: str, unicode_dict) -> None:
    """Per-character replacement and the list table give what the dict table gives."""
    if text.isascii():
        return
    expected = _reference_unicode_step(text, unicode_dict)
    got = unicode_step(text)
    # The ASCII-only shortcut collapses spaces; everything after does the same anyway.
    assert got.split() == expected.split()
    assert got.replace(" ", "") == expected.replace(" ", "")


@settings(max_examples=100, deadline=None)
@given(text=CHARS.filter(lambda t: not t.isascii()), times=st.integers(20, 120))
def test_long_marked_text_equals_the_translate_table(text: str, times: int,
                                                     unicode_dict) -> None:
    """Long texts full of combining marks (zalgo) drop them all in one regex pass
    (zalgo); the result is still what the table gives."""
    text *= times
    expected = _reference_unicode_step(text, unicode_dict)
    got = unicode_step(text)
    assert got.split() == expected.split()
    assert got.replace(" ", "") == expected.replace(" ", "")


@settings(max_examples=400, deadline=None)
@given(st.one_of(WORDS, CHARS.filter(str.isascii)))
def test_complete_quick_equals_normalize_once(text: str) -> None:
    """The detector finishes the quick form instead of starting again: same result."""
    out = quick(text)
    if out is not None:
        assert complete_quick(out) == normalize_once(text)
        if not needs_completion(out):
            assert complete_quick(out) == out


ADVERSARIAL = [
    "k1ll mys3lf кill " * 400, "k\u200bi\u200bl\u200bl " * 700, "k i l l m y s e l f " * 300,
    "dieeeeeeee " * 600, "a b c xx " * 700, "a a a xx " * 700, "!" * 6000, ". " * 3000,
    "a1" * 3000, "a" * 6000, "1" * 6000, "к!ll mуsеlf $uicide " * 300,
    "".join(chr(0x300 + i % 0x70) for i in range(6000)), "\U000e0041x" * 3000,
    "".join(chr(0x4E00 + i * 7 % 0x5000) for i in range(6000)),
    "".join(c + chr(0x300 + i % 0x70) + chr(0x1DC0 + i % 0x40)
            for i, c in enumerate("KILL " * 1200)),
    "k.y.s " * 1000, "a.b " * 1500,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_input_gets_a_sane_answer(text: str) -> None:
    """Crafted walls of tricks are cut to MAX_CHARS and normalised to a bounded output that a
    second pass leaves alone, unless padding punctuation pushed it past MAX_CHARS (their
    speed is measured by scripts/bench_detect.py, not here)."""
    out = normalize(text)
    assert len(out) <= 3 * MAX_CHARS
    if len(out) <= MAX_CHARS:
        assert normalize(out) == out
