"""Rules alone, the model alone and the shipped hybrid, side by side. Prints figures only.

Sets: the real-text development splits of ../shared/data/crisis-train (never trained on), the
OpenAI self-harm set, and, with --blind, the two held-out corpora in tests/data (reported,
never tuned on). --curve prints a threshold sweep per development set: how the operating
point in content/crisis/model/policy.yaml was chosen.

Usage: python -m scripts.eval_model [--curve] [--blind]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from bot.content.bundle import load_content
from bot.crisis.hybrid import Decider, ModelState, Policy, fuse
from bot.crisis.model import Score
from bot.crisis.schema import Severity
from bot.paths import bundled_content_dir
from scripts import crisis_data
from scripts.crisis_data import Example

SUICIDAL = re.compile(r"suicidal", re.IGNORECASE)


def _row(name: str, rows: Sequence[Example], hits: Sequence[bool]) -> str:
    pos = sum(e.crisis for e in rows)
    neg = len(rows) - pos
    tp = sum(h and e.crisis for h, e in zip(hits, rows, strict=True))
    fp = sum(h and not e.crisis for h, e in zip(hits, rows, strict=True))
    prec = f"{tp / (tp + fp):.2f}" if tp + fp else "  - "
    rec = f"{tp / pos:.2f} ({tp}/{pos})" if pos else "-"
    fa = f"{fp / neg:.1%} ({fp}/{neg})" if neg else "-"
    return f"  {name:22s} precision {prec}  recall {rec:14s} false alarms {fa}"


def _urgent(rows: Sequence[Example], hits: Sequence[bool]) -> str:
    urgent = [(h, e) for h, e in zip(hits, rows, strict=True) if e.crisis and
              e.severity == "urgent"]
    if not urgent:
        return ""
    return f"  urgent recall {sum(h for h, _ in urgent) / len(urgent):.2f} " \
           f"({sum(h for h, _ in urgent)}/{len(urgent)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curve", action="store_true")
    ap.add_argument("--blind", action="store_true", help="also the two held-out corpora")
    args = ap.parse_args()
    if not crisis_data.available():
        raise SystemExit(f"{crisis_data.TRAIN_DIR} not found: evaluation needs ../shared/data")
    content, problems = load_content(bundled_content_dir())
    if content is None or content.crisis_model is None:
        raise SystemExit("content or crisis model did not load: "
                         + "; ".join(str(p) for p in problems))
    det, model, policy = content.detector, content.crisis_model, content.crisis_policy
    print(f"model {model.fingerprint}; policy add>={policy.add_threshold} "
          f"veto<{policy.veto_threshold} for {sorted(policy.veto_severities) or 'none'}")
    sets = crisis_data.dev_sets(13)
    sets["openai self-harm (real)"] = crisis_data.openai_set()
    for name in crisis_data.DEV_CORPORA:
        sets[f"{name} (written, trained on)"] = crisis_data.corpus(name)
    if args.blind:
        for name in crisis_data.HOLDOUTS:
            sets[f"{name} (blind)"] = crisis_data.corpus(name)
    merged: list[Example] = []
    merged_rules: list[bool] = []
    merged_hybrid: list[bool] = []
    curve_rows: list[Example] = []
    curve_rules: list = []
    curve_scores: list[Score] = []
    for name, rows in sets.items():
        rules = [det.detect(e.text) for e in rows]
        scores = model.score([e.text for e in rows]) if rows else []
        verdicts = [fuse(r, s, ModelState.SCORED, policy) for r, s in zip(rules, scores,
                                                                          strict=True)]
        rule_hits = [r is not None for r in rules]
        hybrid_hits = [v.detection is not None for v in verdicts]
        print(f"{name}: {len(rows)} rows")
        print(_row("rules alone", rows, rule_hits) + _urgent(rows, rule_hits))
        model_hits = [s.probability >= policy.add_threshold for s in scores]
        print(_row(f"model alone >= {policy.add_threshold}", rows, model_hits)
              + _urgent(rows, model_hits))
        print(_row("hybrid (shipped)", rows, hybrid_hits) + _urgent(rows, hybrid_hits))
        decided = {d: sum(v.decided_by is d for v in verdicts) for d in Decider}
        print(f"  decided by: {', '.join(f'{k} {v}' for k, v in decided.items() if v)}")
        if name.startswith(("rubric dev", "short dev", "counsel dev")):
            merged += rows
            merged_rules += rule_hits
            merged_hybrid += hybrid_hits
            curve_rows += rows
            curve_rules += rules
            curve_scores += scores
        if args.curve and name.startswith("openai"):
            print("  threshold sweep:")
            _curve(rows, rules, scores)
    if args.curve:
        print("threshold sweep, all real-text dev splits together:")
        _curve(curve_rows, curve_rules, curve_scores)
    print("all real-text dev splits together (rubric + short + counsel):")
    print(_row("rules alone", merged, merged_rules) + _urgent(merged, merged_rules))
    print(_row("hybrid (shipped)", merged, merged_hybrid) + _urgent(merged, merged_hybrid))
    sui = [(e, r, h) for e, r, h in zip(merged, merged_rules, merged_hybrid, strict=True)
           if SUICIDAL.search(e.text)]
    if sui:
        rows = [e for e, _, _ in sui]
        print("  posts containing 'suicidal':")
        print(_row("rules alone", rows, [r for _, r, _ in sui]))
        print(_row("hybrid (shipped)", rows, [h for _, _, h in sui]))


def _curve(rows: Sequence[Example], rules: Sequence, scores: Sequence[Score]) -> None:
    vetoes = ((0.0, ()), (0.05, ("concern",)), (0.2, ("concern",)), (0.05, ("concern", "urgent")),
              (0.2, ("concern", "urgent")), (0.5, ("concern", "urgent")))
    for add in (0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98):
        for veto, sev in vetoes:
            policy = Policy(add_threshold=add, veto_threshold=veto,
                            veto_severities=frozenset(Severity(x) for x in sev))
            hits = [fuse(r, s, ModelState.SCORED, policy).detection is not None
                    for r, s in zip(rules, scores, strict=True)]
            label = f"add {add:.2f} veto <{veto:.2f} {'+'.join(x[0] for x in sev) or '-'}"
            print(_row(label, rows, hits) + _urgent(rows, hits))


if __name__ == "__main__":
    main()
