"""Proof of privacy: plant unique strings, run everything, search every byte the bot wrote.

The bot runs as `python -m bot run` in a subprocess at LOG_LEVEL=DEBUG, exactly as a
moderator would start it, pointed at the fake Discord. It is stopped with SIGTERM so the
clean shutdown (final usage flush) is part of what is searched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from bot.paths import bundled_content_dir

MARKERS = [f"zqmark{i}x7" for i in range(12)]

# Messages a crisis reply answers, ordinary chat, and commands with free text, each
# carrying a marker. The first words are what the detector must catch.
CRISIS = [
    f"i'm going to kill myself tonight {MARKERS[0]}",
    f"i just cut myself again and it won't stop {MARKERS[1]}",
    f"my roommate took a bunch of pills and won't wake up {MARKERS[2]}",
]
ORDINARY = [f"this exam is killing me lol {MARKERS[3]}", f"30 days today!! {MARKERS[4]}"]


async def wait_for(predicate, timeout=20.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_no_marker_reaches_any_file_log_or_output(fake_discord, tmp_path: Path):
    """Markers in messages and command input appear in no file, log or output of the bot."""
    fake = fake_discord
    workdir = tmp_path / "work"
    workdir.mkdir()
    data_dir = workdir / "data"
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "CONTENT"))}
    env.update(DISCORD_TOKEN=fake.token, DISCORD_API_BASE=fake.api_base,
               DISCORD_GATEWAY_URL=fake.gateway_url, LOG_LEVEL="DEBUG",
               DATABASE_PATH=str(data_dir / "bot.sqlite3"), USAGE_FLUSH_SECONDS="0.2",
               CONTENT_DIR=str(bundled_content_dir()), PYTHONUNBUFFERED="1")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=workdir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            await fake.wait_until_identified(timeout=60)
            assert await wait_for(lambda: fake.command("topic") is not None)
            ids = fake.ids
            for text in CRISIS + ORDINARY:
                await fake.dispatch_message(ids.text_channel, ids.user, text)
            await fake.dispatch_message(fake.dm_channel(ids.moderator)["id"], ids.moderator,
                                        f"i want to die {MARKERS[5]}")
            commands = [
                ("topic", {"name": f"ptsd {MARKERS[6]}"}, ids.user),
                ("topic", {"name": "ptsd"}, ids.user),
                ("hotline", {"country": f"{MARKERS[7]}"}, ids.user),
                ("hotline", {}, ids.user),
                ("my-country", {"country": f"nowhere {MARKERS[8]}"}, ids.user),
                ("crisis-replies", {"enabled": False}, ids.moderator),
                ("privacy", {}, ids.user),
                ("topics", {}, ids.user),
                ("stats", {}, ids.moderator),
            ]
            for name, options, user in commands:
                sent = await fake.invoke_slash(name, options, user=user)
                await fake.wait_for_callback(sent, timeout=20)
            sent = await fake.invoke_autocomplete("topic", "name", {"name": MARKERS[9]})
            await fake.wait_for_callback(sent, timeout=20)
            # Crisis replies went out (3 in the channel, 1 by DM), without the text.
            assert await wait_for(lambda: len(fake.sent_messages()) >= 4)
            await asyncio.sleep(0.5)  # let a usage flush happen while running
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), timeout=30)
    assert code == 0, err_path.read_text()[-2000:]

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert "bot.sqlite3" in names, names
    assert any(n.endswith(".key") for n in names), names  # the pseudonym key file
    log_text = err_path.read_text()
    assert "DEBUG" in log_text, "the bot did not log at DEBUG: the test would prove nothing"
    assert "MESSAGE_CREATE" in log_text, "gateway events were not logged at all"
    for path in written:
        blob = path.read_bytes()
        for marker in MARKERS:
            assert marker.encode() not in blob, f"{marker} found in {path.name}"
    # Nothing the bot sent to Discord echoed what members wrote either.
    for request in fake.requests:
        body = repr(request.json) + repr(request.form)
        for marker in MARKERS:
            assert marker not in body, f"{marker} echoed in {request.method} {request.path}"

    db = sqlite3.connect(data_dir / "bot.sqlite3")
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(usage_daily)")]
        assert sorted(columns) == sorted(["day", "guild_id", "kind", "key", "outcome", "count"])
        kinds = {row[0] for row in db.execute("SELECT kind FROM usage_daily")}
        assert {"crisis_reply", "topic", "hotline"} <= kinds, kinds
    finally:
        db.close()
    # Raw member ids never reach the database file.
    db_bytes = b"".join(p.read_bytes() for p in written if p.name.startswith("bot.sqlite3"))
    for user_id in (fake.ids.user, fake.ids.moderator):
        assert str(user_id).encode() not in db_bytes
