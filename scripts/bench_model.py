"""Benchmark the crisis model on one core: load time, short messages per second, long input.

    python -m scripts.bench_model [--messages 2000]

One core: BLAS threads are pinned to 1 before NumPy loads, as `taskset` would. Reported in
one run, side by side: the rules per message, the model unbatched (one message per forward
pass) and batched (the worker's micro-batches of 32), and a 4,000-character message (eight
windows). Target: batched >= 200 short messages/s.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from bot.crisis import default_detector  # noqa: E402
from bot.crisis.model import CrisisModel  # noqa: E402

CHAT = [
    "anyone going to the thursday meeting?", "30 days today!!", "lol this exam is killing me",
    "my sponsor said to call her when it gets bad", "does anyone know if methadone clinics "
    "are open on sundays", "i cant sleep again, third night", "that movie was so good",
    "had a rough day but i didnt use", "thank you all, this server helps so much",
    "what's a good book on ptsd", "my cat knocked my coffee over lmao",
    "i don't want to be here anymore", "honestly thinking about ending it tonight",
    "how do you guys deal with cravings at night", "the new mod is great",
]


def _messages(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [rnd.choice(CHAT) + rnd.choice(["", " ", "!", " :(", " tbh"]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = time.perf_counter()
    model = CrisisModel.load()
    print(f"model load (verify hashes, merge adapter): {time.perf_counter() - started:.2f} s")
    msgs = _messages(args.messages, args.seed)
    det = default_detector()
    t = time.perf_counter()
    for m in msgs:
        det.detect(m)
    rules = (time.perf_counter() - t) / len(msgs)
    model.score(msgs[:64])  # warm-up
    few = msgs[: max(50, len(msgs) // 10)]
    t = time.perf_counter()
    for m in few:
        model.score([m])
    single = (time.perf_counter() - t) / len(few)
    t = time.perf_counter()
    for i in range(0, len(msgs), 32):
        model.score(msgs[i:i + 32])
    batched = (time.perf_counter() - t) / len(msgs)
    long_text = ("we talked about the meeting and the coffee rota for next month. " * 70)[:4000]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        model.score([long_text])
        times.append(time.perf_counter() - t)
    print(f"rules: {rules * 1e6:.1f} us per short message ({1 / rules:,.0f}/s)")
    print(f"model, one message per pass: {single * 1e3:.2f} ms ({1 / single:,.0f}/s)")
    print(f"model, batches of 32: {batched * 1e3:.2f} ms per message ({1 / batched:,.0f}/s); "
          f"target >= 200/s: {'met' if 1 / batched >= 200 else 'NOT met'}")
    print(f"model / rules cost per short message (batched): {batched / rules:,.0f}x")
    print(f"4,000-character message (8 windows): median {statistics.median(times) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
