"""Two bot processes, one shard each, on one fake Discord and one PostgreSQL database.

Each process is `python -m bot run` with SHARD_COUNT=2 and its own SHARD_IDS, as in a
deployment. The fake routes a guild's events to shard ``(guild_id >> 22) % 2`` and DMs to
shard 0, as Discord does, so each process sees only its own guilds. What one process
writes (server settings, member preferences, usage counts) the other must see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

from bot.devserver.fake import (
    EVERYONE_PERMISSIONS,
    GUILD_TEXT,
    FakeDiscord,
    make_channel,
    make_guild,
    make_member,
    make_role,
    make_user,
)
from tests.e2e.test_crisis_e2e import URGENT_SELF, embed_text, replies_to, wait_until
from tests.e2e.test_settings_e2e import sub, text_of
from tests.pgserver import PASSWORD

SHARDS = 2
KEY = "two-shard-test-pseudonym-key-0123456789"


@dataclass
class BotProcess:
    shard: int
    proc: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    reader: asyncio.Task | None = None

    async def read_log(self, ready: asyncio.Event) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if " ready as " in line:
                ready.set()


@dataclass
class World:
    fake: FakeDiscord
    url: str
    guild_a: int  # the default world's guild
    guild_b: int  # on the other shard
    general_b: int
    procs: dict[int, BotProcess]

    def shard_of(self, guild_id: int) -> int:
        return self.fake.shard_of(guild_id, SHARDS)


def _guild_on_other_shard(fake: FakeDiscord) -> tuple[int, int]:
    """A second guild, with one text channel, on the shard the default guild is not on."""
    base = fake.ids.guild
    gid = next(g for g in (base + (k << 22) for k in range(1, 8))
               if fake.shard_of(g, SHARDS) != fake.shard_of(base, SHARDS))
    channel = gid + 11
    members = [make_member(fake.users[fake.ids.owner]), make_member(fake.users[fake.ids.user])]
    fake.add_guild(make_guild(
        gid, "Second Recovery Guild", owner_id=fake.ids.owner,
        roles=[make_role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0)],
        channels=[make_channel(GUILD_TEXT, "general", channel_id=channel, guild_id=gid)],
        members=members))
    return gid, channel


async def _start(fake: FakeDiscord, url: str, shard: int, cwd) -> tuple[BotProcess,
                                                                          asyncio.Event]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_PATH", "DEV_GUILD_ID", "CONTENT_DIR")}
    env.update(DISCORD_TOKEN=fake.token, DISCORD_API_BASE=fake.api_base,
               DISCORD_GATEWAY_URL=fake.gateway_url, DATABASE_URL=url, PSEUDONYM_KEY=KEY,
               SHARD_COUNT=str(SHARDS), SHARD_IDS=str(shard), USAGE_FLUSH_SECONDS="0.2",
               LOG_LEVEL="INFO")
    # cwd: an empty folder, so no developer's .env is read.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    bp, ready = BotProcess(shard, proc), asyncio.Event()
    bp.reader = asyncio.create_task(bp.read_log(ready))
    return bp, ready


@pytest.fixture
async def world(fake_discord: FakeDiscord, pg_server, tmp_path) -> AsyncIterator[World]:
    fake = fake_discord
    gid_b, general_b = _guild_on_other_shard(fake)
    url = pg_server.create_database("shards")
    started = [await _start(fake, url, shard, tmp_path) for shard in range(SHARDS)]
    procs = {bp.shard: bp for bp, _ in started}
    try:
        async with asyncio.timeout(60):
            for bp, ready in started:
                done = asyncio.create_task(ready.wait())
                await asyncio.wait({done, bp.reader}, return_when=asyncio.FIRST_COMPLETED)
                assert ready.is_set(), f"shard {bp.shard} exited:\n{''.join(bp.log)}"
        yield World(fake, url, fake.ids.guild, gid_b, general_b, procs)
    finally:
        for bp in procs.values():
            if bp.proc.returncode is None:
                bp.proc.send_signal(signal.SIGTERM)
        for bp in procs.values():
            try:
                async with asyncio.timeout(20):
                    await bp.proc.wait()
            except TimeoutError:
                bp.proc.kill()
                await bp.proc.wait()
            with contextlib.suppress(asyncio.CancelledError):
                await bp.reader


def _new_member(fake: FakeDiscord, guild_id: int, name: str) -> int:
    user = make_user(fake.ids.guild + 900 + len(fake.users), name)
    fake.add_user(user)
    fake.guilds[guild_id]["members"].append(make_member(user))
    return int(user["id"])


async def _count_rows(url: str, guild_id: int) -> dict[tuple[str, str], int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT kind, key, sum(count) FROM usage_daily "
                                "WHERE guild_id = $1 GROUP BY kind, key", guild_id)
    finally:
        await conn.close()
    return {(r[0], r[1]): int(r[2]) for r in rows}


# Another process hears of a write through LISTEN/NOTIFY within milliseconds on one machine;
# this is the margin a test gives it before acting on the other shard.
PROPAGATION = 0.5


async def test_two_shard_processes_share_settings_preferences_and_counts(world: World):
    """Each process gets only its shard's guilds; a setting saved through one process is
    used by the other, an opt-out made in one guild holds in a guild of the other shard,
    /stats through either process counts what both recorded, and both stop cleanly."""
    fake = world.fake
    a, b = world.shard_of(world.guild_a), world.shard_of(world.guild_b)
    assert a != b and fake.identified_shards == {(0, SHARDS), (1, SHARDS)}

    # Routing: a crisis message in guild A reaches only A's process, so one reply, not two.
    msg = await fake.dispatch_message(fake.ids.text_channel,
                                      _new_member(fake, world.guild_a, "first"), URGENT_SELF)
    await wait_until(lambda: replies_to(fake, msg), timeout=10)
    await asyncio.sleep(0.3)
    assert len(replies_to(fake, msg)) == 1

    # A DM reaches shard 0 only: one answer, not one per process.
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    sent = await fake.invoke_slash("hotline", {"country": "GB"}, channel_id=dm)
    await fake.wait_for_callback(sent, timeout=10)
    await asyncio.sleep(0.3)
    path = rf"/interactions/{sent['id']}/{re.escape(sent['token'])}/callback"
    assert len(fake.requests_to("POST", path)) == 1

    # A moderator saves guild B's region through A's process (as while guild B was on that
    # shard: guilds move between shards when SHARD_COUNT changes) ...
    payload = sub(fake, "region", [{"name": "country", "type": 3, "value": "IE"}],
                  user=fake.ids.owner, channel_id=world.general_b)
    sent = await fake.dispatch_interaction(payload, shard=a)
    data = (await fake.wait_for_callback(sent, timeout=10)).json["data"]
    assert "Ireland" in data["content"]
    await asyncio.sleep(PROPAGATION)
    # ... and B's own process answers a crisis message there with Irish crisis lines.
    msg = await fake.dispatch_message(world.general_b,
                                      _new_member(fake, world.guild_b, "second"), URGENT_SELF)
    reply = (await wait_until(lambda: replies_to(fake, msg), timeout=10))[0]
    assert "116 123" in embed_text(reply) and "112" in embed_text(reply)

    # A member opts out in guild A (A's process); B's process then leaves them alone.
    sent = await fake.invoke_slash("crisis-replies", {"enabled": False}, user=fake.ids.user)
    await fake.wait_for_callback(sent, timeout=10)
    await asyncio.sleep(PROPAGATION)
    opted_out = await fake.dispatch_message(world.general_b, fake.ids.user, URGENT_SELF)
    control = await fake.dispatch_message(world.general_b,
                                          _new_member(fake, world.guild_b, "third"),
                                          URGENT_SELF)
    await wait_until(lambda: replies_to(fake, control), timeout=10)
    await asyncio.sleep(0.3)
    assert replies_to(fake, opted_out) == []

    # Topic lookups in guild B through each process; /stats through each sees both.
    for shard in (a, b):
        payload = fake.make_interaction(2, fake.slash_data("topic", {"name": "ptsd"}),
                                        channel_id=world.general_b)
        await fake.wait_for_callback(await fake.dispatch_interaction(payload, shard=shard),
                                     timeout=10)
    await asyncio.sleep(PROPAGATION)  # the other process's 0.2 s flush
    for shard in (a, b):
        payload = fake.make_interaction(2, fake.slash_data("stats"), user=fake.ids.owner,
                                        channel_id=world.general_b)
        sent = await fake.dispatch_interaction(payload, shard=shard)
        stats = text_of((await fake.wait_for_callback(sent, timeout=10)).json["data"])
        assert "Topic lookups: ptsd: 2" in stats, (shard, stats)
        assert "suicide/urgent: fewer than 5" in stats, (shard, stats)

    # SIGTERM: both stop with exit code 0 after a final flush; their logs carry neither
    # message text nor the database password.
    for bp in world.procs.values():
        bp.proc.send_signal(signal.SIGTERM)
    for bp in world.procs.values():
        async with asyncio.timeout(20):
            assert await bp.proc.wait() == 0, "".join(bp.log)
        await bp.reader
        text = "".join(bp.log)
        assert URGENT_SELF not in text and PASSWORD not in text
        assert f"on shard(s) {bp.shard} of {SHARDS}" in text
    counts = await _count_rows(world.url, world.guild_b)
    assert counts[("topic", "ptsd")] == 2
    assert counts[("settings_change", "region")] == 1
    assert counts[("crisis_reply", "suicide/urgent")] == 2  # "second" and "third"
