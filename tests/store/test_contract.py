"""The store contract: every backend (SQLite, PostgreSQL) passes these same tests."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.store import GuildSet, GuildSettings, MemberPrefs, SettingsCache, UsageCount, UsageRow
from bot.store.pseudonym import Pseudonymizer
from tests.store.conftest import KEY, table_columns, table_rows

GUILD = 111111111111111111
OTHER = 222222222222222222
PSEUDO = Pseudonymizer(b"k" * 32)
D1, D2, D3 = "2025-01-01", "2025-01-02", "2025-01-03"
CH, ROLE = GuildSet.IGNORED_CHANNELS, GuildSet.BYPASS_ROLES
EPOCH = dt.date(2000, 1, 1)


# --- server settings ----------------------------------------------------------------------

async def test_absent_guild_gets_defaults(store):
    """A server with nothing stored gets the documented defaults."""
    s = await store.get_guild_settings(GUILD)
    assert s == GuildSettings(GUILD)
    assert (s.region, s.crisis_replies, s.reply_mode, s.cooldown_minutes) == (
        None, True, "channel", 30)
    assert s.alert_channel_id is None and s.alert_role_id is None
    assert s.ignored_channels == frozenset() and s.bypass_roles == frozenset()
    assert await store.all_guild_settings() == {}


async def test_settings_round_trip(store):
    """Every field written comes back, region upper-cased; other servers are unaffected."""
    out = await store.update_guild_settings(
        GUILD, region="us", crisis_replies=False, reply_mode="both",
        alert_channel_id=333, alert_role_id=444, cooldown_minutes=1440)
    await store.change_guild_set(GUILD, CH, 5, True)
    await store.change_guild_set(GUILD, CH, 6, True)
    last = await store.change_guild_set(GUILD, ROLE, 7, True)
    expected = GuildSettings(GUILD, "US", False, "both", 333, 444, 1440,
                             frozenset({5, 6}), frozenset({7}))
    assert out == GuildSettings(GUILD, "US", False, "both", 333, 444, 1440)
    assert last == expected
    assert await store.get_guild_settings(GUILD) == expected
    assert await store.all_guild_settings() == {GUILD: expected}
    assert await store.get_guild_settings(OTHER) == GuildSettings(OTHER)


async def test_partial_update_keeps_other_fields_and_none_clears(store):
    """Updating one field leaves the rest; None clears a nullable field."""
    await store.update_guild_settings(GUILD, region="GB", alert_channel_id=9)
    s = await store.update_guild_settings(GUILD, alert_channel_id=None)
    assert (s.region, s.alert_channel_id) == ("GB", None)


async def test_change_guild_set_adds_once_and_removes(store):
    """Adding twice keeps one entry; removing takes it out; removing an absent id is a
    no-op; the two sets are separate. The set may be named by its string."""
    await store.change_guild_set(GUILD, CH, 5, True)
    await store.change_guild_set(GUILD, "ignored_channels", 5, True)
    await store.change_guild_set(GUILD, ROLE, 5, True)
    s = await store.change_guild_set(GUILD, CH, 5, False)
    assert s.ignored_channels == frozenset() and s.bypass_roles == frozenset({5})
    s = await store.change_guild_set(GUILD, CH, 99, False)
    assert s.ignored_channels == frozenset() and s.bypass_roles == frozenset({5})


@pytest.mark.parametrize(("which", "item", "message"), [
    ("muted_users", 5, r"^which: must be one of ignored_channels, bypass_roles"),
    (CH, -5, r"^channel_id:"),
    (ROLE, "7", r"^role_id:"),
])
async def test_change_guild_set_rejects_bad_arguments(store, which, item, message):
    """An unknown set or a bad id raises ValueError naming it, and nothing is written."""
    with pytest.raises(ValueError, match=message):
        await store.change_guild_set(GUILD, which, item, True)
    assert await store.all_guild_settings() == {}


async def test_guild_with_only_ignored_channels_is_listed(store):
    """all_guild_settings includes servers whose only setting is an ignored channel."""
    await store.change_guild_set(OTHER, CH, 5, True)
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
    """Preferences are stored per pseudonym; UNSET leaves dm_country, None clears it; a
    member back on the defaults is not stored at all."""
    p = PSEUDO(42)
    assert await store.get_member_prefs(p) == MemberPrefs(p)
    await store.set_member_prefs(p, dm_country="gb")
    out = await store.set_member_prefs(p, crisis_replies=False)
    assert out == MemberPrefs(p, False, "GB")
    assert await store.get_member_prefs(p) == out
    assert await store.all_member_prefs() == [out]
    out = await store.set_member_prefs(p, crisis_replies=True, dm_country=None)
    assert out == MemberPrefs(p)
    assert await store.all_member_prefs() == []


async def test_all_member_prefs_lists_every_member_off_the_defaults(store):
    """Opted-out members and members with a DM country are listed, with both fields."""
    await store.set_member_prefs(PSEUDO(1), dm_country="GB")
    await store.set_member_prefs(PSEUDO(2), crisis_replies=False)
    await store.set_member_prefs(PSEUDO(3), dm_country="au", crisis_replies=False)
    await store.set_member_prefs(PSEUDO(4), crisis_replies=True)
    got = {p.pseudonym: p for p in await store.all_member_prefs()}
    assert got == {PSEUDO(1): MemberPrefs(PSEUDO(1), True, "GB"),
                   PSEUDO(2): MemberPrefs(PSEUDO(2), False),
                   PSEUDO(3): MemberPrefs(PSEUDO(3), False, "AU")}


async def test_member_prefs_refuse_raw_user_ids(store):
    """Passing a user id instead of a pseudonym is refused."""
    with pytest.raises(ValueError, match="pseudonym"):
        await store.set_member_prefs(str(123456789012345678), crisis_replies=False)
    with pytest.raises(ValueError, match="pseudonym"):
        await store.get_member_prefs(123456789012345678)


async def test_invalid_member_prefs_rejected(store):
    """A DM country that is not an ISO code, or a non-boolean opt-out, names the field."""
    with pytest.raises(ValueError, match=r"^dm_country:"):
        await store.set_member_prefs(PSEUDO(1), dm_country="United Kingdom")
    with pytest.raises(ValueError, match=r"^crisis_replies:"):
        await store.set_member_prefs(PSEUDO(1), crisis_replies="no")
    assert await store.all_member_prefs() == []


async def test_raw_user_id_is_stored_nowhere(database, open_db):
    """No table holds the member's id, in any column; the pseudonym is what is stored."""
    from bot.store import open_store

    user_id = 987654321987654321
    store, pseudonyms = await open_store(database, KEY)
    try:
        p = pseudonyms(user_id)
        await store.set_member_prefs(p, crisis_replies=False, dm_country="GB")
        await store.update_guild_settings(GUILD, region="GB")
    finally:
        await store.close()
    rows = await table_rows(database)
    values = [v for table in rows.values() for row in table for v in row]
    assert p in values
    assert user_id not in values
    assert not any(str(user_id) in str(v) for v in values)


# --- usage counts ---------------------------------------------------------------------------

async def test_usage_columns_are_exactly_the_allowed_ones(store, database):
    """The usage table holds day, server, kind, key, outcome and count — nothing else."""
    assert await table_columns(database, "usage_daily") == [
        "day", "guild_id", "kind", "key", "outcome", "count"]


async def test_usage_upsert_aggregates_per_day(store):
    """Counts for the same day and key add up, also within one batch; different days, keys
    and servers stay apart; DMs (guild None) are their own bucket."""
    await store.add_usage([
        UsageCount(D1, GUILD, "topic", "ptsd", "ok", 2),
        UsageCount(D1, GUILD, "topic", "", "not_found", 1),
        UsageCount(D2, GUILD, "topic", "ptsd", "ok", 1),
        UsageCount(D1, None, "hotline", "GB", "ok", 4),
        UsageCount(D1, OTHER, "topic", "ptsd", "ok", 9),
        UsageCount(D1, OTHER, "topic", "ptsd", "ok", 1),
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
    assert await store.usage_summary(OTHER, day1) == [UsageRow(day1, "topic", "ptsd", "ok", 10)]


async def test_usage_accepts_a_long_lazy_iterable(store):
    """A generator of thousands of rows is written completely."""
    n = 2500
    await store.add_usage(UsageCount(D1, GUILD, "topic", f"t{i}", "ok", 1) for i in range(n))
    rows = await store.usage_summary(GUILD, EPOCH)
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
    assert await store.usage_summary(GUILD, EPOCH) == []


async def test_concurrent_flushes_from_two_stores_add_up(open_db):
    """Two stores on one database (as two processes would be) flushing the same counters
    at the same time add their counts; none is overwritten or lost."""
    a, b = await open_db(), await open_db()
    keys = [("topic", f"t{i}") for i in range(20)]

    async def flush_many(store, reverse: bool) -> None:
        for _ in range(10):
            ks = list(reversed(keys)) if reverse else keys
            await store.add_usage(UsageCount(D1, GUILD, k, key, "ok", 1) for k, key in ks)

    await asyncio.gather(flush_many(a, False), flush_many(b, True))
    rows = await a.usage_summary(GUILD, EPOCH)
    assert len(rows) == 20 and {r.count for r in rows} == {20}


async def test_retention_deletes_old_rows_only(store):
    """delete_usage_before removes days strictly before the cut-off, nothing else."""
    await store.add_usage([UsageCount(d, GUILD, "stats", "", "ok", 1) for d in (D1, D2, D3)])
    assert await store.delete_usage_before(dt.date(2025, 1, 2)) == 1
    days = [r.day for r in await store.usage_summary(GUILD, EPOCH)]
    assert days == [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]
    assert await store.delete_usage_before(dt.date(2025, 1, 2)) == 0


async def test_purge_guild_deletes_server_data_and_keeps_members(store):
    """purge_guild removes that server's settings, lists and counts; other servers and
    member preferences stay."""
    for g in (GUILD, OTHER):
        await store.update_guild_settings(g, region="GB")
        await store.change_guild_set(g, CH, 5, True)
        await store.change_guild_set(g, ROLE, 7, True)
        await store.add_usage([UsageCount(D1, g, "topic", "ptsd", "ok", 1)])
    await store.set_member_prefs(PSEUDO(1), crisis_replies=False)
    await store.purge_guild(GUILD)
    assert await store.get_guild_settings(GUILD) == GuildSettings(GUILD)
    assert list(await store.all_guild_settings()) == [OTHER]
    assert await store.usage_summary(GUILD, EPOCH) == []
    assert len(await store.usage_summary(OTHER, EPOCH)) == 1
    assert await store.all_member_prefs() == [MemberPrefs(PSEUDO(1), False)]


async def test_reopen_keeps_data(open_db):
    """Settings, preferences and counts survive closing and reopening."""
    s = await open_db()
    await s.update_guild_settings(GUILD, region="GB")
    await s.change_guild_set(GUILD, CH, 5, True)
    await s.set_member_prefs(PSEUDO(1), crisis_replies=False)
    await s.add_usage([UsageCount(D1, GUILD, "topic", "ptsd", "ok", 2)])
    await s.close()
    s = await open_db()
    assert await s.get_guild_settings(GUILD) == GuildSettings(
        GUILD, "GB", ignored_channels=frozenset({5}))
    assert await s.all_member_prefs() == [MemberPrefs(PSEUDO(1), False)]
    assert await s.usage_summary(GUILD, dt.date(2025, 1, 1)) == [
        UsageRow(dt.date(2025, 1, 1), "topic", "ptsd", "ok", 2)]


# --- the settings cache on top of the store --------------------------------------------------

async def test_settings_cache_loads_and_writes_through(store):
    """The cache starts with what the store holds, gives defaults for unknown servers, and
    after each write holds what the store returned."""
    await store.update_guild_settings(GUILD, region="GB")
    await store.set_member_prefs(PSEUDO(1), crisis_replies=False, dm_country="IE")
    cache = SettingsCache(store)
    await cache.load()
    assert cache.guild(GUILD).region == "GB"
    assert cache.guild(OTHER) == GuildSettings(OTHER)
    assert cache.opted_out(PSEUDO(1)) and not cache.opted_out(PSEUDO(2))
    assert cache.dm_country(PSEUDO(1)) == "IE" and cache.dm_country(PSEUDO(2)) is None

    await cache.update_guild(GUILD, reply_mode="dm")
    assert cache.guild(GUILD).reply_mode == "dm" and cache.guild(GUILD).region == "GB"
    await cache.change_set(GUILD, CH, 5, add=True)
    assert cache.guild(GUILD).ignored_channels == frozenset({5})
    await cache.set_opt_out(PSEUDO(1), False)
    await cache.set_opt_out(PSEUDO(2), True)
    await cache.set_dm_country(PSEUDO(1), None)
    assert not cache.opted_out(PSEUDO(1)) and cache.opted_out(PSEUDO(2))
    assert cache.dm_country(PSEUDO(1)) is None
    assert await store.all_member_prefs() == [MemberPrefs(PSEUDO(2), False)]

    await store.purge_guild(GUILD)
    cache.forget_guild(GUILD)
    assert cache.guild(GUILD) == GuildSettings(GUILD)
    assert len(cache) == 0


async def test_settings_cache_unchanged_when_a_write_is_refused(store):
    """A refused write (bad value) leaves memory as it was."""
    cache = SettingsCache(store)
    await cache.load()
    await cache.update_guild(GUILD, region="GB")
    with pytest.raises(ValueError):
        await cache.update_guild(GUILD, region="Narnia")
    assert cache.guild(GUILD).region == "GB"
