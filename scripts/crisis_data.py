"""Labelled text for training and measuring the crisis model (no torch; used by train and eval).

Sources (each row: text, crisis, category, severity, subject, weight, set name):
- ../shared/data/crisis-train/*rubric_labels.jsonl: real text relabelled with the rubric by two
  annotators (only rows they agreed on);
- scripts/crisis_data/extra_rubric_labels.jsonl: more real posts and excerpts of them labelled
  by two independent annotators for this project (character spans into the shared files);
- scripts/crisis_data/written_rubric_labels.jsonl: short posts written for this project
  around crisis words used in every sense (hyperbole, news, politics, lyrics, sport, insults)
  and real crises worded like them; a second annotator labelled them blind to the writer's
  labels, and only rows where both agreed are kept;
- ../shared/data/crisis-train/xstest_prompts.jsonl: crafted prompts with the publisher's
  suggested crisis label (homonyms, figurative language);
- ../shared/data/crisis-train/goemotions_reddit_comments.jsonl: short Reddit comments,
  not crises (weak label; rows flagged needs_review are left out);
- tests/data/crisis_corpus.jsonl, crisis_dev2.jsonl, crisis_dev3.jsonl: chat-style
  development corpora written for this project. The two held-out corpora are never used.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TRAIN_DIR = SHARED / "crisis-train"
EXTRA = ROOT / "scripts" / "crisis_data" / "extra_rubric_labels.jsonl"
WRITTEN = ROOT / "scripts" / "crisis_data" / "written_rubric_labels.jsonl"
DEV_CORPORA = ("crisis_corpus.jsonl", "crisis_dev2.jsonl", "crisis_dev3.jsonl")
HOLDOUTS = ("crisis_holdout.jsonl", "crisis_holdout2.jsonl")
OPENAI = SHARED / "openai-moderation" / "self-harm-eval.jsonl"
CATEGORIES = ("suicide", "self_harm", "overdose")
SEVERITIES = ("concern", "urgent")
SUBJECTS = ("other", "self")
# Rubric-labelled posts keep their first 1,500 characters, as the annotators saw them.
RUBRIC_CHARS = 1500
GOEMOTIONS_TRAIN = 2000


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    crisis: bool
    category: str | None
    severity: str | None
    subject: str | None
    source: str


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def available() -> bool:
    return TRAIN_DIR.is_dir()


def _labelled(row: dict, text: str, source: str) -> Example | None:
    if row.get("crisis") is None:  # the annotators disagreed
        return None
    return Example(text, bool(row["crisis"]), row.get("category"), row.get("severity"),
                   row.get("subject"), source)


def rubric(split: str) -> list[Example]:
    """The shared rubric-labelled real text of one split ("train" or "dev")."""
    out: list[Example] = []
    for name in ("rubric_labels", "short_rubric_labels", "counsel_rubric_labels"):
        for row in _jsonl(TRAIN_DIR / f"{name}.jsonl"):
            if row["split"] == split:
                ex = _labelled(row, row["text"][:RUBRIC_CHARS], name)
                if ex:
                    out.append(ex)
    return out


def extra() -> list[Example]:
    """This project's own two-annotator labels (all on train-split rows)."""
    texts: dict[str, list[str]] = {}
    out: list[Example] = []
    for row in _jsonl(EXTRA):
        if row["file"] not in texts:
            texts[row["file"]] = [r["text"] for r in _jsonl(TRAIN_DIR / f"{row['file']}.jsonl")]
        text = texts[row["file"]][row["row"]][row["start"]:row["end"]]
        ex = _labelled(row, text, "extra_rubric_labels")
        if ex:
            out.append(ex)
    return out


def written() -> list[Example]:
    return [ex for row in _jsonl(WRITTEN)
            if (ex := _labelled(row, row["text"], "written_rubric_labels"))]


def xstest(split: str) -> list[Example]:
    out = []
    for row in _jsonl(TRAIN_DIR / "xstest_prompts.jsonl"):
        if row["split"] != split:
            continue
        if row["crisis_label_suggested"] == "self_harm_method_request":
            out.append(Example(row["text"], True, "suicide", "urgent", "self", "xstest"))
        else:
            out.append(Example(row["text"], False, None, None, None, "xstest"))
    return out


def goemotions(split: str, n: int, seed: int) -> list[Example]:
    rows = [r for r in _jsonl(TRAIN_DIR / "goemotions_reddit_comments.jsonl")
            if r["split"] == split and r["label"] == "not_crisis_weak"]
    random.Random(seed).shuffle(rows)
    return [Example(r["text"], False, None, None, None, "goemotions") for r in rows[:n]]


def corpus(name: str) -> list[Example]:
    out = []
    for row in _jsonl(ROOT / "tests" / "data" / name):
        out.append(Example(row["text"], bool(row["crisis"]), row.get("category"),
                           row.get("severity"), row.get("subject"), name))
    return out


def openai_set() -> list[Example]:
    return [Example(r["text"], bool(r["self_harm"]), None, None, None, "openai")
            for r in _jsonl(OPENAI)]


def training_set(seed: int) -> list[Example]:
    """Everything the shipped model is trained on (dev splits and held-out corpora excluded)."""
    rows = (rubric("train") + extra() + written() + xstest("train")
            + goemotions("train", GOEMOTIONS_TRAIN, seed))
    for name in DEV_CORPORA:
        rows += corpus(name)
    return rows


def dev_sets(seed: int) -> dict[str, list[Example]]:
    """Real-text development sets (never trained on), by name."""
    dev = rubric("dev")
    return {
        "rubric dev (real posts)": [e for e in dev if e.source == "rubric_labels"],
        "short dev (tweets, comments)": [e for e in dev if e.source == "short_rubric_labels"],
        "counsel dev (questions)": [e for e in dev if e.source == "counsel_rubric_labels"],
        "xstest dev": xstest("dev"),
        "goemotions dev (weak negatives)": goemotions("dev", 1500, seed),
    }
