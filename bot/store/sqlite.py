"""The SQLite backend of `Store`, on aiosqlite (all SQLite work runs in its thread).

Start-up, in order, so that a file that is not ours is never modified:
1. create the parent directory; refuse a file that is not an SQLite database;
2. connect and read the schema version (PRAGMA user_version), application id and tables;
   refuse a foreign database, one whose tables do not match its version, or one newer
   than this code;
3. switch to WAL, apply the numbered migrations (bot/store/migrations/NNNN_*.sql), each in
   its own transaction together with the new user_version, and check the file is writable.
Every refusal is a StoreError naming the path and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import itertools
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import fileguard
from bot.store.base import (
    UNSET,
    GuildSettings,
    MemberPrefs,
    Store,
    StoreError,
    Unset,
    UsageCount,
    UsageRow,
    _snowflake,
    check_usage_count,
    normalize_region,
    validate_settings_changes,
)

log = logging.getLogger(__name__)

APPLICATION_ID = 1380077396  # b"RBOT"; set by 0001_initial.sql
SQLITE_HEADER = b"SQLite format 3\x00"
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_PSEUDONYM_RE = re.compile(r"^[0-9a-f]{64}$")

_UPSERT_USAGE = (
    "INSERT INTO usage_daily (day, guild_id, kind, key, outcome, count) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (day, guild_id, kind, key, outcome) DO UPDATE SET count = count + excluded.count"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@functools.cache
def load_migrations() -> tuple[Migration, ...]:
    """The migrations shipped in the package, in order; versions must run 1, 2, 3..."""
    folder = resources.files("bot.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for i, m in enumerate(found, start=1):
        if m.version != i:
            raise StoreError(f"bot/store/migrations/{m.name}: expected migration number "
                             f"{i:04d}. Fix: number migrations 0001, 0002, ... without gaps")
    return tuple(found)


def _expected_tables(migrations: tuple[Migration, ...], version: int) -> dict[str, tuple]:
    """Table -> column names after applying migrations 1..version to an empty database."""
    mem = sqlite3.connect(":memory:")
    try:
        for m in migrations[:version]:
            mem.executescript(m.sql)
        return _tables(mem)
    finally:
        mem.close()


def _tables(conn: sqlite3.Connection) -> dict[str, tuple]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')) for n in names}


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

    # --- opening ---------------------------------------------------------------------
    @classmethod
    async def open(cls, path: str | os.PathLike[str], *,
                   busy_timeout_ms: int = 5000) -> SqliteStore:
        """Open (creating if needed) and migrate the database; StoreError if impossible."""
        path = Path(path)
        _prepare_path(path)
        fileguard.create_private(path)
        migrations = await asyncio.to_thread(load_migrations)
        try:
            db = await aiosqlite.connect(path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the database: {_explain(exc)}") from None
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await cls._check_ours(db, path, migrations)
            await cls._configure(db, path)
            await cls._migrate(db, path, migrations)
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
    async def _check_ours(db: aiosqlite.Connection, path: Path,
                          migrations: tuple[Migration, ...]) -> None:
        # Read-only checks: nothing is written before the file is known to be ours.
        version = await _scalar(db, "PRAGMA user_version")
        app_id = await _scalar(db, "PRAGMA application_id")
        async with db.execute("SELECT count(*) FROM sqlite_master") as cur:
            objects = (await cur.fetchone())[0]
        if version == 0 and app_id == 0 and objects == 0:
            return  # new, empty database
        if app_id != APPLICATION_ID:
            raise StoreError(f"{path}: is an SQLite database of some other program (its "
                             "tables are not this bot's). Fix: point DATABASE_PATH at a new "
                             "file; the bot never overwrites another database")
        if version > len(migrations):
            raise StoreError(f"{path}: has schema version {version}, newer than this version "
                             f"of the bot knows (up to {len(migrations)}). Fix: run the newer "
                             "bot, or restore a backup made by this version")
        expected = await asyncio.to_thread(_expected_tables, migrations, version)
        actual = await db.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        found = {}
        for (name,) in actual:
            cols = await db.execute_fetchall(f'PRAGMA table_info("{name}")')
            found[name] = tuple(c[1] for c in cols)
        if found != expected:
            raise StoreError(f"{path}: its tables do not match schema version {version} "
                             "(changed by hand, or damaged). Fix: restore it from a backup, or "
                             "move it away to start an empty database")
        async with db.execute("PRAGMA quick_check") as cur:
            verdict = [r[0] for r in await cur.fetchall()]
        if verdict != ["ok"]:
            raise StoreError(f"{path}: the database is damaged (integrity check failed). Fix: "
                             "restore it from a backup, or move it away to start empty")

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

    @staticmethod
    async def _migrate(db: aiosqlite.Connection, path: Path,
                       migrations: tuple[Migration, ...]) -> None:
        current = await _scalar(db, "PRAGMA user_version")
        for m in migrations[current:]:
            try:
                await db.executescript(f"BEGIN IMMEDIATE;\n{m.sql}\n;"
                                       f"PRAGMA user_version = {m.version};\nCOMMIT;")
            except (sqlite3.Error, OSError) as exc:
                with contextlib.suppress(sqlite3.Error):
                    await db.rollback()
                raise StoreError(f"{path}: migration {m.name} failed, the database is left at "
                                 f"schema version {current}: {_explain(exc)}") from None
            current = m.version
            log.info("%s: applied migration %s", path, m.name)
        # Prove the file is writable now rather than at the first crisis reply: rewrite the
        # version in a transaction (a real page write to the WAL).
        await db.executescript(f"BEGIN IMMEDIATE; PRAGMA user_version = {current}; COMMIT;")

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
        base = _settings_from_row(guild_id, next(iter(rows), None))
        return _with_sets(base, frozenset(r[0] for r in chans), frozenset(r[0] for r in roles))

    # --- server settings -------------------------------------------------------------
    async def all_guild_settings(self) -> dict[int, GuildSettings]:
        async with self._tx("read server settings") as db:
            rows = await db.execute_fetchall(
                "SELECT guild_id, region, crisis_replies, reply_mode, alert_channel_id, "
                "alert_role_id, cooldown_minutes FROM guild_settings")
            chans = await db.execute_fetchall(
                "SELECT guild_id, channel_id FROM guild_ignored_channels")
            roles = await db.execute_fetchall("SELECT guild_id, role_id FROM guild_bypass_roles")
        out = {r[0]: _settings_from_row(r[0], r[1:]) for r in rows}
        ch: dict[int, set[int]] = {}
        ro: dict[int, set[int]] = {}
        for g, c in chans:
            ch.setdefault(g, set()).add(c)
        for g, r in roles:
            ro.setdefault(g, set()).add(r)
        for g in ch.keys() | ro.keys():
            out[g] = _with_sets(out.get(g) or GuildSettings(g),
                                frozenset(ch.get(g, ())), frozenset(ro.get(g, ())))
        return out

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        guild_id = _id("guild_id", guild_id)
        async with self._tx("read server settings"):
            return await self._settings(guild_id)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        guild_id = _id("guild_id", guild_id)
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

    async def _set_member(self, table: str, column: str, guild_id: int, item_id: int,
                          add: bool, field: str) -> GuildSettings:
        guild_id = _id("guild_id", guild_id)
        item_id = _id(field, item_id)
        async with self._tx("save server settings") as db:
            if add:
                await db.execute(f"INSERT OR IGNORE INTO {table} (guild_id, {column}) "
                                 "VALUES (?, ?)", (guild_id, item_id))
            else:
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ? AND {column} = ?",
                                 (guild_id, item_id))
            return await self._settings(guild_id)

    async def add_ignored_channel(self, guild_id: int, channel_id: int) -> GuildSettings:
        return await self._set_member("guild_ignored_channels", "channel_id", guild_id,
                                      channel_id, True, "channel_id")

    async def remove_ignored_channel(self, guild_id: int, channel_id: int) -> GuildSettings:
        return await self._set_member("guild_ignored_channels", "channel_id", guild_id,
                                      channel_id, False, "channel_id")

    async def add_bypass_role(self, guild_id: int, role_id: int) -> GuildSettings:
        return await self._set_member("guild_bypass_roles", "role_id", guild_id, role_id,
                                      True, "role_id")

    async def remove_bypass_role(self, guild_id: int, role_id: int) -> GuildSettings:
        return await self._set_member("guild_bypass_roles", "role_id", guild_id, role_id,
                                      False, "role_id")

    async def purge_guild(self, guild_id: int) -> None:
        guild_id = _id("guild_id", guild_id)
        async with self._tx("delete the server's data") as db:
            for table in ("guild_settings", "guild_ignored_channels", "guild_bypass_roles",
                          "usage_daily"):
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))

    # --- member preferences ------------------------------------------------------------
    async def get_member_prefs(self, pseudonym: str) -> MemberPrefs:
        pseudonym = _pseudonym(pseudonym)
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
        pseudonym = _pseudonym(pseudonym)
        values: dict[str, Any] = {}
        if crisis_replies is not None:
            if not isinstance(crisis_replies, bool):
                raise ValueError("crisis_replies: must be True, False or None (unchanged)")
            values["crisis_replies"] = crisis_replies
        if dm_country is not UNSET:
            values["dm_country"] = normalize_region(dm_country, "dm_country")
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

    async def delete_member_prefs(self, pseudonym: str) -> None:
        """Forget a member's preferences entirely."""
        pseudonym = _pseudonym(pseudonym)
        async with self._tx("delete member preferences") as db:
            await db.execute("DELETE FROM member_prefs WHERE pseudonym = ?", (pseudonym,))

    async def opted_out_pseudonyms(self) -> set[str]:
        async with self._tx("read member preferences") as db:
            rows = await db.execute_fetchall(
                "SELECT pseudonym FROM member_prefs WHERE crisis_replies = 0")
        return {r[0] for r in rows}

    async def dm_countries(self) -> dict[str, str]:
        async with self._tx("read member preferences") as db:
            rows = await db.execute_fetchall(
                "SELECT pseudonym, dm_country FROM member_prefs WHERE dm_country IS NOT NULL")
        return {r[0]: r[1] for r in rows}

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
        gid = 0 if guild_id is None else _id("guild_id", guild_id)
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

    # --- lifecycle ---------------------------------------------------------------------
    async def schema_version(self) -> int:
        async with self._tx("read the schema version") as db:
            return int(await _scalar(db, "PRAGMA user_version"))

    async def close(self) -> None:
        async with self._lock:
            with contextlib.suppress(ValueError):  # already closed
                await self._db.close()


def _counted(it: Iterator[Any], n: int, seen: list[int]) -> Iterator[Any]:
    for row in itertools.islice(it, n):
        seen[0] += 1
        yield row


def _id(field: str, value: object) -> int:
    out = _snowflake(field, value)
    if out is None:
        raise ValueError(f"{field}: must be a Discord id (a positive integer)")
    return out


def _pseudonym(value: object) -> str:
    # Catches a caller passing a raw user id (or its string) by mistake.
    if isinstance(value, str) and _PSEUDONYM_RE.match(value):
        return value
    raise ValueError("pseudonym: must be a pseudonym from Pseudonymizer (64 lower-case hex "
                     "characters), never a user id")


def _settings_from_row(guild_id: int, row: Any) -> GuildSettings:
    if row is None:
        return GuildSettings(guild_id)
    region, replies, mode, alert_ch, alert_role, cooldown = row
    return GuildSettings(guild_id, region, bool(replies), mode, alert_ch, alert_role, cooldown)


def _with_sets(s: GuildSettings, chans: frozenset[int], roles: frozenset[int]) -> GuildSettings:
    return GuildSettings(s.guild_id, s.region, s.crisis_replies, s.reply_mode,
                         s.alert_channel_id, s.alert_role_id, s.cooldown_minutes, chans, roles)
