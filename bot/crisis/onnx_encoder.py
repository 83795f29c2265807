"""Optional faster encoder: the same all-MiniLM-L6-v2 forward pass run by ONNX Runtime.

The graph is built in memory with `onnx.helper` from the (adapter-merged) weight dict that
`Encoder` receives, optionally with its weights quantized to int8 by ONNX Runtime's dynamic
quantization, and run in an `InferenceSession` pinned to `threads` cores (default one, so
the bot never takes a shared host's every core). Tokenisation and the long-message windows
are the NumPy `Encoder`'s own, so both backends see identical word pieces.

Needs the optional dependencies: pip install 'recovery-bot[onnx]'.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from bot.crisis.encoder import (
    HEADS,
    HIDDEN,
    LAYERS,
    LN_EPS,
    TOKENIZER_MEMBER,
    WEIGHTS_MEMBER,
    WINDOW,
    Encoder,
    EncoderError,
    locate_model_zip,
    merge_lora,
    pad,
    read_verified,
)

INSTALL_HINT = "install the optional ONNX backend with: pip install 'recovery-bot[onnx]'"
# Opset 17 is the first with LayerNormalization; IR 8 keeps older runtimes able to load it.
OPSET = 17
IR_VERSION = 8
# Same additive mask as the NumPy encoder, so padded positions get exactly zero weight.
MASK_BIAS = -1e9
# Name of layer i's feed-forward output MatMul in the built graph.
FFN_OUT = "l{}.down.mm"


class Backend(StrEnum):
    """Which forward pass scores messages."""

    NUMPY = "numpy"
    # ONNX Runtime, float32: the NumPy arithmetic in another order.
    ONNX = "onnx"
    # Every projection int8: fastest, and drifts most from NumPy.
    ONNX_INT8 = "onnx-int8"
    # int8 but for each layer's feed-forward output projection, whose input (the GELU
    # output) has the widest range and so loses most to per-batch activation quantization.
    ONNX_MIXED = "onnx-int8-mixed"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise EncoderError(f"the ONNX backend needs the 'onnx' package; {INSTALL_HINT}") from None
    return onnx


def build_graph(weights: Mapping[str, np.ndarray]) -> Any:
    """The encoder as an ONNX ModelProto: input_ids, attention_mask (int64 [batch, seq]) in,
    pooled (float32 [batch, 384], mean over the mask) out."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def w(name: str) -> np.ndarray:
        try:
            return np.asarray(weights[name], dtype=np.float32)
        except KeyError:
            raise EncoderError(f"encoder weights have no {name!r}: not a MiniLM-L6 "
                               "checkpoint") from None

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, p: str, name: str, scale: float = 1.0) -> str:
        # torch Linear keeps (out, in); MatMul wants (in, out). The quantizer only
        # quantizes a MatMul whose weight is an initializer, as here.
        wt = const(f"{p}.wT", (w(f"{name}.weight").T * np.float32(scale)).astype(np.float32))
        b = const(f"{p}.b", (w(f"{name}.bias") * np.float32(scale)).astype(np.float32))
        return node("Add", [node("MatMul", [x, wt], f"{p}.mm"), b], f"{p}.out")

    def layer_norm(x: str, p: str, name: str) -> str:
        gamma, beta = const(f"{p}.g", w(f"{name}.weight")), const(f"{p}.b", w(f"{name}.bias"))
        return node("LayerNormalization", [x, gamma, beta], f"{p}.out", axis=-1,
                    epsilon=LN_EPS)

    d = HIDDEN // HEADS
    const("c.i0", np.array([0], np.int64))
    const("c.i1", np.array([1], np.int64))
    const("c.i2", np.array([2], np.int64))
    const("c.heads", np.array([0, 0, HEADS, d], np.int64))
    const("c.hidden", np.array([0, 0, HIDDEN], np.int64))
    const("c.one", np.array(1.0, np.float32))
    const("c.half", np.array(0.5, np.float32))
    const("c.rsqrt2", np.array(1.0 / math.sqrt(2.0), np.float32))
    const("c.maskbias", np.array(MASK_BIAS, np.float32))
    const("c.eps", np.array(1e-9, np.float32))

    # Embeddings: word + position, with the (always zero) token type folded into positions.
    word = node("Gather", [const("emb.word", w("embeddings.word_embeddings.weight")),
                           "input_ids"], "emb.wordvec")
    pos_table = w("embeddings.position_embeddings.weight") + \
        w("embeddings.token_type_embeddings.weight")[0]
    seq = node("Shape", ["input_ids"], "seq", start=1, end=2)
    pos = node("Slice", [const("emb.pos", pos_table), "c.i0", seq, "c.i0"], "emb.posvec")
    x = layer_norm(node("Add", [word, pos], "emb.sum"), "emb.ln", "embeddings.LayerNorm")

    maskf = node("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT)
    # (1 - mask) * -1e9 as [batch, 1, 1, seq], added to every head's scores.
    bias = node("Mul", [node("Sub", ["c.one", maskf], "mask.inv"), "c.maskbias"], "mask.bias2")
    bias = node("Unsqueeze", [bias, const("c.i12", np.array([1, 2], np.int64))], "mask.bias")

    for i in range(LAYERS):
        p, t = f"encoder.layer.{i}.", f"l{i}"
        # 1/sqrt(head dim) is folded into the query projection.
        q = linear(x, f"{t}.q", p + "attention.self.query", scale=1.0 / math.sqrt(d))
        k = linear(x, f"{t}.k", p + "attention.self.key")
        v = linear(x, f"{t}.v", p + "attention.self.value")
        q = node("Transpose", [node("Reshape", [q, "c.heads"], f"{t}.q4")], f"{t}.qh",
                 perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, "c.heads"], f"{t}.k4")], f"{t}.kh",
                 perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, "c.heads"], f"{t}.v4")], f"{t}.vh",
                 perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], f"{t}.qk"), bias], f"{t}.scores")
        probs = node("Softmax", [scores], f"{t}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{t}.ctx4")], f"{t}.ctxT",
                   perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "c.hidden"], f"{t}.ctx")
        att = linear(ctx, f"{t}.o", p + "attention.output.dense")
        x = layer_norm(node("Add", [x, att], f"{t}.res1"), f"{t}.ln1",
                       p + "attention.output.LayerNorm")
        h = linear(x, f"{t}.up", p + "intermediate.dense")
        # Exact GELU: 0.5 * h * (1 + erf(h / sqrt 2)).
        erf = node("Erf", [node("Mul", [h, "c.rsqrt2"], f"{t}.hs")], f"{t}.erf")
        gate = node("Mul", [node("Add", [erf, "c.one"], f"{t}.erf1"), "c.half"], f"{t}.gate")
        h = node("Mul", [h, gate], f"{t}.gelu")
        down = linear(h, f"{t}.down", p + "output.dense")  # its MatMul is FFN_OUT
        x = layer_norm(node("Add", [x, down], f"{t}.res2"), f"{t}.ln2", p + "output.LayerNorm")

    mask3 = node("Unsqueeze", [maskf, "c.i2"], "pool.mask")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "pool.masked"), "c.i1"], "pool.sum",
                  keepdims=0)
    count = node("ReduceSum", [mask3, "c.i1"], "pool.count", keepdims=0)
    node("Div", [summed, node("Max", [count, "c.eps"], "pool.n")], "pooled")

    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", HIDDEN])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="recovery-bot")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def quantize_int8(model: Any, keep_float: Sequence[str] = ()) -> bytes:
    """`model` with its projection weights quantized to int8, serialised. Activations are
    quantized per batch at run time. Weights are quantized per output channel: per tensor,
    the sentence vectors drifted (cosine to NumPy down to 0.90 against 0.98). Only MatMuls
    are quantized: the embedding table stays float32 (a lookup, so no speed to gain);
    `keep_float` names MatMul nodes to leave float32 as well."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise EncoderError(f"the ONNX backend needs 'onnxruntime'; {INSTALL_HINT}") from None
    onnx = _onnx()
    root = logging.getLogger()
    hush = _PreprocessAdvice()
    # The quantizer reads and writes files; the temp dir holds only weights, never text.
    with tempfile.TemporaryDirectory(prefix="crisis-onnx-") as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save_model(model, str(src))
        root.addFilter(hush)
        try:
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"],
                             nodes_to_exclude=list(keep_float))
        finally:
            root.removeFilter(hush)
        return dst.read_bytes()


class _PreprocessAdvice(logging.Filter):
    """Drops the quantizer's advice to pre-process the model (shape inference for models
    exported from a framework): this graph is built with its shapes, and the advice would
    otherwise greet every operator in the bot's log at start-up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Please consider to run pre-processing")


class OnnxEncoder:
    """Drop-in for `Encoder` in `CrisisModel`: same tokenisation, `pooled` by ONNX Runtime."""

    def __init__(self, weights: Mapping[str, np.ndarray], tokenizer_json: str,
                 window: int = WINDOW, *, backend: Backend = Backend.ONNX_INT8,
                 threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError:
            raise EncoderError(f"the ONNX backend needs 'onnxruntime'; {INSTALL_HINT}") from None
        if backend is Backend.NUMPY:
            raise EncoderError("OnnxEncoder runs the ONNX backends; use Encoder for NumPy")
        if threads < 1:
            raise EncoderError(f"ONNX encoder threads must be at least 1, got {threads}")
        # Tokenisation (and so the windows of a long message) is the NumPy encoder's own.
        self.numpy = Encoder(weights, tokenizer_json, window)
        self.window = window
        self.backend = backend
        model = build_graph(weights)
        if backend is Backend.ONNX:
            blob = model.SerializeToString()
        else:
            keep = [FFN_OUT.format(i) for i in range(LAYERS)] if backend is Backend.ONNX_MIXED \
                else []
            blob = quantize_int8(model, keep)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])

    @classmethod
    def from_package(cls, adapter: Mapping[str, np.ndarray] | None = None,
                     zip_path: Path | None = None, *,
                     backend: Backend = Backend.ONNX_INT8,
                     threads: int = 1) -> OnnxEncoder:
        """Load the verified packaged weights (adapter merged in) as `Encoder.from_package`."""
        from safetensors.numpy import load

        members = read_verified(zip_path or locate_model_zip())
        weights = load(members[WEIGHTS_MEMBER])
        if adapter:
            weights = merge_lora(weights, adapter)
        encoder = cls(weights, members[TOKENIZER_MEMBER].decode("utf-8"), backend=backend,
                      threads=threads)
        del members, weights
        _release_freed_heap()
        return encoder

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.numpy.token_ids(texts)

    def window_ids(self, text: str, max_windows: int) -> list[list[int]]:
        return self.numpy.window_ids(text, max_windows)

    def pooled(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled last hidden states (n, 384) for already tokenised inputs."""
        if not batch:
            return np.zeros((0, HIDDEN), np.float32)
        ids, mask = pad(batch)
        (out,) = self._session.run(["pooled"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(out, dtype=np.float32)


def _release_freed_heap() -> None:
    """Hand the load's freed buffers (checkpoint, graph, serialised and quantized copies:
    hundreds of MiB) back to the OS; glibc keeps them in the process otherwise. A no-op
    off glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def load_encoder(backend: Backend, adapter: Mapping[str, np.ndarray] | None = None,
                 threads: int = 1) -> Encoder | OnnxEncoder:
    """The packaged encoder with `adapter` merged in, on the chosen backend."""
    if backend is Backend.NUMPY:
        return Encoder.from_package(adapter)
    return OnnxEncoder.from_package(adapter, backend=backend, threads=threads)
