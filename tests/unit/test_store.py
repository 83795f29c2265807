"""What only the SQLite store does: its file, migrations, chunked writes and faults.

What every backend does is in tests/store/test_contract.py."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest

from bot.store import SqliteStore, StoreError, UsageCount, open_store, sqlite_path
from bot.store.migrations import Migration
from bot.store.migrations import sqlite as schema
from bot.store.pseudonym import Pseudonymizer

GUILD = 111111111111111111
OTHER = 222222222222222222
PSEUDO = Pseudonymizer(b"k" * 32)


def load_migrations():
    return schema.load_migrations("sqlite")


def _version(db_path) -> int:
    with sqlite3.connect(db_path) as raw:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.close()
    return version
D1, D2, D3 = "2025-01-01", "2025-01-02", "2025-01-03"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "bot.db"


@pytest.fixture
async def store(db_path):
    s = await SqliteStore.open(db_path)
    yield s
    await s.close()


def _files(db_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db_path.parent.iterdir()}


# --- opening and migrations -------------------------------------------------------------

async def test_migrations_apply_and_record_version(db_path):
    """A new database is created (with its directory), migrated, in WAL mode, at the latest
    version."""
    s = await SqliteStore.open(db_path)
    await s.close()
    assert _version(db_path) == len(load_migrations()) >= 1
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(load_migrations())


async def test_busy_timeout_is_set(store):
    """The connection waits for locks instead of failing at once."""
    async with store._db.execute("PRAGMA busy_timeout") as cur:
        assert (await cur.fetchone())[0] >= 1000


async def test_later_migration_applies_in_order_and_keeps_data(db_path, monkeypatch):
    """A new numbered migration is applied on the next start and the version recorded."""
    s = await SqliteStore.open(db_path)
    await s.update_guild_settings(GUILD, cooldown_minutes=5)
    await s.close()
    extra = Migration(len(load_migrations()) + 1, "9999_test.sql",
                      "CREATE TABLE extra_test (x INTEGER);")
    monkeypatch.setattr(schema, "migrations", lambda: (*load_migrations(), extra))
    s = await SqliteStore.open(db_path)
    try:
        assert (await s.get_guild_settings(GUILD)).cooldown_minutes == 5
    finally:
        await s.close()
    assert _version(db_path) == extra.version


async def test_failed_migration_rolls_back_entirely(db_path, monkeypatch):
    """A migration that fails half-way leaves neither its tables nor a new version."""
    s = await SqliteStore.open(db_path)
    await s.close()
    broken = Migration(len(load_migrations()) + 1, "9999_broken.sql",
                       "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;")
    monkeypatch.setattr(schema, "migrations", lambda: (*load_migrations(), broken))
    with pytest.raises(StoreError, match=r"9999_broken\.sql failed"):
        await SqliteStore.open(db_path)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(load_migrations())
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


async def test_raw_user_id_never_on_disk(db_path, tmp_path):
    """After close, neither the user id's digits nor its integer bytes appear in any
    database file (main, -wal, -shm); the pseudonym does."""
    user_id = 987654321987654321
    store, pseudonym = await open_store(db_path)
    p = pseudonym(user_id)
    await store.set_member_prefs(p, crisis_replies=False, dm_country="GB")
    await store.update_guild_settings(GUILD, region="GB")
    await store.close()
    files = {n: b for n, b in _files(db_path).items() if n.startswith("bot.db")
             and not n.endswith(".key")}
    assert "bot.db" in files
    blob = b"".join(files.values())
    assert str(user_id).encode() not in blob
    assert user_id.to_bytes(8, "big") not in blob
    assert p.encode() in blob


# --- usage counts ---------------------------------------------------------------------------

async def test_usage_accepts_a_lazy_iterable_longer_than_a_chunk(store):
    """A generator of more rows than one write chunk is written completely."""
    n = store.usage_chunk_rows * 3 + 5
    await store.add_usage(UsageCount(D1, GUILD, "topic", f"t{i}", "ok", 1) for i in range(n))
    rows = await store.usage_summary(GUILD, dt.date(2025, 1, 1))
    assert len(rows) == n and sum(r.count for r in rows) == n


# --- faults -----------------------------------------------------------------------------------

async def test_corrupt_file_refused_and_unchanged(db_path):
    """A file of random bytes raises StoreError naming the path, and is not modified."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(8192))
    before = _files(db_path)
    with pytest.raises(StoreError, match="not an SQLite database") as e:
        await SqliteStore.open(db_path)
    assert str(db_path) in str(e.value)
    assert _files(db_path) == before


async def test_damaged_sqlite_file_refused_and_unchanged(db_path):
    """An SQLite header followed by garbage raises StoreError and is not modified."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192 - 16))
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match=str(db_path)):
        await SqliteStore.open(db_path)
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("user_version", [0, 1])
async def test_foreign_sqlite_database_refused_and_unchanged(db_path, user_version):
    """Another program's SQLite database (with or without a version) is refused, unchanged."""
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as raw:
        raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO users VALUES (1, 'a')")
        raw.execute(f"PRAGMA user_version = {user_version}")
    raw.close()
    before = _files(db_path)
    with pytest.raises(StoreError, match="some other program"):
        await SqliteStore.open(db_path)
    assert _files(db_path) == before


@pytest.mark.parametrize(("change", "message"), [
    # Ours, but its tables no longer match its version.
    pytest.param("DROP TABLE member_prefs", "do not match schema version", id="wrong-tables"),
    # From a newer version of the bot.
    pytest.param("PRAGMA user_version = 99", "schema version 99, newer", id="newer-schema"),
])
async def test_a_changed_database_of_ours_is_refused_unchanged(db_path, change, message):
    """A database of ours changed behind the bot's back is refused with a clear message,
    and left as it was."""
    s = await SqliteStore.open(db_path)
    await s.close()
    with sqlite3.connect(db_path) as raw:
        raw.execute(change)
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match=message):
        await SqliteStore.open(db_path)
    assert db_path.read_bytes() == before


async def test_unwritable_directory_refused(tmp_path):
    """A database path that cannot be created (its parent is a regular file) raises
    StoreError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the directory") as e:
        await SqliteStore.open(blocker / "data" / "bot.db")
    assert str(blocker) in str(e.value)


async def test_path_that_is_a_directory_refused(tmp_path):
    """A database path that is a directory raises StoreError."""
    (tmp_path / "bot.db").mkdir()
    with pytest.raises(StoreError, match="not a file"):
        await SqliteStore.open(tmp_path / "bot.db")


async def test_full_disk_at_start_gives_store_error(db_path, monkeypatch):
    """When SQLite reports a full disk during start-up, StoreError says so."""
    configure = SqliteStore._configure

    async def tiny_disk(db, path):
        await configure(db, path)
        await db.execute("PRAGMA max_page_count = 2")  # SQLITE_FULL past two pages

    monkeypatch.setattr(SqliteStore, "_configure", staticmethod(tiny_disk))
    with pytest.raises(StoreError, match="disk is full"):
        await SqliteStore.open(db_path)


async def test_full_disk_at_run_time_reported_and_store_keeps_working(store, caplog):
    """A write that fails for lack of space raises StoreError (logged without values), is
    rolled back, and the store keeps working afterwards."""
    async with store._db.execute("PRAGMA page_count") as cur:
        pages = (await cur.fetchone())[0]
    await store._db.execute(f"PRAGMA max_page_count = {pages}")
    rows = [UsageCount(D1, GUILD, "topic", f"topic-{i:05d}", "ok", 1) for i in range(5000)]
    with pytest.raises(StoreError, match="disk is full"):
        await store.add_usage(rows)
    assert "topic-0" not in caplog.text
    assert "save usage counts failed" in caplog.text
    assert await store.usage_summary(GUILD, dt.date(2000, 1, 1)) == []
    await store._db.execute("PRAGMA max_page_count = 1073741823")
    await store.add_usage(rows[:3])
    assert len(await store.usage_summary(GUILD, dt.date(2000, 1, 1))) == 3


async def test_locked_database_at_start_gives_store_error(db_path):
    """A database held locked by another process beyond busy_timeout raises StoreError."""
    s = await SqliteStore.open(db_path)
    await s.close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            await SqliteStore.open(db_path, busy_timeout_ms=50)
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_open_store_creates_no_key_beside_a_refused_file(db_path):
    """open_store checks the database first, so a refused file gets no key file."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError):
        await open_store(db_path)
    assert sorted(_files(db_path)) == ["bot.db"]


# --- DATABASE_URL -----------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:///data/bot.db", "data/bot.db"),
    ("sqlite:////var/lib/bot/bot.db", "/var/lib/bot/bot.db"),
    ("data/bot.db", "data/bot.db"),
])
def test_sqlite_urls_name_relative_and_absolute_files(url, path):
    """sqlite:///x is relative, sqlite:////x absolute, a bare path is itself."""
    assert str(sqlite_path(url)) == path


def test_sqlite_url_without_a_path_is_refused():
    """An SQLite URL with too few slashes says how to write one."""
    with pytest.raises(StoreError, match="sqlite:///relative/path"):
        sqlite_path("sqlite://bot.db")


async def test_open_store_accepts_an_sqlite_url(tmp_path, monkeypatch):
    """open_store with sqlite:/// opens that file, and its key file sits beside it."""
    monkeypatch.chdir(tmp_path)
    store, pseudonyms = await open_store("sqlite:///data/x.db")
    await store.close()
    assert (tmp_path / "data" / "x.db").is_file()
    assert (tmp_path / "data" / "x.db.key").is_file()
    assert len(pseudonyms(1)) == 64
