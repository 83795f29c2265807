"""Keyed pseudonyms for members: HMAC-SHA256(key, str(user_id)), hex.

The raw user id is never stored; only this pseudonym is. Without the key, a pseudonym
cannot be linked back to a user id by trying every id (unlike a plain hash).

The key comes from PSEUDONYM_KEY (passed in by the caller) or from a key file created on
first start beside the database: ``<database path>.key`` (``data/bot.db`` ->
``data/bot.db.key``), mode 0600. It sits beside, not inside, the database so that a copy of
the database alone does not reveal it; back the key up separately. Losing or changing the
key unlinks every stored preference from its member (they fall back to defaults).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from bot.store.base import StoreError

log = logging.getLogger(__name__)

MIN_KEY_CHARS = 32
_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class Pseudonymizer:
    """Turns a Discord user id into the pseudonym the store keys preferences by."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("pseudonym key: must be at least 16 bytes")
        self._key = key

    def __call__(self, user_id: int) -> str:
        """The pseudonym of `user_id` (64 hex characters)."""
        return hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never show the key in logs or tracebacks
        return "Pseudonymizer(<key hidden>)"


def key_file_for(db_path: str | os.PathLike[str]) -> Path:
    """Where the key file for a database lives: ``<db path>.key``."""
    p = Path(db_path)
    return p.with_name(p.name + ".key")


def parse_key(text: str, where: str = "PSEUDONYM_KEY") -> bytes:
    """Key bytes from a configured string: hex is decoded, any other string used as UTF-8."""
    text = text.strip()
    if len(text) < MIN_KEY_CHARS:
        raise StoreError(f"{where}: the pseudonym key must be at least {MIN_KEY_CHARS} "
                         "characters. Fix: generate one with "
                         "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    if _HEX_RE.match(text):
        return bytes.fromhex(text)
    return text.encode()


def load_pseudonymizer(db_path: str | os.PathLike[str],
                       configured_key: str | None = None) -> Pseudonymizer:
    """The Pseudonymizer for a database: from `configured_key` if given, else the key file.

    The key file is created (mode 0600) on first use and never overwritten: a key file that
    cannot be read or parsed raises StoreError rather than silently starting a new key.
    """
    if configured_key:
        return Pseudonymizer(parse_key(configured_key))
    path = key_file_for(db_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Pseudonymizer(_read_key_file(path))
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the pseudonym key file "
                         f"({exc.strerror or type(exc).__name__}). Fix: make the directory "
                         "writable by the bot, or set PSEUDONYM_KEY") from None
    key = secrets.token_hex(32)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)  # a half-written key would be unreadable next start
        raise StoreError(f"{path}: cannot write the pseudonym key file "
                         f"({exc.strerror or type(exc).__name__}). Fix: free disk space or "
                         "make the directory writable, or set PSEUDONYM_KEY") from None
    log.info("created pseudonym key file %s (mode 0600); back it up with the database", path)
    return Pseudonymizer(bytes.fromhex(key))


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot read the pseudonym key file "
                         f"({type(exc).__name__}). Fix: restore it from a backup or set "
                         "PSEUDONYM_KEY; deleting it unlinks every stored member "
                         "preference") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s: pseudonym key file is readable by other users; run chmod 600 on it",
                    path)
    try:
        return parse_key(text, where=str(path))
    except StoreError:
        raise StoreError(f"{path}: the pseudonym key file is damaged (expected at least "
                         f"{MIN_KEY_CHARS} characters). Fix: restore it from a backup or "
                         "set PSEUDONYM_KEY; deleting it unlinks every stored member "
                         "preference") from None
