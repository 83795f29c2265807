"""The SQLite backend of `Store`, on aiosqlite (all SQLite work runs in its thread).

Start-up, in order, so that a file that is not ours is never modified:
1. create the parent directory; refuse a file that is not an SQLite database;
2. connect and read the schema version (PRAGMA user_version), application id and tables;
   refuse a foreign database, one whose tables do not match its version, or one newer
   than this code;
3. switch to WAL, apply the numbered migrations (bot/store/migrations/sqlite/), each in
   its own transaction together with the new user_version, and check the file is writable.
Every refusal is a StoreError naming the path and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import itertools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import fileguard
from bot.store.base import (
    UNSET,
    ChangeListener,
    GuildSet,
    GuildSettings,
    MemberPrefs,
    Store,
    StoreError,
    Unset,
    UsageCount,
    UsageRow,
    assemble_guild_settings,
    check_guild_set,
    check_id,
    check_pseudonym,
    check_usage_count,
    guild_settings_from,
    validate_prefs_changes,
    validate_settings_changes,
)
from bot.store.migrations import sqlite as schema

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

_UPSERT_USAGE = (
    "INSERT INTO usage_daily (day, guild_id, kind, key, outcome, count) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (day, guild_id, kind, key, outcome) DO UPDATE SET count = count + excluded.count"
)


def _explain(exc: BaseException) -> str:
    """What went wrong and how to fix it, from an SQLite or OS error (no data values)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL") or getattr(exc, "errno", None) == errno.ENOSPC:
        return "the disk is full. Fix: free disk space"
    if (name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"))
            or isinstance(exc, PermissionError)
            or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES)):
        return ("the database or its directory is not writable (SQLite also needs to create "
                "-wal and -shm files beside it). Fix: give the bot's user write access to "
                "the directory, or point DATABASE_PATH somewhere writable")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ("the database is locked by another process. Fix: stop the other bot "
                "instance using the same file")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return ("the file is damaged or is not an SQLite database. Fix: restore it from a "
                "backup or move it away; the bot never overwrites it")
    if name.startswith("SQLITE_IOERR") or isinstance(exc, OSError):
        return f"a disk error occurred ({name or type(exc).__name__}). Fix: check the disk"
    return f"{type(exc).__name__} {name}".strip()


def _prepare_path(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the directory {path.parent} "
                         f"({exc.strerror or type(exc).__name__}). Fix: choose a database "
                         "path in a writable directory") from None
    if not path.exists():
        return
    if not path.is_file():
        raise StoreError(f"{path}: exists but is not a file. Fix: choose another database path")
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the database ({_explain(exc)})") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"{path}: is not an SQLite database (damaged, or some other file). "
                         "Fix: restore it from a backup, or move it away to start an empty "
                         "database; the bot never overwrites it")


async def _scalar(db: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    async with db.execute(sql, tuple(params)) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


class SqliteStore(Store):
    """`Store` on one aiosqlite connection. Create with `await SqliteStore.open(path)`."""

    usage_chunk_rows = 32  # rows per executemany in add_usage (see there)

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self._db = db
        self._lock = asyncio.Lock()  # one transaction at a time on the shared connection
        self.path = path
        self.file_guard: fileguard.FileGuard | None = None

    # --- opening ---------------------------------------------------------------------
    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   busy_timeout_ms: int = 5000) -> SqliteStore:
        """Open (creating if needed) and migrate the database; StoreError if impossible."""
        path = Path(path)
        _prepare_path(path)
        fileguard.create_private(path)
        migrations = await asyncio.to_thread(schema.migrations)
        try:
            db = await aiosqlite.connect(path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the database: {_explain(exc)}") from None
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await schema.check_ours(db, path, migrations)
            await cls._configure(db, path)
            await schema.migrate(db, path, migrations, _explain)
        except StoreError:
            await db.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            await db.close()
            raise StoreError(f"{path}: cannot use the database: {_explain(exc)}") from None
        store = cls(db, path)
        store.file_guard = fileguard.FileGuard(path)
        return store

    @staticmethod
    async def _configure(db: aiosqlite.Connection, path: Path) -> None:
        mode = await _scalar(db, "PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            log.warning("%s: could not switch to WAL (journal mode is %s); writes may block "
                        "reads", path, mode)
        # NORMAL is durable in WAL mode except across power loss, and fsyncs far less.
        await db.execute("PRAGMA synchronous = NORMAL")
        # Deleted settings and preferences are overwritten, not left in free pages.
        await db.execute("PRAGMA secure_delete = ON")

    # --- plumbing --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _tx(self, what: str) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction under the lock; SQLite errors become a logged StoreError."""
        async with self._lock:
            try:
                yield self._db
                if self._db.in_transaction:
                    await self._db.commit()
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    await self._db.rollback()
                if isinstance(exc, ValueError) and not self._connected():
                    # aiosqlite reports a closed connection as ValueError, the same class
                    # as our own validation errors; it is a fault to retry, not bad data.
                    log.warning("store: %s failed (connection closed)", what)
                    raise StoreError(f"{self.path}: could not {what}: the database "
                                     "connection is closed") from None
                if isinstance(exc, sqlite3.Error | OSError):
                    reason = _explain(exc)
                    log.warning("store: %s failed (%s %s)", what, type(exc).__name__,
                                getattr(exc, "sqlite_errorname", ""))
                    raise StoreError(f"{self.path}: could not {what}: {reason}") from None
                raise

    def _connected(self) -> bool:
        # aiosqlite has no public "is open" flag; these are the attributes its own
        # methods check before raising "Connection closed".
        return (getattr(self._db, "_connection", None) is not None
                and getattr(self._db, "_running", False))

    async def _settings(self, guild_id: int) -> GuildSettings:
        db = self._db
        rows = await db.execute_fetchall(
            "SELECT region, crisis_replies, reply_mode, alert_channel_id, alert_role_id, "
            "cooldown_minutes FROM guild_settings WHERE guild_id = ?", (guild_id,))
        chans = await db.execute_fetchall(
            "SELECT channel_id FROM guild_ignored_channels WHERE guild_id = ?", (guild_id,))
        roles = await db.execute_fetchall(
            "SELECT role_id FROM guild_bypass_roles WHERE guild_id = ?", (guild_id,))
        return guild_settings_from(guild_id, next(iter(rows), None), (r[0] for r in chans),
                                   (r[0] for r in roles))

    # --- server settings -------------------------------------------------------------
    async def all_guild_settings(self) -> dict[int, GuildSettings]:
        async with self._tx("read server settings") as db:
            rows = await db.execute_fetchall(
                "SELECT guild_id, region, crisis_replies, reply_mode, alert_channel_id, "
                "alert_role_id, cooldown_minutes FROM guild_settings")
            chans = await db.execute_fetchall(
                "SELECT guild_id, channel_id FROM guild_ignored_channels")
            roles = await db.execute_fetchall("SELECT guild_id, role_id FROM guild_bypass_roles")
        return assemble_guild_settings(rows, chans, roles)

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        async with self._tx("read server settings"):
            return await self._settings(guild_id)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        values = validate_settings_changes(changes)
        async with self._tx("save server settings") as db:
            if values:
                cols = list(values)  # whitelisted names only
                await db.execute(
                    f"INSERT INTO guild_settings (guild_id, {', '.join(cols)}) "
                    f"VALUES (?{', ?' * len(cols)}) ON CONFLICT (guild_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in cols),
                    (guild_id, *values.values()))
            return await self._settings(guild_id)

    async def change_guild_set(self, guild_id: int, which: GuildSet, item_id: int,
                               add: bool) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        which = check_guild_set(which)
        item_id = check_id(which.item_field, item_id)
        table, column = _SET_TABLES[which]
        async with self._tx("save server settings") as db:
            if add:
                await db.execute(f"INSERT OR IGNORE INTO {table} (guild_id, {column}) "
                                 "VALUES (?, ?)", (guild_id, item_id))
            else:
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ? AND {column} = ?",
                                 (guild_id, item_id))
            return await self._settings(guild_id)

    async def purge_guild(self, guild_id: int) -> None:
        guild_id = check_id("guild_id", guild_id)
        async with self._tx("delete the server's data") as db:
            for table in ("guild_settings", "guild_ignored_channels", "guild_bypass_roles",
                          "usage_daily"):
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))

    # --- member preferences ------------------------------------------------------------
    async def all_member_prefs(self) -> list[MemberPrefs]:
        async with self._tx("read member preferences") as db:
            rows = await db.execute_fetchall(
                "SELECT pseudonym, crisis_replies, dm_country FROM member_prefs")
        return [MemberPrefs(p, bool(replies), country) for p, replies, country in rows]

    async def get_member_prefs(self, pseudonym: str) -> MemberPrefs:
        pseudonym = check_pseudonym(pseudonym)
        async with self._tx("read member preferences") as db:
            return await self._prefs(db, pseudonym)

    @staticmethod
    async def _prefs(db: aiosqlite.Connection, pseudonym: str) -> MemberPrefs:
        rows = await db.execute_fetchall(
            "SELECT crisis_replies, dm_country FROM member_prefs WHERE pseudonym = ?",
            (pseudonym,))
        if not rows:
            return MemberPrefs(pseudonym)
        replies, country = next(iter(rows))
        return MemberPrefs(pseudonym, bool(replies), country)

    async def set_member_prefs(self, pseudonym: str, *, crisis_replies: bool | None = None,
                               dm_country: str | Unset | None = UNSET) -> MemberPrefs:
        pseudonym = check_pseudonym(pseudonym)
        values = validate_prefs_changes(crisis_replies, dm_country)
        async with self._tx("save member preferences") as db:
            if values:
                cols = list(values)
                await db.execute(
                    f"INSERT INTO member_prefs (pseudonym, {', '.join(cols)}) "
                    f"VALUES (?{', ?' * len(cols)}) ON CONFLICT (pseudonym) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in cols),
                    (pseudonym, *values.values()))
                # A member back on the defaults has nothing worth keeping.
                await db.execute("DELETE FROM member_prefs WHERE pseudonym = ? AND "
                                 "crisis_replies = 1 AND dm_country IS NULL", (pseudonym,))
            return await self._prefs(db, pseudonym)

    # --- usage counts ------------------------------------------------------------------
    async def add_usage(self, rows: Iterable[UsageCount]) -> None:
        # Validation and tuple building are lazy, so they run in aiosqlite's thread inside
        # executemany, not on the event loop. The rows go in chunks (one transaction): the
        # thread holds the GIL between SQLite steps, and a long executemany would keep the
        # loop waiting for it for up to the 5 ms switch interval at a time; between chunks
        # the loop always gets it back.
        it = map(check_usage_count, rows)
        async with self._tx("save usage counts") as db:
            while True:
                seen = [0]
                await db.executemany(_UPSERT_USAGE, _counted(it, self.usage_chunk_rows, seen))
                if seen[0] < self.usage_chunk_rows:
                    break

    async def usage_summary(self, guild_id: int | None, since_day: dt.date) -> list[UsageRow]:
        gid = 0 if guild_id is None else check_id("guild_id", guild_id)
        async with self._tx("read usage counts") as db:
            rows = await db.execute_fetchall(
                "SELECT day, kind, key, outcome, count FROM usage_daily "
                "WHERE guild_id = ? AND day >= ? ORDER BY day, kind, key, outcome",
                (gid, since_day.isoformat()))
        return [UsageRow(dt.date.fromisoformat(d), k, key, o, c) for d, k, key, o, c in rows]

    async def delete_usage_before(self, day: dt.date) -> int:
        async with self._tx("delete old usage counts") as db:
            cur = await db.execute("DELETE FROM usage_daily WHERE day < ?", (day.isoformat(),))
            return cur.rowcount

    # --- several processes -------------------------------------------------------------
    async def watch(self, on_change: ChangeListener) -> None:
        """Nothing to watch: an SQLite file serves one process (see `bot.store.open_store`)."""

    # --- lifecycle ---------------------------------------------------------------------
    async def close(self) -> None:
        async with self._lock:
            with contextlib.suppress(ValueError):  # already closed
                await self._db.close()


def _counted(it: Iterator[Any], n: int, seen: list[int]) -> Iterator[Any]:
    for row in itertools.islice(it, n):
        seen[0] += 1
        yield row


_SET_TABLES = {
    GuildSet.IGNORED_CHANNELS: ("guild_ignored_channels", "channel_id"),
    GuildSet.BYPASS_ROLES: ("guild_bypass_roles", "role_id"),
}
