"""Phrase syntax of crisis rules, expanded into the literal phrases the detector matches.

``{name}`` inserts a template; ``{a|b|c}`` is an inline choice; an empty choice makes a word
optional (``{just|}``). Phrases are expanded at load time into literal phrases and
normalised exactly like messages (apostrophes dropped, lower case).
"""

from __future__ import annotations

import itertools
import re

from bot.crisis.normalize import normalize
from bot.problems import Problem

MAX_EXPANSIONS = 20000  # per phrase: a typo in a template must not hang the loader


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


def dedouble(text: str) -> str:
    """Collapse doubled letters, as elongation does to a message ("killll" -> "kil")."""
    return re.sub(r"([a-z])\1", r"\1", text)


def compile_phrases(where: str, phrases: list[str], templates: dict[str, list[str]],
                    problems: list[Problem]) -> set[str]:
    """The normalised literal phrases of `phrases`; problems name `where` and the phrase."""
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


