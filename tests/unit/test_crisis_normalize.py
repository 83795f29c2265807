"""Normalisation undoes the tricks people use (and filters miss) before matching."""

from __future__ import annotations

import pytest

from bot.crisis.normalize import normalize, quick


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
