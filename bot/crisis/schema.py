"""The vocabulary and schema of crisis rules: `content/crisis/*.yaml` as validated models,
and the compiled form the detector matches with.

Every file may hold three sections (see content/crisis/README.md):

- ``templates``: named word lists usable in phrases as ``{name}``;
- ``contexts``: markers that cancel a match (negation, past, figurative, ...);
- ``rules``: what counts as crisis language, with category, severity and subject.

A rule's ``phrases`` are short ANCHORS (core expressions such as "kill myself" or "want to
die"); ``near`` markers, looked for in a bounded window of words around the anchor, make a
rule apply only with an intent, a time or a person nearby; contexts cancel a hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Category(StrEnum):
    """What kind of crisis a rule finds."""

    SUICIDE = "suicide"
    SELF_HARM = "self_harm"
    OVERDOSE = "overdose"


class Severity(StrEnum):
    """How soon help is needed: urgent (intent, plan, time, an overdose now) or concern."""

    CONCERN = "concern"
    URGENT = "urgent"


class Subject(StrEnum):
    """Who is at risk: the writer or someone they write about."""

    SELF = "self"
    OTHER = "other"


class Scope(StrEnum):
    """Where a context looks for its markers around an anchor."""

    BEFORE = "before"
    AFTER = "after"
    SENTENCE = "sentence"
    MESSAGE = "message"


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
    applies_to: list[Subject] = [Subject.SELF, Subject.OTHER]
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
    """One `content/crisis/*.yaml` file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    templates: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], list[str]] = {}
    contexts: list[ContextSpec] = []
    rules: list[RuleSpec] = []


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule compiled for matching."""

    id: str
    category: Category
    severity: Severity
    subject: Subject
    contexts: tuple[int, ...]  # indices into RuleSet.contexts that can cancel this rule
    file: str
    spec: RuleSpec
    requires: tuple[str, ...] = ()  # normalised phrases padded with spaces
    near: frozenset[tuple[str, ...]] = frozenset()  # normalised phrases as token tuples
    near_len: int = 0  # longest near phrase, in tokens
    near_also: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True, slots=True)
class Context:
    """A context compiled for matching."""

    id: str
    scope: Scope
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
    anchors: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Space-free forms of anchors ("killmyself") and letter-spaced anchor words
    # ("k i l l"): seeing one means the message needs the full normalisation.
    gates: set[str] = field(default_factory=set)
