"""Find crisis language in one message: one automaton pass, then context checks per hit.

Ranking when several rules fire (most serious wins):
1. severity: urgent > concern;
2. category: overdose > suicide > self_harm (an overdose reply asks for an emergency
   call and naloxone, the most time-critical help);
3. subject: self > other.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from bot.crisis.normalize import (
    BREAK,
    SOFT_BREAK,
    complete_quick,
    needs_completion,
    normalize_once,
    quick,
)
from bot.crisis.rules import Rule, RuleSet, load_rules
from bot.paths import bundled_content_dir
from bot.problems import ContentError

# Adversarial input (thousands of trigger fragments) must stay fast: only this many
# anchor hits are examined per message. Real messages have a handful.
MAX_HITS = 16
_HARD_BREAKS = frozenset({BREAK, "but"})
_ALL_BREAKS = frozenset({BREAK, SOFT_BREAK, "but"})
_SEVERITY = {"urgent": 1, "concern": 0}
_CATEGORY = {"overdose": 2, "suicide": 1, "self_harm": 0}
_SUBJECT = {"self": 1, "other": 0}
_TOP = (1, 2, 1)
_GATE = -1


@dataclass(frozen=True, slots=True)
class Detection:
    """A crisis found in a message. `rule` is the id of the rule that fired."""

    category: str  # "suicide" | "self_harm" | "overdose"
    severity: str  # "urgent" | "concern"
    subject: str  # "self" | "other"
    rule: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """One rule hit and, if a context cancelled it, that context's id (for explain/checks)."""

    rule: Rule
    suppressed_by: str | None


def _rank(rule: Rule) -> tuple[int, int, int]:
    return (_SEVERITY[rule.severity], _CATEGORY[rule.category], _SUBJECT[rule.subject])


# Context phrases write any number as 0 ("{number} kms").
_NUMBER = re.compile(r"(?<!\S)[0-9]\S*")


class Detector:
    """Crisis detector over a compiled RuleSet. Thread-safe: it keeps no per-call state."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self._rules = ruleset.rules
        self._contexts = ruleset.contexts
        keys: dict[str, tuple[int, ...]] = {}
        for phrase, idxs in ruleset.anchors.items():
            keys[f" {phrase} "] = tuple(idxs)
        for gate in ruleset.gates:
            keys.setdefault(f" {gate} ", (_GATE,))
        for ch in string.ascii_lowercase:
            keys.setdefault(ch * 3, (_GATE,))
        auto = ahocorasick.Automaton()
        for key, idxs in keys.items():
            auto.add_word(key, (len(key), idxs))
        if len(auto):
            auto.make_automaton()
        self._auto = auto
        self._msg_keys = [
            (tuple(f" {' '.join(p)} " for p in c.phrases),
             tuple(f" {' '.join(p)} " for p in c.unless)) for c in self._contexts]

    @property
    def rule_count(self) -> int:
        """Number of rules loaded (for `python -m bot check`)."""
        return len(self._rules)

    # -- matching ----------------------------------------------------------------------
    def _hits(self, text: str) -> tuple[str, list[tuple[int, int, tuple[int, ...]]]]:
        """Normalised text and anchor hits as (first token, token count, rule indices)."""
        if not len(self._auto):
            return "", []
        norm = quick(text)
        if norm is None:
            norm = normalize_once(text)
            return norm, self._scan(norm, False) or []
        found = self._scan(norm, True)
        if found is None:  # a gate fired on the fast path: elongation or letter spacing
            # Same as normalize_once(text), without redoing what quick already did.
            norm = complete_quick(norm)
            found = self._scan(norm, False) or []
        return norm, found

    def _scan(self, norm: str, fast: bool) -> list[tuple[int, int, tuple[int, ...]]] | None:
        padded = f" {norm} "
        raw: list[tuple[int, int, tuple[int, ...]]] = []
        for end, (length, idxs) in self._auto.iter(padded):
            if idxs[0] == _GATE:
                if fast:
                    return None
                continue
            raw.append((end - length + 1, length, idxs))
            if len(raw) >= MAX_HITS * 4:
                # Enough hits: stop iterating (adversarial walls of phrases). On the fast
                # path a gate may lie further on; a cheap check says if it could. (When it
                # says yes wrongly, the caller's rescan finds the same hits.)
                if fast and needs_completion(norm):
                    return None
                break
        hits = []
        # Token index of each hit = spaces before it (padded[start] is the space before the
        # phrase), counted on from the previous hit rather than from the start each time.
        at = first = 0
        for start, length, idxs in raw:
            if start >= at:
                first += norm.count(" ", at, start)
            else:
                first -= norm.count(" ", start, at)
            at = start
            ntok = padded.count(" ", start + 1, start + length - 1) + 1
            hits.append((first, ntok, idxs))
        return hits

    def _candidates(self, text: str, stop_early: bool) -> list[Candidate]:
        norm, hits = self._hits(text)
        if not hits:
            return []
        numbered = _NUMBER.sub("0", norm)
        tokens = numbered.split(" ")
        padded = f" {numbered} "
        cache: dict[tuple[int, int, int], set[tuple[str, ...]]] = {}
        out: list[Candidate] = []
        done: set[int] = set()
        best = (-1, -1, -1)
        examined = 0
        for first, ntok, idxs in hits:
            for ri in idxs:
                if ri in done:
                    continue
                examined += 1
                if examined > MAX_HITS:
                    return out
                rule = self._rules[ri]
                if rule.requires and not any(k in padded for k in rule.requires):
                    continue
                if rule.near and not _near(rule.near, rule, tokens, first, first + ntok, cache):
                    continue
                if rule.near_also and not _near(rule.near_also, rule, tokens, first,
                                                first + ntok, cache):
                    continue
                why = self._cancelled_by(rule, tokens, padded, first, first + ntok, cache)
                out.append(Candidate(rule, why))
                if why is None:
                    done.add(ri)
                    best = max(best, _rank(rule))
                    if stop_early and best == _TOP:
                        return out
        return out

    def _cancelled_by(self, rule: Rule, tokens: list[str], padded: str, a: int, b: int,
                      cache: dict[tuple[int, int, int], set[tuple[str, ...]]]) -> str | None:
        for ci in rule.contexts:
            ctx = self._contexts[ci]
            if ctx.scope == "message":
                # The same for every hit in the message: computed once per message.
                found = cache.get((-1, ci, 0))
                if found is None:
                    keys, unless = self._msg_keys[ci]
                    found = cache[(-1, ci, 0)] = {()} if (
                        any(k in padded for k in keys)
                        and not any(k in padded for k in unless)) else set()
                if found:
                    return ctx.id
                continue
            if ctx.scope == "before":
                lo, hi = _before(tokens, a, ctx.window, _ALL_BREAKS), a
            elif ctx.scope == "after":
                lo, hi = b, _after(tokens, b, ctx.window, _ALL_BREAKS)
            else:
                lo = _before(tokens, a, ctx.window, _HARD_BREAKS)
                hi = _after(tokens, b, ctx.window, _HARD_BREAKS)
            n = max(ctx.max_len, 1)
            # The anchor itself is left out: its own words are not context for it.
            if ctx.scope == "sentence":
                grams = _grams(tokens, lo, a, n, cache) | _grams(tokens, b, hi, n, cache)
            else:
                grams = _grams(tokens, lo, hi, n, cache)
            if not grams.isdisjoint(ctx.phrases) and (
                    not ctx.unless or grams.isdisjoint(ctx.unless)):
                return ctx.id
        return None

    # -- public ------------------------------------------------------------------------
    def detect(self, text: str) -> Detection | None:
        """The most serious crisis in `text`, or None. Never raises on a str."""
        # Fast exit for the common case: plain chat with no anchor or gate at all.
        norm = quick(text)
        if norm is not None:
            for _ in self._auto.iter(f" {norm} "):
                break
            else:
                return None
        best: Rule | None = None
        for cand in self._candidates(text, stop_early=True):
            if cand.suppressed_by is None and (best is None or _rank(cand.rule) > _rank(best)):
                best = cand.rule
        if best is None:
            return None
        return Detection(best.category, best.severity, best.subject, best.id)

    def explain(self, text: str) -> list[Candidate]:
        """Every rule hit with the context that cancelled it, if any (for checks and tests)."""
        return self._candidates(text, stop_early=False)


def _before(tokens: list[str], a: int, window: int, breaks: frozenset[str]) -> int:
    """First token index of the region before `a`: at most `window` words, not past a break."""
    lo = max(0, a - window)
    for i in range(a - 1, lo - 1, -1):
        if tokens[i] in breaks:
            return i + 1
    return lo


def _after(tokens: list[str], b: int, window: int, breaks: frozenset[str]) -> int:
    """End token index (exclusive) of the region after `b`."""
    hi = min(len(tokens), b + window)
    for i in range(b, hi):
        if tokens[i] in breaks:
            return i
    return hi


def _near(phrases: frozenset[tuple[str, ...]], rule: Rule, tokens: list[str], a: int, b: int,
          cache: dict[tuple[int, int, int], set[tuple[str, ...]]]) -> bool:
    """Does one of `phrases` occur in the rule's window around the anchor tokens[a:b]?"""
    n = rule.near_len
    lo = _before(tokens, a, rule.spec.near_before, _HARD_BREAKS)
    hi = _after(tokens, b, rule.spec.near_after, _HARD_BREAKS)
    return not (_grams(tokens, lo, a, n, cache).isdisjoint(phrases)
                and _grams(tokens, b, hi, n, cache).isdisjoint(phrases))


def _grams(tokens: list[str], lo: int, hi: int, n: int,
           cache: dict[tuple[int, int, int], set[tuple[str, ...]]]) -> set[tuple[str, ...]]:
    grams = cache.get((lo, hi, n))
    if grams is None:
        grams = cache[(lo, hi, n)] = _ngrams(tokens[lo:hi], n)
    return grams


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    out = set()
    for size in range(1, n + 1):
        for i in range(len(tokens) - size + 1):
            out.add(tuple(tokens[i:i + size]))
    return out


_DEFAULT: Detector | None = None


def default_detector() -> Detector:
    """The detector over the bundled rules, loaded on first use. Raises ContentError if the
    bundled rules have errors (a packaging bug, caught by the test suite)."""
    global _DEFAULT
    if _DEFAULT is None:
        ruleset, problems = load_rules(Path(bundled_content_dir()) / "crisis")
        if any(p.severity == "error" for p in problems):
            raise ContentError(problems)
        _DEFAULT = Detector(ruleset)
    return _DEFAULT


def detect(text: str) -> Detection | None:
    """Detect crisis language in one message with the bundled rules."""
    return default_detector().detect(text)
