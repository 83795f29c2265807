"""The bot's runtime state around the store: the settings cache, the usage recorder and the
crisis deliveries that shutdown waits for."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from bot.config import Config
from bot.store import SettingsCache, Store, UsageRecorder


class InFlight:
    """Counts work that shutdown should let finish (crisis deliveries), and waits for it."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        return self._running

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def wait(self, seconds: float) -> int:
        """Wait up to `seconds` for all tracked work to end; return how many still run."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        return self._running


def make_runtime(store: Store, settings: Config) -> tuple[SettingsCache, UsageRecorder]:
    """The bot's write-through settings cache and usage recorder."""
    usage = UsageRecorder(store, flush_interval=settings.usage_flush_seconds,
                          retention_days=settings.retention_days)
    return SettingsCache(store), usage


__all__ = ["InFlight", "make_runtime"]
