"""Find crisis language in one message: one automaton pass, then context checks per hit.

Ranking when several rules fire (most serious wins):
1. severity: urgent > concern;
2. category: overdose > suicide > self_harm (an overdose reply asks for an emergency
   call and naloxone, the most time-critical help);
3. subject: self > other.
"""

from __future__ import annotations

import operator
import re
import string
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from bot.crisis.loading import load_rules
from bot.crisis.normalize import (
    BREAK,
    SOFT_BREAK,
    complete_quick,
    needs_completion,
    normalize_once,
    quick,
)
from bot.crisis.schema import Category, Rule, RuleSet, Scope, Severity, Subject
from bot.paths import bundled_content_dir
from bot.problems import ContentError

# Adversarial input (thousands of trigger fragments) must stay fast: only this many
# anchor hits are examined per message. Real messages have a handful.
MAX_HITS = 16
_SEVERITY = {Severity.URGENT: 1, Severity.CONCERN: 0}
_CATEGORY = {Category.OVERDOSE: 2, Category.SUICIDE: 1, Category.SELF_HARM: 0}
_SUBJECT = {Subject.SELF: 1, Subject.OTHER: 0}
_TOP = (1, 2, 1)
_GATE = -1


@dataclass(frozen=True, slots=True)
class Detection:
    """A crisis found in a message. `rule` is the id of the rule that fired."""

    category: Category
    severity: Severity
    subject: Subject
    rule: str

    @property
    def rank(self) -> tuple[int, int, int]:
        """Orders detections: the most serious (see the module docstring) is the largest."""
        return (_SEVERITY[self.severity], _CATEGORY[self.category], _SUBJECT[self.subject])


@dataclass(frozen=True, slots=True)
class Candidate:
    """One rule hit and, if a context cancelled it, that context's id (for explain/checks)."""

    rule: Rule
    suppressed_by: str | None


def _rank(rule: Rule) -> tuple[int, int, int]:
    return (_SEVERITY[rule.severity], _CATEGORY[rule.category], _SUBJECT[rule.subject])


# Context phrases write any number as 0 ("{number} kms"). (The lookbehind comes after the
# digit so that the regex engine jumps from digit to digit.)
_NUMBER = re.compile(r"[0-9](?<!\S[0-9])\S*")
_DIGIT = re.compile("[0-9]")


class Detector:
    """Crisis detector over a compiled RuleSet. Thread-safe: it keeps no per-call state.

    Per message: one automaton pass finds the anchor hits (at most MAX_HITS are examined);
    another finds the phrases that count anywhere in the message. For each examined hit, a
    third automaton runs over the few words on each side of the anchor, up to the widest
    window any check uses and never past a sentence break, and records per phrase list the
    distance in words to its nearest phrase; every check is then a comparison of that
    distance with the check's window (cut short at the nearest break)."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self._rules = ruleset.rules
        self._contexts = ruleset.contexts
        keys: dict[str, tuple[int, ...]] = {}
        for phrase, idxs in ruleset.anchors.items():
            keys[f" {phrase} "] = idxs
        for gate in ruleset.gates:
            keys.setdefault(f" {gate} ", (_GATE,))
        for ch in string.ascii_lowercase:
            keys.setdefault(ch * 3, (_GATE,))
        auto = ahocorasick.Automaton()
        for key, idxs in keys.items():
            auto.add_word(key, (len(key), key.count(" ") - 1, idxs))
        if len(auto):
            auto.make_automaton()
        self._auto = auto
        self._whole_auto = self._whole_automaton()
        self._win_auto, self._ctx_sets, self._near_sets = self._window_automaton()
        windows = [c.window for c in self._contexts if c.scope != Scope.MESSAGE]
        self._reach_before = max([*windows, *(r.spec.near_before for r in self._rules)],
                                 default=0)
        self._reach_after = max([*windows, *(r.spec.near_after for r in self._rules)],
                                default=0)

    def _whole_automaton(self) -> ahocorasick.Automaton:
        """Phrases looked for in the whole message, all in one pass: markers (kind 0) and
        `unless` phrases (kind 1) of message-scope contexts, and rules' `requires` (kind 2)."""
        whole: dict[str, list[tuple[int, int]]] = {}
        for ci, ctx in enumerate(self._contexts):
            if ctx.scope == Scope.MESSAGE:
                for kind, phrases in ((0, ctx.phrases), (1, ctx.unless)):
                    for phrase in phrases:
                        whole.setdefault(f" {' '.join(phrase)} ", []).append((kind, ci))
        for ri, rule in enumerate(self._rules):
            for key in rule.requires:
                whole.setdefault(key, []).append((2, ri))
        auto = ahocorasick.Automaton()
        for key, found in whole.items():
            auto.add_word(key, tuple(found))
        if len(auto):
            auto.make_automaton()
        return auto

    def _window_automaton(self) -> tuple[ahocorasick.Automaton, list[tuple[int, int]],
                                         list[tuple[int, int]]]:
        """Phrases looked for around a hit: every list of them (context markers and their
        `unless`, near lists) gets a number, -1 for an empty list (never found); lists shared
        by several rules count once. Returns the automaton, whose values are (key length,
        list numbers), and the list numbers of each context and of each rule's near lists."""
        set_ids: dict[frozenset[tuple[str, ...]], int] = {}

        def set_id(phrases: frozenset[tuple[str, ...]]) -> int:
            return set_ids.setdefault(phrases, len(set_ids)) if phrases else -1

        ctx_sets = [(set_id(c.phrases), set_id(c.unless)) for c in self._contexts]
        near_sets = [(set_id(r.near), set_id(r.near_also)) for r in self._rules]
        owners: dict[tuple[str, ...], list[int]] = {}
        for phrases, sid in set_ids.items():
            for phrase in phrases:
                owners.setdefault(phrase, []).append(sid)
        auto = ahocorasick.Automaton()
        for phrase, sids in owners.items():
            key = f" {' '.join(phrase)} "
            auto.add_word(key, (len(key), tuple(sids)))
        if len(auto):
            auto.make_automaton()
        return auto, ctx_sets, near_sets

    @property
    def rule_count(self) -> int:
        """Number of rules loaded (for `python -m bot check`)."""
        return len(self._rules)

    # -- matching ----------------------------------------------------------------------
    def _hits(self, text: str) -> tuple[str, list[tuple[int, int, tuple[int, ...]]]]:
        """Normalised text and anchor hits as (first token, token count, rule indices)."""
        return self._hits_quick(text, quick(text))

    def _hits_quick(self, text: str, norm: str | None
                    ) -> tuple[str, list[tuple[int, int, tuple[int, ...]]]]:
        """`_hits` given `norm = quick(text)`."""
        if not len(self._auto):
            return "", []
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
        hits: list[tuple[int, int, tuple[int, ...]]] = []
        # Token index of each hit = spaces before it (padded[start] is the space before the
        # phrase), counted on from the previous hit rather than from the start each time.
        at = first = 0
        for end, (length, ntok, idxs) in self._auto.iter(padded):
            if idxs[0] == _GATE:
                if fast:
                    return None
                continue
            start = end - length + 1
            if start >= at:
                first += norm.count(" ", at, start)
            else:
                first -= norm.count(" ", start, at)
            at = start
            hits.append((first, ntok, idxs))
            if len(hits) >= MAX_HITS * 4:
                # Enough hits: stop iterating (adversarial walls of phrases). On the fast
                # path a gate may lie further on; a cheap check says if it could. (When it
                # says yes wrongly, the caller's rescan finds the same hits.)
                if fast and needs_completion(norm):
                    return None
                break
        return hits

    def _candidates(self, text: str, stop_early: bool, norm: str | None) -> list[Candidate]:
        """Rule hits with their cancelling context; `norm` is quick(text)."""
        norm, hits = self._hits_quick(text, norm)
        if not hits:
            return []
        numbered = _NUMBER.sub("0", norm) if _DIGIT.search(norm) else norm
        tokens = numbered.split(" ")
        padded = f" {numbered} "
        # What the whole message holds (the same for every hit), and what each side of an
        # anchor holds, by its words (walls of repeated fragments repeat them).
        befores: dict[str, _Side] = {}
        afters: dict[str, _Side] = {}
        whole = self._whole(padded)
        out: list[Candidate] = []
        done: set[int] = set()
        best = (-1, -1, -1)
        examined = 0
        for first, ntok, idxs in hits:
            win: tuple[_Side, _Side] | None = None
            for ri in idxs:
                if ri in done:
                    continue
                examined += 1
                if examined > MAX_HITS:
                    return out
                rule = self._rules[ri]
                if rule.requires and ri not in whole[1]:
                    continue
                if win is None:
                    win = self._window(tokens, first, first + ntok, befores, afters)
                near, also = self._near_sets[ri]
                if near >= 0 and not _near(win, near, rule):
                    continue
                if also >= 0 and not _near(win, also, rule):
                    continue
                why = self._cancelled_by(rule, win, whole)
                out.append(Candidate(rule, why))
                if why is None:
                    done.add(ri)
                    best = max(best, _rank(rule))
                    if stop_early and best == _TOP:
                        return out
        return out

    def _window(self, tokens: list[str], a: int, b: int, befores: dict[str, _Side],
                afters: dict[str, _Side]) -> tuple[_Side, _Side]:
        """What lies around the anchor tokens[a:b], up to the widest window any check uses
        and not past a sentence break."""
        text = f" {' '.join(tokens[max(0, a - self._reach_before):a])} "
        before = befores.get(text)
        if before is None:
            before = befores[text] = self._side_before(text)
        text = f" {' '.join(tokens[b:b + self._reach_after])} "
        after = afters.get(text)
        if after is None:
            after = afters[text] = self._side_after(text)
        return before, after

    def _side_before(self, text: str) -> _Side:
        """The words before an anchor, joined and padded with spaces."""
        # The nearest breaks are the last ones; a break k words back leaves k - 1 words.
        hard_at = max(text.rfind(_BREAK_KEY), text.rfind(_BUT_KEY))
        soft_at = max(hard_at, text.rfind(_SOFT_KEY))
        hard = text.count(" ", hard_at) - 2 if hard_at >= 0 else _FAR
        soft = text.count(" ", soft_at) - 2 if soft_at >= 0 else _FAR
        found: dict[int, int] = {}
        auto = self._win_auto
        if len(auto):
            # Only after the nearest hard break. A match (" phrase ") ends at the space after
            # its last word; the latest start is the nearest phrase of a set.
            begin = text.index(" ", hard_at + 1) if hard_at >= 0 else 0
            for stop, (length, sids) in auto.iter(text, begin):
                start = stop - length + 1
                for sid in sids:
                    if start > found.get(sid, -1):
                        found[sid] = start
            last = len(text) - 1
            for sid, start in found.items():
                found[sid] = text.count(" ", start, last)
        return soft, hard, found

    def _side_after(self, text: str) -> _Side:
        """The words after an anchor, joined and padded with spaces."""
        # The nearest breaks are the first ones; a break after k words leaves k words.
        hard_at = _first(text.find(_BREAK_KEY), text.find(_BUT_KEY))
        soft_at = _first(hard_at, text.find(_SOFT_KEY))
        hard = text.count(" ", 0, hard_at) if hard_at >= 0 else _FAR
        soft = text.count(" ", 0, soft_at) if soft_at >= 0 else _FAR
        found: dict[int, int] = {}
        auto = self._win_auto
        if len(auto):
            # Up to the nearest hard break. Matches come in order of their end: the first one
            # of a set is the nearest.
            for stop, (_, sids) in auto.iter(text, 0, hard_at + 1 if hard_at >= 0 else len(text)):
                for sid in sids:
                    if sid not in found:
                        found[sid] = stop
            for sid, stop in found.items():
                found[sid] = text.count(" ", 0, stop)
        return soft, hard, found

    def _whole(self, padded: str) -> _Whole:
        """Message-scope contexts that cancel, and rules whose `requires` is met."""
        markers: set[int] = set()
        unless: set[int] = set()
        met: set[int] = set()
        if len(self._whole_auto):
            # Each phrase once, however often it occurs (C-level up to here).
            for found in set(map(_VALUE, self._whole_auto.iter(padded))):
                for kind, i in found:
                    (markers, unless, met)[kind].add(i)
        return markers - unless, met

    def _cancelled_by(self, rule: Rule, win: tuple[_Side, _Side],
                      whole: _Whole) -> str | None:
        before, after = win
        found_b, found_a = before[2], after[2]
        for ci in rule.contexts:
            ctx = self._contexts[ci]
            if ctx.scope == Scope.MESSAGE:
                if ci in whole[0]:
                    return ctx.id
                continue
            phrases, unless = self._ctx_sets[ci]
            if phrases not in found_b and phrases not in found_a:
                continue
            # The anchor itself is left out: its own words are not context for it.
            window = ctx.window
            if ctx.scope == Scope.BEFORE:
                reach_b, reach_a = min(window, before[0]), 0
            elif ctx.scope == Scope.AFTER:
                reach_b, reach_a = 0, min(window, after[0])
            else:
                reach_b, reach_a = min(window, before[1]), min(window, after[1])
            if (found_b.get(phrases, _FAR) <= reach_b or found_a.get(phrases, _FAR) <= reach_a
                    ) and not (unless >= 0 and (found_b.get(unless, _FAR) <= reach_b
                                                or found_a.get(unless, _FAR) <= reach_a)):
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
        for cand in self._candidates(text, True, norm):
            if cand.suppressed_by is None and (best is None or _rank(cand.rule) > _rank(best)):
                best = cand.rule
        if best is None:
            return None
        return Detection(best.category, best.severity, best.subject, best.id)

    def explain(self, text: str) -> list[Candidate]:
        """Every rule hit with the context that cancelled it, if any (for checks and tests)."""
        return self._candidates(text, False, quick(text))


_VALUE = operator.itemgetter(1)
# Larger than any distance in words: "no break / no such phrase in reach".
_FAR = 1 << 30


# One side of an anchor (Detector._side_before/_side_after): how many words of it a region
# may take before reaching a break and before reaching a hard break (_FAR: no break in
# reach), and per phrase set, the distance in words from the anchor to the far end of its
# nearest phrase. A phrase lies in a region of k words exactly when its distance is <= k.
_Side = tuple[int, int, dict[int, int]]
# What the whole message holds: the message-scope contexts that cancel (a marker and none of
# its `unless` phrases anywhere), and the rules whose `requires` is met.
_Whole = tuple[set[int], set[int]]
_BREAK_KEY, _BUT_KEY, _SOFT_KEY = f" {BREAK} ", " but ", f" {SOFT_BREAK} "


def _first(i: int, j: int) -> int:
    """The smaller of two str.find results, -1 only if both are."""
    return i if j < 0 or 0 <= i < j else j


def _near(win: tuple[_Side, _Side], sid: int, rule: Rule) -> bool:
    """Does a phrase of list `sid` occur in the rule's near window (same sentence)?"""
    before, after = win
    return (before[2].get(sid, _FAR) <= min(rule.spec.near_before, before[1])
            or after[2].get(sid, _FAR) <= min(rule.spec.near_after, after[1]))


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
