"""Shape and balance of the labelled crisis corpus (tests/data/crisis_corpus.jsonl).

Failure messages name line numbers and fields only: the message text is never printed, and
no assert compares an expression that holds rows (pytest would echo it).
"""

from collections import Counter
from pathlib import Path

import pytest

from tests import corpus

CORPUS = Path(__file__).resolve().parents[1] / "data" / "crisis_corpus.jsonl"


# Positive family -> (category, severity, subject) it must carry; None means "any allowed value".
POSITIVE_FAMILIES = corpus.POSITIVE_FAMILIES

# Non-crisis family -> minimum number of rows.
NEGATIVE_FAMILIES = {
    "figurative": 20,
    "negation": 20,
    "past_recovery": 20,
    "news_third_party": 20,
    "question_topic": 20,
    "lyrics_quote": 20,
    "harassment_kys": 10,
    "substring_trap": 20,
    "everyday_recovery_chat": 40,
    "gaming_sports_food": 20,
}

# (category, severity, subject) pattern -> minimum count among crisis rows; None is a wildcard.
LABEL_MINIMUMS = [
    (("suicide", "urgent", "self"), 40),
    (("suicide", "concern", "self"), 40),
    (("suicide", None, "other"), 15),
    (("suicide", "urgent", "other"), 5),
    (("suicide", "concern", "other"), 5),
    (("self_harm", "urgent", None), 15),
    (("self_harm", "concern", None), 20),
    (("self_harm", None, "other"), 5),
    (("overdose", "urgent", "self"), 20),
    (("overdose", "urgent", "other"), 20),
]


def _load() -> tuple[tuple[tuple[int, dict], ...], tuple[str, ...]]:
    return corpus.parse(CORPUS)


def _rows() -> list[tuple[int, dict]]:
    return list(_load()[0])


def test_no_duplicate_texts():
    """No two rows have the same text, ignoring case and runs of whitespace."""
    first_seen: dict[str, int] = {}
    duplicates = []
    for number, row in _rows():
        key = " ".join(str(row.get("text", "")).casefold().split())
        if key in first_seen:
            duplicates.append(f"line {number} repeats line {first_seen[key]}")
        else:
            first_seen[key] = number
    assert duplicates == []


def test_overall_size_and_balance():
    """At least 450 rows: at least 200 crisis and 250 non-crisis."""
    flags = Counter(row.get("crisis") for _, row in _rows())
    total, positives, negatives = sum(flags.values()), flags[True], flags[False]
    assert total >= 450
    assert positives >= 200
    assert negatives >= 250


@pytest.mark.parametrize(("pattern", "minimum"), LABEL_MINIMUMS, ids=lambda v: str(v))
def test_minimum_count_per_label(pattern, minimum):
    """Each (category, severity, subject) slice of the crisis rows meets its minimum."""
    count = sum(1 for _, row in _rows()
                if row.get("crisis") is True and corpus.matches(row, pattern))
    assert count >= minimum


@pytest.mark.parametrize(("family", "minimum"), sorted(NEGATIVE_FAMILIES.items()))
def test_minimum_count_per_false_positive_family(family, minimum):
    """Each false-positive family has at least its minimum number of rows."""
    count = sum(1 for _, row in _rows() if row.get("family") == family)
    assert count >= minimum


def test_obfuscated_forms_are_well_represented():
    """At least 30 crisis rows are in obfuscated_* families (leetspeak, spacing, spoilers...)."""
    count = sum(1 for _, row in _rows() if str(row.get("family")).startswith("obfuscated_"))
    assert count >= 30


@pytest.mark.parametrize("crisis", [True, False])
def test_long_posts_are_present(crisis):
    """At least 20 crisis and 20 non-crisis posts are long vents of 60-250 words."""
    count = sum(
        1
        for _, row in _rows()
        if row.get("crisis") is crisis and 60 <= len(str(row.get("text", "")).split()) <= 250
    )
    assert count >= 20


def test_most_messages_are_short():
    """More than half of all rows are 3-30 words, as in real chat."""
    lengths = [len(str(row.get("text", "")).split()) for _, row in _rows()]
    short, total = sum(1 for n in lengths if 3 <= n <= 30), len(lengths)
    assert total > 0
    assert short * 2 > total
