"""Checking crisis rules: every rule and context example run through the detector."""

from __future__ import annotations

from pathlib import Path

from bot.crisis.detector import Detector
from bot.crisis.loading import load_rules
from bot.crisis.schema import RuleSet
from bot.problems import Problem


def check_rules(directory: Path) -> list[Problem]:
    """Load the rules and run every example; each failing example is one Problem."""
    ruleset, problems = load_rules(directory)
    if any(p.severity == "error" for p in problems):
        return problems
    return problems + check_examples(ruleset)


def check_examples(ruleset: RuleSet, det: Detector | None = None) -> list[Problem]:
    """Run every rule and context example of an already loaded rule set."""
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
