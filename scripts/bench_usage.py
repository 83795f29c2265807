"""Benchmark the usage recorder: record() throughput, and event-loop stalls during flushes,
on SQLite and PostgreSQL side by side.

    python -m scripts.bench_usage [--rate 10000] [--seconds 5] [--keys 500] [--interval 1]
                                  [--database-url postgresql://...]

PostgreSQL: --database-url (its tables are created if needed, and counts added to them),
else a throwaway server started like the tests start theirs (initdb + pg_ctl; needs the
Debian package `postgresql`).

1. record() throughput: calls per second on one core (no await, no I/O).
2. Loop stall: events arrive at --rate per second for --seconds while the recorder flushes
   every --interval seconds into a real database (SQLite: a file in a temporary directory;
   PostgreSQL: over TCP on this machine). A ticker task
   sleeps 0.1 ms in a loop and records how late it wakes; the longest lateness while a flush
   is in progress is the stall a flush causes; every loop callback is also timed (wall
   time, and CPU time of the loop thread, which excludes being preempted by other
   processes). A run with no flushes gives the noise floor of the machine.
   Target: longest stall under 1 ms at 10,000 events per second.
3. Two processes: two worker processes record --rate/2 events per second each for
   --seconds into one database, flushing concurrently every 0.2 s; every event must be
   counted exactly once in the database (counts add, never overwrite).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import datetime as dt
import random
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.store import Store, UsageRecorder, open_store

BENCH_KEY = "bench-usage-pseudonym-key-0123456789abcdef"

KINDS = ["topic", "hotline", "crisis_reply", "crisis_alert", "topics", "stats"]
OUTCOMES = ["ok", "ok", "ok", "not_found", "dm_fallback", "forbidden"]


def make_keys(n: int, seed: int = 1) -> list[tuple[int | None, str, str, str]]:
    """n distinct (guild, kind, key, outcome) tuples, shaped like real traffic."""
    rnd = random.Random(seed)
    seen: set[tuple[int | None, str, str, str]] = set()
    while len(seen) < n:
        guild = rnd.choice([None, *range(10**17, 10**17 + 50)])
        seen.add((guild, rnd.choice(KINDS), f"key-{rnd.randrange(n)}", rnd.choice(OUTCOMES)))
    return list(seen)


class _NullStore:
    async def add_usage(self, rows):  # pragma: no cover - benchmark helper
        for _ in rows:
            pass


def bench_record(n_events: int, keys: list) -> float:
    rec = UsageRecorder(_NullStore(), max_keys=len(keys) + 1)  # type: ignore[arg-type]
    seq = [keys[i % len(keys)] for i in range(10_000)]
    record = rec.record
    t0 = time.perf_counter()
    for _ in range(n_events // len(seq)):
        for g, k, key, o in seq:
            record(g, k, key, o)
    elapsed = time.perf_counter() - t0
    assert rec.pending_events == (n_events // len(seq)) * len(seq)
    return (n_events // len(seq)) * len(seq) / elapsed


class _TimedStore:
    """Wraps the real store to note when each flush's write is in progress."""

    def __init__(self, store: Store):
        self.store = store
        self.windows: list[tuple[float, float]] = []

    async def add_usage(self, rows):
        t0 = time.perf_counter()
        await self.store.add_usage(rows)
        self.windows.append((t0, time.perf_counter()))

    async def delete_usage_before(self, day):
        return await self.store.delete_usage_before(day)


class _CallbackTimer:
    """Times every callback the event loop runs (what asyncio debug mode's
    slow_callback_duration reports), without debug mode's overhead."""

    def __init__(self) -> None:
        # Flat float arrays: a list of tuples would grow the GC's work and add its own stalls.
        self.spans = array.array("d")
        self._orig = asyncio.events.Handle._run

    def __enter__(self) -> _CallbackTimer:
        orig, spans = self._orig, self.spans

        def timed_run(handle):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            c0 = time.thread_time()
            orig(handle)
            spans.append(t0)
            spans.append(time.perf_counter())
            spans.append(time.thread_time() - c0)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._orig  # type: ignore[method-assign]


async def _total(store: Store, keys: list) -> int:
    total = sum(r.count for r in await store.usage_summary(None, _epoch()))
    for g in {k[0] for k in keys if k[0] is not None}:
        total += sum(r.count for r in await store.usage_summary(g, _epoch()))
    return total


async def bench_stall(database: str, rate: int, seconds: float, keys: list, interval: float,
                      flush: bool, tick: float) -> dict[str, float]:
    store, _ = await open_store(database, BENCH_KEY)
    before = await _total(store, keys)
    timed = _TimedStore(store)
    rec = UsageRecorder(timed, flush_interval=interval if flush else 3600,  # type: ignore[arg-type]
                        max_keys=max(10_000, len(keys)), retention_days=None)
    ticks = array.array("d")  # wake time, lateness, wake time, lateness, ...
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(tick)
            t1 = time.perf_counter()
            ticks.append(t1)
            ticks.append(t1 - t0 - tick)

    async def producer() -> int:
        sent = 0
        start = time.perf_counter()
        i = 0
        record = rec.record
        while (now := time.perf_counter()) - start < seconds:
            due = int((now - start) * rate) - sent
            for _ in range(due):
                g, k, key, o = keys[i]
                record(g, k, key, o)
                i = (i + 1) % len(keys)
            sent += due
            await asyncio.sleep(0.001)
        return sent

    rec.start()
    tick_task = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    with _CallbackTimer() as cbs:
        sent = await producer()
        produced_for = time.perf_counter() - t0
        stop.set()
        await tick_task
    await rec.close()
    total = await _total(store, keys) - before
    await store.close()

    windows = timed.windows

    def during_flush(a: float, b: float) -> bool:
        return any(wa <= b and a <= wb for wa, wb in windows)

    tick_pairs = list(zip(ticks[::2], ticks[1::2], strict=True))
    span_pairs = list(zip(cbs.spans[::3], cbs.spans[1::3], strict=True))
    cpu = cbs.spans[2::3]
    lates = [late for _, late in tick_pairs]
    flush_lates = [late for t, late in tick_pairs if during_flush(t - late - tick, t)]
    cb = [(b - a) for a, b in span_pairs]
    flush_cb = [(b - a) for a, b in span_pairs if during_flush(a, b)]
    flush_cpu = [c for (a, b), c in zip(span_pairs, cpu, strict=True) if during_flush(a, b)]
    return {
        "events": sent, "rate": sent / produced_for, "written": total,
        "flushes": len(windows),
        "flush_ms_max": max((b - a for a, b in windows), default=0) * 1e3,
        "flush_ms_median": statistics.median([b - a for a, b in windows] or [0]) * 1e3,
        "tick_max_ms": max(lates) * 1e3,
        "tick_p99_ms": statistics.quantiles(lates, n=100)[98] * 1e3,
        "flush_tick_max_ms": max(flush_lates, default=0) * 1e3,
        "flush_ticks": len(flush_lates),
        "ticks": len(lates),
        "over_1ms": sum(x > 0.001 for x in lates),
        "flush_over_1ms": sum(x > 0.001 for x in flush_lates),
        "cb_max_ms": max(cb) * 1e3,
        "flush_cb_max_ms": max(flush_cb, default=0) * 1e3,
        "flush_cpu_max_ms": max(flush_cpu, default=0) * 1e3,
    }


def _epoch() -> dt.date:
    return dt.date(1970, 1, 1)


def _run(coro):  # type: ignore[no-untyped-def]
    # select() takes microsecond timeouts; epoll's are rounded up to whole milliseconds,
    # which would hide sub-millisecond stalls behind up to 1 ms of timer rounding.
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


async def _worker(database: str, rate: float, seconds: float, n_keys: int) -> None:
    """One of the two processes: record at `rate` for `seconds`, flushing every 0.2 s."""
    store, _ = await open_store(database, BENCH_KEY)
    keys = make_keys(n_keys)
    rec = UsageRecorder(store, flush_interval=0.2, max_keys=max(10_000, n_keys),
                        retention_days=None)
    rec.start()
    sent, start, i = 0, time.perf_counter(), 0
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate) - sent
        for _ in range(due):
            rec.record(*keys[i])
            i = (i + 1) % len(keys)
        sent += due
        await asyncio.sleep(0.001)
    await rec.close()
    await store.close()
    print(sent, rec.written, rec.dropped)


def two_processes(database: str, rate: int, seconds: float, keys: list) -> dict[str, int]:
    """Run two workers at once on `database`; compare what they sent with what is stored."""
    async def total() -> int:
        store, _ = await open_store(database, BENCH_KEY)
        try:
            return await _total(store, keys)
        finally:
            await store.close()

    before = asyncio.run(total())
    cmd = [sys.executable, "-m", "scripts.bench_usage", "--worker", database,
           "--rate", str(rate / 2), "--seconds", str(seconds), "--keys", str(len(keys))]
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=root)
             for _ in range(2)]
    outs = [p.communicate()[0].split() for p in procs]
    if any(p.returncode for p in procs) or any(len(o) != 3 for o in outs):
        raise SystemExit(f"a worker failed: {outs}")
    sent = sum(int(o[0]) for o in outs)
    return {"sent": sent, "stored": asyncio.run(total()) - before,
            "dropped": sum(int(o[2]) for o in outs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=10_000, help="events per second")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--keys", type=int, default=500, help="distinct counters in the traffic")
    ap.add_argument("--interval", type=float, default=1.0, help="flush interval, seconds")
    ap.add_argument("--tick", type=float, default=0.0001, help="ticker sleep, seconds")
    ap.add_argument("--database-url", help="PostgreSQL URL (default: a throwaway server)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one of the two processes
    args = ap.parse_args()
    if args.worker:
        _run(_worker(args.worker, args.rate, args.seconds, args.keys))
        return

    keys = make_keys(args.keys)
    per_s = bench_record(2_000_000, keys)
    print(f"record(): {per_s:,.0f} events/s ({1e9 / per_s:.0f} ns per call, "
          f"{len(keys)} distinct counters)")

    server = None
    pg_url = args.database_url
    if pg_url is None:
        from tests.pgserver import PgServer

        server = PgServer.start()
        pg_url = server.create_database("bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backends = {"SQLite": str(Path(tmp) / "bench.db"), "PostgreSQL": pg_url}
            runs = [("no flushes (timer noise floor)", "SQLite", False)]
            runs += [(f"{name}, flush every {args.interval:g} s", name, True)
                     for name in backends]
            results = {}
            for label, name, flush in runs:
                r = _run(bench_stall(backends[name], args.rate, args.seconds, keys,
                                     args.interval, flush, args.tick))
                results[label] = r
                _report(label, r, args, keys, flush)
            print(f"\ntwo processes, {args.rate / 2:,.0f} events/s each for {args.seconds:g} s, "
                  "flushing every 0.2 s into one database:")
            for name, db in backends.items():
                c = two_processes(db, int(args.rate), args.seconds, keys)
                print(f"  {name}: {c['sent']:,} events sent, {c['stored']:,} counted "
                      f"({'exact' if c['sent'] == c['stored'] else 'MISMATCH'}), "
                      f"{c['dropped']} dropped")
    finally:
        if server is not None:
            server.stop()


def _report(label: str, r: dict, args: argparse.Namespace, keys: list, flush: bool) -> None:
    print(f"\n{label}: {r['events']:,} events at {r['rate']:,.0f}/s over "
          f"{args.seconds:g} s, {len(keys)} distinct counters; all written: "
          f"{r['written'] == r['events']} ({r['written']:,})")
    print(f"  ticker ({args.tick * 1e3:g} ms sleep) lateness: max {r['tick_max_ms']:.3f} ms, "
          f"p99 {r['tick_p99_ms']:.3f} ms, {r['over_1ms']} of {r['ticks']:,} ticks over 1 ms; "
          f"longest loop callback {r['cb_max_ms']:.3f} ms")
    if flush:
        print(f"  flushes: {r['flushes']}, longest write {r['flush_ms_max']:.2f} ms, "
              f"median {r['flush_ms_median']:.2f} ms")
        print(f"  while a flush was in progress: longest ticker lateness "
              f"{r['flush_tick_max_ms']:.3f} ms ({r['flush_over_1ms']} of "
              f"{r['flush_ticks']} ticks over 1 ms), longest loop callback"
              f" {r['flush_cb_max_ms']:.3f} ms wall / {r['flush_cpu_max_ms']:.3f} ms CPU "
              "(target < 1 ms)")


if __name__ == "__main__":
    main()
