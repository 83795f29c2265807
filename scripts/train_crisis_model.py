"""Rebuild the shipped crisis model: low-rank adapters on all-MiniLM-L6-v2 plus a small head.

Training needs PyTorch (`pip install torch==2.13.0`, the CPU build on this machine's disk); the
bot never imports torch. The result is small data, `content/crisis/model/adapter.npz`: LoRA
matrices for every attention and feed-forward projection, and the head's weights, which
`bot/crisis/model.py` merges into the packaged base weights at load time.

Usage: python -m scripts.train_crisis_model [--epochs 3] [--out PATH] [--seed 13]
Prints the training set's make-up and, per development set, precision/recall/false alarms
at a few thresholds (no message text).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bot.crisis.encoder import (
    HEADS,
    HIDDEN,
    LAYERS,
    LN_EPS,
    Encoder,
    locate_model_zip,
    read_verified,
)
from bot.crisis.model import HEAD_OUT, MAX_WINDOWS, CrisisModel, default_adapter_path, targets_of
from scripts import crisis_data

RANK = 8
ALPHA = 16.0
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")


def build_torch_model(weights: dict[str, np.ndarray], seed: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class LoRALinear(nn.Module):
        def __init__(self, w: np.ndarray, b: np.ndarray):
            super().__init__()
            self.weight = nn.Parameter(torch.from_numpy(w.copy()), requires_grad=False)
            self.bias = nn.Parameter(torch.from_numpy(b.copy()), requires_grad=False)
            out_f, in_f = w.shape
            self.A = nn.Parameter(torch.randn(RANK, in_f) / math.sqrt(in_f))
            self.B = nn.Parameter(torch.zeros(out_f, RANK))
            self.scale = ALPHA / RANK

        def forward(self, x):
            return nn.functional.linear(x, self.weight, self.bias) + (x @ self.A.T @ self.B.T) \
                * self.scale

    def t(name: str):
        return nn.Parameter(torch.from_numpy(weights[name].copy()), requires_grad=False)

    class Bert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = t("embeddings.word_embeddings.weight")
            self.pos = t("embeddings.position_embeddings.weight")
            self.type0 = nn.Parameter(torch.from_numpy(
                weights["embeddings.token_type_embeddings.weight"][0].copy()), requires_grad=False)
            self.eln = nn.LayerNorm(HIDDEN, eps=LN_EPS)
            self.eln.weight = t("embeddings.LayerNorm.weight")
            self.eln.bias = t("embeddings.LayerNorm.bias")
            self.lin = nn.ModuleDict()
            self.lns = nn.ModuleDict()
            for i in range(LAYERS):
                p = f"encoder.layer.{i}."
                for target in TARGETS:
                    self.lin[f"{i}_{target.replace('.', '_')}"] = LoRALinear(
                        weights[p + target + ".weight"], weights[p + target + ".bias"])
                for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
                    m = nn.LayerNorm(HIDDEN, eps=LN_EPS)
                    m.weight = t(p + ln + ".weight")
                    m.bias = t(p + ln + ".bias")
                    self.lns[f"{i}_{ln.replace('.', '_')}"] = m
            self.drop = nn.Dropout(0.1)
            self.head = nn.Linear(HIDDEN, HEAD_OUT)

        def L(self, i: int, target: str):
            return self.lin[f"{i}_{target.replace('.', '_')}"]

        def forward(self, ids, mask):
            n, length = ids.shape
            d = HIDDEN // HEADS
            x = self.eln(self.word[ids] + self.pos[:length] + self.type0)
            bias = ((1.0 - mask) * -1e9)[:, None, None, :]
            for i in range(LAYERS):
                def heads(y):
                    return y.view(n, length, HEADS, d).transpose(1, 2)
                q = heads(self.L(i, "attention.self.query")(x))
                k = heads(self.L(i, "attention.self.key")(x))
                v = heads(self.L(i, "attention.self.value")(x))
                att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
                ctx = (self.drop(att) @ v).transpose(1, 2).reshape(n, length, HIDDEN)
                x = self.lns[f"{i}_attention_output_LayerNorm"](
                    x + self.drop(self.L(i, "attention.output.dense")(ctx)))
                h = nn.functional.gelu(self.L(i, "intermediate.dense")(x))
                x = self.lns[f"{i}_output_LayerNorm"](
                    x + self.drop(self.L(i, "output.dense")(h)))
            pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
            return self.head(self.drop(pooled))

    return Bert()


def export(model, path: Path) -> None:
    """Adapter and head as float16/float32 arrays in an .npz (no pickles)."""
    arrays: dict[str, np.ndarray] = {}
    for i in range(LAYERS):
        for target in TARGETS:
            lin = model.L(i, target)
            name = f"encoder.layer.{i}.{target}.weight"
            arrays[f"lora.{name}.A"] = lin.A.detach().numpy().astype(np.float16)
            arrays[f"lora.{name}.B"] = lin.B.detach().numpy().astype(np.float16)
            arrays[f"lora.{name}.scale"] = np.array(lin.scale, np.float32)
    arrays["head.weight"] = model.head.weight.detach().numpy().astype(np.float32)
    arrays["head.bias"] = model.head.bias.detach().numpy().astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=default_adapter_path())
    args = ap.parse_args()
    if not crisis_data.available():
        raise SystemExit(f"{crisis_data.TRAIN_DIR} not found: training needs ../shared/data")
    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    members = read_verified(locate_model_zip())
    from safetensors.numpy import load

    weights = load(members["model.safetensors"])
    enc = Encoder(weights, members["tokenizer.json"].decode("utf-8"))
    train = crisis_data.training_set(args.seed)
    print(f"training examples: {len(train)} "
          f"({sum(e.crisis for e in train)} crisis); by source:")
    for (src, crisis), n in sorted(Counter((e.source, e.crisis) for e in train).items()):
        print(f"  {src:28s} {'crisis' if crisis else 'not':6s} {n}")
    # Each example is one or more windows; the crisis logit is the max over its windows
    # (a long post is a crisis if any part of it is), exactly as the bot scores it.
    windows = [enc.window_ids(e.text, MAX_WINDOWS) for e in train]
    targets = [targets_of(e) for e in train]
    pos = sum(e.crisis for e in train)
    pos_weight = torch.tensor(math.sqrt((len(train) - pos) / pos))

    model = build_torch_model(weights, args.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in params)}")
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    order = list(range(len(train)))
    # Batches of similar length waste little on padding.
    steps_per_epoch = math.ceil(len(train) / args.batch)
    total = int(steps_per_epoch * args.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, (total - s) / total))
    step = 0
    started = time.time()
    model.train()
    while step < total:
        rng = random.Random(args.seed + step)
        rng.shuffle(order)
        chunks = [order[i:i + args.batch * 20] for i in range(0, len(order), args.batch * 20)]
        batches = []
        for chunk in chunks:
            chunk.sort(key=lambda j: max(len(w) for w in windows[j]))
            batches += [chunk[i:i + args.batch] for i in range(0, len(chunk), args.batch)]
        rng.shuffle(batches)
        for batch in batches:
            if step >= total:
                break
            flat, owner = [], []
            for slot, j in enumerate(batch):
                for w in windows[j]:
                    flat.append(w)
                    owner.append(slot)
            length = max(len(w) for w in flat)
            ids = torch.zeros((len(flat), length), dtype=torch.long)
            mask = torch.zeros((len(flat), length))
            for r, w in enumerate(flat):
                ids[r, :len(w)] = torch.tensor(w)
                mask[r, :len(w)] = 1.0
            out = model(ids, mask)
            owner_t = torch.tensor(owner)
            logits = torch.full((len(batch),), -1e4)
            logits = logits.scatter_reduce(0, owner_t, out[:, 0], reduce="amax")
            best = torch.zeros(len(batch), dtype=torch.long)
            for slot in range(len(batch)):
                rows = (owner_t == slot).nonzero().flatten()
                best[slot] = rows[out[rows, 0].argmax()]
            y = torch.tensor([t[0] for t in targets_of_batch(targets, batch)], dtype=torch.float)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, y, pos_weight=pos_weight)
            # Category, severity and subject are learned on crises only, from the window
            # that scored highest.
            for k, (lo, hi) in enumerate(((1, 4), (4, 6), (6, 8)), start=1):
                lab = torch.tensor([t[k] for t in targets_of_batch(targets, batch)])
                keep = lab >= 0
                if keep.any():
                    loss = loss + 0.3 * torch.nn.functional.cross_entropy(
                        out[best[keep]][:, lo:hi], lab[keep])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{total} loss {loss.item():.3f} "
                      f"{time.time() - started:.0f}s", flush=True)
    model.eval()
    export(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.time() - started:.0f}s")
    # The NumPy path must give what torch gave: compare on a few development texts.
    scorer = CrisisModel.load(args.out)
    report(scorer, args.seed)


def targets_of_batch(targets: list[tuple[int, int, int, int]], batch: list[int]
                     ) -> list[tuple[int, int, int, int]]:
    return [targets[j] for j in batch]


def report(scorer: CrisisModel, seed: int) -> None:
    """Precision / recall / false alarms per development set at a few thresholds."""
    for name, rows in crisis_data.dev_sets(seed).items():
        probs = scorer.probabilities([e.text for e in rows])
        print(f"{name}: {len(rows)} rows, {sum(e.crisis for e in rows)} crisis")
        for t in (0.5, 0.7, 0.8, 0.9, 0.95):
            tp = sum(p >= t and e.crisis for p, e in zip(probs, rows, strict=True))
            fp = sum(p >= t and not e.crisis for p, e in zip(probs, rows, strict=True))
            pos = sum(e.crisis for e in rows)
            neg = len(rows) - pos
            prec = tp / (tp + fp) if tp + fp else float("nan")
            rec = tp / pos if pos else float("nan")
            print(f"  t={t:.2f} precision {prec:.3f} recall {rec:.3f} "
                  f"false alarms {fp / neg if neg else float('nan'):.3f} ({fp}/{neg})")


if __name__ == "__main__":
    main()
