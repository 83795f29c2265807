"""The SQLite store: migrations, settings, member preferences, usage counts, faults."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest

from bot.store import (
    GuildSettings,
    MemberPrefs,
    SettingsCache,
    SqliteStore,
    StoreError,
    UsageCount,
    UsageRow,
    open_store,
)
from bot.store import sqlite as store_sqlite
from bot.store.pseudonym import Pseudonymizer
from bot.store.sqlite import Migration, load_migrations

GUILD = 111111111111111111
OTHER = 222222222222222222
PSEUDO = Pseudonymizer(b"k" * 32)
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
    try:
        assert await s.schema_version() == len(load_migrations()) >= 1
    finally:
        await s.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(load_migrations())


async def test_busy_timeout_is_set(store):
    """The connection waits for locks instead of failing at once."""
    async with store._db.execute("PRAGMA busy_timeout") as cur:
        assert (await cur.fetchone())[0] >= 1000


async def test_reopen_keeps_data(db_path):
    """Settings, preferences and counts survive a restart."""
    s = await SqliteStore.open(db_path)
    await s.update_guild_settings(GUILD, region="GB")
    await s.set_member_prefs(PSEUDO(1), crisis_replies=False)
    await s.add_usage([UsageCount(D1, GUILD, "topic", "ptsd", "ok", 2)])
    await s.close()
    s = await SqliteStore.open(db_path)
    try:
        assert (await s.get_guild_settings(GUILD)).region == "GB"
        assert await s.opted_out_pseudonyms() == {PSEUDO(1)}
        assert await s.usage_summary(GUILD, dt.date(2025, 1, 1)) == [
            UsageRow(dt.date(2025, 1, 1), "topic", "ptsd", "ok", 2)]
    finally:
        await s.close()


async def test_later_migration_applies_in_order_and_keeps_data(db_path, monkeypatch):
    """A new numbered migration is applied on the next start and the version recorded."""
    s = await SqliteStore.open(db_path)
    await s.update_guild_settings(GUILD, cooldown_minutes=5)
    await s.close()
    extra = Migration(len(load_migrations()) + 1, "9999_test.sql",
                      "CREATE TABLE extra_test (x INTEGER);")
    monkeypatch.setattr(store_sqlite, "load_migrations", lambda: (*load_migrations(), extra))
    s = await SqliteStore.open(db_path)
    try:
        assert await s.schema_version() == extra.version
        assert (await s.get_guild_settings(GUILD)).cooldown_minutes == 5
    finally:
        await s.close()


async def test_failed_migration_rolls_back_entirely(db_path, monkeypatch):
    """A migration that fails half-way leaves neither its tables nor a new version."""
    s = await SqliteStore.open(db_path)
    await s.close()
    broken = Migration(len(load_migrations()) + 1, "9999_broken.sql",
                       "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;")
    monkeypatch.setattr(store_sqlite, "load_migrations", lambda: (*load_migrations(), broken))
    with pytest.raises(StoreError, match=r"9999_broken\.sql failed"):
        await SqliteStore.open(db_path)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(load_migrations())
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


# --- server settings ----------------------------------------------------------------------

async def test_absent_guild_gets_defaults(store):
    """A server with nothing stored gets the documented defaults."""
    s = await store.get_guild_settings(GUILD)
    assert s == GuildSettings(GUILD)
    assert (s.region, s.crisis_replies, s.reply_mode, s.cooldown_minutes) == (
        None, True, "channel", 30)
    assert s.alert_channel_id is None and s.alert_role_id is None
    assert s.ignored_channels == frozenset() and s.bypass_roles == frozenset()


async def test_settings_round_trip(store):
    """Every field written comes back, region upper-cased; other servers are unaffected."""
    out = await store.update_guild_settings(
        GUILD, region="us", crisis_replies=False, reply_mode="both",
        alert_channel_id=333, alert_role_id=444, cooldown_minutes=1440)
    await store.add_ignored_channel(GUILD, 5)
    await store.add_ignored_channel(GUILD, 6)
    await store.add_bypass_role(GUILD, 7)
    expected = GuildSettings(GUILD, "US", False, "both", 333, 444, 1440,
                             frozenset({5, 6}), frozenset({7}))
    assert out == GuildSettings(GUILD, "US", False, "both", 333, 444, 1440)
    assert await store.get_guild_settings(GUILD) == expected
    assert await store.all_guild_settings() == {GUILD: expected}
    assert await store.get_guild_settings(OTHER) == GuildSettings(OTHER)


async def test_partial_update_keeps_other_fields_and_none_clears(store):
    """Updating one field leaves the rest; None clears a nullable field."""
    await store.update_guild_settings(GUILD, region="GB", alert_channel_id=9)
    s = await store.update_guild_settings(GUILD, alert_channel_id=None)
    assert (s.region, s.alert_channel_id) == ("GB", None)


async def test_remove_ignored_channel_and_bypass_role(store):
    """Removing a channel or role takes it out of the settings."""
    await store.add_ignored_channel(GUILD, 5)
    await store.add_bypass_role(GUILD, 7)
    await store.remove_ignored_channel(GUILD, 5)
    s = await store.remove_bypass_role(GUILD, 7)
    assert s.ignored_channels == frozenset() and s.bypass_roles == frozenset()


async def test_guild_with_only_ignored_channels_is_listed(store):
    """all_guild_settings includes servers whose only setting is an ignored channel."""
    await store.add_ignored_channel(OTHER, 5)
    assert await store.all_guild_settings() == {
        OTHER: GuildSettings(OTHER, ignored_channels=frozenset({5}))}


@pytest.mark.parametrize(("field", "value"), [
    ("region", "Great Britain"), ("region", 44), ("crisis_replies", "yes"),
    ("crisis_replies", 1), ("reply_mode", "thread"), ("alert_channel_id", -1),
    ("alert_role_id", "123"), ("cooldown_minutes", 0), ("cooldown_minutes", 1441),
    ("cooldown_minutes", True), ("ignored_channels", {1}), ("colour", "red"),
])
async def test_invalid_settings_rejected_naming_the_field(store, field, value):
    """Invalid values raise ValueError naming the field, and nothing is written."""
    with pytest.raises(ValueError, match=f"^{field}:"):
        await store.update_guild_settings(GUILD, **{field: value})
    assert await store.all_guild_settings() == {}


async def test_error_lists_allowed_values(store):
    """The message says what is allowed, not just what is wrong."""
    with pytest.raises(ValueError, match="channel, dm, both"):
        await store.update_guild_settings(GUILD, reply_mode="thread")
    with pytest.raises(ValueError, match="1 to 1440"):
        await store.update_guild_settings(GUILD, cooldown_minutes=0)


# --- member preferences ---------------------------------------------------------------------

async def test_member_prefs_round_trip_and_defaults(store):
    """Preferences are stored per pseudonym; UNSET leaves dm_country, None clears it."""
    p = PSEUDO(42)
    assert await store.get_member_prefs(p) == MemberPrefs(p)
    await store.set_member_prefs(p, dm_country="gb")
    out = await store.set_member_prefs(p, crisis_replies=False)
    assert out == MemberPrefs(p, False, "GB")
    assert await store.get_member_prefs(p) == out
    assert await store.opted_out_pseudonyms() == {p}
    out = await store.set_member_prefs(p, crisis_replies=True, dm_country=None)
    assert out == MemberPrefs(p)
    assert await store.opted_out_pseudonyms() == set()


async def test_member_prefs_refuse_raw_user_ids(store):
    """Passing a user id instead of a pseudonym is refused."""
    with pytest.raises(ValueError, match="pseudonym"):
        await store.set_member_prefs(str(123456789012345678), crisis_replies=False)


async def test_invalid_dm_country_rejected(store):
    """A DM country that is not an ISO code is refused, naming the field."""
    with pytest.raises(ValueError, match=r"^dm_country:"):
        await store.set_member_prefs(PSEUDO(1), dm_country="United Kingdom")


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


async def test_delete_member_prefs(store):
    """delete_member_prefs forgets the member."""
    await store.set_member_prefs(PSEUDO(1), crisis_replies=False)
    await store.delete_member_prefs(PSEUDO(1))
    assert await store.get_member_prefs(PSEUDO(1)) == MemberPrefs(PSEUDO(1))
    assert await store.opted_out_pseudonyms() == set()


# --- usage counts ---------------------------------------------------------------------------

async def test_usage_columns_are_exactly_the_allowed_ones(store):
    """The usage table holds day, server, kind, key, outcome and count — nothing else."""
    async with store._db.execute("PRAGMA table_info(usage_daily)") as cur:
        cols = [r[1] for r in await cur.fetchall()]
    assert cols == ["day", "guild_id", "kind", "key", "outcome", "count"]


async def test_usage_upsert_aggregates_per_day(store):
    """Counts for the same day and key add up; different days, keys and servers stay apart;
    DMs (guild None) are their own bucket."""
    await store.add_usage([
        UsageCount(D1, GUILD, "topic", "ptsd", "ok", 2),
        UsageCount(D1, GUILD, "topic", "", "not_found", 1),
        UsageCount(D2, GUILD, "topic", "ptsd", "ok", 1),
        UsageCount(D1, None, "hotline", "GB", "ok", 4),
        UsageCount(D1, OTHER, "topic", "ptsd", "ok", 9),
    ])
    await store.add_usage([UsageCount(D1, GUILD, "topic", "ptsd", "ok", 3),
                           UsageCount(D1, None, "hotline", "GB", "ok", 1)])
    day1, day2 = dt.date(2025, 1, 1), dt.date(2025, 1, 2)
    assert await store.usage_summary(GUILD, day1) == [
        UsageRow(day1, "topic", "", "not_found", 1),
        UsageRow(day1, "topic", "ptsd", "ok", 5),
        UsageRow(day2, "topic", "ptsd", "ok", 1),
    ]
    assert await store.usage_summary(GUILD, day2) == [UsageRow(day2, "topic", "ptsd", "ok", 1)]
    assert await store.usage_summary(None, day1) == [UsageRow(day1, "hotline", "GB", "ok", 5)]


async def test_usage_accepts_a_lazy_iterable_longer_than_a_chunk(store):
    """A generator of more rows than one write chunk is written completely."""
    n = store.usage_chunk_rows * 3 + 5
    await store.add_usage(UsageCount(D1, GUILD, "topic", f"t{i}", "ok", 1) for i in range(n))
    rows = await store.usage_summary(GUILD, dt.date(2025, 1, 1))
    assert len(rows) == n and sum(r.count for r in rows) == n


@pytest.mark.parametrize("row", [
    UsageCount(D1, GUILD, "topic", "how do i stop drinking", "not_found", 1),
    UsageCount(D1, GUILD, "topic", "x" * 65, "ok", 1),
    UsageCount(D1, GUILD, "Topic Search", "", "ok", 1),
    UsageCount(D1, GUILD, "topic", "", "not found", 1),
    UsageCount("2025-01-01T10:00", GUILD, "topic", "", "ok", 1),
    UsageCount(D1, GUILD, "topic", "", "ok", -1),
])
async def test_usage_rejects_free_text_and_bad_rows(store, row):
    """Free text as a key, bad names, times finer than a day and negative counts are
    refused, and the whole batch is rolled back."""
    good = UsageCount(D1, GUILD, "topic", "ptsd", "ok", 1)
    with pytest.raises(ValueError, match=r"^usage "):
        await store.add_usage([good, row])
    assert await store.usage_summary(GUILD, dt.date(2000, 1, 1)) == []


async def test_retention_deletes_old_rows_only(store):
    """delete_usage_before removes days strictly before the cut-off, nothing else."""
    await store.add_usage([UsageCount(d, GUILD, "stats", "", "ok", 1) for d in (D1, D2, D3)])
    assert await store.delete_usage_before(dt.date(2025, 1, 2)) == 1
    days = [r.day for r in await store.usage_summary(GUILD, dt.date(2000, 1, 1))]
    assert days == [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]


async def test_purge_guild_deletes_server_data_and_keeps_members(store):
    """purge_guild removes that server's settings, lists and counts; other servers and
    member preferences stay."""
    for g in (GUILD, OTHER):
        await store.update_guild_settings(g, region="GB")
        await store.add_ignored_channel(g, 5)
        await store.add_bypass_role(g, 7)
        await store.add_usage([UsageCount(D1, g, "topic", "ptsd", "ok", 1)])
    await store.set_member_prefs(PSEUDO(1), crisis_replies=False)
    await store.purge_guild(GUILD)
    assert await store.get_guild_settings(GUILD) == GuildSettings(GUILD)
    assert list(await store.all_guild_settings()) == [OTHER]
    assert await store.usage_summary(GUILD, dt.date(2000, 1, 1)) == []
    assert len(await store.usage_summary(OTHER, dt.date(2000, 1, 1))) == 1
    assert await store.opted_out_pseudonyms() == {PSEUDO(1)}


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


async def test_our_database_with_wrong_tables_refused(db_path):
    """A database of ours whose tables no longer match its version is refused, unchanged."""
    s = await SqliteStore.open(db_path)
    await s.close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("DROP TABLE member_prefs")
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="do not match schema version"):
        await SqliteStore.open(db_path)
    assert db_path.read_bytes() == before


async def test_newer_schema_version_refused(db_path):
    """A database from a newer version of the bot is refused with a clear message."""
    s = await SqliteStore.open(db_path)
    await s.close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("PRAGMA user_version = 99")
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="schema version 99, newer"):
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


# --- settings cache ---------------------------------------------------------------------------

async def test_settings_cache_loads_and_follows_writes(store):
    """The cache holds what the store holds, gives defaults for unknown servers, and
    follows put/drop/set_prefs."""
    await store.update_guild_settings(GUILD, region="GB")
    await store.set_member_prefs(PSEUDO(1), crisis_replies=False)
    cache = await SettingsCache.load(store)
    assert cache.get(GUILD).region == "GB"
    assert cache.get(OTHER) == GuildSettings(OTHER)
    assert cache.is_opted_out(PSEUDO(1)) and not cache.is_opted_out(PSEUDO(2))

    cache.put(await store.update_guild_settings(GUILD, reply_mode="dm"))
    assert cache.get(GUILD).reply_mode == "dm" and cache.get(GUILD).region == "GB"
    cache.set_prefs(await store.set_member_prefs(PSEUDO(1), crisis_replies=True))
    cache.set_prefs(await store.set_member_prefs(PSEUDO(2), crisis_replies=False))
    assert not cache.is_opted_out(PSEUDO(1)) and cache.is_opted_out(PSEUDO(2))
    await store.purge_guild(GUILD)
    cache.drop(GUILD)
    assert cache.get(GUILD) == GuildSettings(GUILD)
    assert len(cache) == 0


async def test_dm_countries_lists_only_members_who_chose_one(store):
    """dm_countries maps pseudonyms to chosen countries and leaves out everyone else."""
    await store.set_member_prefs(PSEUDO(1), dm_country="GB")
    await store.set_member_prefs(PSEUDO(2), crisis_replies=False)
    await store.set_member_prefs(PSEUDO(3), dm_country="au")
    assert await store.dm_countries() == {PSEUDO(1): "GB", PSEUDO(3): "AU"}
    await store.set_member_prefs(PSEUDO(1), dm_country=None)
    assert await store.dm_countries() == {PSEUDO(3): "AU"}
