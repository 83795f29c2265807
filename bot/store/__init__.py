"""Privacy-preserving storage: server settings, member preferences, daily usage counts.

What is stored, and nothing more:
- server settings (region, crisis replies on/off, reply mode, alert channel and role,
  cooldown, ignored channels, bypass roles);
- member preferences (crisis-replies opt-out, DM country) under a keyed pseudonym,
  HMAC-SHA256(key, str(user_id)) — never the user id (see `pseudonym.py` for the key);
- usage counts per UTC day: (day, server, kind, key, outcome) -> count, with DMs stored
  as server 0. No user, channel or message ids, no message content, no free text, no time
  finer than a day. Kept `RETENTION_DAYS` (180 by default).

Typical start-up::

    store, pseudonym = await open_store(settings.database_path, settings.pseudonym_key)
    cache = await SettingsCache.load(store)
    recorder = UsageRecorder(store, retention_days=settings.retention_days)
    recorder.start()
    ...
    await recorder.close()
    await store.close()
"""

from __future__ import annotations

import os

from bot.store.base import (
    UNSET,
    GuildSettings,
    MemberPrefs,
    Store,
    StoreError,
    Unset,
    UsageCount,
    UsageRow,
)
from bot.store.cache import SettingsCache
from bot.store.pseudonym import Pseudonymizer, key_file_for, load_pseudonymizer
from bot.store.sqlite import SqliteStore
from bot.store.usage import UsageRecorder

__all__ = [
    "UNSET", "GuildSettings", "MemberPrefs", "Pseudonymizer", "SettingsCache", "SqliteStore",
    "Store", "StoreError", "Unset", "UsageCount", "UsageRecorder", "UsageRow", "key_file_for",
    "load_pseudonymizer", "open_store",
]


async def open_store(path: str | os.PathLike[str],
                     pseudonym_key: str | None = None) -> tuple[SqliteStore, Pseudonymizer]:
    """Open the SQLite store and its pseudonym key (PSEUDONYM_KEY, else ``<path>.key``).

    The database is checked first, so no key file is created beside a file that is
    refused. Raises StoreError with the path and a fix.
    """
    store = await SqliteStore.open(path)
    try:
        return store, load_pseudonymizer(path, pseudonym_key)
    except BaseException:
        await store.close()
        raise
