"""Fault drill: run the real bot (`python -m bot run`) against the fake Discord with faults.

Scenarios, each in a fresh fake world and a fresh database:

- reset:    every crisis reply in the channel loses its connection before Discord sees it
- reset-after: the reply is posted, then the connection drops before the answer arrives
- stall:    every crisis reply in the channel hangs (never answered)
- shutdown: SIGTERM while a burst of crisis messages is being answered
- locked:   another process holds the database's write lock; a member runs
            `/crisis-replies enabled:False` and a moderator `/settings cooldown`
            (Discord's 3 s answer deadline enforced), then SIGTERM while still locked

For each: replies delivered, fallbacks taken, usage counts kept, seconds to answer and to
exit. `--bot-dir` picks the checkout whose bot is run (for before/after comparisons):

    .venv/bin/python -m scripts.fault_drill                       # this checkout
    .venv/bin/python -m scripts.fault_drill --bot-dir ../before   # another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from bot.devserver.fake import (  # noqa: E402
    GUILD_TEXT,
    FakeDiscord,
    make_channel,
    make_member,
    make_user,
)

URGENT = "I'm going to kill myself tonight"
MESSAGES = r"/channels/\d+/messages"
WAIT_ANSWER = 20.0  # seconds a drill waits for each member to be answered


class Drill:
    """One fake world, one bot process."""

    def __init__(self, bot_dir: Path, members: int, channels: int,
                 interaction_deadline: float | None = None):
        self.bot_dir = bot_dir
        self.fake = FakeDiscord(interaction_deadline=interaction_deadline)
        guild = self.fake.guilds[self.fake.ids.guild]
        self.channels = []
        for i in range(channels):
            ch = make_channel(GUILD_TEXT, f"room{i}", guild_id=self.fake.ids.guild,
                              position=10 + i)
            guild["channels"].append(ch)
            self.fake.channels[int(ch["id"])] = ch
            self.channels.append(int(ch["id"]))
        self.members = []
        for i in range(members):
            user = make_user(username=f"m{i}")
            guild["members"].append(make_member(user))
            self.fake.users[int(user["id"])] = user
            self.members.append(int(user["id"]))
        self.tmp = Path(tempfile.mkdtemp(prefix="fault-drill-"))
        self.db_path = self.tmp / "data" / "bot.sqlite3"
        self.stderr_path = self.tmp / "stderr.txt"
        self.proc = None
        self.sent: dict[int, dict] = {}  # member -> their message
        self.dispatched: dict[int, float] = {}
        self.first_answer: dict[int, float] = {}

    async def start(self) -> None:
        await self.fake.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "CONTENT"))}
        env.update(DISCORD_TOKEN=self.fake.token, DISCORD_API_BASE=self.fake.api_base,
                   DISCORD_GATEWAY_URL=self.fake.gateway_url, LOG_LEVEL="INFO",
                   DATABASE_PATH=str(self.db_path), USAGE_FLUSH_SECONDS="5",
                   CONTENT_DIR=str(self.bot_dir / "content"), PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(self.bot_dir),
                   PSEUDONYM_KEY="fault-drill-pseudonym-key-0123456789abcdef")
        self._err = self.stderr_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.bot_dir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=self._err)
        await self.fake.wait_until_identified(timeout=60)
        async with asyncio.timeout(30):
            while self.fake.command("topic") is None:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)

    async def burst(self, count: int) -> None:
        for i in range(count):
            member = self.members[i]
            channel = self.channels[i % len(self.channels)]
            self.dispatched[member] = time.monotonic()
            self.sent[member] = await self.fake.dispatch_message(channel, member, URGENT)

    def deliveries(self, member: int) -> list:
        """Bot messages that reached this member (channel reply or DM), even if the
        connection dropped after Discord stored them."""
        msg = self.sent[member]
        dm = int(self.fake.dm_channel(member)["id"])
        out = []
        for r in self.fake.requests_to("POST", MESSAGES):
            if r.status != 200 or not isinstance(r.json, dict) or not r.json.get("embeds"):
                continue
            ref = (r.json.get("message_reference") or {}).get("message_id")
            if r.path == f"/channels/{dm}/messages" or str(ref) == str(msg["id"]):
                out.append(r)
        return out

    async def watch_answers(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.first_answer) < len(self.sent):
            for member in self.sent:
                if member not in self.first_answer and self.deliveries(member):
                    self.first_answer[member] = time.monotonic()
            await asyncio.sleep(0.02)

    async def stop(self) -> float:
        """SIGTERM; seconds until the process exited (killed after 60 s)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        took = time.monotonic() - started
        self._err.close()
        await self.fake.stop()
        return took

    def stored(self, kind: str) -> dict[str, int]:
        if not self.db_path.exists():
            return {}
        with sqlite3.connect(self.db_path) as db:
            rows = db.execute("SELECT outcome, sum(count) FROM usage_daily WHERE kind = ? "
                              "GROUP BY outcome", (kind,)).fetchall()
        return dict(rows)

    def log_count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.stderr_path.read_text(errors="replace")))

    def summary(self) -> dict:
        delivered = [m for m in self.sent if self.deliveries(m)]
        dm_fallbacks = sum(1 for m in self.sent for r in self.deliveries(m)
                           if r.path == f"/channels/{self.fake.dm_channel(m)['id']}/messages")
        waits = [self.first_answer[m] - self.dispatched[m] for m in self.first_answer]
        counts = self.stored("crisis_reply")
        return {
            "members": len(self.sent),
            "answered": len(delivered),
            "dm_fallbacks": dm_fallbacks,
            "counted": sum(counts.values()),
            "counted_by_outcome": counts,
            "answer_s_median": round(statistics.median(waits), 2) if waits else None,
            "answer_s_max": round(max(waits), 2) if waits else None,
            "handler_errors": self.log_count(r"crisis handling failed"),
            "disconnect_errors": self.log_count(r"ServerDisconnectedError"),
        }


async def transport(bot_dir: Path, kind: str, members: int) -> dict:
    drill = Drill(bot_dir, members=members, channels=members)
    await drill.start()
    for ch in drill.channels:
        route = rf"/channels/{ch}/messages"
        if kind == "reset":
            drill.fake.reset("POST", route)
        elif kind == "reset-after":
            drill.fake.reset("POST", route, after=True)
        else:
            drill.fake.stall("POST", route)
    await drill.burst(members)
    await drill.watch_answers(WAIT_ANSWER)
    await asyncio.sleep(0.5)
    exit_s = await drill.stop()
    return {"scenario": kind, **drill.summary(), "exit_s": round(exit_s, 2)}


async def shutdown(bot_dir: Path, members: int) -> dict:
    drill = Drill(bot_dir, members=members, channels=max(members // 4, 1))
    await drill.start()
    drill.fake.delay("POST", MESSAGES, 0.3)  # replies are on the wire when SIGTERM comes
    await drill.burst(members)
    await drill.fake.wait_for_request("POST", MESSAGES, timeout=10)
    exit_s = await drill.stop()
    replies = sum(len(drill.deliveries(m)) for m in drill.sent)
    return {"scenario": "shutdown", **drill.summary(), "replies_posted": replies,
            "exit_s": round(exit_s, 2)}


def hold_lock(db_path: Path, seconds: float, locked: threading.Event,
              release: threading.Event) -> None:
    db = sqlite3.connect(db_path, timeout=0)
    db.execute("BEGIN EXCLUSIVE")
    locked.set()
    release.wait(seconds)
    db.rollback()
    db.close()


async def locked(bot_dir: Path, lock_seconds: float) -> dict:
    drill = Drill(bot_dir, members=3, channels=3, interaction_deadline=3.0)
    await drill.start()
    fake = drill.fake
    lock_on, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_lock, args=(drill.db_path, lock_seconds, lock_on,
                                                      release))
    holder.start()
    await asyncio.to_thread(lock_on.wait, 5)
    results = {}
    # Built when sent: the bot reads an interaction's age from its id.
    commands = {
        "crisis-replies": lambda: fake.make_interaction(2, fake.slash_data(
            "crisis-replies", {"enabled": False})),
        "settings cooldown": lambda: fake.make_interaction(2, fake.slash_data("settings", [
            {"name": "cooldown", "type": 1, "options": [
                {"name": "minutes", "type": 4, "value": 45}]}]), user=fake.ids.owner),
    }
    for name, build in commands.items():
        since = len(fake.requests)
        started = time.monotonic()
        payload = await fake.dispatch_interaction(build())
        try:
            cb = await fake.wait_for_callback(payload, timeout=WAIT_ANSWER)
            first_s = time.monotonic() - started
        except TimeoutError:
            results[name] = {"first_answer_s": None, "accepted": False}
            continue
        seen = cb.json.get("data", {}).get("content") if cb.status == 200 else None
        final_s = first_s
        if cb.status == 200 and cb.json["type"] == 5:  # deferred: wait for the edit
            try:
                edit = await fake.wait_for_request(
                    "PATCH", r"/webhooks/\d+/[^/]+/messages/@original", WAIT_ANSWER,
                    since=since)
                seen = edit.json.get("content")
                final_s = time.monotonic() - started
            except TimeoutError:
                seen = None
        results[name] = {"first_answer_s": round(first_s, 2), "accepted": cb.status == 200,
                         "status": cb.status, "final_answer_s": round(final_s, 2),
                         "member_saw": (seen or "")[:70]}
    # Crisis replies while locked: their counts are pending when SIGTERM comes.
    await drill.burst(3)
    await drill.watch_answers(WAIT_ANSWER)
    exit_s = await drill.stop()
    release.set()
    await asyncio.to_thread(holder.join)
    with sqlite3.connect(drill.db_path) as db:
        opted_out = db.execute("SELECT count(*) FROM member_prefs WHERE crisis_replies = 0"
                               ).fetchone()[0]
        cooldown = db.execute("SELECT cooldown_minutes FROM guild_settings").fetchall()
    return {"scenario": "locked", "commands": results, "exit_s_while_locked": round(exit_s, 2),
            "stored_after": {"opted_out_members": opted_out,
                             "cooldown": cooldown[0][0] if cooldown else "default"},
            "crisis_answered": len(drill.first_answer),
            "crisis_counted": sum(drill.stored("crisis_reply").values()),
            "unconfirmed_count_log": drill.log_count(r"not confirmed written|could not be "
                                                     r"written at shutdown")}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bot-dir", type=Path, default=ROOT)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--burst", type=int, default=80)
    parser.add_argument("--lock-seconds", type=float, default=25.0)
    parser.add_argument("scenarios", nargs="*",
                        default=["reset", "reset-after", "stall", "shutdown", "locked"])
    args = parser.parse_args()
    bot_dir = args.bot_dir.resolve()
    for name in args.scenarios:
        if name in ("reset", "reset-after", "stall"):
            result = await transport(bot_dir, name, args.members)
        elif name == "shutdown":
            result = await shutdown(bot_dir, args.burst)
        elif name == "locked":
            result = await locked(bot_dir, args.lock_seconds)
        else:
            parser.error(f"unknown scenario {name!r}")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
