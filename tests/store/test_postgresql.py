"""What only the PostgreSQL store does: its schema table, several processes at once, and
a server that is unreachable at start-up or goes away at run time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.store import (
    GuildSet,
    SettingsCache,
    StoreError,
    UsageCount,
    UsageRecorder,
    open_store,
)
from bot.store.migrations import postgresql as pg_schema
from bot.store.migrations import sqlite as sqlite_schema
from bot.store.postgresql import PostgresStore, describe_url
from bot.store.pseudonym import Pseudonymizer
from tests.pgserver import PASSWORD
from tests.store.conftest import KEY, TABLES, table_columns

GUILD = 111111111111111111
PSEUDO = Pseudonymizer(b"k" * 32)
# For tests that open stores with `open_db`: only on the PostgreSQL database.
postgres_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@pytest.fixture
def fresh_url(pg_server) -> str:
    return pg_server.create_database("fresh")


async def _fetch(url: str, sql: str) -> list[tuple]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _until(check, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- schema -----------------------------------------------------------------------------------

async def test_schema_has_the_same_tables_and_columns_as_sqlite(fresh_url, tmp_path):
    """Both backends hold the same tables with the same columns, in the same order."""
    sqlite_db = str(tmp_path / "bot.db")
    for db in (fresh_url, sqlite_db):
        store, _ = await open_store(db, KEY)
        await store.close()
    for table in TABLES:
        assert await table_columns(fresh_url, table) == await table_columns(sqlite_db, table)
    assert len(pg_schema.migrations()) == len(sqlite_schema.migrations())


async def test_processes_starting_together_apply_each_migration_once(fresh_url):
    """Several stores opening a new database at once all start, and the version table
    lists every migration exactly once."""
    stores = await asyncio.gather(*(PostgresStore.open(fresh_url) for _ in range(4)))
    for s in stores:
        await s.close()
    rows = await _fetch(fresh_url, f"SELECT version, name FROM {pg_schema.VERSION_TABLE} "
                                   "ORDER BY version")
    assert rows == [(m.version, m.name) for m in pg_schema.migrations()]


async def test_foreign_tables_refused_and_left_alone(fresh_url):
    """A database whose tables of the same name belong to another program is refused, and
    nothing is created in it."""
    await _fetch(fresh_url, "CREATE TABLE member_prefs (id INTEGER)")
    with pytest.raises(StoreError, match="member_prefs that this bot did not create"):
        await PostgresStore.open(fresh_url)
    tables = await _fetch(fresh_url, "SELECT tablename FROM pg_tables "
                                     "WHERE schemaname = 'public'")
    assert tables == [("member_prefs",)]


async def test_newer_schema_version_refused(fresh_url):
    """A database migrated by a newer bot is refused with a clear message."""
    s = await PostgresStore.open(fresh_url)
    await s.close()
    await _fetch(fresh_url, f"INSERT INTO {pg_schema.VERSION_TABLE} VALUES (99, '0099_x.sql')")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        await PostgresStore.open(fresh_url)


# --- start-up errors ---------------------------------------------------------------------------

def test_describe_url_hides_the_password():
    """The description keeps user, host, port and database, never the password."""
    url = "postgresql://bot:s3cret@db.example:5433/recovery?sslmode=require"
    assert describe_url(url) == "postgresql://bot@db.example:5433/recovery"


async def test_server_down_at_start_names_the_host_never_the_password():
    """Nothing listening: StoreError names host and port and says to start PostgreSQL."""
    port = _free_port()
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/recovery"
    with pytest.raises(StoreError) as e:
        await open_store(url, KEY)
    text = str(e.value)
    assert f"127.0.0.1:{port}/recovery" in text and "start PostgreSQL" in text
    assert PASSWORD not in text


async def test_wrong_password_and_missing_database_explained(pg_server):
    """A rejected password and an absent database each get their own fix; the password
    typed is not repeated."""
    port = pg_server.port
    with pytest.raises(StoreError, match="refused the user name or password") as e:
        await open_store(f"postgresql://bot:not-the-pw@127.0.0.1:{port}/postgres", KEY)
    assert "not-the-pw" not in str(e.value)
    with pytest.raises(StoreError, match="database does not exist"):
        await open_store(pg_server.url("no_such_db"), KEY)


async def test_postgres_requires_a_configured_pseudonym_key(pg_contract_url):
    """Without PSEUDONYM_KEY there is no key file to fall back on: refused, saying why."""
    with pytest.raises(StoreError, match="PSEUDONYM_KEY: must be set"):
        await open_store(pg_contract_url, None)


# --- several processes -------------------------------------------------------------------------

@postgres_only
async def test_caches_follow_writes_made_by_another_process(open_db):
    """A second store's cache sees settings, id sets, preferences and purges written
    through the first store, without being told by the caller."""
    writer, reader = await open_db(), await open_db()
    cache = SettingsCache(reader)
    await cache.load()
    await writer.update_guild_settings(GUILD, region="NZ")
    await _until(lambda: cache.guild(GUILD).region == "NZ")
    await writer.change_guild_set(GUILD, GuildSet.BYPASS_ROLES, 7, True)
    await _until(lambda: cache.guild(GUILD).bypass_roles == frozenset({7}))
    await writer.set_member_prefs(PSEUDO(1), crisis_replies=False, dm_country="IE")
    await _until(lambda: cache.opted_out(PSEUDO(1)) and cache.dm_country(PSEUDO(1)) == "IE")
    await writer.set_member_prefs(PSEUDO(1), crisis_replies=True, dm_country=None)
    await _until(lambda: not cache.opted_out(PSEUDO(1)))
    await writer.purge_guild(GUILD)
    await _until(lambda: len(cache) == 0)


class _Proxy:
    """A TCP proxy to the server that the test can take down and bring back."""

    def __init__(self, target_port: int):
        self.target_port, self.port = target_port, _free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        await self._server.wait_closed()

    async def _serve(self, r1: asyncio.StreamReader, w1: asyncio.StreamWriter) -> None:
        r2, w2 = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {w1, w2}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.close()

        await asyncio.gather(pipe(r1, w2), pipe(r2, w1))
        self._writers -= {w1, w2}


async def test_database_down_at_run_time_keeps_counts_and_catches_up(fresh_url, caplog):
    """When the server goes away, writes fail with a StoreError naming the host (never the
    password), usage counts stay in memory, the cache keeps serving; when it is back,
    the counts are written and the change listener reconnects."""
    parts = urlsplit(fresh_url)
    proxy = _Proxy(parts.port)
    await proxy.up()
    via_proxy = fresh_url.replace(f":{parts.port}/", f":{proxy.port}/")
    store, _ = await open_store(via_proxy, KEY)
    direct, _ = await open_store(fresh_url, KEY)
    try:
        cache = SettingsCache(store)
        await cache.update_guild(GUILD, region="GB")
        await cache.load()
        recorder = UsageRecorder(store, flush_interval=60, retention_days=None)
        await proxy.down()
        for _ in range(3):
            recorder.record(GUILD, "crisis_reply", "self_harm/high")
        assert not await recorder.flush()
        assert recorder.pending_events == 3
        with pytest.raises(StoreError) as e:
            await store.update_guild_settings(GUILD, region="IE")
        assert f"127.0.0.1:{proxy.port}" in str(e.value) and PASSWORD not in str(e.value)
        assert PASSWORD not in caplog.text
        assert cache.guild(GUILD).region == "GB"  # the hot path still has its settings

        await proxy.up()
        assert await recorder.flush()
        rows = await direct.usage_summary(GUILD, dt.date(2000, 1, 1))
        assert [(r.kind, r.count) for r in rows] == [("crisis_reply", 3)]
        # The listener reconnects (after a backoff), reloads, and follows writes again.
        await direct.update_guild_settings(GUILD, region="AU")
        await _until(lambda: cache.guild(GUILD).region == "AU", timeout=10)
    finally:
        await store.close()
        await direct.close()
        with contextlib.suppress(Exception):
            await proxy.down()


@postgres_only
async def test_flushes_add_to_counts_another_process_wrote(open_db):
    """A count written by one store is added to, not replaced, by the other's flush."""
    a, b = await open_db(), await open_db()
    await a.add_usage([UsageCount("2025-01-01", GUILD, "stats", "", "ok", 2)])
    await b.add_usage([UsageCount("2025-01-01", GUILD, "stats", "", "ok", 3)])
    rows = await a.usage_summary(GUILD, dt.date(2025, 1, 1))
    assert [r.count for r in rows] == [5]
