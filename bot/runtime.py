"""Live, write-through settings for the Discord layer.

Reads are dict lookups (the crisis listener never waits on disk); writes go to the
store first and update memory only when the store accepted them, so memory and disk
cannot disagree after a failed write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from bot.settings import Settings
from bot.store import GuildSettings, SettingsCache, Store, UsageRecorder

STORAGE_LOST = ("Warning: the bot's database file was deleted or replaced, so this works for now "
                "but will be forgotten when the bot restarts. Please tell whoever runs the bot.")

_SET_OPS = {
    ("ignored_channels", True): "add_ignored_channel",
    ("ignored_channels", False): "remove_ignored_channel",
    ("bypass_roles", True): "add_bypass_role",
    ("bypass_roles", False): "remove_bypass_role",
}


class LiveSettings:
    """Server settings and member preferences, cached in memory, written through."""

    def __init__(self, store: Store):
        self.store = store
        self._cache = SettingsCache()
        self._dm_country: dict[str, str] = {}

    async def load(self) -> None:
        """Read everything the hot path needs, once, at start-up."""
        self._cache = await SettingsCache.load(self.store)
        self._dm_country = await self.store.dm_countries()

    def guild(self, guild_id: int) -> GuildSettings:
        return self._cache.get(guild_id)

    async def update_guild(self, guild_id: int, **changes) -> GuildSettings:
        """Write changes (ValueError names a bad field), then remember the stored result."""
        settings = await self.store.update_guild_settings(guild_id, **changes)
        self._cache.put(settings)
        return settings

    async def change_set(self, guild_id: int, setting: str, item_id: int, *,
                         add: bool) -> GuildSettings:
        """Add or remove an ignored channel or a bypass role."""
        settings = await getattr(self.store, _SET_OPS[(setting, add)])(guild_id, item_id)
        self._cache.put(settings)
        return settings

    def storage_problem(self) -> str | None:
        """A note for members when saved changes will not survive a restart (the database
        file was deleted or replaced while running), else None. One stat() call; the
        details go to the log."""
        guard = getattr(self.store, "file_guard", None)
        return STORAGE_LOST if guard is not None and guard.problem() else None

    def forget_guild(self, guild_id: int) -> None:
        self._cache.drop(guild_id)

    def opted_out(self, pseudonym: str) -> bool:
        return self._cache.is_opted_out(pseudonym)

    def dm_country(self, pseudonym: str) -> str | None:
        return self._dm_country.get(pseudonym)

    async def set_opt_out(self, pseudonym: str, opted_out: bool) -> None:
        prefs = await self.store.set_member_prefs(pseudonym, crisis_replies=not opted_out)
        self._cache.set_prefs(prefs)

    async def set_dm_country(self, pseudonym: str, code: str | None) -> None:
        prefs = await self.store.set_member_prefs(pseudonym, dm_country=code)
        if prefs.dm_country:
            self._dm_country[pseudonym] = prefs.dm_country
        else:
            self._dm_country.pop(pseudonym, None)


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


def make_runtime(store: Store, settings: Settings):
    """The bot's live settings and usage recorder."""
    usage = UsageRecorder(store, flush_interval=settings.usage_flush_seconds,
                          retention_days=settings.retention_days)
    return LiveSettings(store), usage


__all__ = ["InFlight", "LiveSettings", "make_runtime"]
