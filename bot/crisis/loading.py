"""Loading crisis rule files: validate every `*.yaml` of a folder and compile it into a
RuleSet (see schema.py for the format, phrases.py for the phrase syntax)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bot.content.yamlfile import load_yaml
from bot.crisis.phrases import compile_phrases, dedouble
from bot.crisis.schema import Context, CrisisFile, Rule, RuleSet
from bot.problems import Problem, pydantic_problems


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
    anchors: dict[str, list[int]] = {}
    seen: dict[str, str] = {}
    for path, cf in parsed:
        for ctx in cf.contexts:
            where = f"{path}: context '{ctx.id}'"
            if not _claim_id(seen, ctx.id, where, path, problems):
                continue
            phrases = compile_phrases(where, ctx.phrases, templates, problems)
            unless = compile_phrases(where, ctx.unless, templates, problems)
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
            requires = tuple(sorted(f" {p} " for p in compile_phrases(
                f"{where}.requires", spec.requires, templates, problems)))
            near = frozenset(tuple(p.split()) for p in compile_phrases(
                f"{where}.near", spec.near, templates, problems))
            also = frozenset(tuple(p.split()) for p in compile_phrases(
                f"{where}.near_also", spec.near_also, templates, problems))
            rs.rules.append(Rule(spec.id, spec.category, spec.severity, spec.subject, ctxs,
                                 str(path), spec, requires, near,
                                 max((len(t) for t in near | also), default=0), also))
            for lit in compile_phrases(where, spec.phrases, templates, problems):
                # The de-doubled form matches elongated words after collapse ("killll" ->
                # "kil"); the space-free form matches letter-spaced text joined into one word.
                for variant in {lit, dedouble(lit)}:
                    anchors.setdefault(variant, []).append(idx)
                    squashed = variant.replace(" ", "")
                    if squashed != variant and len(squashed) >= 6:
                        anchors.setdefault(squashed, []).append(idx)
                for word in lit.split():
                    if len(word) >= 3 and word.isalpha() and word.isascii():
                        rs.gates.add(" ".join(word))
    # Thousands of phrases name the same few rules: one shared tuple per set of rules keeps
    # the rule set small in memory and quick to load from the cache.
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}
    for phrase, idxs in anchors.items():
        key = tuple(sorted(set(idxs)))
        rs.anchors[phrase] = shared.setdefault(key, key)
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


