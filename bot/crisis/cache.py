"""A compiled-rules cache, so that `scan` answers its first line without recompiling.

Compiling the bundled rules (57,000 phrase expansions, each normalised, then three
automatons) costs about two seconds of CPU; loading the compiled detector from a pickle
costs a fraction of that. The cache file is named by a SHA-256 of everything the result
depends on: the rule folder's path, its files' names and bytes, the source of the
`bot.crisis` package and the versions of Python, pydantic and pyahocorasick. So an edited
rule or a new release never meets an old cache, and nothing is invalidated by hand.

The cache holds the compiled rules and their load warnings, never message text. It lives
in the user's cache directory (``~/.cache/recovery-bot`` on Linux, ``XDG_CACHE_HOME``
honoured), created 0700 with files 0600; a file that is not the user's own, or that others
may write, is not loaded. A missing, unreadable, corrupt or foreign cache file is ignored
and rebuilt; a cache that cannot be written leaves the rules compiled in memory.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pydantic
from platformdirs import user_cache_dir

from bot.crisis.detector import Detector
from bot.crisis.loading import load_rules
from bot.problems import Problem

log = logging.getLogger(__name__)

_FORMAT = b"compiled-rules-1"  # bump when what is pickled changes shape
_PREFIX, _SUFFIX = "rules-", ".pickle"


def default_cache_dir() -> Path:
    """Where compiled rules are kept for this user."""
    return Path(user_cache_dir("recovery-bot", appauthor=False))


@functools.cache
def _code_digest() -> bytes:
    """What the compiled form depends on besides the rule files: this package's source and
    the libraries whose objects are pickled."""
    digest = hashlib.sha256(_FORMAT)
    for part in (sys.version, pydantic.VERSION, metadata.version("pyahocorasick")):
        digest.update(part.encode() + b"\0")
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.digest()


def cache_key(directory: Path) -> str | None:
    """The cache key of the rules in `directory`, or None when a file cannot be read (the
    loader then reports it)."""
    digest = hashlib.sha256(_code_digest())
    # (Compiled rules name their files, so the folder is part of what they depend on.)
    digest.update(str(Path(directory).resolve()).encode() + b"\0")
    try:
        for path in sorted(Path(directory).glob("*.yaml")):
            data = path.read_bytes()
            digest.update(f"{path.name}\0{len(data)}\0".encode())
            digest.update(data)
    except OSError:
        return None
    return digest.hexdigest()


def load_detector(directory: Path, cache_dir: Path | None = None
                  ) -> tuple[Detector | None, list[Problem]]:
    """The detector over the rules in `directory` and the problems found loading them
    (None when one is an error), from `cache_dir` when it holds them compiled (None: no
    cache). Compiled rules without errors are saved there for next time."""
    key = cache_key(directory) if cache_dir is not None else None
    path = None if key is None or cache_dir is None else \
        Path(cache_dir) / f"{_PREFIX}{key}{_SUFFIX}"
    if path is not None:
        cached = _read(path)
        if cached is not None:
            return cached
    ruleset, problems = load_rules(directory)
    if any(p.severity == "error" for p in problems):
        return None, problems
    detector = Detector(ruleset)
    if path is not None:
        _write(path, detector, problems)
    return detector, problems


def _read(path: Path) -> tuple[Detector, list[Problem]] | None:
    try:
        with path.open("rb") as fh:
            info = os.fstat(fh.fileno())
            if (hasattr(os, "getuid") and info.st_uid != os.getuid()) or info.st_mode & 0o022:
                log.warning("ignoring compiled-rules cache %s: not private to this user", path)
                return None
            detector, problems = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # any failure to read or unpickle: a damaged file, rebuild it
        log.warning("ignoring unreadable compiled-rules cache %s (%s)", path,
                    exc.__class__.__name__)
        return None
    if not isinstance(detector, Detector) or not isinstance(problems, list):
        log.warning("ignoring compiled-rules cache %s: unexpected contents", path)
        return None
    return detector, problems


def _write(path: Path, detector: Detector, problems: list[Problem]) -> None:
    """Save atomically (a reader never sees half a file) and drop older caches."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # created 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((detector, problems), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        for old in path.parent.glob(f"{_PREFIX}*{_SUFFIX}"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("compiled rules not cached in %s (%s)", path.parent, exc.__class__.__name__)
