"""Property-based checks: the detector never raises and normalisation is stable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.crisis import default_detector, detect
from bot.crisis.detector import MAX_HITS
from bot.crisis.normalize import normalize, normalize_slow

# Characters that exercise every normalisation step.
TRICKY = st.text(alphabet=st.sampled_from(list(
    "abcdeiklmosty !$@|+013457'*_~`>\n.,-\u200b\u200d\u0301аеκο😂💊ßİﬁ")), max_size=60)
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


# --- the context checks against their plain definition -------------------------------------
# The detector looks context and near phrases up with an automaton over a few words on each
# side of the anchor. This is what those checks mean, written the obvious way: every n-gram
# of the region is built and compared with the phrase list.
_HARD = {".", "but"}
_SOFT = {".", ",", "but"}


def _start(tokens: list[str], a: int, window: int, breaks: set[str]) -> int:
    lo = max(0, a - window)
    for i in range(a - 1, lo - 1, -1):
        if tokens[i] in breaks:
            return i + 1
    return lo


def _stop(tokens: list[str], b: int, window: int, breaks: set[str]) -> int:
    hi = min(len(tokens), b + window)
    for i in range(b, hi):
        if tokens[i] in breaks:
            return i
    return hi


def _grams(tokens: list[str], lo: int, hi: int, n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + size]) for size in range(1, n + 1)
            for i in range(lo, hi - size + 1)}


def _reference_explain(det, text: str) -> list[tuple[str, str | None]]:
    """(rule id, cancelling context id) of every examined hit, by the plain definition."""
    norm, hits = det._hits(text)
    if not hits:
        return []
    numbered = re.sub(r"(?<!\S)[0-9]\S*", "0", norm)
    tokens, padded = numbered.split(" "), f" {numbered} "
    out: list[tuple[str, str | None]] = []
    done: set[int] = set()
    examined = 0
    for first, ntok, idxs in hits:
        a, b = first, first + ntok
        for ri in idxs:
            if ri in done:
                continue
            examined += 1
            if examined > MAX_HITS:
                return out
            rule = det.ruleset.rules[ri]
            if rule.requires and not any(k in padded for k in rule.requires):
                continue
            lo = _start(tokens, a, rule.spec.near_before, _HARD)
            hi = _stop(tokens, b, rule.spec.near_after, _HARD)
            near = _grams(tokens, lo, a, rule.near_len) | _grams(tokens, b, hi, rule.near_len)
            if (rule.near and near.isdisjoint(rule.near)) or (
                    rule.near_also and near.isdisjoint(rule.near_also)):
                continue
            why = None
            for ci in rule.contexts:
                ctx = det.ruleset.contexts[ci]
                if ctx.scope == "message":
                    keys = [f" {' '.join(p)} " for p in ctx.phrases]
                    unless = [f" {' '.join(p)} " for p in ctx.unless]
                    if any(k in padded for k in keys) and not any(k in padded for k in unless):
                        why = ctx.id
                        break
                    continue
                # Long enough for every marker and every `unless` phrase.
                n = max(ctx.max_len, *(len(u) for u in ctx.unless), 1)
                if ctx.scope == "before":
                    grams = _grams(tokens, _start(tokens, a, ctx.window, _SOFT), a, n)
                elif ctx.scope == "after":
                    grams = _grams(tokens, b, _stop(tokens, b, ctx.window, _SOFT), n)
                else:
                    grams = (_grams(tokens, _start(tokens, a, ctx.window, _HARD), a, n)
                             | _grams(tokens, b, _stop(tokens, b, ctx.window, _HARD), n))
                if not grams.isdisjoint(ctx.phrases) and grams.isdisjoint(ctx.unless):
                    why = ctx.id
                    break
            out.append((rule.id, why))
            if why is None:
                done.add(ri)
    return out


_WINDOW_PHRASES = sorted(
    {" ".join(p) for c in _DETECTOR.ruleset.contexts for p in c.phrases | c.unless}
    | {" ".join(p) for r in _DETECTOR.ruleset.rules for p in r.near | r.near_also}
    | {k.strip() for r in _DETECTOR.ruleset.rules for k in r.requires})
_BREAKS = ["", "", ".", ",", "but"]
_BREAK_ST = st.sampled_from(_BREAKS)
_GAP_ST = st.one_of(st.integers(0, 3), st.integers(0, 14))  # most windows are short
# Made once (a sampled_from strategy copies its list when it is created): per rule, its
# anchors and the phrases its checks look for.
_RULE_ANCHORS: dict[int, list[str]] = {}
for _phrase, _idxs in _DETECTOR.ruleset.anchors.items():
    for _ri in _idxs:
        _RULE_ANCHORS.setdefault(_ri, []).append(_phrase)
_CONTEXTS = _DETECTOR.ruleset.contexts
_RULE_ST = [
    (st.sampled_from(sorted(_RULE_ANCHORS[ri])), st.one_of(*(
        st.sampled_from(sorted(phrases or {"zz"})) for phrases in (
            {" ".join(p) for p in rule.near | rule.near_also},
            {" ".join(p) for ci in rule.contexts for p in _CONTEXTS[ci].phrases},
            {" ".join(p) for ci in rule.contexts for p in _CONTEXTS[ci].unless}))))
    for ri, rule in enumerate(_DETECTOR.ruleset.rules) if ri in _RULE_ANCHORS]


@st.composite
def _around_anchor(draw) -> str:
    """An anchor of a rule between phrases its checks look for (near lists, context markers,
    `unless` phrases), with gaps of neutral words holding breaks that run past every
    window: the checks are tried at their edges."""
    anchors, phrases = draw(st.sampled_from(_RULE_ST))
    words = [draw(phrases)]
    for side in (0, 1):
        gap = ["zz"] * draw(_GAP_ST)
        for _ in range(draw(st.integers(0, 2))):
            gap.insert(draw(st.integers(0, len(gap))), draw(_BREAK_ST))
        words += gap
        words.append(draw(anchors) if side == 0 else draw(phrases))
    if draw(st.booleans()):
        words.append(draw(phrases))
    return " ".join(w for w in words if w)


CONTEXTUAL = st.one_of(
    _around_anchor(),
    st.lists(_around_anchor(), min_size=2, max_size=4).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_ANCHORS), st.sampled_from(_WINDOW_PHRASES),
                       st.sampled_from([*_BREAKS, *_FILLER, "2", "my friend", "c.u.t"])),
             min_size=1, max_size=30).map(" ".join))


@settings(max_examples=800, deadline=None)
@given(CONTEXTUAL)
def test_context_checks_are_the_ngram_definition(text: str) -> None:
    """Each examined hit is kept or cancelled exactly as the plain n-gram definition says:
    phrases within the window, not past a break, the anchor's own words left out."""
    got = [(c.rule.id, c.suppressed_by) for c in _DETECTOR.explain(text)]
    expected = _reference_explain(_DETECTOR, text)
    assert got == expected


def _edge_cases(ri: int) -> list[str]:
    """Messages with one anchor of rule `ri` and one phrase of each of its checks, at the
    edge of the check's window, with or without a break in between."""
    rule = _DETECTOR.ruleset.rules[ri]
    anchor = min(_RULE_ANCHORS[ri], key=lambda a: (len(a), a))
    checks = [(" ".join(min(near)), rule.spec.near_before, rule.spec.near_after, "")
              for near in (rule.near, rule.near_also) if near]
    for ci in rule.contexts:
        ctx = _CONTEXTS[ci]
        unless = " ".join(min(ctx.unless)) if ctx.unless else ""
        checks.append((" ".join(min(ctx.phrases)), ctx.window, ctx.window, unless))
    texts = []
    for phrase, before, after, unless in checks:
        for with_unless in {"", unless}:
            for brk in ("", ",", ".", "but"):
                for gap in {0, before - 1, before, after - 1, after}:
                    words = ["zz"] * max(gap, 0) + ([brk] if brk else [])
                    texts.append(" ".join([phrase, with_unless, *words, anchor]))
                    texts.append(" ".join([anchor, *reversed(words), with_unless, phrase]))
    return [" ".join(t.split()) for t in texts]


@pytest.mark.parametrize("ri", sorted(_RULE_ANCHORS))
def test_context_checks_at_their_window_edges(ri: int) -> None:
    """Every check of every rule, with its phrase just inside and just outside its window
    and behind each kind of break, gives what the plain n-gram definition gives."""
    for i, text in enumerate(_edge_cases(ri)):
        got = [(c.rule.id, c.suppressed_by) for c in _DETECTOR.explain(text)]
        expected = _reference_explain(_DETECTOR, text)
        assert got == expected, f"edge case {i}"  # (the message itself is not echoed)
