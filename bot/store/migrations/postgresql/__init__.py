"""PostgreSQL schema: the numbered ``NNNN_*.sql`` files beside this module and the code that
applies them.

The schema version lives in the table ``recovery_bot_schema`` (one row per applied
migration). Every migration runs in its own transaction under an advisory lock, so several
bot processes starting at once against one database apply each migration exactly once.
"""

from __future__ import annotations

import logging

import asyncpg

from bot.store.base import StoreError
from bot.store.migrations import Migration, load_migrations

log = logging.getLogger(__name__)

VERSION_TABLE = "recovery_bot_schema"
# pg_advisory_xact_lock key: any fixed number; b"RBOT" as in SQLite's application_id.
_LOCK_KEY = 1380077396
_OUR_TABLES = ("guild_settings", "guild_ignored_channels", "guild_bypass_roles",
               "member_prefs", "usage_daily")


def migrations() -> tuple[Migration, ...]:
    return load_migrations("postgresql")


async def schema_version(conn: asyncpg.Connection) -> int:
    """The applied version; 0 for a database without our version table."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", VERSION_TABLE):
        return 0
    return int(await conn.fetchval(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}")
               or 0)


async def migrate(conn: asyncpg.Connection, where: str,
                  migrations: tuple[Migration, ...]) -> None:
    """Refuse a foreign or newer database, then apply the missing migrations."""
    current = await schema_version(conn)
    if current > len(migrations):
        raise StoreError(f"{where}: has schema version {current}, newer than this version of "
                         f"the bot knows (up to {len(migrations)}). Fix: run the newer bot, "
                         "or restore a backup made by this version")
    for m in migrations[current:]:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
                               "version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            applied = await schema_version(conn)
            if applied >= m.version:
                continue  # another process applied it while we waited for the lock
            if applied == 0:
                await _refuse_foreign_tables(conn, where)
            await conn.execute(m.sql)
            await conn.execute(f"INSERT INTO {VERSION_TABLE} (version, name) VALUES ($1, $2)",
                               m.version, m.name)
        log.info("%s: applied migration %s", where, m.name)


async def _refuse_foreign_tables(conn: asyncpg.Connection, where: str) -> None:
    clash = [t for t in _OUR_TABLES
             if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", t)]
    if clash:
        raise StoreError(f"{where}: already has tables named {', '.join(clash)} that this "
                         "bot did not create. Fix: give the bot its own database (or "
                         "schema, with ?options=-csearch_path%3Dbot); it never changes "
                         "another program's tables")
