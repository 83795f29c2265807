"""NumPy against ONNX Runtime (float32, int8, mixed) for the crisis model, on one core, one run.

    python -m scripts.bench_onnx [--messages 640] [--rounds 3] [--texts 500]

Reports: load time of each backend (the ONNX ones include building the graph and, for the
int8 ones, quantizing it); short messages per second in the worker's batches of 32, as
wall-clock and as CPU time (the CPU figure is what one idle core would give on a busy
machine); the CPU time of one 4,000-character message; how far the ONNX backends drift from
NumPy over varied texts (development corpora, awkward and long messages): cosine of every
window's pooled vector, and the crisis probability of every text, with the decisions that
cross the model's add threshold; and, per backend, how many crises of the labelled
development rows the model alone catches at that threshold. No message text is printed.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bot.crisis.model import BATCH_WINDOWS, MAX_WINDOWS, CrisisModel  # noqa: E402
from bot.crisis.onnx_encoder import Backend  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Development corpora only: the held-out ones are kept unseen.
CORPORA = ("crisis_corpus.jsonl", "crisis_dev2.jsonl", "crisis_dev3.jsonl")
# A short message, as in the throughput target: one line of chat.
SHORT = 80
AWKWARD = ["", "   ", "🙂🙂🙂", "😭😭😭💀", "x" * 4000, "i can't go on " * 300,
           "ich kann nicht mehr. 我不想活了 ок", "!!!???...", "a", "http://example.org/x?y=1"]


def labelled(seed: int) -> list[tuple[str, bool]]:
    """(text, crisis) rows of the development corpora, shuffled."""
    rows = []
    for name in CORPORA:
        with (ROOT / "tests" / "data" / name).open(encoding="utf-8") as fh:
            rows += [(r["text"], bool(r["crisis"])) for r in map(json.loads, fh)]
    random.Random(seed).shuffle(rows)
    return rows


def corpus_texts(seed: int) -> list[str]:
    return [text for text, _ in labelled(seed)]


def short_messages(n: int, seed: int) -> list[str]:
    """`n` chat messages of at most SHORT characters, drawn from the development corpora."""
    rows = [t for t in corpus_texts(seed) if 0 < len(t) <= SHORT]
    return [rows[i % len(rows)] for i in range(n)]


def varied_texts(n: int, seed: int) -> list[str]:
    """`n` texts: development corpora, awkward inputs and long messages made of them."""
    rows = corpus_texts(seed)
    rnd = random.Random(seed)
    longs = [" ".join(rnd.sample(rows, 40))[:4000] for _ in range(max(1, n // 25))]
    out = AWKWARD + longs
    return out + rows[: max(0, n - len(out))]


def pooled_windows(model: CrisisModel, windows: list[list[int]]) -> np.ndarray:
    """Pooled vectors of `windows`, batched by length as CrisisModel batches them."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    out = np.zeros((len(windows), 384), np.float32)
    for i in range(0, len(order), BATCH_WINDOWS):
        part = order[i:i + BATCH_WINDOWS]
        out[part] = model.encoder.pooled([windows[j] for j in part])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=640)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--texts", type=int, default=500)
    ap.add_argument("--threshold", type=float, default=0.9,
                    help="the model's add threshold (content/crisis/model/policy.yaml)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    models: dict[Backend, CrisisModel] = {}
    for backend in Backend:
        t = time.perf_counter()
        models[backend] = CrisisModel.load(backend=backend)
        print(f"load {backend.value:15s}: {time.perf_counter() - t:5.2f} s "
              "(verify hashes, merge adapter"
              + (", build graph" if backend is not Backend.NUMPY else "")
              + (", quantize" if backend in (Backend.ONNX_INT8, Backend.ONNX_MIXED) else "")
              + ")")

    msgs = short_messages(args.messages, args.seed)
    pieces = statistics.mean(len(ids) for ids in models[Backend.NUMPY].encoder.token_ids(msgs))
    wall: dict[Backend, list[float]] = {b: [] for b in Backend}
    cpu: dict[Backend, list[float]] = {b: [] for b in Backend}
    for model in models.values():
        model.score(msgs[:64])  # warm-up
    # Rounds interleave the backends so that load from other processes hits each alike.
    for _ in range(args.rounds):
        for backend, model in models.items():
            w, c = time.perf_counter(), time.process_time()
            for i in range(0, len(msgs), 32):
                model.score(msgs[i:i + 32])
            wall[backend].append(len(msgs) / (time.perf_counter() - w))
            cpu[backend].append(len(msgs) / (time.process_time() - c))
    print(f"\nshort messages/s, batches of 32, one core ({len(msgs)} messages of at most "
          f"{SHORT} characters, {pieces:.1f} word pieces on average; median of {args.rounds} "
          "rounds):")
    for backend in Backend:
        per_s = statistics.median(cpu[backend])
        print(f"  {backend.value:15s}: {statistics.median(wall[backend]):6.0f}/s wall, "
              f"{per_s:6.0f}/s CPU time; target >= 200/s: {'met' if per_s >= 200 else 'NOT met'}")

    long_text = ("we talked about the meeting and the coffee rota for next month. " * 70)[:4000]
    print("\none 4,000-character message (8 windows), median of 5:")
    for backend, model in models.items():
        times = []
        for _ in range(5):
            t = time.process_time()
            model.score([long_text])
            times.append(time.process_time() - t)
        print(f"  {backend.value:15s}: {statistics.median(times) * 1e3:5.0f} ms CPU time")

    texts = varied_texts(args.texts, args.seed)
    ref = models[Backend.NUMPY]
    windows = [w for t in texts for w in ref.encoder.window_ids(t, MAX_WINDOWS)]
    base = pooled_windows(ref, windows)
    probs = np.array(ref.probabilities(texts))
    print(f"\nagreement with NumPy over {len(texts)} texts ({len(windows)} windows; "
          f"{sum(p >= args.threshold for p in probs)} at or above {args.threshold}):")
    for backend in (Backend.ONNX, Backend.ONNX_INT8, Backend.ONNX_MIXED):
        vec = pooled_windows(models[backend], windows)
        cos = (vec * base).sum(1) / (np.linalg.norm(vec, axis=1) * np.linalg.norm(base, axis=1))
        other = np.array(models[backend].probabilities(texts))
        diff = np.abs(other - probs)
        lost = int(((probs >= args.threshold) & (other < args.threshold)).sum())
        gained = int(((probs < args.threshold) & (other >= args.threshold)).sum())
        print(f"  {backend.value:15s}: cosine min {cos.min():.5f} mean {cos.mean():.5f}; "
              f"probability |diff| max {diff.max():.4f} mean {diff.mean():.4f} "
              f"p99 {np.quantile(diff, 0.99):.4f}; at {args.threshold}: {lost} hits lost, "
              f"{gained} gained")

    rows = labelled(args.seed)
    crisis = np.array([c for _, c in rows])
    print(f"\nmodel alone at {args.threshold} on all {len(rows)} labelled development rows "
          f"({int(crisis.sum())} crises; the model was trained on these, so this shows where "
          "the flips fall, not how well it generalises):")
    for backend, model in models.items():
        hit = np.array(model.probabilities([t for t, _ in rows])) >= args.threshold
        print(f"  {backend.value:15s}: crises caught {int((hit & crisis).sum())}, "
              f"false alarms {int((hit & ~crisis).sum())}")


if __name__ == "__main__":
    main()
