"""Another connection holding the database's write lock, as a second process would."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path


@contextlib.asynccontextmanager
async def write_lock_held(db_path: Path, seconds: float = 30) -> AsyncIterator[None]:
    """Hold BEGIN EXCLUSIVE on `db_path` (at most `seconds`) until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        db = sqlite3.connect(db_path, timeout=0)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(seconds)
        db.rollback()
        db.close()

    holder = threading.Thread(target=hold, name="test-db-lock")
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5), "could not lock the database"
        yield
    finally:
        release.set()
        await asyncio.to_thread(holder.join)
