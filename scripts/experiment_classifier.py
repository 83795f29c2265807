"""Experiment: would a small trained text classifier help the rules as a recall net?

Not part of the bot. Trains a TF-IDF (word 1-3 grams + character 3-5 grams) logistic
regression on development corpora 1 and 2, scores development corpus 3 (written by another
author, so a fair check of generalisation), and, trained on all three, the OpenAI
self-harm set, both added to the rules and in the most careful gated form (the model speaks
only when no rule hit at all, in first-person chat-sized messages). It never reads the
blind held-out corpora. Prints figures only, never text.

Needs scikit-learn, which the project does not depend on:
    pip install scikit-learn && python -m scripts.experiment_classifier
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bot.crisis import default_detector  # noqa: E402
from bot.crisis.normalize import normalize  # noqa: E402

DATA = ROOT / "tests" / "data"
OPENAI = ROOT.parent / "shared" / "data" / "openai-moderation" / "self-harm-eval.jsonl"
THRESHOLDS = (0.6, 0.7, 0.8, 0.9)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _label(row: dict) -> str:
    return f"{row['category']}/{row['severity']}" if row["crisis"] else "none"


def _model(rows: list[dict]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, token_pattern=r"\S+"),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True))
    model = make_pipeline(features, LogisticRegression(C=10, max_iter=3000,
                                                       class_weight="balanced"))
    model.fit([normalize(r["text"]) for r in rows], [_label(r) for r in rows])
    return model


def _crisis_probability(model, texts: list[str]) -> list[float]:
    none = list(model.classes_).index("none")
    return [1 - p[none] for p in model.predict_proba([normalize(t) for t in texts])]


def main() -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("scikit-learn is not installed: pip install scikit-learn")
        return 2
    det = default_detector()
    dev1, dev2, dev3 = (_rows(DATA / n) for n in
                        ("crisis_corpus.jsonl", "crisis_dev2.jsonl", "crisis_dev3.jsonl"))
    prob = _crisis_probability(_model(dev1 + dev2), [r["text"] for r in dev3])
    rules = [det.detect(r["text"]) is not None for r in dev3]
    groups = {
        "urgent": [i for i, r in enumerate(dev3) if r["crisis"] and r["severity"] == "urgent"],
        "concern": [i for i, r in enumerate(dev3) if r["crisis"] and r["severity"] == "concern"],
        "false alarms": [i for i, r in enumerate(dev3) if not r["crisis"]],
    }
    print("== trained on development corpora 1+2, scored on development corpus 3")
    for name, hit in [("rules alone", rules)] + [
            (f"{mode} t={t}", [(p >= t) or (mode == "rules+model" and r)
                               for p, r in zip(prob, rules, strict=True)])
            for t in THRESHOLDS for mode in ("model alone", "rules+model")]:
        figures = "  ".join(f"{g} {sum(hit[i] for i in idx) / len(idx):.3f}"
                            for g, idx in groups.items())
        print(f"{name:22} {figures}")
    if not OPENAI.is_file():
        print(f"OpenAI set not found ({OPENAI}), skipped")
        return 0
    openai = _rows(OPENAI)
    model = _model(dev1 + dev2 + dev3)
    none = list(model.classes_).index("none")
    probs = model.predict_proba([normalize(r["text"]) for r in openai])
    labels = list(model.classes_)
    print("== trained on all three development corpora, scored on the OpenAI self-harm set")
    # Rule verdicts and the model's best class do not depend on the threshold: once per row.
    rules_hit = [(f := det.detect(r["text"])) is not None and f.category in ("suicide", "self_harm")
                 for r in openai]
    crisis = [(1 - p[none], labels[max((j for j in range(len(labels)) if j != none),
                                       key=lambda j, p=p: p[j])]) for p in probs]
    everyone = [True] * len(openai)
    _report("rules alone", openai, rules_hit, crisis, everyone, None)
    for t in THRESHOLDS:
        _report(f"rules+model t={t}", openai, rules_hit, crisis, everyone, t)
    # The most careful use of the model: it speaks only when no rule matched at all (no hit,
    # not even one a context cancelled), the writer says I/me/my, and the message is
    # chat-sized (at most 80 words).
    print("== same model, gated: no rule hit at all, first person, <= 80 words")
    first_person = {"i", "im", "ive", "id", "ill", "me", "my", "myself"}
    eligible = []
    for row in openai:
        words = normalize(row["text"]).split()
        eligible.append(not det.explain(row["text"]) and len(words) <= 80
                        and not first_person.isdisjoint(words))
    for t in (0.85, 0.9, 0.95, 0.97):
        _report(f"gated t={t}", openai, rules_hit, crisis, eligible, t)
    return 0


def _report(name: str, openai: list[dict], rules_hit: list[bool],
            crisis: list[tuple[float, str]], eligible: list[bool], t: float | None) -> None:
    """Precision and recall on the OpenAI set of the rules, plus the model at threshold `t`
    on eligible rows (overdose classes do not count as self-harm)."""
    tp = fp = 0
    for row, hit, (prob, best), ok in zip(openai, rules_hit, crisis, eligible, strict=True):
        if t is not None and ok and prob >= t and not best.startswith("overdose"):
            hit = True
        tp += bool(hit and row["self_harm"])
        fp += bool(hit and not row["self_harm"])
    pos = sum(1 for r in openai if r["self_harm"])
    print(f"{name:22} precision {tp / max(tp + fp, 1):.3f} ({tp}/{tp + fp})  "
          f"recall {tp / pos:.3f} ({tp}/{pos})")

if __name__ == "__main__":
    raise SystemExit(main())
