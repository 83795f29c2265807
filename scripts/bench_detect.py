"""Benchmark the crisis detector and compare it with discord.py's own message parsing.

Prints plain figures:
- messages/second for short chat messages,
- messages/second for a realistic mix including long messages (up to 4,000 characters),
- worst-case microseconds on adversarial input (4,000 characters of trigger fragments),
- detect's cost as a percentage of discord.py parsing one MESSAGE_CREATE event
  (json.loads of the raw gateway payload + ConnectionState.parse_message_create).

Usage: python scripts/bench_detect.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.crisis import default_detector

SHORT = [
    "lol that raid was insane, gg everyone",
    "anyone up for a game tonight?",
    "I'm so tired of work today ngl",
    "did you see the new patch notes",
    "morning all! 30 days sober today",
    "thanks, that helped a lot",
    "brb making coffee",
    "my therapist said the same thing tbh",
    "haha yes",
    "Can someone explain how the /topic command works?",
    "this exam is killing me",
    "I'm dying laughing at that meme",
    "Sky sources say the update ships friday",
    "ok",
    "it's been a rough week but I'm hanging in there",
    "who's joining the meeting at 7pm?",
]
SHORT_WITH_CRISIS = [*SHORT, "i want to die", "I'm not going to kill myself"]


def _long_messages(rng: random.Random) -> list[str]:
    words = ["the", "a", "recovery", "meeting", "today", "feeling", "better", "sponsor",
             "call", "week", "group", "work", "sleep", "pain", "doctor", "appointment"]
    out = []
    for size in (300, 800, 1500, 2500, 4000):
        text = []
        while sum(len(w) + 1 for w in text) < size:
            text.append(rng.choice(words))
        out.append(" ".join(text)[:size])
    return out


def _rate(fn, messages: list[str], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for m in messages:
            fn(m)
        n += len(messages)
    return n / (time.perf_counter() - start)


def _worst_us(fn, text: str, repeat: int = 200) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t)
    return max(sorted(times)[: int(repeat * 0.99)]) * 1e6  # p99, ignoring scheduler spikes


def _adversarial() -> dict[str, str]:
    return {
        "repeated intent phrase": ("i am going to kill myself " * 200)[:4000],
        "repeated negated phrase": ("i am not going to kill myself . " * 150)[:4000],
        "repeated passive + contexts": ("i used to want to die lol haha " * 150)[:4000],
        "letter spaced": ("k i l l m y s e l f " * 250)[:4000],
        "elongated": ("dieeeeeeee " * 400)[:4000],
        "leet + homoglyphs": ("k1ll mys3lf кill " * 250)[:4000],
        "zero-width soup": ("k\u200bi\u200bl\u200bl " * 500)[:4000],
    }


async def _discord_parse_us(seconds: float) -> float | None:
    try:
        import discord
        from discord.http import HTTPClient
        from discord.state import ConnectionState
    except ImportError:
        return None
    http = HTTPClient(asyncio.get_running_loop())
    state = ConnectionState(dispatch=lambda *a, **k: None, handlers={}, hooks={}, http=http,
                            intents=discord.Intents.default())
    payload = {
        "type": 0, "tts": False, "timestamp": "2024-05-01T12:00:00.000000+00:00",
        "pinned": False, "nonce": "1234", "mentions": [], "mention_roles": [],
        "mention_everyone": False,
        "member": {"roles": ["111"], "premium_since": None, "pending": False, "nick": None,
                   "mute": False, "joined_at": "2023-01-01T00:00:00.000000+00:00", "flags": 0,
                   "deaf": False, "communication_disabled_until": None, "avatar": None},
        "id": "1235000000000000000", "flags": 0, "embeds": [], "edited_timestamp": None,
        "content": "anyone up for a game tonight?", "components": [],
        "channel_id": "1230000000000000000",
        "author": {"username": "someone", "public_flags": 0, "id": "1220000000000000000",
                   "global_name": "Someone", "discriminator": "0", "avatar": None},
        "attachments": [], "guild_id": "1210000000000000000",
    }
    raw = json.dumps({"t": "MESSAGE_CREATE", "s": 42, "op": 0, "d": payload})
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(500):
            state.parse_message_create(json.loads(raw)["d"])
        n += 500
    per = (time.perf_counter() - start) / n
    await http.close()
    return per * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = ap.parse_args()
    det = default_detector()
    detect = det.detect
    rng = random.Random(7)
    for m in SHORT_WITH_CRISIS:  # warm up lazy tables
        detect(m)

    short_rates = [_rate(detect, SHORT, args.seconds) for _ in range(3)]
    short = statistics.median(short_rates)
    print(f"short chat messages: {short:,.0f} msg/s "
          f"({1e6 / short:.2f} us/msg; median of 3 runs; target >= 300,000)")
    crisis_rate = _rate(detect, SHORT_WITH_CRISIS, args.seconds)
    print(f"short messages incl. 2 crisis-like in 18: {crisis_rate:,.0f} msg/s")

    longs = _long_messages(rng)
    mix = SHORT * 6 + longs  # about 5% long messages, up to 4,000 characters
    mix_rate = _rate(detect, mix, args.seconds)
    print(f"realistic mix ({len(mix)} messages, {len(longs)} of 300-4,000 chars): "
          f"{mix_rate:,.0f} msg/s")
    long_rate = _rate(detect, longs, args.seconds)
    print(f"long messages only (300-4,000 chars): {long_rate:,.0f} msg/s")

    worst = 0.0
    for name, text in _adversarial().items():
        us = _worst_us(detect, text)
        worst = max(worst, us)
        print(f"adversarial '{name}' ({len(text)} chars): {us:,.0f} us (p99)")
    print(f"worst adversarial case: {worst:,.0f} us (limit 1,000 us)")

    parse_us = asyncio.run(_discord_parse_us(args.seconds))
    if parse_us is None:
        print("discord.py not installed: parse comparison skipped")
    else:
        detect_us = 1e6 / short
        print(f"discord.py json.loads + parse_message_create: {parse_us:.1f} us/event")
        print(f"detect on a short message: {detect_us:.2f} us = "
              f"{100 * detect_us / parse_us:.1f}% of discord.py's parse cost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
