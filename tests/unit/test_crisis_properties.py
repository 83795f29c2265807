"""Property-based checks: the detector never raises and normalisation is stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.crisis import detect
from bot.crisis.normalize import normalize, normalize_slow

# Characters that exercise every normalisation step.
TRICKY = st.text(alphabet=st.sampled_from(list(
    "abcdeiklmosty !$@|+013457'*_~`>\n.,\u200b\u200d\u0301аеκο😂💊ßİﬁ")), max_size=60)
ANY = st.one_of(TRICKY, st.text(max_size=80))


@settings(max_examples=400, deadline=None)
@given(ANY)
def test_detect_never_raises(text: str) -> None:
    """Any string, including surrogates and control characters, gets None or a Detection."""
    result = detect(text)
    assert result is None or result.severity in {"urgent", "concern"}


@settings(max_examples=600, deadline=None)
@given(ANY)
def test_normalize_is_idempotent(text: str) -> None:
    """normalize(normalize(x)) == normalize(x)."""
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=600, deadline=None)
@given(TRICKY)
def test_fast_path_agrees_with_full_path(text: str) -> None:
    """The cheap ASCII path returns exactly what the full pipeline would."""
    assert normalize(text) == normalize_slow(text)
