"""Evaluate the crisis detector on labelled data. Prints counts and rates, never message text.

Data sets (each skipped with a message when absent):
- tests/data/crisis_corpus.jsonl: {"text", "crisis", "category", "severity", "subject",
  "family"}; precision/recall per category, urgent/concern recall, false-alarm rate on the
  non-crisis part, per-family misses and false alarms.
- tests/data/crisis_dev2.jsonl: a second development corpus in the same format (it was the
  held-out set until its rows were read while tuning; see tests/data/DEV2.md).
- tests/data/crisis_dev3.jsonl: a third development corpus (the next blind set, read in
  turn; see tests/data/DEV3.md).
- tests/data/crisis_holdout.jsonl and crisis_holdout2.jsonl: two blind held-out corpora
  by two separate authors, in the same format, reported the same way (the rules must never
  be tuned on them; only figures are printed, never their line numbers).
- ../shared/data/openai-moderation/self-harm-eval.jsonl: {"text", "self_harm": 0/1}; a
  detection of self_harm OR suicide counts as positive (also reported: self_harm only).

Usage: python scripts/eval_crisis.py [--show-errors] [--no-holdout]
(--show-errors prints line numbers of the development sets; --no-holdout while tuning)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.crisis import Detector, default_detector  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "crisis_corpus.jsonl"
DEV2 = ROOT / "tests" / "data" / "crisis_dev2.jsonl"
DEV3 = ROOT / "tests" / "data" / "crisis_dev3.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "crisis_holdout.jsonl"
HOLDOUT2 = ROOT / "tests" / "data" / "crisis_holdout2.jsonl"
OPENAI = ROOT.parent / "shared" / "data" / "openai-moderation" / "self-harm-eval.jsonl"
CATEGORIES = ("suicide", "self_harm", "overdose")


def _rows(path: Path) -> list[tuple[int, dict]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                out.append((number, json.loads(line)))
    return out


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "n/a (0)"


def eval_corpus(det: Detector, show_errors: bool, path: Path = CORPUS,
                title: str = "own corpus") -> None:
    if not path.is_file():
        print(f"{title}: {path.relative_to(ROOT)} not found, skipped")
        return
    rows = _rows(path)
    print(f"== {title}: {len(rows)} messages ({path.relative_to(ROOT)})")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    sev_total: Counter[str] = Counter()
    sev_found: Counter[str] = Counter()
    sev_exact: Counter[str] = Counter()
    subj_total = subj_ok = 0
    fam_miss: Counter[str] = Counter()
    fam_fa: Counter[str] = Counter()
    fam_n: Counter[str] = Counter()
    negatives = false_alarms = 0
    missed_lines: list[int] = []
    fa_lines: list[int] = []
    wrong_cat_lines: list[int] = []
    for number, row in rows:
        found = det.detect(row["text"])
        family = row.get("family") or "?"
        fam_n[family] += 1
        if row["crisis"]:
            sev_total[row["severity"]] += 1
            if found is None:
                fn[row["category"]] += 1
                fam_miss[family] += 1
                missed_lines.append(number)
                continue
            sev_found[row["severity"]] += 1
            sev_exact[row["severity"]] += found.severity == row["severity"]
            subj_total += 1
            subj_ok += found.subject == row["subject"]
            if found.category == row["category"]:
                tp[row["category"]] += 1
            else:
                fn[row["category"]] += 1
                fp[found.category] += 1
                wrong_cat_lines.append(number)
        else:
            negatives += 1
            if found is not None:
                false_alarms += 1
                fp[found.category] += 1
                fam_fa[family] += 1
                fa_lines.append(number)
    for cat in CATEGORIES:
        print(f"{cat:10} precision {_ratio(tp[cat], tp[cat] + fp[cat])}  "
              f"recall {_ratio(tp[cat], tp[cat] + fn[cat])}")
    all_pos = sum(sev_total.values())
    print(f"any crisis recall (any category): {_ratio(sum(sev_found.values()), all_pos)}")
    for sev in ("urgent", "concern"):
        print(f"{sev:8} recall (detected at all): {_ratio(sev_found[sev], sev_total[sev])}; "
              f"with the same severity: {_ratio(sev_exact[sev], sev_total[sev])}")
    print(f"subject right on detected crises: {_ratio(subj_ok, subj_total)}")
    print(f"false alarms on non-crisis messages: {_ratio(false_alarms, negatives)}")
    print("per family (messages / misses / false alarms):")
    for fam in sorted(fam_n):
        if fam_miss[fam] or fam_fa[fam]:
            print(f"  {fam:28} {fam_n[fam]:4} / {fam_miss[fam]:3} / {fam_fa[fam]:3}")
    clean = [f for f in sorted(fam_n) if not fam_miss[f] and not fam_fa[f]]
    print(f"  families with no error: {len(clean)} of {len(fam_n)}")
    if show_errors:
        print(f"missed lines: {missed_lines}")
        print(f"false-alarm lines: {fa_lines}")
        print(f"wrong-category lines: {wrong_cat_lines}")


def eval_openai(det: Detector, show_errors: bool) -> None:
    if not OPENAI.is_file():
        print(f"OpenAI moderation set: {OPENAI} not found, skipped")
        return
    rows = _rows(OPENAI)
    print(f"== OpenAI moderation self-harm set: {len(rows)} texts")
    for label, cats in (("self_harm or suicide", {"self_harm", "suicide"}),
                        ("self_harm only", {"self_harm"})):
        tp = fp = fn = 0
        fp_lines: list[int] = []
        fn_lines: list[int] = []
        for number, row in rows:
            found = det.detect(row["text"])
            hit = found is not None and found.category in cats
            if hit and row["self_harm"]:
                tp += 1
            elif hit:
                fp += 1
                fp_lines.append(number)
            elif row["self_harm"]:
                fn += 1
                fn_lines.append(number)
        print(f"{label:22} precision {_ratio(tp, tp + fp)}  recall {_ratio(tp, tp + fn)}")
        if show_errors:
            print(f"  false-positive lines: {fp_lines}")
            print(f"  missed lines: {fn_lines}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show-errors", action="store_true",
                    help="print line numbers of misses and false alarms (never the text)")
    ap.add_argument("--no-holdout", action="store_true",
                    help="leave the blind held-out corpora out (use this while tuning rules)")
    args = ap.parse_args()
    det = default_detector()
    eval_corpus(det, args.show_errors, CORPUS, "development corpus 1")
    eval_corpus(det, args.show_errors, DEV2, "development corpus 2 (formerly held out)")
    eval_corpus(det, args.show_errors, DEV3, "development corpus 3 (formerly held out)")
    # Held-out: line numbers are not printed either, so nobody tunes rules on its rows.
    if not args.no_holdout:
        eval_corpus(det, False, HOLDOUT, "held-out corpus 1 (blind)")
        eval_corpus(det, False, HOLDOUT2, "held-out corpus 2 (blind, second author)")
    eval_openai(det, args.show_errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
