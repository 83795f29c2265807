"""The usage recorder: synchronous bounded counting, batched writes, retries, shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bot.store import SqliteStore, StoreError, UsageRecorder, UsageRow
from bot.store.base import Decider, Kind, Outcome, usage_vocabulary_markdown

GUILD = 111111111111111111
# 2025-01-01 23:59:58 UTC
NEAR_MIDNIGHT = dt.datetime(2025, 1, 1, 23, 59, 58, tzinfo=dt.UTC).timestamp()


class FakeStore:
    """Collects add_usage rows; can fail a number of times or wait on an event."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.calls = 0
        self.totals: Counter[tuple] = Counter()
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.deleted_before: list[dt.date] = []

    async def add_usage(self, rows):
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise StoreError("simulated write failure")
        for day, guild, kind, key, outcome, count in rows:
            self.totals[(day, guild, kind, key, outcome)] += count

    async def delete_usage_before(self, day):
        self.deleted_before.append(day)
        return 0


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def real_store(tmp_path):
    s = await SqliteStore.open(tmp_path / "bot.db", busy_timeout_ms=50)
    yield s
    await s.close()


def test_record_is_synchronous_and_does_no_io():
    """record() is a plain function returning None; the store is not touched until a flush."""
    store = FakeStore()
    rec = UsageRecorder(store)
    assert not inspect.iscoroutinefunction(rec.record)
    assert rec.record(GUILD, "topic", "ptsd") is None
    assert store.calls == 0
    assert rec.pending_events == 1


def test_record_aggregates_in_memory():
    """Repeated events for one counter take one slot; DMs (None) are separate."""
    rec = UsageRecorder(FakeStore(), clock=Clock(NEAR_MIDNIGHT - 60))
    for _ in range(1000):
        rec.record(GUILD, "topic", "ptsd")
    rec.record(None, "topic", "ptsd")
    assert rec.pending_keys == 2
    assert rec.pending_events == 1001


def test_memory_is_bounded_and_drops_are_counted():
    """Beyond max_keys distinct counters, new counters are dropped and counted; existing
    counters keep counting."""
    rec = UsageRecorder(FakeStore(), max_keys=3)
    for i in range(10):
        rec.record(GUILD, "topic", f"t{i}")
    rec.record(GUILD, "topic", "t0")
    assert rec.pending_keys == 3
    assert rec.dropped == 7
    assert rec.pending_events == 4


@pytest.mark.parametrize(("kind", "key", "outcome"), [
    ("topic", "how do i stop drinking", "not_found"),
    ("topic", "x" * 65, "ok"),
    ("Topic Search", "", "ok"),
    ("topic", "", "not found"),
])
def test_free_text_is_refused_without_raising(kind, key, outcome):
    """A key or name shaped like typed text is counted as rejected, never stored, and
    record() does not raise."""
    rec = UsageRecorder(FakeStore())
    rec.record(GUILD, kind, key, outcome)
    assert rec.rejected == 1
    assert rec.pending_keys == 0


async def test_flush_writes_aggregated_rows(real_store):
    """A flush writes one row per counter with the summed count, under the UTC day."""
    clock = Clock(NEAR_MIDNIGHT - 3600)
    rec = UsageRecorder(real_store, clock=clock)
    for _ in range(5):
        rec.record(GUILD, "topic", "ptsd")
    rec.record(GUILD, "topic", "", "not_found")
    rec.record(None, "hotline", "GB")
    assert await rec.flush() is True
    day = dt.date(2025, 1, 1)
    assert await real_store.usage_summary(GUILD, day) == [
        UsageRow(day, "topic", "", "not_found", 1), UsageRow(day, "topic", "ptsd", "ok", 5)]
    assert await real_store.usage_summary(None, day) == [UsageRow(day, "hotline", "GB", "ok", 1)]
    assert rec.pending_keys == 0 and rec.written == 7


async def test_day_rolls_over_at_utc_midnight():
    """Events either side of UTC midnight are counted under their own day."""
    clock = Clock(NEAR_MIDNIGHT)
    store = FakeStore()
    rec = UsageRecorder(store, clock=clock)
    rec.record(GUILD, "stats")
    clock.t += 5
    rec.record(GUILD, "stats")
    await rec.flush()
    assert store.totals == {("2025-01-01", GUILD, "stats", "", "ok"): 1,
                            ("2025-01-02", GUILD, "stats", "", "ok"): 1}


async def test_failed_write_keeps_counts_and_retries_with_backoff():
    """A failing write keeps the counts, merges them with new ones, backs off
    exponentially, and a later flush writes everything exactly once."""
    store = FakeStore(failures=2)
    rec = UsageRecorder(store, flush_interval=1.0, max_backoff=3.0)
    rec.record(GUILD, "topic", "ptsd")
    assert await rec.flush() is False
    assert rec.next_delay() == 2.0
    rec.record(GUILD, "topic", "ptsd")
    rec.record(GUILD, "topic", "grief")
    assert await rec.flush() is False
    assert rec.next_delay() == 3.0  # capped
    assert rec.pending_events == 3
    assert await rec.flush() is True
    assert rec.next_delay() == 1.0
    assert sorted(store.totals.values()) == [1, 2]
    assert rec.pending_events == 0


async def test_failure_log_has_no_keys(caplog):
    """The failure log names the exception class and counts, not the keys."""
    rec = UsageRecorder(FakeStore(failures=1))
    rec.record(GUILD, "topic", "secret-topic-id")
    await rec.flush()
    assert "StoreError" in caplog.text
    assert "secret-topic-id" not in caplog.text


async def test_merge_back_respects_the_bound():
    """When new counters filled memory during a failed write, the overflow is counted as
    dropped rather than growing memory."""
    store = FakeStore(failures=1)
    store.gate = asyncio.Event()
    rec = UsageRecorder(store, max_keys=2)
    rec.record(GUILD, "topic", "a")
    flushing = asyncio.create_task(rec.flush())
    await store.entered.wait()
    rec.record(GUILD, "topic", "b")
    rec.record(GUILD, "topic", "c")
    store.gate.set()
    assert await flushing is False
    assert rec.pending_keys == 2
    assert rec.dropped == 1


async def test_records_during_a_flush_are_not_lost():
    """Events recorded while a write is in progress go to the next batch."""
    store = FakeStore()
    store.gate = asyncio.Event()
    rec = UsageRecorder(store)
    rec.record(GUILD, "topic", "ptsd")
    flushing = asyncio.create_task(rec.flush())
    await store.entered.wait()
    for _ in range(10):
        rec.record(GUILD, "topic", "ptsd")
    store.gate.set()
    assert await flushing is True
    assert rec.pending_events == 10
    await rec.flush()
    assert sum(store.totals.values()) == 11


async def test_background_task_flushes_and_close_flushes_the_rest(real_store):
    """The started task writes batches on its own; close() writes what is left and stops."""
    rec = UsageRecorder(real_store, flush_interval=0.01, retention_days=None)
    rec.start()
    rec.record(GUILD, "topic", "ptsd")
    for _ in range(500):  # wait for the task, without asserting on time
        if rec.written:
            break
        await asyncio.sleep(0.01)
    assert rec.written == 1
    rec.record(GUILD, "topic", "ptsd")
    await rec.close()
    assert rec.pending_events == 0
    rows = await real_store.usage_summary(GUILD, dt.date(2000, 1, 1))
    assert sum(r.count for r in rows) == 2


async def test_close_without_start_flushes():
    """close() writes pending counts even if the task never ran."""
    store = FakeStore()
    async with UsageRecorder(store, flush_interval=3600) as rec:
        rec.record(None, "privacy")
    assert sum(store.totals.values()) == 1


async def test_locked_database_is_retried(real_store, tmp_path):
    """A write blocked by another process's lock fails, keeps its counts, and succeeds once
    the lock is released."""
    rec = UsageRecorder(real_store)
    rec.record(GUILD, "crisis_reply", "suicide/high", "dm_fallback")
    other = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert await rec.flush() is False
        assert rec.pending_events == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await rec.flush() is True
    rows = await real_store.usage_summary(GUILD, dt.date(2000, 1, 1))
    assert [(r.kind, r.key, r.outcome, r.count) for r in rows] == [
        ("crisis_reply", "suicide/high", "dm_fallback", 1)]


async def test_retention_deletes_counts_older_than_the_limit(real_store):
    """apply_retention deletes days before today minus retention_days and keeps the rest."""
    from bot.store import UsageCount

    await real_store.add_usage([UsageCount(d, GUILD, "stats", "", "ok", 1)
                                for d in ("2024-12-01", "2024-12-02", "2024-12-03")])
    today = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC).timestamp()
    rec = UsageRecorder(real_store, retention_days=30, clock=Clock(today))
    assert await rec.apply_retention() == 1  # cut-off 2024-12-02
    rows = await real_store.usage_summary(GUILD, dt.date(2000, 1, 1))
    assert [r.day for r in rows] == [dt.date(2024, 12, 2), dt.date(2024, 12, 3)]


async def test_background_task_runs_retention_at_start():
    """The started task applies retention once on start (then daily)."""
    store = FakeStore()
    today = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC).timestamp()
    rec = UsageRecorder(store, retention_days=180, flush_interval=3600, clock=Clock(today))
    rec.start()
    for _ in range(500):
        if store.deleted_before:
            break
        await asyncio.sleep(0.01)
    await rec.close()
    assert store.deleted_before == [dt.date(2025, 1, 1) - dt.timedelta(180)]


async def test_closed_connection_keeps_counts_for_retry(tmp_path):
    """A write on a closed connection is a fault: the counts stay pending, nothing dropped."""
    from bot.store import SqliteStore, UsageRecorder

    store = await SqliteStore.open(tmp_path / "bot.db")
    recorder = UsageRecorder(store, retention_days=None)
    recorder.record(1, "topic", "ptsd")
    recorder.record(1, "topic", "ptsd")
    await store._db.close()  # the connection goes away underneath the store
    assert await recorder.flush() is False
    assert recorder.dropped == 0
    assert recorder.pending_events == 2


def test_a_kind_or_outcome_outside_the_vocabulary_is_refused():
    """record() counts only the kinds and outcomes the README documents."""
    rec = UsageRecorder(FakeStore())
    rec.record(GUILD, "topic_search", "ptsd")  # type: ignore[arg-type]
    rec.record(GUILD, Kind.TOPIC, "ptsd", "maybe")  # type: ignore[arg-type]
    assert rec.rejected == 2
    rec.record(GUILD, Kind.CRISIS_MODEL, Decider.MODEL_VETO, Outcome.SCORED)
    assert rec.pending_keys == 1


def test_the_readme_lists_every_usage_kind_and_outcome():
    """"What is stored" in the README is generated from the Kind and Outcome enums."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = usage_vocabulary_markdown()
    assert all(f"`{m.value}`" in block for m in [*Kind, *Outcome])
    assert block in readme, f"paste this into README.md under 'What is stored':\n{block}"
