"""Server settings and member preferences in memory, written through to the store.

Reads are dict lookups, so the crisis listener never waits on the database. Writes go to
the store first and change memory only when the store accepted them, so memory and the
database cannot disagree after a failed write. When several processes share a database
(sharding on PostgreSQL), the store reports what the others changed and the cache re-reads
just that server or member in the background; until then it serves the value it has.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.store.base import Changed, GuildSet, GuildSettings, MemberPrefs, Store

log = logging.getLogger(__name__)

STORAGE_LOST = ("Warning: the bot's database file was deleted or replaced, so this works for now "
                "but will be forgotten when the bot restarts. Please tell whoever runs the bot.")


class SettingsCache:
    """All stored GuildSettings and MemberPrefs, held in memory and written through."""

    def __init__(self, store: Store):
        self.store = store
        self._guilds: dict[int, GuildSettings] = {}
        self._members: dict[str, MemberPrefs] = {}  # only members off the defaults
        self._stale: dict[tuple[Changed, str], None] = {}  # ordered set of pending re-reads
        self._refresher: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Read everything the hot path needs, once, then follow other processes' writes."""
        await self._load_all()
        await self.store.watch(self._changed_elsewhere)

    async def _load_all(self) -> None:
        guilds = await self.store.all_guild_settings()
        members = {p.pseudonym: p for p in await self.store.all_member_prefs()}
        self._guilds, self._members = guilds, members

    # --- servers -------------------------------------------------------------------------
    def guild(self, guild_id: int) -> GuildSettings:
        """A server's settings; defaults when the server has none stored."""
        s = self._guilds.get(guild_id)
        return s if s is not None else GuildSettings(guild_id)

    async def update_guild(self, guild_id: int, **changes: Any) -> GuildSettings:
        """Write changes (ValueError names a bad field), then remember the stored result."""
        return self._put(await self.store.update_guild_settings(guild_id, **changes))

    async def change_set(self, guild_id: int, which: GuildSet | str, item_id: int, *,
                         add: bool) -> GuildSettings:
        """Add or remove an ignored channel or a bypass role."""
        return self._put(await self.store.change_guild_set(guild_id, GuildSet(which), item_id,
                                                                add))

    def storage_problem(self) -> str | None:
        """A note for members when saved changes will not survive a restart (the database
        file was deleted or replaced while running), else None. One stat() call; the
        details go to the log."""
        guard = getattr(self.store, "file_guard", None)
        return STORAGE_LOST if guard is not None and guard.problem() else None

    def forget_guild(self, guild_id: int) -> None:
        """Forget a server (after purge_guild, when the bot left it)."""
        self._guilds.pop(guild_id, None)

    def _put(self, settings: GuildSettings) -> GuildSettings:
        if settings == GuildSettings(settings.guild_id):
            self._guilds.pop(settings.guild_id, None)
        else:
            self._guilds[settings.guild_id] = settings
        return settings

    # --- members -------------------------------------------------------------------------
    def opted_out(self, pseudonym: str) -> bool:
        """True if this member turned crisis replies off."""
        p = self._members.get(pseudonym)
        return p is not None and not p.crisis_replies

    def dm_country(self, pseudonym: str) -> str | None:
        p = self._members.get(pseudonym)
        return p.dm_country if p is not None else None

    async def set_opt_out(self, pseudonym: str, opted_out: bool) -> None:
        self._put_prefs(await self.store.set_member_prefs(pseudonym,
                                                          crisis_replies=not opted_out))

    async def set_dm_country(self, pseudonym: str, code: str | None) -> None:
        self._put_prefs(await self.store.set_member_prefs(pseudonym, dm_country=code))

    def _put_prefs(self, prefs: MemberPrefs) -> None:
        if prefs == MemberPrefs(prefs.pseudonym):
            self._members.pop(prefs.pseudonym, None)
        else:
            self._members[prefs.pseudonym] = prefs

    # --- other processes' writes ---------------------------------------------------------
    def _changed_elsewhere(self, what: Changed, key: str) -> None:
        # Called by the store on the event loop; re-reads run in one task, in order, so an
        # older read never overwrites a newer one.
        if what is Changed.ALL:
            self._stale.clear()
        self._stale[(what, key)] = None
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh(), name="settings-refresh")

    async def _refresh(self) -> None:
        while self._stale:
            what, key = next(iter(self._stale))
            del self._stale[(what, key)]
            try:
                if what is Changed.ALL:
                    await self._load_all()
                elif what is Changed.GUILD:
                    self._put(await self.store.get_guild_settings(int(key)))
                else:
                    self._put_prefs(await self.store.get_member_prefs(key))
            except Exception as exc:  # keep serving the value we have
                log.warning("settings: re-reading a change made by another process failed "
                            "(%s); keeping the previous value", type(exc).__name__)

    def __len__(self) -> int:
        return len(self._guilds)
