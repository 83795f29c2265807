"""The compiled-rules cache: used when it matches, rebuilt when rules, code or file change."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from bot.crisis import cache, check_examples
from bot.crisis.cache import load_detector
from bot.crisis.scan import run_scan
from bot.paths import bundled_content_dir
from tests.unit.test_crisis_rules import GOOD


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "crisis"
    folder.mkdir()
    (folder / "rules.yaml").write_text(GOOD, encoding="utf-8")
    return folder


def _cached(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("rules-*.pickle"))


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(directory):
        raise AssertionError("compiled again instead of using the cache")
    monkeypatch.setattr(cache, "load_rules", fail)


def test_second_load_comes_from_the_cache(rules: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The first load compiles and saves (private to the user); the second only reads."""
    store = tmp_path / "cache"
    first, problems = load_detector(rules, store)
    assert first is not None and problems == []
    [saved] = _cached(store)
    assert saved.stat().st_mode & 0o077 == 0 and store.stat().st_mode & 0o077 == 0
    _no_compiling(monkeypatch)
    second, problems = load_detector(rules, store)
    assert second is not None and problems == []
    assert second.detect("gonna hurt myself").rule == "sh-test"


def test_edited_rules_are_compiled_again(rules: Path, tmp_path: Path) -> None:
    """Changing a rule file changes the key: the new rules apply, the old file goes."""
    store = tmp_path / "cache"
    load_detector(rules, store)
    [old] = _cached(store)
    (rules / "rules.yaml").write_text(GOOD.replace("hurt {self}", "harm {self}"),
                                      encoding="utf-8")
    det, _ = load_detector(rules, store)
    assert det.detect("gonna harm myself").rule == "sh-test"
    assert det.detect("gonna hurt myself") is None
    assert _cached(store) and old not in _cached(store)


@pytest.mark.parametrize("damage", [b"", b"not a pickle", pickle.dumps(["wrong", "shape"]),
                                    pickle.dumps(("a", []))])
def test_a_damaged_cache_is_rebuilt(rules: Path, tmp_path: Path, damage: bytes) -> None:
    """Empty, garbage or unexpected contents are ignored and replaced by a good file."""
    store = tmp_path / "cache"
    load_detector(rules, store)
    [saved] = _cached(store)
    saved.write_bytes(damage)
    det, problems = load_detector(rules, store)
    assert det is not None and problems == []
    assert det.detect("gonna hurt myself").rule == "sh-test"
    assert saved.read_bytes() != damage


def test_a_cache_others_may_write_is_not_loaded(rules: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A file others could have replaced is never unpickled."""
    store = tmp_path / "cache"
    load_detector(rules, store)
    [saved] = _cached(store)
    saved.chmod(0o666)
    calls = []
    compile_rules = cache.load_rules
    monkeypatch.setattr(cache, "load_rules", lambda d: calls.append(d) or compile_rules(d))
    det, _ = load_detector(rules, store)
    assert calls == [rules] and det is not None


def test_rules_with_errors_are_reported_and_not_cached(rules: Path, tmp_path: Path) -> None:
    """Errors come back as problems; nothing is saved."""
    (rules / "rules.yaml").write_text(GOOD.replace("    severity: urgent\n", ""),
                                      encoding="utf-8")
    store = tmp_path / "cache"
    det, problems = load_detector(rules, store)
    assert det is None and any("severity" in p.where for p in problems)
    assert _cached(store) == []


def test_an_unwritable_cache_still_gives_a_detector(rules: Path, tmp_path: Path) -> None:
    """A cache folder that cannot be created is no reason to fail."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    det, problems = load_detector(rules, blocker / "cache")
    assert det is not None and problems == []


def test_cached_bundled_rules_pass_every_example_and_hold_no_message_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled rules read back from the cache pass all their examples, and scanning
    messages never writes them into the cache."""
    store = tmp_path / "cache"
    folder = bundled_content_dir() / "crisis"
    load_detector(folder, store)
    _no_compiling(monkeypatch)
    det, _ = load_detector(folder, store)
    assert check_examples(det.ruleset, det) == []
    marker = "zqxj-marker-5520"
    run_scan(io.BytesIO(f"i want to die {marker}\n".encode()), io.StringIO(), io.StringIO(),
             detector=det)
    load_detector(folder, store)
    assert all(marker.encode() not in path.read_bytes() for path in store.iterdir())
