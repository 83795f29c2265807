"""Shutting down in order: no count lost under a burst, bounded with a locked database;
and a session Discord ends for good is one clear error."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import pytest

from bot.app import StartupError, run_until_stopped
from bot.config import load_config
from bot.content.bundle import load_content
from bot.paths import bundled_content_dir
from tests.e2e.conftest import TEST_KEY
from tests.e2e.dblock import write_lock_held
from tests.e2e.test_crisis_e2e import MESSAGES, URGENT_SELF, new_member

# Docker's default grace period between SIGTERM and SIGKILL.
GRACE_SECONDS = 10


def stored_crisis_replies(db_path) -> int:
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT coalesce(sum(count), 0) FROM usage_daily "
                         "WHERE kind = 'crisis_reply'").fetchone()
    return row[0]


async def test_shutdown_during_a_burst_keeps_a_count_for_every_reply(start_bot, caplog):
    """Stopping while replies are in flight: each delivered reply is counted, no handler
    sees its HTTP session closed under it."""
    caplog.set_level(logging.INFO)
    run = await start_bot()
    fake = run.fake
    fake.delay("POST", MESSAGES, 0.2)  # replies are still on the wire when we stop
    channels = [fake.ids.text_channel, fake.ids.thread]
    for i in range(12):
        await fake.dispatch_message(channels[i % 2], new_member(fake, fake.ids.guild),
                                    URGENT_SELF)
    await fake.wait_for_request("POST", MESSAGES)
    await run.runner.stop()
    delivered = [r for r in fake.requests_to("POST", MESSAGES)
                 if r.status == 200 and (r.json or {}).get("embeds")]
    assert delivered
    assert stored_crisis_replies(run.db_path) == len(delivered)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ServerDisconnectedError" not in logged
    assert "crisis handling failed" not in logged


async def test_messages_arriving_during_shutdown_are_not_taken_and_counted(start_bot, caplog):
    """Once shutdown has begun, new messages are left alone and their number is logged."""
    caplog.set_level(logging.INFO, logger="bot")
    run = await start_bot()
    fake, bot = run.fake, run.bot
    with bot.inflight.track():  # a delivery is running, so the drain step waits for it
        stopping = asyncio.create_task(run.runner.stop())
        await asyncio.sleep(0.1)
        assert bot.stopping
        await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, URGENT_SELF)
        await asyncio.sleep(0.2)
    await stopping
    assert fake.requests_to("POST", MESSAGES) == []
    assert any("1 messages arrived while stopping" in r.getMessage() for r in caplog.records)


async def test_shutdown_with_a_locked_database_ends_within_the_grace_period(start_bot, caplog):
    """Another process holds the database's write lock: the final flush gives up in time,
    says how many counts were not written, and shutdown still completes."""
    caplog.set_level(logging.INFO, logger="bot")
    run = await start_bot()
    bot = run.bot
    for _ in range(3):
        bot.usage.record(run.fake.ids.guild, "topic", "ptsd")
    try:
        async with write_lock_held(run.db_path):
            started = time.monotonic()
            await run.runner.stop()
            assert time.monotonic() - started < GRACE_SECONDS
    finally:
        await bot.store.close()  # the store's thread outlived the bounded close
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "3 usage events not confirmed written" in logged


@pytest.mark.parametrize(("code", "words"), [(4004, "Reset Token"), (4013, "invalid intents")])
async def test_a_fatal_close_code_while_running_is_one_clear_error(start_bot, code, words):
    """Discord ends the session for good (token revoked, bad intents): a StartupError that
    says what to do, which `python -m bot run` prints as one line."""
    run = await start_bot()
    await run.fake.close_gateway(code, "fatal")
    with pytest.raises(StartupError, match=words) as caught:
        await asyncio.wait_for(run.runner.wait(), 10)
    assert f"close code {code}" in str(caught.value)


async def test_run_prints_one_line_for_a_revoked_token(fake_discord, tmp_path, capsys):
    """The command line exits 1 with a single ERROR line, no traceback."""
    settings = load_config(None, discord_token=fake_discord.token,
                             database_path=tmp_path / "bot.sqlite3",
                             discord_api_base=fake_discord.api_base,
                             discord_gateway_url=fake_discord.gateway_url,
                             pseudonym_key=TEST_KEY)
    content, _ = load_content(bundled_content_dir())
    running = asyncio.create_task(run_until_stopped(settings, content))
    await fake_discord.wait_until_identified(timeout=20)
    await fake_discord.close_gateway(4004, "Authentication failed.")
    assert await asyncio.wait_for(running, 20) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: ") and "4004" in err[0]
