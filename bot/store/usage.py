"""Usage counts off the hot path: count in memory, write aggregated batches in the background.

`UsageRecorder.record()` is a plain synchronous method: one dict update, no await, no I/O.
A background task hands the batch to the store every `flush_interval` seconds (5 s by
default) and `await recorder.close()` writes what is left. Like RoboDanny's command stats
(batched, flushed every 10 s), but aggregated per UTC day before anything is written, so a
busy day is a few hundred rows, not one row per event — and no user, channel or message ids.

Guarantees:
- memory is bounded: at most `max_keys` distinct (day, server, kind, key, outcome) counters
  are held; events for new counters beyond that are dropped and the number dropped logged;
- a failed write keeps its counts in memory, merged with new ones, and is retried with
  exponential backoff; nothing is lost unless the bound is hit;
- a batch is swapped out before the write starts, so events recorded during a flush land
  in the next batch;
- logs carry exception class names and counts only, never keys.

Callers pass only known keys (a topic id from the catalogue, "category/severity", a country
code, a setting name). When a member's search matches nothing, record
``key="", outcome="not_found"`` — never the text they typed. Keys shaped like free text
(spaces, over 64 characters) are refused and counted in `rejected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable

from bot.store.base import Kind, Outcome, Store, UsageCount, check_usage_key

log = logging.getLogger(__name__)

_KINDS = frozenset(Kind)
_OUTCOMES = frozenset(Outcome)

_Key = tuple[str, int | None, str, str, str]
_DAY = 86400


class UsageRecorder:
    """Counts usage events in memory and writes them to `store` in batches.

    Call `start()` inside the running event loop (or use ``async with``), `record()` from
    anywhere on the loop, and `await close()` at shutdown. The recorder does not close the
    store.
    """

    def __init__(self, store: Store, *, flush_interval: float = 5.0, max_keys: int = 10_000,
                 max_backoff: float = 300.0, retention_days: int | None = 180,
                 clock: Callable[[], float] = time.time):
        if flush_interval <= 0 or max_keys < 1:
            raise ValueError("flush_interval must be > 0 and max_keys >= 1")
        if retention_days is not None and retention_days < 1:
            raise ValueError("retention_days: must be at least 1 (or None to keep everything)")
        self._store = store
        self.flush_interval = flush_interval
        self.max_keys = max_keys
        self.max_backoff = max_backoff
        self.retention_days = retention_days
        self._clock = clock
        self._pending: dict[_Key, int] = {}
        self._day = ""
        self._day_ends = 0.0
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._next_retention = 0.0
        self.dropped = 0  # events lost to the max_keys bound since start
        self._dropped_logged = 0
        self.rejected = 0  # record() calls refused for a bad kind/key/outcome
        self.written = 0  # events written to the store since start

    # --- hot path ----------------------------------------------------------------------
    def record(self, guild_id: int | None, kind: Kind, key: str = "",
               outcome: Outcome = Outcome.OK) -> None:
        """Count one event (guild_id None for DMs). Synchronous, never raises, never blocks.

        A kind or outcome outside the `Kind` and `Outcome` vocabularies is refused and
        counted in `rejected`, like a key shaped like free text.
        """
        now = self._clock()
        if now >= self._day_ends:
            self._roll_day(now)
        k = (self._day, guild_id, kind, key, outcome)
        pending = self._pending
        n = pending.get(k)
        if n is not None:
            pending[k] = n + 1
            return
        # A counter not seen in this batch: check its shape once, then respect the bound.
        try:
            if kind not in _KINDS or outcome not in _OUTCOMES:
                raise ValueError("kind or outcome")
            check_usage_key(key)
            if guild_id is not None and (not isinstance(guild_id, int) or guild_id < 0):
                raise ValueError("guild_id")
        except ValueError:
            self.rejected += 1
            return
        if len(pending) >= self.max_keys:
            self.dropped += 1
            return
        pending[k] = 1

    def _roll_day(self, now: float) -> None:
        start = now - now % _DAY
        self._day = time.strftime("%Y-%m-%d", time.gmtime(start))
        self._day_ends = start + _DAY

    @property
    def pending_events(self) -> int:
        """Events counted in memory and not yet written."""
        return sum(self._pending.values())

    @property
    def pending_keys(self) -> int:
        """Distinct counters held in memory (at most max_keys)."""
        return len(self._pending)

    # --- writing -----------------------------------------------------------------------
    async def flush(self) -> bool:
        """Write the pending counts once. True if written (or nothing to write)."""
        async with self._flush_lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return True
            # Lazy: rows are built inside the store's thread, a chunk at a time.
            rows = (UsageCount(*k, c) for k, c in batch.items())
            try:
                await self._store.add_usage(rows)
            except ValueError as exc:  # a bug, not a fault: retrying cannot help
                lost = sum(batch.values())
                self.dropped += lost
                log.error("usage: dropped a batch of %d events the store rejected (%s)",
                          lost, type(exc).__name__)
                return False
            except Exception as exc:
                self._merge_back(batch)
                self._failures += 1
                log.warning("usage: writing %d counters failed (%s, attempt %d); kept in "
                            "memory and will retry", len(batch), type(exc).__name__,
                            self._failures)
                return False
            self._failures = 0
            self.written += sum(batch.values())
            self._log_dropped()
            return True

    def _merge_back(self, batch: dict[_Key, int]) -> None:
        # The failed batch is older than what arrived meanwhile; both are kept up to the bound.
        pending = self._pending
        for k, c in batch.items():
            n = pending.get(k)
            if n is not None:
                pending[k] = n + c
            elif len(pending) < self.max_keys:
                pending[k] = c
            else:
                self.dropped += c
        self._log_dropped()

    def _log_dropped(self) -> None:
        if self.dropped > self._dropped_logged:
            log.warning("usage: %d events dropped so far because more than %d distinct "
                        "counters were pending", self.dropped, self.max_keys)
            self._dropped_logged = self.dropped

    def next_delay(self) -> float:
        """Seconds until the next flush attempt: the interval, doubled per failure in a row."""
        if not self._failures:
            return self.flush_interval
        return min(self.flush_interval * 2 ** min(self._failures, 30), self.max_backoff)

    async def apply_retention(self) -> int:
        """Delete counts older than retention_days (UTC). Returns rows deleted; 0 on failure."""
        if self.retention_days is None:
            return 0
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        try:
            n = await self._store.delete_usage_before(today - dt.timedelta(self.retention_days))
        except Exception as exc:
            log.warning("usage: deleting old counts failed (%s); will retry tomorrow",
                        type(exc).__name__)
            return 0
        if n:
            log.info("usage: deleted %d daily counts older than %d days", n,
                     self.retention_days)
        return n

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the background flush (and daily retention) task."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="usage-recorder")

    async def _run(self) -> None:
        while True:
            if self.retention_days is not None and time.monotonic() >= self._next_retention:
                self._next_retention = time.monotonic() + _DAY
                await self.apply_retention()
            await asyncio.sleep(self.next_delay())
            try:
                # Shielded: close() cancels this task, and a write cut off half-way could be
                # committed by the store's thread yet counted as failed (and written twice).
                await asyncio.shield(self.flush())
            except Exception:  # never let the task die silently
                log.exception("usage: flush task error")

    async def close(self, attempts: int = 3) -> None:
        """Stop the task and write what is pending, retrying a few times."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for i in range(attempts):
            if await self.flush():
                return
            if i + 1 < attempts:
                await asyncio.sleep(min(0.5 * 2**i, 5.0))
        if self._pending:
            log.error("usage: %d events could not be written at shutdown and are lost",
                      self.pending_events)

    async def __aenter__(self) -> UsageRecorder:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
