"""Property-based checks: the detector never raises and normalisation is stable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.crisis import default_detector, detect
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


_DETECTOR = default_detector()
_ANCHORS = sorted(_DETECTOR.ruleset.anchors)
_FILLER = ["i", "really", "think", "im", "going", "to", "tonight", ".", ",", "not", "lol", "a b c",
           "k i l l", "soooo", "k1ll", "кill", "30mg", "\u200b", "😂"]
ANCHORED = st.lists(st.one_of(st.sampled_from(_ANCHORS), st.sampled_from(_FILLER)),
                    min_size=1, max_size=120).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(ANCHORED)
def test_hits_point_at_their_anchor_words(text: str) -> None:
    """Every hit's token range in the normalised text spells an anchor of exactly the rules
    it names (checks the token arithmetic of the scan, including long messages that stop
    at the hit limit)."""
    norm, hits = _DETECTOR._hits(text)
    tokens = norm.split(" ")
    for first, ntok, idxs in hits:
        phrase = " ".join(tokens[first:first + ntok])
        assert tuple(_DETECTOR.ruleset.anchors[phrase]) == idxs
