"""The learned crisis scorer: the packaged encoder with this project's adapter and head.

`content/crisis/model/adapter.npz` holds low-rank adapters for the encoder's projections and a
linear head over the mean-pooled sentence vector: one crisis logit, then category (3),
severity (2) and subject (2) logits. A message longer than the encoder's window is scored as
overlapping windows; its crisis probability is the highest window's, and the labels come
from that window. `scripts/train_crisis_model.py` rebuilds the file; MODEL.md beside it is
the model card.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.crisis.encoder import Encoder, EncoderError, load_adapter
from bot.crisis.onnx_encoder import Backend, OnnxEncoder, load_encoder
from bot.crisis.schema import Category, Severity, Subject
from bot.paths import bundled_content_dir

# Head outputs, in the order the shipped head was trained with.
CATEGORIES = (Category.SUICIDE, Category.SELF_HARM, Category.OVERDOSE)
SEVERITIES = (Severity.CONCERN, Severity.URGENT)
SUBJECTS = (Subject.OTHER, Subject.SELF)
HEAD_OUT = 1 + len(CATEGORIES) + len(SEVERITIES) + len(SUBJECTS)
# Discord messages are at most 4,000 characters (about 1,000 word pieces): eight windows of
# 128 with a quarter overlap cover them; anything longer is scored on its first eight.
MAX_WINDOWS = 8
# Windows per forward pass: large enough for BLAS to be efficient, small enough that a
# crisis message never waits long behind a batch.
BATCH_WINDOWS = 32


class _Labelled(Protocol):
    crisis: bool
    category: str | None
    severity: str | None
    subject: str | None


def default_adapter_path() -> Path:
    return bundled_content_dir() / "crisis" / "model" / "adapter.npz"


def targets_of(ex: _Labelled) -> tuple[int, int, int, int]:
    """Training targets: crisis 0/1, then class indices (-1 where unknown or not a crisis)."""
    def idx(value: str | None, names: tuple[StrEnum, ...]) -> int:
        return names.index(value) if ex.crisis and value in names else -1

    return (int(ex.crisis), idx(ex.category, CATEGORIES), idx(ex.severity, SEVERITIES),
            idx(ex.subject, SUBJECTS))


@dataclass(frozen=True, slots=True)
class Score:
    """What the model says of one message."""

    probability: float
    category: Category
    severity: Severity
    subject: Subject
    windows: int


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


class CrisisModel:
    """Scores messages with the encoder + adapter + head. Thread-safe (no shared mutation)."""

    def __init__(self, encoder: Encoder | OnnxEncoder, head_w: np.ndarray, head_b: np.ndarray,
                 fingerprint: str):
        if head_w.shape != (HEAD_OUT, encoder_dim(head_w)):
            raise EncoderError(f"crisis model head has shape {head_w.shape}, "
                               f"expected ({HEAD_OUT}, 384): rebuild it with "
                               "python -m scripts.train_crisis_model")
        self.encoder = encoder
        self._w = np.ascontiguousarray(head_w.T, dtype=np.float32)
        self._b = head_b.astype(np.float32)
        self.fingerprint = fingerprint

    @classmethod
    def load(cls, adapter_path: Path | None = None,
             backend: Backend = Backend.NUMPY) -> CrisisModel:
        """Verified base weights with the adapter merged in; EncoderError says what to fix.
        `backend` picks the forward pass (the ONNX ones need the optional extra)."""
        path = adapter_path or default_adapter_path()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EncoderError(f"{path}: cannot read the crisis model adapter "
                               f"({type(exc).__name__}); reinstall the bot or rebuild it with "
                               "python -m scripts.train_crisis_model") from None
        try:
            adapter = load_adapter(data)
            head_w, head_b = adapter.pop("head.weight"), adapter.pop("head.bias")
        except (ValueError, KeyError, OSError) as exc:
            raise EncoderError(f"{path}: not a crisis model adapter ({type(exc).__name__}); "
                               "rebuild it with python -m scripts.train_crisis_model") from None
        encoder = load_encoder(backend, adapter)
        return cls(encoder, head_w, head_b, hashlib.sha256(data).hexdigest()[:12])

    def _logits(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        pooled = np.zeros((len(windows), self._w.shape[0]), np.float32)
        for part in _length_groups(windows):
            pooled[part] = self.encoder.pooled([windows[j] for j in part])
        return pooled @ self._w + self._b

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text; empty or symbol-only text gets the [CLS] [SEP] window."""
        windows: list[list[int]] = []
        owner: list[int] = []
        for n, text in enumerate(texts):
            for w in self.encoder.window_ids(text, MAX_WINDOWS):
                windows.append(w)
                owner.append(n)
        logits = self._logits(windows)
        best: dict[int, int] = {}
        for row, n in enumerate(owner):
            if n not in best or logits[row, 0] > logits[best[n], 0]:
                best[n] = row
        counts = np.bincount(np.array(owner, dtype=np.int64), minlength=len(texts))
        scores = []
        for n in range(len(texts)):
            row = logits[best[n]]
            scores.append(Score(
                probability=float(_sigmoid(row[0])),
                category=CATEGORIES[int(np.argmax(row[1:4]))],
                severity=SEVERITIES[int(np.argmax(row[4:6]))],
                subject=SUBJECTS[int(np.argmax(row[6:8]))],
                windows=int(counts[n]),
            ))
        return scores

    def probabilities(self, texts: Sequence[str], batch: int = 256) -> list[float]:
        out: list[float] = []
        for i in range(0, len(texts), batch):
            out += [s.probability for s in self.score(texts[i:i + batch])]
        return out


def _length_groups(windows: Sequence[Sequence[int]]) -> list[list[int]]:
    """Indices of `windows` in forward-pass groups of similar length.

    A batch is padded to its longest window, so one long message among short ones made the
    whole batch cost as much as that many long ones (measured: 40 ms per chat message in
    mixed batches of 32, 15 ms one at a time). Sorted by length, a group ends at
    BATCH_WINDOWS or when the next window is more than twice its first's length.
    """
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    groups: list[list[int]] = []
    for i in order:
        group = groups[-1] if groups else None
        if (group is None or len(group) >= BATCH_WINDOWS
                or len(windows[i]) > 2 * len(windows[group[0]]) + 8):
            groups.append([i])
        else:
            group.append(i)
    return groups


def encoder_dim(head_w: np.ndarray) -> int:
    return int(head_w.shape[1]) if head_w.ndim == 2 else -1
