"""Commands under faults: a busy or hung database, a deleted database file, forged values.

The fake enforces Discord's 3-second deadline for the first answer to an interaction.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os

import pytest

import bot.interactions as interactions
from bot.devserver.fake import make_role
from bot.logs import setup_logging
from tests.e2e.dblock import write_lock_held
from tests.e2e.test_settings_e2e import role_option, sub

DEFERRED = 5
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"
PLANTED_TOKEN = "planted-interaction-token-5b1f0c9e"


@pytest.fixture(autouse=True)
def discord_deadline(fake_discord):
    fake_discord.interaction_deadline = 3.0


def cooldown(fake, minutes):
    return sub(fake, "cooldown", [{"name": "minutes", "type": 4, "value": minutes}],
               user=fake.ids.owner)


async def edited_original(fake, since: int, timeout: float = 15):
    return await fake.wait_for_request("PATCH", ORIGINAL, timeout, since=since)


async def test_a_locked_database_still_gets_a_timely_answer(running):
    """Another process holds the write lock: the command is deferred in time, then told
    plainly that nothing was saved, and nothing is."""
    fake, bot = running.fake, running.bot
    async with write_lock_held(running.db_path):
        since = len(fake.requests)
        sent = await fake.dispatch_interaction(cooldown(fake, 45))
        callback = await fake.wait_for_callback(sent)
        assert callback.status == 200 and callback.json["type"] == DEFERRED
        edit = await edited_original(fake, since)
        assert "Nothing was changed" in edit.json["content"]
    assert bot.cache.guild(fake.ids.guild).cooldown_minutes == 30
    assert (await bot.store.get_guild_settings(fake.ids.guild)).cooldown_minutes == 30


async def test_a_hung_database_is_never_reported_as_failed(running, monkeypatch):
    """A write that does not come back: the member hears it is not saved yet, and gets
    the real outcome when the database answers."""
    monkeypatch.setattr(interactions, "WRITE_SECONDS", 0.3)
    fake, bot = running.fake, running.bot
    release = asyncio.Event()
    real_update = bot.store.update_guild_settings

    async def hung(*args, **kwargs):
        await release.wait()
        return await real_update(*args, **kwargs)

    monkeypatch.setattr(bot.store, "update_guild_settings", hung)
    since = len(fake.requests)
    sent = await fake.dispatch_interaction(cooldown(fake, 45))
    assert (await fake.wait_for_callback(sent)).json["type"] == DEFERRED
    edit = await edited_original(fake, since)
    assert "not saved yet" in edit.json["content"]
    assert "couldn't" not in edit.json["content"]
    assert bot.cache.guild(fake.ids.guild).cooldown_minutes == 30
    release.set()
    followup = await fake.wait_for_request("POST", r"/webhooks/\d+/[^/]+", since=since)
    assert "45 minutes" in followup.json["content"]
    assert bot.cache.guild(fake.ids.guild).cooldown_minutes == 45


async def test_opt_out_answer_warns_when_the_database_file_was_deleted(running, caplog):
    """A database file deleted while running: the change works for now, the member is told
    it will not survive a restart, and the log names the file."""
    fake = running.fake
    os.remove(running.db_path)
    sent = await fake.invoke_slash("crisis-replies", {"enabled": False})
    data = (await fake.wait_for_callback(sent)).json["data"]
    assert "I won't reply automatically" in data["content"]
    assert "deleted or replaced" in data["content"]
    assert any(str(running.db_path) in r.getMessage() and r.levelname == "ERROR"
               for r in caplog.records)


async def test_settings_answer_warns_when_the_database_file_was_replaced(running):
    """A file put in place of the open database is noticed too."""
    fake = running.fake
    os.replace(running.db_path, running.db_path.with_suffix(".moved"))
    running.db_path.write_bytes(b"")
    sent = await fake.dispatch_interaction(cooldown(fake, 20))
    data = (await fake.wait_for_callback(sent)).json["data"]
    assert "20 minutes" in data["content"] and "deleted or replaced" in data["content"]


async def test_a_role_of_another_server_or_unknown_is_refused(running):
    """alert-role and bypass-role accept only this server's own roles."""
    fake, bot = running.fake, running.bot
    foreign = make_role(123456789012345678, "elsewhere")
    for name in ("alert-role", "bypass-role"):
        option, resolved = role_option(foreign)
        sent = await fake.dispatch_interaction(sub(fake, name, [option], resolved,
                                                   user=fake.ids.owner))
        data = (await fake.wait_for_callback(sent)).json["data"]
        assert "not in this server" in data["content"], name
    unresolved = {"name": "role", "type": 8, "value": "223456789012345678"}
    sent = await fake.dispatch_interaction(sub(fake, "bypass-role", [unresolved],
                                               user=fake.ids.owner))
    assert "not in this server" in (await fake.wait_for_callback(sent)).json["data"]["content"]
    s = bot.cache.guild(fake.ids.guild)
    assert s.alert_role_id is None and s.bypass_roles == frozenset()


@pytest.mark.parametrize("days", [0, -3, 366, 1e9])
async def test_forged_stats_days_are_refused(running, days):
    """Discord checks option ranges in its client only; the bot checks them again."""
    fake = running.fake
    data = fake.slash_data("stats", [{"name": "days", "type": 4, "value": days}])
    sent = await fake.dispatch_interaction(fake.make_interaction(2, data, user=fake.ids.owner))
    callback = await fake.wait_for_callback(sent)
    assert "from 1 to 365" in callback.json["data"]["content"]


async def test_forged_cooldown_is_refused_and_not_stored(running):
    fake = running.fake
    sent = await fake.dispatch_interaction(cooldown(fake, 100_000))
    data = (await fake.wait_for_callback(sent)).json["data"]
    assert "1 to 1440 minutes" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).cooldown_minutes == 30


async def test_autocomplete_errors_are_answered_with_choices(running):
    """An autocomplete refused by a check gets an empty choice list, which Discord accepts,
    not a message (which it rejects with 400); a forged non-text value still gets choices."""
    fake, bot = running.fake, running.bot
    bot.stopping = True  # the tree refuses every interaction while shutting down
    try:
        sent = await fake.invoke_autocomplete("topic", "name", {"name": "pt"})
        callback = await fake.wait_for_callback(sent)
    finally:
        bot.stopping = False
    assert callback.status == 200 and callback.json == {"type": 8, "data": {"choices": []}}
    sent = await fake.invoke_autocomplete("topic", "name", [
        {"name": "name", "type": 3, "value": 5, "focused": True}])
    assert (await fake.wait_for_callback(sent)).status == 200


async def test_commands_during_shutdown_are_answered(running):
    """A command arriving while the bot shuts down is told to try again, not left hanging."""
    fake, bot = running.fake, running.bot
    bot.stopping = True
    try:
        sent = await fake.invoke_slash("topics")
        data = (await fake.wait_for_callback(sent)).json["data"]
    finally:
        bot.stopping = False
    assert "restarting" in data["content"]


async def test_a_planted_interaction_token_never_reaches_debug_logs(running):
    """At DEBUG discord.py logs every request URL; the interaction token in them is redacted."""
    fake = running.fake
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    try:
        payload = fake.make_interaction(2, fake.slash_data("stats"), user=fake.ids.owner)
        payload["token"] = PLANTED_TOKEN
        await fake.dispatch_interaction(payload)
        await fake.wait_for_callback(payload)
        await asyncio.sleep(0.1)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    out = stream.getvalue()
    assert "/callback" in out, "the callback URL was not logged: the test would prove nothing"
    assert PLANTED_TOKEN not in out


async def test_stats_on_a_hung_database_gives_up_politely(running, monkeypatch):
    """A read that never returns: deferred in time, then a plain "couldn't read" answer."""
    monkeypatch.setattr(interactions, "WRITE_SECONDS", 0.3)
    fake, bot = running.fake, running.bot
    release = asyncio.Event()

    async def hung(*args, **kwargs):
        await release.wait()
        return []

    monkeypatch.setattr(bot.store, "usage_summary", hung)
    since = len(fake.requests)
    sent = await fake.invoke_slash("stats", user=fake.ids.owner)
    try:
        assert (await fake.wait_for_callback(sent)).json["type"] == DEFERRED
        edit = await edited_original(fake, since)
        assert "couldn't read the statistics" in edit.json["content"]
    finally:
        release.set()
