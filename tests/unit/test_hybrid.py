"""Fusion of rules and model: the decision table, the policy file, the worker and its bounds."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from bot.crisis.detector import Detection
from bot.crisis.hybrid import (
    MODEL_RULE,
    Assessor,
    Decider,
    ModelState,
    ModelWorker,
    Policy,
    fuse,
    load_policy,
)
from bot.crisis.model import Score

POLICY = Policy(add_threshold=0.9, veto_threshold=0.2, veto_severities=frozenset({"concern"}),
                rule_wait_seconds=0.2, model_wait_seconds=1.0, queue_size=4, max_batch=8)
URGENT = Detection("suicide", "urgent", "self", "suicide.plan")
CONCERN = Detection("suicide", "concern", "self", "suicide.passive")


def score(p: float) -> Score:
    return Score(p, "overdose", "urgent", "other", 1)


@pytest.mark.parametrize(("rule", "p", "state", "decided", "answered"), [
    # A rule fired: it stands unless the model is sure it is not a crisis and the rule's
    # severity is one the policy lets the model veto.
    (URGENT, 0.01, ModelState.SCORED, Decider.RULES, URGENT),
    (CONCERN, 0.01, ModelState.SCORED, Decider.MODEL_VETO, None),
    (CONCERN, 0.2, ModelState.SCORED, Decider.RULES, CONCERN),
    (CONCERN, 0.95, ModelState.SCORED, Decider.RULES, CONCERN),
    (CONCERN, None, ModelState.LATE, Decider.RULES, CONCERN),
    (CONCERN, None, ModelState.OVERLOADED, Decider.RULES, CONCERN),
    (CONCERN, None, ModelState.OFF, Decider.RULES, CONCERN),
    (URGENT, None, ModelState.FAILED, Decider.RULES, URGENT),
    # No rule: the model alone answers at or above the add threshold.
    (None, 0.9, ModelState.SCORED, Decider.MODEL, "model"),
    (None, 0.89, ModelState.SCORED, Decider.NOBODY, None),
    (None, None, ModelState.LATE, Decider.NOBODY, None),
    (None, None, ModelState.OFF, Decider.NOBODY, None),
])
def test_fuse_table(rule, p, state, decided, answered) -> None:
    verdict = fuse(rule, score(p) if p is not None else None, state, POLICY)
    assert verdict.decided_by is decided
    assert verdict.model is state
    if answered == "model":
        assert verdict.detection == Detection("overdose", "urgent", "other", MODEL_RULE)
    else:
        assert verdict.detection == answered


def test_shipped_policy_loads() -> None:
    from bot.paths import bundled_content_dir

    policy, problems = load_policy(bundled_content_dir() / "crisis" / "model" / "policy.yaml")
    assert problems == []
    assert policy is not None and 0.0 < policy.add_threshold <= 1.0


@pytest.mark.parametrize(("text", "field"), [
    ("add_threshold: 1.5\n", "add_threshold"),
    ("veto_severities: [sometimes]\n", "veto_severities"),
    ("rule_wait_seconds: 0\n", "rule_wait_seconds"),
    ("queue_size: many\n", "queue_size"),
    ("threshold: 0.5\n", "threshold"),
])
def test_bad_policy_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    policy, problems = load_policy(path)
    assert policy is None
    assert len(problems) == 1
    assert str(path) in problems[0].where and field in problems[0].where


def test_unreadable_policy_is_a_problem(tmp_path: Path) -> None:
    policy, problems = load_policy(tmp_path / "missing.yaml")
    assert policy is None and "cannot be read" in problems[0].what
    (tmp_path / "bad.yaml").write_text("a: [", encoding="utf-8")
    assert "not valid YAML" in load_policy(tmp_path / "bad.yaml")[1][0].what


class FakeModel:
    """Scores by a marker word, records batch sizes, and can be held to simulate load."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.release = threading.Event()
        self.release.set()

    def score(self, texts: list[str]) -> list[Score]:
        self.release.wait(5)
        self.batches.append(len(texts))
        if any("explode" in t for t in texts):
            raise ValueError("secret text that must not travel")
        return [score(0.99 if "risk" in t else 0.01) for t in texts]


class NoRules:
    def detect(self, text: str) -> Detection | None:
        return CONCERN if "rule" in text else None


@pytest.fixture
def held_model():
    """A model that answers nothing until released; released at the end of the test."""
    model = FakeModel()
    model.release.clear()
    yield model
    model.release.set()


async def test_worker_batches_queued_messages() -> None:
    model = FakeModel()
    model.release.clear()
    worker = ModelWorker(model, queue_size=64, max_batch=8)  # type: ignore[arg-type]
    first = worker.submit("one")
    await asyncio.sleep(0.05)  # the worker now holds "one" and waits on the model
    rest = [worker.submit(f"m{i}") for i in range(10)]
    model.release.set()
    results = await asyncio.gather(first, *rest)  # type: ignore[arg-type]
    assert len(results) == 11
    assert model.batches[0] == 1 and model.batches[1] == 8 and model.batches[2] == 2
    worker.close()


async def test_assessor_model_adds_and_vetoes() -> None:
    worker = ModelWorker(FakeModel(), queue_size=8, max_batch=8)  # type: ignore[arg-type]
    assessor = Assessor(NoRules(), worker, POLICY)  # type: ignore[arg-type]
    added = await assessor.assess("quiet risk")
    assert added.decided_by is Decider.MODEL and added.detection is not None
    vetoed = await assessor.assess("rule fired, model sure it is fine")
    assert vetoed.decided_by is Decider.MODEL_VETO and vetoed.detection is None
    nothing = await assessor.assess("hello")
    assert nothing.decided_by is Decider.NOBODY and nothing.model is ModelState.SCORED
    assessor.close()


async def test_a_rule_the_model_may_not_veto_is_answered_without_asking(held_model) -> None:
    worker = ModelWorker(held_model, queue_size=8, max_batch=8)  # type: ignore[arg-type]
    strict = POLICY.model_copy(update={"veto_severities": frozenset()})
    verdict = await Assessor(NoRules(), worker, strict).assess("rule fired")  # type: ignore[arg-type]
    assert verdict.detection == CONCERN and verdict.model is ModelState.NOT_ASKED
    assert worker.pending() == 0
    held_model.release.set()
    worker.close()


async def test_rule_hit_waits_only_the_bound_when_the_model_is_stuck(held_model) -> None:
    worker = ModelWorker(held_model, queue_size=8, max_batch=8)  # type: ignore[arg-type]
    assessor = Assessor(NoRules(), worker, POLICY)  # type: ignore[arg-type]
    started = time.monotonic()
    verdict = await assessor.assess("rule fired")
    waited = time.monotonic() - started
    assert verdict.detection == CONCERN and verdict.model is ModelState.LATE
    assert waited < POLICY.model_wait_seconds  # the shorter rule bound applied
    held_model.release.set()
    assessor.close()


async def test_full_queue_is_overload_and_rules_still_answer(held_model) -> None:
    worker = ModelWorker(held_model, queue_size=2, max_batch=1)  # type: ignore[arg-type]
    assessor = Assessor(NoRules(), worker, POLICY)  # type: ignore[arg-type]
    held = [worker.submit("a")]
    await asyncio.sleep(0.05)  # "a" is in the model; two more fill the queue
    held += [worker.submit("b"), worker.submit("c")]
    assert all(f is not None for f in held)
    verdict = await assessor.assess("rule fired while overloaded")
    assert verdict.model is ModelState.OVERLOADED and verdict.detection == CONCERN
    held_model.release.set()
    await asyncio.gather(*held)  # type: ignore[arg-type]
    assessor.close()


async def test_model_failure_keeps_text_out_and_rules_answer(caplog) -> None:
    worker = ModelWorker(FakeModel(), queue_size=8, max_batch=8)  # type: ignore[arg-type]
    assessor = Assessor(NoRules(), worker, POLICY)  # type: ignore[arg-type]
    verdict = await assessor.assess("rule explode")
    assert verdict.model is ModelState.FAILED and verdict.detection == CONCERN
    assert "secret text" not in caplog.text and "explode" not in caplog.text
    assert "ValueError" in caplog.text
    assessor.close()
