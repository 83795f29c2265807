"""Shape and balance of the held-out crisis corpus and of the second development corpus.

tests/data/crisis_holdout.jsonl and crisis_holdout2.jsonl were written blind to the detector
and to the other corpora, by two separate authors (see tests/data/HOLDOUT.md, HOLDOUT2.md);
tests/data/crisis_dev2.jsonl and crisis_dev3.jsonl were the held-out sets before them
(tests/data/DEV2.md, DEV3.md). All four get the same checks:
format, labels, minimum counts, and that no message also appears in another corpus.
Failure messages name line numbers and fields only:
message text is never printed, and no assert compares an expression that holds rows or texts
(pytest would echo it).
"""

import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from tests import corpus

DATA = Path(__file__).resolve().parents[1] / "data"
HOLDOUT = DATA / "crisis_holdout.jsonl"
HOLDOUT2 = DATA / "crisis_holdout2.jsonl"
DEV2 = DATA / "crisis_dev2.jsonl"
DEV3 = DATA / "crisis_dev3.jsonl"
MAIN_CORPUS = DATA / "crisis_corpus.jsonl"
ALL_CORPORA = (MAIN_CORPUS, DEV2, DEV3, HOLDOUT, HOLDOUT2)


# Positive family -> (category, severity, subject) it must carry; None means "any allowed value".
# Same family names and meanings as tests/data/README.md.
POSITIVE_FAMILIES = corpus.POSITIVE_FAMILIES

# Family -> minimum rows (the held-out brief's minimums).
POSITIVE_MINIMUMS = {
    "suicide_urgent_self": 30,
    "suicide_concern_self": 30,
    "suicide_other": 12,
    "self_harm_urgent": 12,
    "self_harm_concern": 15,
    "overdose_self": 15,
    "overdose_bystander": 15,
}
NEGATIVE_FAMILIES = {
    "figurative": 12,
    "negation": 12,
    "past_recovery": 12,
    "news_third_party": 12,
    "question_topic": 12,
    "lyrics_quote": 12,
    "substring_trap": 12,
    "gaming_sports_food": 12,
    "harassment_kys": 8,
    "everyday_recovery_chat": 25,
}

# Zero-width characters some rows use on purpose as an obfuscation; ignored when comparing texts.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_PUNCTUATION = re.compile(r"[^\w\s]")


def _text_key(text: str) -> str:
    """Comparison key: NFKC, casefolded, zero-width and punctuation dropped, spaces collapsed."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(_PUNCTUATION.sub(" ", text).split())


@cache
def _load(path: Path) -> tuple[tuple[tuple[int, dict], ...], tuple[str, ...]]:
    return corpus.parse(path)


@pytest.fixture(params=[HOLDOUT, HOLDOUT2, DEV2, DEV3], ids=["holdout", "holdout2", "dev2", "dev3"])
def path(request) -> Path:
    return request.param


def _rows(path: Path) -> list[tuple[int, dict]]:
    return list(_load(path)[0])


def _words(row: dict) -> int:
    return len(str(row.get("text", "")).split())


def test_holdout_file_exists_and_is_not_empty(path):
    """The corpus is present in tests/data and has rows."""
    assert path.is_file()
    assert len(_rows(path)) > 0


def test_no_duplicate_texts_within_the_holdout(path):
    """No two rows share a text, ignoring case, spacing, punctuation and zero-width characters."""
    first_seen: dict[str, int] = {}
    duplicates = []
    for number, row in _rows(path):
        key = _text_key(str(row.get("text", "")))
        if key in first_seen:
            duplicates.append(f"line {number} repeats line {first_seen[key]}")
        else:
            first_seen[key] = number
    assert duplicates == []


def test_no_text_is_shared_with_another_corpus(path):
    """No text also appears in another corpus of tests/data (same comparison key)."""
    shared = []
    for other in ALL_CORPORA:
        if other == path:
            continue
        assert other.is_file(), f"{other.name} missing: cannot check overlap"
        other_rows, other_problems = corpus.parse(other)
        assert other_problems == ()
        keys = {_text_key(str(row.get("text", ""))): number for number, row in other_rows}
        for number, row in _rows(path):
            key = _text_key(str(row.get("text", "")))
            if key in keys:
                shared.append(f"{path.name} line {number} = {other.name} line {keys[key]}")
    assert shared == []


def test_overall_size_and_balance(path):
    """At least 300 rows: at least 150 crisis and 150 non-crisis."""
    flags = Counter(row.get("crisis") for _, row in _rows(path))
    assert flags[True] + flags[False] >= 300
    assert flags[True] >= 150
    assert flags[False] >= 150


@pytest.mark.parametrize(("family", "minimum"), sorted(POSITIVE_MINIMUMS.items()))
def test_minimum_count_per_crisis_family(path, family, minimum):
    """Each crisis family (not counting obfuscated rows) meets its minimum."""
    count = sum(1 for _, row in _rows(path) if row.get("family") == family)
    assert count >= minimum


@pytest.mark.parametrize(("family", "minimum"), sorted(NEGATIVE_FAMILIES.items()))
def test_minimum_count_per_false_positive_family(path, family, minimum):
    """Each false-positive family has at least its minimum number of rows."""
    count = sum(1 for _, row in _rows(path) if row.get("family") == family)
    assert count >= minimum


def test_obfuscated_forms_cover_all_three_categories(path):
    """At least 25 obfuscated crisis rows, with each of the three obfuscated families present."""
    counts = Counter(
        str(row.get("family"))
        for _, row in _rows(path)
        if str(row.get("family")).startswith("obfuscated_")
    )
    assert sum(counts.values()) >= 25
    assert {"obfuscated_suicide", "obfuscated_self_harm", "obfuscated_overdose"} <= set(counts)


@pytest.mark.parametrize("crisis", [True, False])
def test_long_posts_are_present(path, crisis):
    """At least 15 crisis and 15 non-crisis posts are long vents of 60-250 words."""
    count = sum(1 for _, row in _rows(path)
                if row.get("crisis") is crisis and 60 <= _words(row) <= 250)
    assert count >= 15


def test_most_messages_are_short(path):
    """More than half of all rows are 3-30 words, as in real chat."""
    lengths = [_words(row) for _, row in _rows(path)]
    short = sum(1 for n in lengths if 3 <= n <= 30)
    assert len(lengths) > 0
    assert short * 2 > len(lengths)


def test_comparison_key_ignores_case_spacing_and_zero_width_characters():
    """The duplicate key treats case, spacing, punctuation and zero-width characters as equal."""
    assert _text_key("Hello,  WORLD\u200b!") == _text_key("hello world")
    assert _text_key("hello world") != _text_key("hello word")
