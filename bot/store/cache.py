"""In-memory copy of server settings and opt-outs, so the crisis listener never waits on disk.

Load it once at start-up (`await SettingsCache.load(store)`), read it with plain dict
lookups, and after every successful write put the store's returned value into it
(`put()`, `drop()`, `set_prefs()`). Pure: no I/O except in `load`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.store.base import GuildSettings, MemberPrefs, Store


class SettingsCache:
    """All GuildSettings and opted-out pseudonyms, held in memory."""

    __slots__ = ("_guilds", "_opted_out")

    def __init__(self, guilds: Mapping[int, GuildSettings] | None = None,
                 opted_out: Iterable[str] = ()):
        self._guilds: dict[int, GuildSettings] = dict(guilds or {})
        self._opted_out: set[str] = set(opted_out)

    @classmethod
    async def load(cls, store: Store) -> SettingsCache:
        """Read everything the hot path needs from the store, once."""
        return cls(await store.all_guild_settings(), await store.opted_out_pseudonyms())

    def get(self, guild_id: int) -> GuildSettings:
        """A server's settings; defaults when the server has none stored."""
        s = self._guilds.get(guild_id)
        return s if s is not None else GuildSettings(guild_id)

    def put(self, settings: GuildSettings) -> None:
        """Remember settings just written (the value the store returned)."""
        self._guilds[settings.guild_id] = settings

    def drop(self, guild_id: int) -> None:
        """Forget a server (after purge_guild or when the bot leaves it)."""
        self._guilds.pop(guild_id, None)

    def is_opted_out(self, pseudonym: str) -> bool:
        """True if this member turned crisis replies off."""
        return pseudonym in self._opted_out

    def set_prefs(self, prefs: MemberPrefs) -> None:
        """Remember member preferences just written (the value the store returned)."""
        if prefs.crisis_replies:
            self._opted_out.discard(prefs.pseudonym)
        else:
            self._opted_out.add(prefs.pseudonym)

    def forget_member(self, pseudonym: str) -> None:
        """Forget a member's opt-out (after their preferences were deleted)."""
        self._opted_out.discard(pseudonym)

    def __len__(self) -> int:
        return len(self._guilds)
