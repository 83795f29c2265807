"""Rules and the learned model together: who decides, and how long a reply may wait.

The rules are fast, reviewable and explainable; the model reads meaning the phrase list
cannot. `fuse` is the whole decision, as a pure function (table-tested); `ModelWorker` runs
the model in one background thread with micro-batching and a bounded queue; `Assessor` is
what the Discord layer awaits. A crisis reply never waits on the model longer than the
policy's bound: when the model is late, overloaded or missing, the rules decide alone.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol

import threadpoolctl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.crisis.detector import Detection, Detector
from bot.crisis.encoder import EncoderError
from bot.crisis.model import CrisisModel, Score
from bot.crisis.onnx_encoder import Backend
from bot.crisis.schema import Severity
from bot.problems import Problem, pydantic_problems
from bot.store.base import Decider

log = logging.getLogger(__name__)

MODEL_RULE = "model"


class ModelState(StrEnum):
    """What became of the model's part for one message."""

    SCORED = "scored"
    LATE = "late"  # not back within the policy's wait: the rules decided alone
    OVERLOADED = "overloaded"  # the queue was full: the rules decided alone
    OFF = "off"  # no model loaded (CRISIS_MODEL=off, or its weights are missing)
    NOT_ASKED = "not_asked"  # a rule fired that the policy lets no model veto
    FAILED = "failed"  # the model raised: the rules decided alone


class Policy(BaseModel):
    """Operating points, read from content/crisis/model/policy.yaml (MODEL.md says why)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9
    veto_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    veto_severities: frozenset[Severity] = frozenset()
    rule_wait_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 0.5
    model_wait_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 5.0
    queue_size: Annotated[int, Field(ge=1, le=100_000)] = 512
    max_batch: Annotated[int, Field(ge=1, le=1024)] = 32


def load_policy(path: Path) -> tuple[Policy | None, list[Problem]]:
    """The policy file, or problems naming the file, the field and how to fix it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [Problem(str(path), f"cannot be read ({type(exc).__name__})",
                              "restore it from the repository")]
    except yaml.YAMLError:
        return None, [Problem(str(path), "is not valid YAML", "fix the YAML syntax")]
    if not isinstance(raw, dict):
        return None, [Problem(str(path), "must be a mapping of policy fields",
                              "see content/crisis/model/MODEL.md")]
    try:
        return Policy(**raw), []
    except ValidationError as exc:
        return None, pydantic_problems(str(path), exc)


def load_crisis_model(folder: Path, backend: Backend = Backend.NUMPY
                      ) -> tuple[CrisisModel | None, Policy, list[Problem]]:
    """The model and policy in `folder` (adapter.npz, policy.yaml).

    Missing or wrong weights are a warning, not an error: the bot then runs on the rules
    alone, which still answer explicit crisis language, rather than not at all.
    """
    policy, problems = load_policy(folder / "policy.yaml")
    if policy is None:
        return None, Policy(), problems
    try:
        model = _cached_model(folder / "adapter.npz", Backend(backend))
    except EncoderError as exc:
        return None, policy, [Problem(
            "crisis model", f"not loaded, so crisis detection runs on the rules alone "
            f"(it will miss crises worded in ways no rule names): {exc}",
            "install the encoder as the README says, or set CRISIS_MODEL=off to run on "
            "the rules alone on purpose", severity="warning")]
    return model, policy, []


@functools.cache
def _cached_model(path: Path, backend: Backend) -> CrisisModel:
    # One copy per process: the weights are read-only and the model is thread-safe.
    started = time.perf_counter()
    model = CrisisModel.load(path, backend=backend)
    log.info("crisis model %s (%s) loaded in %.1f s", model.fingerprint, backend,
             time.perf_counter() - started)
    return model


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one message: the detection to answer (or None) and why."""

    detection: Detection | None
    decided_by: Decider
    model: ModelState
    probability: float | None = None
    rule_detection: Detection | None = field(default=None, compare=False)


def fuse(rule: Detection | None, score: Score | None, state: ModelState,
         policy: Policy) -> Verdict:
    """The decision, given what the rules found and what the model said (if anything)."""
    p = score.probability if score is not None else None
    if rule is not None:
        if (p is not None and rule.severity in policy.veto_severities
                and p < policy.veto_threshold):
            return Verdict(None, Decider.MODEL_VETO, state, p, rule)
        return Verdict(rule, Decider.RULES, state, p, rule)
    if score is not None and p is not None and p >= policy.add_threshold:
        found = Detection(score.category, score.severity, score.subject, MODEL_RULE)
        return Verdict(found, Decider.MODEL, state, p)
    return Verdict(None, Decider.NOBODY, state, p)


class Scorer(Protocol):
    """What the worker asks: scores for a batch of texts (CrisisModel, ProcessScorer)."""

    def score(self, texts: Sequence[str]) -> list[Score]: ...


# The model in a child process: NumPy releases the GIL only inside each kernel, and a forward
# pass is a few hundred kernels, so in the bot's own process every one of them queued behind
# the event loop for the GIL. Measured at 50 messages/s through the fake Discord: the model's
# answers took 3-5 s in-process and a rule hit always ran out its 0.5 s wait.
_child: dict[str, CrisisModel] = {}


def _child_init(adapter: str, backend: str) -> None:
    _exit_with_parent(os.getppid())
    # One BLAS thread: the child uses one core and leaves the other to the event loop.
    # OpenBLAS's extra threads spin while waiting; with two they starved the loop (discord.py
    # warned its heartbeat was tens of seconds behind) on a two-core machine.
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    _child["model"] = CrisisModel.load(Path(adapter), backend=Backend(backend))


def _exit_with_parent(parent: int) -> None:
    """End this child when the bot's process is gone. A bot that exits with os._exit (a
    stuck database thread at shutdown) runs no atexit hooks, and the child, holding the
    bot's stdout and stderr, would otherwise outlive it and keep those pipes open."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _child_score(texts: list[str]) -> list[Score]:
    return _child["model"].score(texts)


class ProcessScorer:
    """Scores in one child process (spawned, so no lock of this process is inherited)."""

    def __init__(self, adapter: Path, backend: Backend):
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                         initializer=_child_init,
                                         initargs=(str(adapter), str(backend)))
        # Start the child and load its model now, not when the first message arrives.
        self._pool.submit(_child_score, [])

    def score(self, texts: Sequence[str]) -> list[Score]:
        return self._pool.submit(_child_score, list(texts)).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@functools.cache
def shared_process_scorer(adapter: Path, backend: Backend) -> ProcessScorer:
    """One child process per adapter and backend, shared by every bot in this process."""
    scorer = ProcessScorer(adapter, backend)
    atexit.register(scorer.close)
    return scorer


class ModelWorker:
    """One thread that scores queued messages in micro-batches.

    `submit` never blocks: it returns None when the queue is full (overload), and the caller
    lets the rules decide alone. NumPy releases the GIL in its kernels, so the event loop
    keeps running while a batch is scored.
    """

    def __init__(self, model: Scorer, queue_size: int = 512, max_batch: int = 32,
                 on_batch: Callable[[int, float], None] | None = None):
        self.model = model
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Future] | None]
        self._queue = queue.Queue(maxsize=queue_size)
        self._on_batch = on_batch
        self._thread = threading.Thread(target=self._run, name="crisis-model", daemon=True)
        self._thread.start()

    def submit(self, text: str) -> asyncio.Future[Score] | None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Score] = loop.create_future()
        try:
            self._queue.put_nowait((text, loop, fut))
        except queue.Full:
            return None
        return fut

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 2.0) -> None:
        """Stop after the batch in hand; unscored messages get no answer (callers time out)."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            # Make room for the stop marker: those messages were already decided by the
            # rules when their wait ran out.
            with self._queue.mutex:
                self._queue.queue.clear()
            self._queue.put_nowait(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._score(batch)
                    return
                batch.append(nxt)
            self._score(batch)

    def _score(self, batch: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Future]]
               ) -> None:
        started = time.perf_counter()
        try:
            scores = self.model.score([text for text, _, _ in batch])
        except Exception as exc:  # the rules still answer; never the text in the log
            log.error("crisis model failed on a batch of %d: %s", len(batch),
                      type(exc).__name__)
            for _, loop, fut in batch:
                loop.call_soon_threadsafe(_set_exception, fut, exc.__class__)
            return
        for (_, loop, fut), score in zip(batch, scores, strict=True):
            loop.call_soon_threadsafe(_set_result, fut, score)
        if self._on_batch is not None:
            self._on_batch(len(batch), time.perf_counter() - started)


def _set_result(fut: asyncio.Future, value: Score) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc_type: type[BaseException]) -> None:
    if not fut.done():
        # A fresh exception of the same class: the original's message could hold text.
        fut.set_exception(RuntimeError(f"crisis model failed ({exc_type.__name__})"))


class Assessor:
    """Rules first, then the model within the policy's bound."""

    def __init__(self, detector: Detector, worker: ModelWorker | None, policy: Policy):
        self.detector = detector
        self.worker = worker
        self.policy = policy

    async def assess(self, text: str) -> Verdict:
        rule = self.detector.detect(text)
        if self.worker is None:
            return fuse(rule, None, ModelState.OFF, self.policy)
        if rule is not None and rule.severity not in self.policy.veto_severities:
            # The model could not change this answer: reply without waiting for it.
            return fuse(rule, None, ModelState.NOT_ASKED, self.policy)
        fut = self.worker.submit(text)
        if fut is None:
            return fuse(rule, None, ModelState.OVERLOADED, self.policy)
        # With a rule hit the reply is only held for a possible veto, so briefly; without
        # one, the model is the only chance to notice the message, so it may take longer.
        wait = self.policy.rule_wait_seconds if rule is not None \
            else self.policy.model_wait_seconds
        try:
            score = await asyncio.wait_for(fut, wait)
        except TimeoutError:
            return fuse(rule, None, ModelState.LATE, self.policy)
        except RuntimeError:
            return fuse(rule, None, ModelState.FAILED, self.policy)
        return fuse(rule, score, ModelState.SCORED, self.policy)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
