"""Keyed pseudonyms and the key file beside the database."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from bot.store import StoreError, key_file_for, load_pseudonymizer
from bot.store.pseudonym import Pseudonymizer, parse_key

USER_ID = 123456789012345678


def test_pseudonym_is_hmac_sha256_of_the_id_string():
    """The pseudonym is HMAC-SHA256(key, str(user_id)) in hex."""
    key = bytes(range(32))
    expected = hmac.new(key, str(USER_ID).encode(), hashlib.sha256).hexdigest()
    assert Pseudonymizer(key)(USER_ID) == expected
    assert len(expected) == 64


def test_different_keys_give_unlinkable_pseudonyms():
    """The same id under two keys gives two different pseudonyms; one key is stable."""
    a, b = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert a(USER_ID) != b(USER_ID)
    assert a(USER_ID) == a(USER_ID)
    assert a(USER_ID) != a(USER_ID + 1)


def test_repr_hides_the_key():
    """The key never shows up in repr (logs, tracebacks)."""
    key = b"secret-key-material-0123456789ab"
    assert "secret" not in repr(Pseudonymizer(key))


def test_key_file_created_with_mode_0600_beside_the_database(tmp_path):
    """First start creates <db>.key, mode 0600, in the database's directory."""
    db = tmp_path / "data" / "bot.db"
    db.parent.mkdir()
    load_pseudonymizer(db)
    key_file = key_file_for(db)
    assert key_file == tmp_path / "data" / "bot.db.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_key_file_reused_on_restart(tmp_path):
    """A second start reads the same key, so pseudonyms stay the same."""
    db = tmp_path / "bot.db"
    first = load_pseudonymizer(db)(USER_ID)
    content = key_file_for(db).read_bytes()
    assert load_pseudonymizer(db)(USER_ID) == first
    assert key_file_for(db).read_bytes() == content


def test_configured_key_overrides_and_creates_no_file(tmp_path):
    """PSEUDONYM_KEY is used instead of a key file, and no file is written."""
    db = tmp_path / "bot.db"
    from_file = load_pseudonymizer(db)(USER_ID)
    key_file_for(db).unlink()
    configured = "x" * 40
    p = load_pseudonymizer(db, configured)
    assert p(USER_ID) == Pseudonymizer(configured.encode())(USER_ID)
    assert p(USER_ID) != from_file
    assert not key_file_for(db).exists()


def test_hex_key_is_decoded():
    """A hex PSEUDONYM_KEY is used as the bytes it encodes."""
    assert parse_key("ab" * 32) == bytes([0xAB]) * 32
    assert parse_key("not hex but long enough, 32+ chars") == b"not hex but long enough, 32+ chars"


def test_short_configured_key_rejected(tmp_path):
    """A PSEUDONYM_KEY under 32 characters is refused with a clear message."""
    with pytest.raises(StoreError, match=r"PSEUDONYM_KEY.*at least 32"):
        load_pseudonymizer(tmp_path / "bot.db", "too-short")


def test_damaged_key_file_refused_and_left_alone(tmp_path):
    """A key file that cannot be parsed raises StoreError and is not overwritten."""
    db = tmp_path / "bot.db"
    key_file_for(db).write_text("short\n")
    with pytest.raises(StoreError, match="damaged"):
        load_pseudonymizer(db)
    assert key_file_for(db).read_text() == "short\n"


def test_unwritable_location_gives_store_error(tmp_path):
    """A key file that cannot be created (parent is a regular file) raises StoreError."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the pseudonym key file"):
        load_pseudonymizer(blocker / "bot.db")
