"""SQLite schema: the numbered ``NNNN_*.sql`` files beside this module and the code that
applies them.

The schema version is ``PRAGMA user_version``; ``PRAGMA application_id`` marks the file as
ours (set by 0001). Nothing is written before the file is known to be ours, and each
migration runs in its own transaction together with its new user_version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.base import StoreError
from bot.store.migrations import Migration, load_migrations

log = logging.getLogger(__name__)

APPLICATION_ID = 1380077396  # b"RBOT"; set by 0001_initial.sql


def migrations() -> tuple[Migration, ...]:
    return load_migrations("sqlite")


def expected_tables(migrations: tuple[Migration, ...], version: int) -> dict[str, tuple]:
    """Table -> column names after applying migrations 1..version to an empty database."""
    mem = sqlite3.connect(":memory:")
    try:
        for m in migrations[:version]:
            mem.executescript(m.sql)
        return tables(mem)
    finally:
        mem.close()


def tables(conn: sqlite3.Connection) -> dict[str, tuple]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')) for n in names}


async def schema_version(db: aiosqlite.Connection) -> int:
    return int(await _one(db, "PRAGMA user_version"))


async def _one(db: aiosqlite.Connection, sql: str) -> Any:
    """The single value a PRAGMA or count(*) returns (they always return one row)."""
    async with db.execute(sql) as cur:
        row = await cur.fetchone()
    assert row is not None, sql
    return row[0]


async def check_ours(db: aiosqlite.Connection, path: Path,
                     migrations: tuple[Migration, ...]) -> None:
    """Read-only: refuse a foreign, hand-changed, damaged or newer database."""
    version = await schema_version(db)
    app_id = await _one(db, "PRAGMA application_id")
    objects = await _one(db, "SELECT count(*) FROM sqlite_master")
    if version == 0 and app_id == 0 and objects == 0:
        return  # new, empty database
    if app_id != APPLICATION_ID:
        raise StoreError(f"{path}: is an SQLite database of some other program (its "
                         "tables are not this bot's). Fix: point DATABASE_PATH at a new "
                         "file; the bot never overwrites another database")
    if version > len(migrations):
        raise StoreError(f"{path}: has schema version {version}, newer than this version "
                         f"of the bot knows (up to {len(migrations)}). Fix: run the newer "
                         "bot, or restore a backup made by this version")
    expected = await asyncio.to_thread(expected_tables, migrations, version)
    actual = await db.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    found = {}
    for (name,) in actual:
        cols = await db.execute_fetchall(f'PRAGMA table_info("{name}")')
        found[name] = tuple(c[1] for c in cols)
    if found != expected:
        raise StoreError(f"{path}: its tables do not match schema version {version} "
                         "(changed by hand, or damaged). Fix: restore it from a backup, or "
                         "move it away to start an empty database")
    async with db.execute("PRAGMA quick_check") as cur:
        verdict = [r[0] for r in await cur.fetchall()]
    if verdict != ["ok"]:
        raise StoreError(f"{path}: the database is damaged (integrity check failed). Fix: "
                         "restore it from a backup, or move it away to start empty")


async def migrate(db: aiosqlite.Connection, path: Path, migrations: tuple[Migration, ...],
                  explain: Callable[[BaseException], str]) -> None:
    """Apply the missing migrations, each in one transaction with its user_version."""
    current = await schema_version(db)
    for m in migrations[current:]:
        try:
            await db.executescript(f"BEGIN IMMEDIATE;\n{m.sql}\n;"
                                   f"PRAGMA user_version = {m.version};\nCOMMIT;")
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(sqlite3.Error):
                await db.rollback()
            raise StoreError(f"{path}: migration {m.name} failed, the database is left at "
                             f"schema version {current}: {explain(exc)}") from None
        current = m.version
        log.info("%s: applied migration %s", path, m.name)
    # Prove the file is writable now rather than at the first crisis reply: rewrite the
    # version in a transaction (a real page write to the WAL).
    await db.executescript(f"BEGIN IMMEDIATE; PRAGMA user_version = {current}; COMMIT;")
