"""Privacy-preserving storage: server settings, member preferences, daily usage counts.

What is stored, and nothing more:
- server settings (region, crisis replies on/off, reply mode, alert channel and role,
  cooldown, ignored channels, bypass roles);
- member preferences (crisis-replies opt-out, DM country) under a keyed pseudonym,
  HMAC-SHA256(key, str(user_id)) — never the user id (see `pseudonym.py` for the key);
- usage counts per UTC day: (day, server, kind, key, outcome) -> count, with DMs stored
  as server 0. No user, channel or message ids, no message content, no free text, no time
  finer than a day. Kept `RETENTION_DAYS` (180 by default).

Two backends behind one interface (`base.Store`): SQLite for one process (the default) and
PostgreSQL for several processes sharing one database (sharding).

Typical start-up::

    store, pseudonym = await open_store(settings.database, settings.pseudonym_key)
    cache = SettingsCache(store)
    await cache.load()
    recorder = UsageRecorder(store, retention_days=settings.retention_days)
    recorder.start()
    ...
    await recorder.close()
    await store.close()
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.store.base import (
    UNSET,
    Changed,
    GuildSet,
    GuildSettings,
    MemberPrefs,
    Store,
    StoreError,
    Unset,
    UsageCount,
    UsageRow,
)
from bot.store.cache import SettingsCache
from bot.store.pseudonym import Pseudonymizer, key_file_for, load_pseudonymizer, parse_key
from bot.store.sqlite import SqliteStore
from bot.store.usage import UsageRecorder

__all__ = [
    "UNSET",
    "Changed",
    "GuildSet",
    "GuildSettings",
    "MemberPrefs",
    "Pseudonymizer",
    "SettingsCache",
    "SqliteStore",
    "Store",
    "StoreError",
    "Unset",
    "UsageCount",
    "UsageRecorder",
    "UsageRow",
    "is_postgres_url",
    "key_file_for",
    "load_pseudonymizer",
    "open_store",
    "sqlite_path",
]


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(database: object) -> bool:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def sqlite_path(database: str | os.PathLike[str]) -> Path:
    """The file of an SQLite target: a path, or a ``sqlite:///relative`` /
    ``sqlite:////absolute`` URL."""
    if isinstance(database, str) and database.startswith("sqlite://"):
        rest = database.removeprefix("sqlite://")
        if not rest.startswith("/") or rest == "/":
            raise StoreError("DATABASE_URL: an SQLite URL is sqlite:///relative/path or "
                             "sqlite:////absolute/path (three or four slashes)")
        return Path(rest[1:])
    return Path(database)


async def open_store(database: str | os.PathLike[str],
                     pseudonym_key: str | None = None) -> tuple[Store, Pseudonymizer]:
    """Open the store named by `database` and its pseudonym key.

    `database` is an SQLite path or URL, or a ``postgresql://`` URL. SQLite takes the key
    from PSEUDONYM_KEY, else ``<path>.key`` (the database is checked first, so no key file
    is created beside a file that is refused). PostgreSQL requires PSEUDONYM_KEY: every
    process must use the same key, and it must never be stored in the database. Raises
    StoreError naming the database (never a password) and a fix.
    """
    if is_postgres_url(database):
        if not pseudonym_key:
            raise StoreError("PSEUDONYM_KEY: must be set when DATABASE_URL is PostgreSQL, the "
                             "same in every bot process (the key is never stored in the "
                             "database). Fix: generate one with `python -c 'import secrets; "
                             "print(secrets.token_hex(32))'` and pass it to every process")
        pseudonyms = Pseudonymizer(parse_key(pseudonym_key))
        from bot.store.postgresql import PostgresStore  # asyncpg only when it is used

        return await PostgresStore.open(str(database)), pseudonyms
    path = sqlite_path(database)
    store = await SqliteStore.open(path)
    try:
        return store, load_pseudonymizer(path, pseudonym_key)
    except BaseException:
        await store.close()
        raise
