"""Crisis rules and context lists: the schema of `content/crisis/*.yaml`, loading, compiling.

Every file may hold three sections (see content/crisis/README.md):

- ``templates``: named word lists usable in phrases as ``{name}``;
- ``contexts``: markers that cancel a match (negation, past, figurative, ...);
- ``rules``: what counts as crisis language, with category, severity and subject.

A rule's ``phrases`` are short ANCHORS (core expressions such as "kill myself" or "want to
die"); ``near`` markers, looked for in a bounded window of words around the anchor, make a
rule apply only with an intent, a time or a person nearby; contexts cancel a hit.

Phrase syntax: ``{name}`` inserts a template; ``{a|b|c}`` is an inline choice; an empty
choice makes a word optional (``{just|}``). Phrases are expanded at load time into
literal phrases and normalised exactly like messages (apostrophes dropped, lower case).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.yamlfile import load_yaml
from bot.crisis.normalize import normalize
from bot.problems import Problem, pydantic_problems

Category = Literal["suicide", "self_harm", "overdose"]
Severity = Literal["urgent", "concern"]
Subject = Literal["self", "other"]
Scope = Literal["before", "after", "sentence", "message"]

MAX_EXPANSIONS = 20000  # per phrase: a typo in a template must not hang the loader
Id = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]
Text = Annotated[str, Field(min_length=1)]


class Examples(BaseModel):
    """Messages that must (match) and must not (no_match) fire the rule or context."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    match: Annotated[list[Text], Field(min_length=1)]
    no_match: list[Text] = []


class ContextSpec(BaseModel):
    """Markers that cancel a rule match when found in `scope` around it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Id
    description: Text
    scope: Scope
    window: Annotated[int, Field(ge=1, le=30)] = 6  # words, for before/after/sentence
    applies_to: list[Subject] = ["self", "other"]
    phrases: Annotated[list[Text], Field(min_length=1)]
    # Words that, in the same scope, switch this context off again ("again", "tonight").
    unless: list[Text] = []
    # If set, the context applies only to these rule ids.
    only_rules: list[Id] = []
    examples: Examples


class RuleSpec(BaseModel):
    """One kind of crisis language: the phrases that show it and how serious it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Id
    category: Category
    severity: Severity
    subject: Subject
    description: Text
    phrases: Annotated[list[Text], Field(min_length=1)]
    # If set, one of these phrases must also appear somewhere in the message
    # (e.g. breathing trouble counts as an overdose only next to "took", "used", "pills").
    requires: list[Text] = []
    # If set, one of these phrases must appear NEAR the matched phrase: up to `near_before`
    # words before it and `near_after` words after it, in the same sentence. This is how an
    # intent ("going to", "tonight", "i've decided") turns a short anchor into an urgent rule
    # while words in between ("i really think i'm going to just end it") still match.
    near: list[Text] = []
    # A second list for the same window: one of these must be there too (e.g. a person AND
    # an intent for "my brother says he's gonna kill himself tonight").
    near_also: list[Text] = []
    near_before: Annotated[int, Field(ge=0, le=12)] = 6
    near_after: Annotated[int, Field(ge=0, le=12)] = 4
    # Context ids that do NOT apply to this rule (default: every context for its subject).
    ignore_contexts: list[Id] = []
    examples: Examples


class CrisisFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    templates: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], list[str]] = {}
    contexts: list[ContextSpec] = []
    rules: list[RuleSpec] = []


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    severity: str
    subject: str
    contexts: tuple[int, ...]  # indices into RuleSet.contexts that can cancel this rule
    file: str
    spec: RuleSpec
    requires: tuple[str, ...] = ()  # normalised phrases padded with spaces
    near: frozenset[tuple[str, ...]] = frozenset()  # normalised phrases as token tuples
    near_len: int = 0  # longest near phrase, in tokens
    near_also: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True, slots=True)
class Context:
    id: str
    scope: str
    window: int
    file: str
    spec: ContextSpec
    phrases: frozenset[tuple[str, ...]]
    unless: frozenset[tuple[str, ...]]
    max_len: int


@dataclass(slots=True)
class RuleSet:
    """Compiled rules: literal anchor phrases (normalised) -> rule indices, plus contexts."""

    rules: list[Rule] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    anchors: dict[str, list[int]] = field(default_factory=dict)
    # Space-free forms of anchors ("killmyself") and letter-spaced anchor words
    # ("k i l l"): seeing one means the message needs the full normalisation.
    gates: set[str] = field(default_factory=set)


def _split_slots(phrase: str) -> list[str]:
    """Split at top-level braces: even items are literal text, odd items slot contents
    (which may hold nested slots: "{this week|{weekday}}"). Raises ValueError when the
    braces do not pair up."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(phrase):
        if ch == "{":
            if depth == 0:
                parts.append(phrase[start:i])
                start = i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise ValueError("has a '}' without a matching '{'")
            if depth == 0:
                parts.append(phrase[start:i])
                start = i + 1
    if depth:
        raise ValueError("has a '{' without a matching '}'")
    parts.append(phrase[start:])
    return parts


def _split_top(text: str, sep: str) -> list[str]:
    """Split `text` at `sep` characters that are not inside braces."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def expand(phrase: str, templates: dict[str, list[str]], depth: int = 0) -> list[str]:
    """All literal phrases a phrase stands for. Raises KeyError on an unknown template and
    ValueError when the expansion is too large or too deep."""
    if depth > 4:
        raise ValueError("templates nest more than 4 deep")
    parts = _split_slots(phrase)
    choices: list[list[str]] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            choices.append([part])
        elif "|" in part or "{" in part:
            options: list[str] = []
            for opt in _split_top(part, "|"):
                options += expand(opt, templates, depth + 1) if "{" in opt else [opt]
            choices.append(options)
        else:
            if part not in templates:
                raise KeyError(part)
            options = []
            for opt in templates[part]:
                options += expand(opt, templates, depth + 1) if "{" in opt else [opt]
            choices.append(options)
    total = 1
    for c in choices:
        total *= len(c)
    if total > MAX_EXPANSIONS:
        raise ValueError(f"expands to {total} phrases (limit {MAX_EXPANSIONS})")
    return ["".join(combo) for combo in itertools.product(*choices)]


def _dedouble(text: str) -> str:
    return re.sub(r"([a-z])\1", r"\1", text)


def _compile_phrases(where: str, phrases: list[str], templates: dict[str, list[str]],
                     problems: list[Problem]) -> set[str]:
    out: set[str] = set()
    for i, phrase in enumerate(phrases):
        try:
            literals = expand(phrase, templates)
        except KeyError as exc:
            problems.append(Problem(f"{where}.phrases[{i}]",
                                    f"uses unknown template {{{exc.args[0]}}}",
                                    "define it under 'templates:' or fix the spelling"))
            continue
        except ValueError as exc:
            problems.append(Problem(f"{where}.phrases[{i}]", str(exc),
                                    "split the phrase or use smaller templates"))
            continue
        for lit in literals:
            norm = normalize(lit)
            if norm:
                out.add(norm)
    return out


def load_rules(directory: Path) -> tuple[RuleSet, list[Problem]]:
    """Validate and compile every `*.yaml` in `directory`; returns the rule set and problems."""
    problems: list[Problem] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(str(directory), "has no crisis rule files (*.yaml)",
                                "point the bot at a content folder with crisis/*.yaml"))
    parsed: list[tuple[Path, CrisisFile]] = []
    templates: dict[str, list[str]] = {}
    for path in files:
        data, errs = load_yaml(path)
        problems += errs
        if errs:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(path), "must be a mapping with templates/contexts/rules",
                                    "see content/crisis/README.md"))
            continue
        try:
            cf = CrisisFile.model_validate(data)
        except ValidationError as exc:
            problems += pydantic_problems(str(path), exc)
            continue
        for name, values in cf.templates.items():
            if name in templates:
                problems.append(Problem(f"{path}: template '{name}'", "is defined twice",
                                        "keep one definition"))
            templates[name] = values
        parsed.append((path, cf))

    rs = RuleSet()
    seen: dict[str, str] = {}
    for path, cf in parsed:
        for ctx in cf.contexts:
            where = f"{path}: context '{ctx.id}'"
            if not _claim_id(seen, ctx.id, where, path, problems):
                continue
            phrases = _compile_phrases(where, ctx.phrases, templates, problems)
            unless = _compile_phrases(where, ctx.unless, templates, problems)
            toks = {tuple(p.split()) for p in phrases}
            rs.contexts.append(Context(ctx.id, ctx.scope, ctx.window, str(path), ctx,
                                       frozenset(toks), frozenset(tuple(p.split()) for p in unless),
                                       max((len(t) for t in toks), default=1)))
    ctx_index = {c.id: i for i, c in enumerate(rs.contexts)}
    rule_ids = {r.id for _, cf in parsed for r in cf.rules}
    for ctx in rs.contexts:
        for name in ctx.spec.only_rules:
            if name not in rule_ids:
                problems.append(Problem(f"{ctx.file}: context '{ctx.id}'.only_rules",
                                        f"names unknown rule '{name}'",
                                        "use an id from a rules: section"))
    for path, cf in parsed:
        for spec in cf.rules:
            where = f"{path}: rule '{spec.id}'"
            if not _claim_id(seen, spec.id, where, path, problems):
                continue
            for name in spec.ignore_contexts:
                if name not in ctx_index:
                    problems.append(Problem(f"{where}.ignore_contexts",
                                            f"names unknown context '{name}'",
                                            "use an id from a contexts: section"))
            ctxs = tuple(i for i, c in enumerate(rs.contexts)
                         if spec.subject in c.spec.applies_to and c.id not in spec.ignore_contexts
                         and (not c.spec.only_rules or spec.id in c.spec.only_rules))
            idx = len(rs.rules)
            requires = tuple(sorted(f" {p} " for p in _compile_phrases(
                f"{where}.requires", spec.requires, templates, problems)))
            near = frozenset(tuple(p.split()) for p in _compile_phrases(
                f"{where}.near", spec.near, templates, problems))
            also = frozenset(tuple(p.split()) for p in _compile_phrases(
                f"{where}.near_also", spec.near_also, templates, problems))
            rs.rules.append(Rule(spec.id, spec.category, spec.severity, spec.subject, ctxs,
                                 str(path), spec, requires, near,
                                 max((len(t) for t in near | also), default=0), also))
            for lit in _compile_phrases(where, spec.phrases, templates, problems):
                # The de-doubled form matches elongated words after collapse ("killll" ->
                # "kil"); the space-free form matches letter-spaced text joined into one word.
                for variant in {lit, _dedouble(lit)}:
                    rs.anchors.setdefault(variant, []).append(idx)
                    squashed = variant.replace(" ", "")
                    if squashed != variant and len(squashed) >= 6:
                        rs.anchors.setdefault(squashed, []).append(idx)
                for word in lit.split():
                    if len(word) >= 3 and word.isalpha() and word.isascii():
                        rs.gates.add(" ".join(word))
    for lst in rs.anchors.values():
        lst[:] = sorted(set(lst))
    return rs, problems


def _claim_id(seen: dict[str, str], item_id: str, where: str, path: Path,
              problems: list[Problem]) -> bool:
    """Record that `path` defines `item_id`; False (and a problem) if it is taken."""
    if item_id in seen:
        problems.append(Problem(where, f"id is already used in {seen[item_id]}",
                                "give every rule and context its own id"))
        return False
    seen[item_id] = str(path)
    return True


def check_rules(directory: Path) -> list[Problem]:
    """Load the rules and run every example; each failing example is one Problem."""
    ruleset, problems = load_rules(directory)
    if any(p.severity == "error" for p in problems):
        return problems
    return problems + check_examples(ruleset)


def check_examples(ruleset: RuleSet, det=None) -> list[Problem]:
    """Run every rule and context example of an already loaded rule set."""
    from bot.crisis.detector import Detector  # local: the detector imports this module

    problems: list[Problem] = []
    det = det or Detector(ruleset)
    for rule in ruleset.rules:
        for kind, examples in (("match", rule.spec.examples.match),
                               ("no_match", rule.spec.examples.no_match)):
            for i, text in enumerate(examples):
                fired = rule.id in {c.rule.id for c in det.explain(text) if c.suppressed_by is None}
                if fired != (kind == "match"):
                    verb = "does not fire" if kind == "match" else "fires"
                    problems.append(Problem(
                        f"{rule.file}: rule '{rule.id}' examples.{kind}[{i}]",
                        f"example {text!r} {verb} this rule",
                        "change the phrases or contexts, or the example"))
    for ctx in ruleset.contexts:
        for kind, examples in (("match", ctx.spec.examples.match),
                               ("no_match", ctx.spec.examples.no_match)):
            for i, text in enumerate(examples):
                cands = det.explain(text)
                by_this = any(c.suppressed_by == ctx.id for c in cands)
                final = det.detect(text)
                # A context limited to some rules (only_rules) may leave a milder rule
                # firing: its match examples must just not end on one of those rules.
                cancelled = final is None or (
                    bool(ctx.spec.only_rules) and final.rule not in ctx.spec.only_rules)
                ok = (by_this and cancelled) if kind == "match" else final is not None
                if not ok:
                    what = ("is not cancelled by this context" if kind == "match"
                            else "is not detected (this example must still be a crisis)")
                    problems.append(Problem(
                        f"{ctx.file}: context '{ctx.id}' examples.{kind}[{i}]",
                        f"example {text!r} {what}",
                        "change the markers or the example"))
    return problems
