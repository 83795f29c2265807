"""Shared reading and structural checks for the labelled crisis corpora in tests/data/.

Every problem names a line number, never a message: the corpora contain distressing text.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CORPORA = (DATA / "crisis_corpus.jsonl", DATA / "crisis_dev2.jsonl", DATA / "crisis_dev3.jsonl",
           DATA / "crisis_holdout.jsonl", DATA / "crisis_holdout2.jsonl")

FIELDS = {"text", "crisis", "category", "severity", "subject", "family"}
CATEGORIES = {"suicide", "self_harm", "overdose"}
SEVERITIES = {"urgent", "concern"}
SUBJECTS = {"self", "other"}

# Positive family -> (category, severity, subject) it must carry; None means any allowed value.
POSITIVE_FAMILIES = {
    "suicide_urgent_self": ("suicide", "urgent", "self"),
    "suicide_concern_self": ("suicide", "concern", "self"),
    "suicide_other": ("suicide", None, "other"),
    "self_harm_urgent": ("self_harm", "urgent", "self"),
    "self_harm_concern": ("self_harm", "concern", "self"),
    "self_harm_other": ("self_harm", None, "other"),
    "overdose_self": ("overdose", None, "self"),
    "overdose_bystander": ("overdose", "urgent", "other"),
    "obfuscated_suicide": ("suicide", None, None),
    "obfuscated_self_harm": ("self_harm", None, None),
    "obfuscated_overdose": ("overdose", None, None),
}

# Families of messages that are not a crisis (the false-positive families).
NEGATIVE_FAMILIES = frozenset({
    "figurative", "negation", "past_recovery", "news_third_party", "question_topic",
    "lyrics_quote", "harassment_kys", "substring_trap", "everyday_recovery_chat",
    "gaming_sports_food",
})

Rows = tuple[tuple[int, dict], ...]


@cache
def parse(path: Path) -> tuple[Rows, tuple[str, ...]]:
    """(line number, row) pairs of a JSONL file, plus problems that name lines only."""
    rows: list[tuple[int, dict]] = []
    problems: list[str] = []
    try:
        content = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return (), (f"{path.name}: not valid UTF-8 at byte {exc.start}",)
    if content and not content.endswith("\n"):
        problems.append(f"{path.name}: last line has no newline")
    for number, line in enumerate(content.split("\n")[:-1], start=1):
        if not line.strip():
            problems.append(f"{path.name} line {number}: blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name} line {number}: invalid JSON at column {exc.colno}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name} line {number}: not a JSON object")
            continue
        rows.append((number, row))
    return tuple(rows), tuple(problems)


def matches(row: dict, pattern: tuple[str | None, str | None, str | None]) -> bool:
    labels = (row.get("category"), row.get("severity"), row.get("subject"))
    return all(want is None or want == got for want, got in zip(pattern, labels, strict=True))


def field_problems(rows: Rows) -> list[str]:
    """Each row has text (non-empty str), crisis (bool), family (str) and the three labels."""
    problems = []
    for number, row in rows:
        keys = set(row)
        if keys != FIELDS:
            problems.append(f"line {number}: fields {sorted(keys ^ FIELDS)} missing or extra")
            continue
        if not isinstance(row["text"], str) or not row["text"].strip():
            problems.append(f"line {number}: text must be a non-empty string")
        if not isinstance(row["crisis"], bool):
            problems.append(f"line {number}: crisis must be true or false")
        if not isinstance(row["family"], str) or not row["family"]:
            problems.append(f"line {number}: family must be a non-empty string")
    return problems


def label_problems(rows: Rows) -> list[str]:
    """crisis false has null labels; crisis true has all three labels from the allowed values."""
    problems = []
    for number, row in rows:
        labels = {k: row.get(k) for k in ("category", "severity", "subject")}
        if row.get("crisis") is False:
            set_fields = [k for k, v in labels.items() if v is not None]
            if set_fields:
                problems.append(f"line {number}: crisis false but {set_fields} not null")
        elif row.get("crisis") is True:
            if labels["category"] not in CATEGORIES:
                problems.append(f"line {number}: category not one of {sorted(CATEGORIES)}")
            if labels["severity"] not in SEVERITIES:
                problems.append(f"line {number}: severity not one of {sorted(SEVERITIES)}")
            if labels["subject"] not in SUBJECTS:
                problems.append(f"line {number}: subject not one of {sorted(SUBJECTS)}")
    return problems


def family_problems(rows: Rows, negative_families) -> list[str]:
    """Positive families carry their labels; false-positive families are never crisis."""
    problems = []
    for number, row in rows:
        family = row.get("family")
        if family in POSITIVE_FAMILIES:
            if row.get("crisis") is not True or not matches(row, POSITIVE_FAMILIES[family]):
                problems.append(f"line {number}: labels disagree with family {family!r}")
        elif family in negative_families:
            if row.get("crisis") is not False:
                problems.append(f"line {number}: family {family!r} must be crisis false")
        else:
            problems.append(f"line {number}: unknown family {family!r}")
    return problems
