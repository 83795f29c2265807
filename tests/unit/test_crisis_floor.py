"""A floor under crisis detection on the development corpora, so that a rule edit that
loses recall (or starts answering ordinary chat) fails CI. The blind held-out sets are
never read here: they stay blind.

The limits sit a little below what `python scripts/eval_crisis.py` measures today:

| corpus        | any-crisis recall | urgent recall | false alarms |
| ------------- | ----------------- | ------------- | ------------ |
| crisis_corpus | 264/271 (97.4%)   | 152/153       | 3/278 (1.1%) |
| crisis_dev2   | 168/177 (94.9%)   | 100/104       | 1/167 (0.6%) |
| crisis_dev3   | 209/220 (95.0%)   | 124/130       | 0/214        |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.content.bundle import load_content
from bot.crisis.detector import Detector
from bot.paths import bundled_content_dir
from tests.corpus import DATA, parse


@dataclass(frozen=True)
class Floor:
    recall: float  # share of crisis messages answered at all
    urgent_recall: float
    false_alarms: float  # share of ordinary messages answered, at most


FLOORS = {
    "crisis_corpus.jsonl": Floor(recall=0.95, urgent_recall=0.97, false_alarms=0.03),
    "crisis_dev2.jsonl": Floor(recall=0.92, urgent_recall=0.94, false_alarms=0.02),
    "crisis_dev3.jsonl": Floor(recall=0.92, urgent_recall=0.93, false_alarms=0.02),
}


@pytest.fixture(scope="module")
def detector() -> Detector:
    content, problems = load_content(bundled_content_dir())
    assert content is not None, [str(p) for p in problems]
    return content.detector


def share(hits: int, total: int) -> float:
    assert total > 0, "an empty corpus would prove nothing"
    return hits / total


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_detection_stays_above_its_floor_on_the_development_corpora(
        detector: Detector, name: str) -> None:
    rows, problems = parse(Path(DATA / name))
    assert not problems
    crisis = [row for _, row in rows if row["crisis"]]
    ordinary = [row for _, row in rows if not row["crisis"]]
    urgent = [row for row in crisis if row["severity"] == "urgent"]

    def answered(group: list[dict]) -> int:
        return sum(detector.detect(row["text"]) is not None for row in group)

    floor = FLOORS[name]
    # Counts only: a failure message never quotes the corpus, which holds distressing text.
    found, found_urgent, alarms = answered(crisis), answered(urgent), answered(ordinary)
    assert share(found, len(crisis)) >= floor.recall, f"recall {found}/{len(crisis)}"
    assert share(found_urgent, len(urgent)) >= floor.urgent_recall, \
        f"urgent recall {found_urgent}/{len(urgent)}"
    assert share(alarms, len(ordinary)) <= floor.false_alarms, \
        f"false alarms {alarms}/{len(ordinary)}"
