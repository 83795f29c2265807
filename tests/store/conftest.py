"""Fixtures that open the same store contract on every backend: SQLite in a temporary
folder, PostgreSQL on the throwaway server (``pg_server``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from bot.store import Store, open_store

KEY = "contract-test-pseudonym-key-0123456789abcdef"
TABLES = ("guild_settings", "guild_ignored_channels", "guild_bypass_roles", "member_prefs",
          "usage_daily")

OpenDb = Callable[[], Awaitable[Store]]


@pytest.fixture(scope="session")
def pg_contract_url(pg_server) -> str:
    """One database for the contract tests, emptied after each test."""
    return pg_server.create_database("contract")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, tmp_path) -> AsyncIterator[str]:
    """Where the test's store lives: an SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "data" / "bot.db")
        return
    url = request.getfixturevalue("pg_contract_url")
    yield url
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('usage_daily') IS NOT NULL"):
            await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    finally:
        await conn.close()


@pytest.fixture
async def open_db(database) -> AsyncIterator[OpenDb]:
    """`await open_db()` opens (another) store on the test's database; all closed after."""
    opened: list[Store] = []

    async def open_() -> Store:
        store, _ = await open_store(database, KEY)
        opened.append(store)
        return store

    yield open_
    for s in opened:
        await s.close()


@pytest.fixture
async def store(open_db) -> Store:
    return await open_db()


async def table_rows(database: str) -> dict[str, list[tuple]]:
    """Every row of every table of the store, read directly (not through the store)."""
    if database.startswith("postgresql://"):
        conn = await asyncpg.connect(database)
        try:
            return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t}")]
                    for t in TABLES}
        finally:
            await conn.close()
    import sqlite3

    with sqlite3.connect(database) as raw:
        return {t: raw.execute(f"SELECT * FROM {t}").fetchall() for t in TABLES}


async def table_columns(database: str, table: str) -> list[str]:
    """Column names of a table, in order, read from the database's catalogue."""
    if database.startswith("postgresql://"):
        conn = await asyncpg.connect(database)
        try:
            rows = await conn.fetch("SELECT column_name FROM information_schema.columns "
                                    "WHERE table_name = $1 ORDER BY ordinal_position", table)
        finally:
            await conn.close()
        return [r[0] for r in rows]
    import sqlite3

    with sqlite3.connect(database) as raw:
        return [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
