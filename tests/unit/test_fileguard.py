"""The database file: created private, and noticed when deleted or replaced at run time."""

from __future__ import annotations

import logging
import os
import stat

from bot.store import SqliteStore
from bot.store.fileguard import FileGuard


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_a_new_database_and_its_wal_are_readable_by_the_owner_only(tmp_path):
    old = os.umask(0o022)  # the usual default, which would give 0644
    try:
        store = await SqliteStore.open(tmp_path / "data" / "bot.sqlite3")
    finally:
        os.umask(old)
    try:
        await store.set_member_prefs("a" * 64, crisis_replies=False)
        assert mode(tmp_path / "data" / "bot.sqlite3") == 0o600
        assert mode(tmp_path / "data" / "bot.sqlite3-wal") == 0o600
    finally:
        await store.close()


async def test_an_existing_shared_database_is_left_alone_with_a_warning(tmp_path, caplog):
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    store = await SqliteStore.open(path)
    await store.close()
    assert mode(path) == 0o644
    assert any("chmod 600" in r.getMessage() for r in caplog.records)


def test_guard_notices_deletion_and_replacement_and_logs_once(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"x")
    with path.open("rb"):  # held open, as SQLite does, so its inode is not reused
        guard = FileGuard(path)
        assert guard.problem() is None
        path.unlink()
        assert "was deleted" in guard.problem()
        assert "was deleted" in guard.problem()
        assert len(caplog.records) == 1
        path.write_bytes(b"y")  # a new file under the same name
        assert "was replaced" in guard.problem()
