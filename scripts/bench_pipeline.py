"""Benchmark the whole crisis pipeline: gateway event in -> reply request out.

    python -m scripts.bench_pipeline [--messages 5000] [--crisis-rate 0.01]
                                     [--channels 200] [--members 2000] [--seed 1]

Starts the fake Discord (bot/devserver/fake.py) and the real bot, through the same
`BotRunner` as `python -m bot run` (SQLite in a temporary directory), in one process.
Then sends a burst of MESSAGE_CREATE events as fast as the fake can write them: ordinary
chat from many members in many channels, and 1% crisis messages, each from a distinct
member in a distinct channel (so neither the member cooldown nor the 3-per-channel cap
applies and every crisis message must get exactly one public reply).

What is timed is the bot's own processing, without changing bot code:
- arrival: `DiscordWebSocket.received_message` is wrapped to note when a frame reaches
  the bot (before zlib decompression and JSON parsing); the MESSAGE_CREATE parser,
  which runs synchronously inside it, files that time under the message id;
- reply: `HTTPClient.request` is wrapped to note when a POST /channels/{id}/messages
  carrying a `message_reference` starts, keyed by the referenced message id.
The latency is reply minus arrival. It includes waiting for the event loop, which the
fake shares during the burst, so it is an upper bound on the bot's own work.

Also printed: counts (crisis sent, replies, duplicates, missing), process RSS (VmRSS)
before the burst, after it and after gc.collect() (the fake lives in the same process; its
logs of sent frames and requests are cleared before measuring), and the size of the bot's
in-memory state (gate entries, answered message ids, views kept by discord.py, usage
counters). Target: p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import discord.gateway
import discord.http
import discord.state

from bot.app import BotRunner
from bot.config import load_config
from bot.content.bundle import load_content
from bot.crisis import detect
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
from bot.paths import bundled_content_dir

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "crisis_corpus.jsonl"
GUILDS = 10
EVERYDAY = [
    "good morning everyone", "day 12 today, feeling ok", "anyone watching the game tonight?",
    "thanks for the support yesterday, it helped", "my sponsor called, we talked for an hour",
    "the meeting on thursday moved to 7pm", "lol same", "pain is a 6 today, resting",
    "does anyone have tips for sleeping better?", "made soup, felt good to cook again",
]
CRISIS = [
    "I'm going to kill myself tonight", "i want to die", "I've been cutting myself again",
    "I think I took too many pills", "my friend overdosed and won't wake up",
    "my friend said she wants to kill herself",
]


# Crises no rule names, for --model-crises: their replies wait on the model.
MODEL_CRISIS = [
    "i want to end it tonight", "i don't think i'll be around much longer, thanks for everything",
    "just wrote letters to everyone i love. it's time", "nobody would even notice if i was gone",
    "i can't keep doing this, i'm so tired of existing",
]


def rss_kib() -> int:
    """Resident set size of this process in KiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def texts(seed: int) -> tuple[list[str], list[str]]:
    """(ordinary chat, crisis messages), checked against the detector."""
    ordinary, crisis = list(EVERYDAY), list(CRISIS)
    if CORPUS.exists():
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            (crisis if row["crisis"] else ordinary).append(row["text"])
    # The detector decides: corpus rows it disagrees with are dropped, so every crisis
    # message is expected to get a reply and no ordinary one is.
    ordinary = [t for t in ordinary if detect(t) is None]
    crisis = [t for t in crisis if detect(t) is not None]
    random.Random(seed).shuffle(crisis)
    return ordinary, crisis


class Stamps:
    """Arrival and reply-start times, keyed by message id; installed as wrappers."""

    def __init__(self) -> None:
        self.frame_at = 0.0
        self.arrived: dict[int, float] = {}
        self.handled: dict[int, float] = {}
        self.replied: dict[int, list[float]] = {}

    def install(self) -> None:
        stamps = self
        received = discord.gateway.DiscordWebSocket.received_message
        parse_create = discord.state.ConnectionState.parse_message_create
        request = discord.http.HTTPClient.request

        async def timed_received(ws, msg, /):
            stamps.frame_at = time.perf_counter()
            return await received(ws, msg)

        def timed_parse(state, data):
            # Runs synchronously inside received_message, so frame_at is this frame's.
            stamps.arrived[int(data["id"])] = stamps.frame_at
            return parse_create(state, data)

        async def timed_request(http, route, **kwargs):
            if route.method == "POST" and route.path == "/channels/{channel_id}/messages":
                ref = (kwargs.get("json") or {}).get("message_reference")
                if ref:
                    stamps.replied.setdefault(int(ref["message_id"]), []).append(
                        time.perf_counter())
            return await request(http, route, **kwargs)

        discord.gateway.DiscordWebSocket.received_message = timed_received
        discord.state.ConnectionState.parse_message_create = timed_parse
        discord.http.HTTPClient.request = timed_request

    def install_cog(self, bot) -> None:
        """Note when the crisis handler starts (load_extension made its own class copy)."""
        stamps = self
        cls = type(bot.get_cog("Crisis"))
        consider = cls.consider

        async def timed_consider(cog, message):
            stamps.handled.setdefault(message.id, time.perf_counter())
            return await consider(cog, message)

        cls.consider = timed_consider


def build_world(fake: FakeDiscord, channels: int,
                members: int) -> tuple[list[tuple[int, int]], dict[int, list[int]]]:
    """GUILDS guilds sharing `channels` text channels and `members` members between them.

    Returns [(guild id, channel id)] and {guild id: member ids}.
    """
    chans: list[tuple[int, int]] = []
    people: dict[int, list[int]] = {}
    for g in range(GUILDS):
        owner = make_user(username=f"owner{g}")
        users = [make_user(username=f"m{g}-{i}") for i in range(members // GUILDS)]
        guild = make_guild(name=f"guild {g}", owner_id=int(owner["id"]),
                           members=[make_member(owner), *(make_member(u) for u in users)])
        gid = int(guild["id"])
        guild["roles"] = [make_role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS)]
        guild["channels"] = [make_channel(GUILD_TEXT, f"chat-{c}", guild_id=gid, position=c)
                             for c in range(channels // GUILDS)]
        fake.add_guild(guild)
        chans += [(gid, int(c["id"])) for c in guild["channels"]]
        people[gid] = [int(u["id"]) for u in users]
    return chans, people


def bot_state(bot) -> dict[str, int]:
    """Sizes of the bot's in-memory structures that grow with traffic."""
    cog = bot.get_cog("Crisis")
    store = bot._connection._view_store
    return {
        "gate entries": len(cog.gate),
        "answered message ids": len(cog._answered),
        "views kept by discord.py": sum(len(v) for v in store._views.values()),
        "usage counters pending": bot.usage.pending_keys,
        "cached messages (discord.py)": len(bot.cached_messages),
    }


@dataclass
class Plan:
    """What one phase sends: payloads in order and the ids of the crisis messages."""

    payloads: list[dict]
    crisis_ids: list[int]
    members: int


def plan_phase(fake: FakeDiscord, rnd: random.Random, args: argparse.Namespace,
               chans: list[tuple[int, int]], crisis_authors: dict[int, list[int]],
               chatters: dict[int, list[int]], ordinary: list[str],
               crisis_texts: list[str]) -> Plan:
    """Messages for one phase: crisis ones from unused members in distinct channels."""
    n_crisis = max(1, round(args.messages * args.crisis_rate))
    crisis_at = set(rnd.sample(range(args.messages), n_crisis))
    crisis_chans = rnd.sample(chans, n_crisis)
    used: set[int] = set()
    payloads, crisis_ids = [], []
    for i in range(args.messages):
        if i in crisis_at:
            gid, chan = crisis_chans[len(crisis_ids)]
            author = crisis_authors[gid].pop()
            text = crisis_texts[(len(crisis_ids) + rnd.randrange(7)) % len(crisis_texts)]
            msg = fake.make_message(chan, author, text)
            crisis_ids.append(int(msg["id"]))
        else:
            gid, chan = rnd.choice(chans)
            author = rnd.choice(chatters[gid])
            msg = fake.make_message(chan, author, rnd.choice(ordinary))
        used.add(author)
        payloads.append(msg)
    return Plan(payloads, crisis_ids, len(used))


async def send(fake: FakeDiscord, payloads: list[dict], rate: float | None) -> float:
    """Dispatch every payload, at `rate` per second or as fast as possible; the duration."""
    t0 = time.perf_counter()
    if rate is None:
        for msg in payloads:
            await fake.dispatch("MESSAGE_CREATE", msg)
        return time.perf_counter() - t0
    sent = 0
    while sent < len(payloads):
        due = min(len(payloads), int((time.perf_counter() - t0) * rate) + 1)
        while sent < due:
            await fake.dispatch("MESSAGE_CREATE", payloads[sent])
            sent += 1
        await asyncio.sleep(0.001)
    return time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    """The p-quantile of sorted values (nearest rank)."""
    return values[min(len(values) - 1, max(0, math.ceil(p * len(values)) - 1))]


async def measure(name: str, fake: FakeDiscord, stamps: Stamps, plan: Plan,
                  rate: float | None) -> dict[str, int]:
    """Send one phase, wait for every reply, print its figures; return its counts."""
    t0 = time.perf_counter()
    took = await send(fake, plan.payloads, rate)
    last = int(plan.payloads[-1]["id"])
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        if last in stamps.arrived and all(m in stamps.replied for m in plan.crisis_ids):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # late duplicates, if any, would show up here
    t_last = max(stamps.arrived.get(int(m["id"]), t0) for m in plan.payloads)
    ids = [m for m in plan.crisis_ids if m in stamps.replied and m in stamps.arrived]
    total = sorted((stamps.replied[m][0] - stamps.arrived[m]) * 1000 for m in ids)
    queued = sorted((stamps.handled[m] - stamps.arrived[m]) * 1000 for m in ids)
    handler = sorted((stamps.replied[m][0] - stamps.handled[m]) * 1000 for m in ids)
    crisis_set = set(plan.crisis_ids)
    counts = {
        "replies": sum(len(stamps.replied.get(m, [])) for m in plan.crisis_ids),
        "duplicates": sum(max(0, len(stamps.replied.get(m, [])) - 1)
                          for m in plan.crisis_ids),
        "missing": sum(1 for m in plan.crisis_ids if m not in stamps.replied),
        "false": sum(len(stamps.replied.get(int(m["id"]), [])) for m in plan.payloads
                     if int(m["id"]) not in crisis_set),
    }
    offered = "as fast as the fake writes" if rate is None else f"paced at {rate:,.0f} msg/s"
    print(f"\n[{name}] {len(plan.payloads)} MESSAGE_CREATE, {len(plan.crisis_ids)} crisis, "
          f"{plan.members} members, {offered}: sent in {took:.2f} s, bot received the last "
          f"after {t_last - t0:.2f} s ({len(plan.payloads) / max(t_last - t0, 1e-9):,.0f} "
          "msg/s)")
    for label, values in (("received -> reply request", total),
                          ("  of which waiting for the loop", queued),
                          ("  of which crisis handler", handler)):
        if values:
            print(f"  {label} (n={len(values)}): p50 {statistics.median(values):.2f} ms, "
                  f"p99 {pct(values, 0.99):.2f} ms, max {values[-1]:.2f} ms")
    print(f"  crisis messages sent {len(plan.crisis_ids)}, replies sent {counts['replies']}, "
          f"duplicates {counts['duplicates']}, missing {counts['missing']}, replies to "
          f"ordinary messages {counts['false']}")
    return counts


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    ordinary, crisis_texts = texts(args.seed)
    content, problems = load_content(bundled_content_dir(), with_model=not args.rules_only)
    if content is None:
        print("content does not load:", *problems, sep="\n  ")
        return 1
    model = content.crisis_model
    if model is not None:
        # The bot decides with the model too: ordinary chat the model would answer is not
        # ordinary for this count, and --model-crises uses crises only the model finds.
        threshold = content.crisis_policy.add_threshold
        probs = model.probabilities(ordinary)
        ordinary = [t for t, p in zip(ordinary, probs, strict=True) if p < threshold]
        if args.model_crises:
            probs = model.probabilities(MODEL_CRISIS)
            crisis_texts = [t for t, p in zip(MODEL_CRISIS, probs, strict=True)
                            if p >= threshold and detect(t) is None]
    print(f"crisis model: {'on' if model is not None else 'off'}; "
          f"{len(ordinary)} ordinary and {len(crisis_texts)} crisis texts")
    stamps = Stamps()
    stamps.install()
    fake = FakeDiscord(guilds=[])
    chans, people = build_world(fake, args.channels, args.members)
    await fake.start()
    tmp = tempfile.TemporaryDirectory()
    settings = load_config(None, discord_token=fake.token,
                             database_path=Path(tmp.name) / "bot.sqlite3",
                             discord_api_base=fake.api_base,
                             discord_gateway_url=fake.gateway_url,
                             pseudonym_key="bench-pseudonym-key-0123456789abcdef")
    settings = settings.model_copy(update={"crisis_model": "off" if model is None else "on"})
    runner = BotRunner(settings, content, guild_ready_timeout=0.1)
    try:
        await runner.start()
        await asyncio.wait_for(runner.bot.wait_until_ready(), timeout=20)
        bot = runner.bot
        stamps.install_cog(bot)
        rnd = random.Random(args.seed)
        # Each member writes at most one crisis message in the whole run (no cooldown);
        # a channel gets at most one per phase (the 3-per-minute cap never applies).
        per_guild = 2 * (args.channels // GUILDS) + 2
        crisis_authors = {gid: ids[:per_guild] for gid, ids in people.items()}
        chatters = {gid: ids[per_guild:] for gid, ids in people.items()}

        # Warm-up (not measured): first use of every code path and HTTP connection.
        warm_gid, warm_chan = chans[-1]
        for i, text in enumerate([*CRISIS[:2], *EVERYDAY]):
            author = crisis_authors[warm_gid].pop() if i < 2 else chatters[warm_gid][i]
            await fake.dispatch_message(warm_chan, author, text)
        await asyncio.sleep(0.5)

        plans = [plan_phase(fake, rnd, args, chans[:-1], crisis_authors, chatters, ordinary,
                            crisis_texts) for _ in range(2)]
        gc.collect()
        rss_before = rss_kib()
        blocks_before = sys.getallocatedblocks()
        state_before = bot_state(bot)
        print(f"bench_pipeline: one process, fake Discord + real bot (BotRunner, SQLite), "
              f"{len(chans) - 1} channels in {GUILDS} servers, {args.members} members, "
              f"crisis rate {args.crisis_rate:.0%}")
        results, rss_phases = [], []
        for name, plan, rate in (("paced", plans[0], args.rate), ("burst", plans[1], None)):
            results.append(await measure(name, fake, stamps, plan, rate))
            # The fake's own logs would otherwise count as the bot's memory.
            fake.gateway_sent.clear()
            fake.gateway_received.clear()
            fake.requests.clear()
            rss_phases.append(f"after {name} {rss_kib() / 1024:.1f} MiB")
        gc.collect()
        rss_gc = rss_kib()
        # Live Python objects, not RSS: CPython keeps freed arenas, so RSS never falls
        # back. The fake's own message store and the benchmark's stamps are dropped first.
        fake.messages.clear()
        for table in (stamps.arrived, stamps.handled, stamps.replied):
            table.clear()
        gc.collect()
        blocks_after = sys.getallocatedblocks()
        state_after = bot_state(bot)
        print(f"\nRSS: before the messages {rss_before / 1024:.1f} MiB, "
              f"{', '.join(rss_phases)}, after gc.collect() {rss_gc / 1024:.1f} MiB")
        print(f"live Python memory blocks: before {blocks_before:,}, after {blocks_after:,} "
              f"({blocks_after - blocks_before:+,}; the bounded cooldown and answered-id "
              "tables below account for part of it)")
        print("bot state before -> after: " + ", ".join(
            f"{k} {state_before[k]} -> {v}" for k, v in state_after.items()))
        bad = sum(r["duplicates"] + r["missing"] + r["false"] for r in results)
        return 0 if bad == 0 else 1
    finally:
        await runner.stop()
        await fake.stop()
        tmp.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--crisis-rate", type=float, default=0.01)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="messages per second in the paced phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules-only", action="store_true", help="run without the model")
    parser.add_argument("--model-crises", action="store_true",
                        help="crisis messages that only the model finds (replies wait on it)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
