"""The optional ONNX Runtime encoder agrees with the NumPy one, on ordinary and awkward input."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from bot.crisis.encoder import EncoderError
from bot.crisis.model import MAX_WINDOWS, CrisisModel
from bot.crisis.onnx_encoder import FFN_OUT, Backend, OnnxEncoder, build_graph, quantize_int8

pytest.importorskip("onnxruntime", reason="the optional ONNX backend is not installed")
onnx = pytest.importorskip("onnx", reason="the optional ONNX backend is not installed")

TEXTS = [
    "The weather is lovely today.",
    "30 days clean today!!",
    "i took every pill in the cabinet and i want to die",
    "great meeting tonight, see you all thursday",
    "my sponsor said to call her when it gets bad",
    "honestly thinking about ending it tonight",
    "lol this exam is killing me",
    "ich kann nicht mehr. 我不想活了 ок",
]
FILLER = "we talked about the meeting schedule and the coffee rota for next month. "
LONG = (FILLER * 60)[:4000]
CRISIS_AT_END = FILLER * 12 + "honestly i took all my pills an hour ago and i want to die"
AWKWARD = ["", "🙂🙂🙂", LONG, CRISIS_AT_END]
# Tolerances, from scripts/bench_onnx.py over 500 varied texts (see the note on the backend):
# float32 is the same arithmetic in another order; int8 rounds the projections (measured there:
# cosine >= 0.98, probabilities within 0.12).
FLOAT_ATOL = 1e-4
INT8_MIN_COSINE = 0.97
# Per backend: with the shipped adapter, full int8 moved one of these texts' probability by
# 0.19 (so a message near the 0.5 threshold can flip; NumPy stays the default); int8 with
# float32 feed-forward outputs stays within 0.15.
INT8_MAX_PROB_DIFF = {Backend.ONNX_INT8: 0.25, Backend.ONNX_MIXED: 0.15}


@pytest.fixture(scope="module")
def numpy_model() -> CrisisModel:
    return CrisisModel.load()


@pytest.fixture(scope="module")
def float_model() -> CrisisModel:
    return CrisisModel.load(backend=Backend.ONNX)


@pytest.fixture(scope="module", params=[Backend.ONNX_INT8, Backend.ONNX_MIXED])
def int8_model(request: pytest.FixtureRequest) -> CrisisModel:
    return CrisisModel.load(backend=request.param)


def _windows(model: CrisisModel, texts: list[str]) -> list[list[int]]:
    return [w for t in texts for w in model.encoder.window_ids(t, MAX_WINDOWS)]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_float_graph_computes_what_numpy_computes(numpy_model: CrisisModel,
                                                  float_model: CrisisModel) -> None:
    # One padded batch of short and long windows: padding must not leak into pooling.
    batch = _windows(numpy_model, TEXTS + AWKWARD)
    want = numpy_model.encoder.pooled(batch)
    got = float_model.encoder.pooled(batch)
    assert got.shape == want.shape == (len(batch), 384)
    assert np.abs(got - want).max() < FLOAT_ATOL


def test_int8_vectors_and_probabilities_stay_close(numpy_model: CrisisModel,
                                                   int8_model: CrisisModel) -> None:
    batch = _windows(numpy_model, TEXTS + AWKWARD)
    cos = _cosine(int8_model.encoder.pooled(batch), numpy_model.encoder.pooled(batch))
    assert cos.min() > INT8_MIN_COSINE
    want = np.array(numpy_model.probabilities(TEXTS + AWKWARD))
    got = np.array(int8_model.probabilities(TEXTS + AWKWARD))
    assert np.abs(got - want).max() < INT8_MAX_PROB_DIFF[int8_model.encoder.backend]


def test_int8_keeps_clear_cases_clear(int8_model: CrisisModel) -> None:
    crisis, calm = int8_model.score([TEXTS[2], TEXTS[3]])
    assert crisis.probability > 0.5 and crisis.category in ("overdose", "suicide")
    assert calm.probability < 0.1


@pytest.mark.parametrize("text", AWKWARD, ids=["empty", "emoji", "4000-chars", "crisis-at-end"])
def test_awkward_input_gets_the_same_windows_and_close_scores(
        numpy_model: CrisisModel, int8_model: CrisisModel, text: str) -> None:
    (want,) = numpy_model.score([text])
    (got,) = int8_model.score([text])
    assert got.windows == want.windows
    assert 1 <= got.windows <= MAX_WINDOWS
    assert abs(got.probability - want.probability) < INT8_MAX_PROB_DIFF[int8_model.encoder.backend]
    if text == CRISIS_AT_END:
        assert got.windows > 1 and got.probability > 0.5


def test_empty_batch_gives_no_rows(int8_model: CrisisModel) -> None:
    assert int8_model.encoder.pooled([]).shape == (0, 384)


def test_mixed_keeps_the_feed_forward_outputs_float() -> None:
    # A stand-in checkpoint: the graph's structure, not its weights, is under test.
    rng = np.random.default_rng(0)
    model = build_graph(_random_weights(rng))
    mixed = onnx.load_from_string(quantize_int8(model, [FFN_OUT.format(i) for i in range(6)]))
    full = onnx.load_from_string(quantize_int8(model))
    float_mm = {n.name for n in mixed.graph.node if n.op_type == "MatMul"}
    assert {FFN_OUT.format(i) for i in range(6)} <= float_mm
    assert len(float_mm) == 12 + 6  # the attention products, then the kept projections
    assert sum(n.op_type == "MatMul" for n in full.graph.node) == 12


def test_quantizer_advice_stays_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    model = build_graph(_random_weights(np.random.default_rng(1)))
    with caplog.at_level(logging.INFO):
        assert quantize_int8(model)
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]


def _random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Weights of MiniLM-L6's shapes (small vocabulary), for tests of the graph's form."""
    from bot.crisis.encoder import HIDDEN, LAYERS

    def m(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": m(100, HIDDEN),
         "embeddings.position_embeddings.weight": m(512, HIDDEN),
         "embeddings.token_type_embeddings.weight": m(2, HIDDEN),
         "embeddings.LayerNorm.weight": np.ones(HIDDEN, np.float32),
         "embeddings.LayerNorm.bias": m(HIDDEN)}
    shapes = {"attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN),
              "attention.self.value": (HIDDEN, HIDDEN),
              "attention.output.dense": (HIDDEN, HIDDEN),
              "intermediate.dense": (4 * HIDDEN, HIDDEN), "output.dense": (HIDDEN, 4 * HIDDEN)}
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name, (out, inp) in shapes.items():
            w[p + name + ".weight"], w[p + name + ".bias"] = m(out, inp), m(out)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = np.ones(HIDDEN, np.float32), m(HIDDEN)
    return w


def test_thread_count_must_be_positive() -> None:
    with pytest.raises(EncoderError, match="at least 1"):
        OnnxEncoder.from_package(threads=0)


def test_missing_runtime_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(EncoderError, match=r"pip install 'recovery-bot\[onnx\]'"):
        CrisisModel.load(backend=Backend.ONNX_INT8)
