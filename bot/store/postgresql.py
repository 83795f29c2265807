"""The PostgreSQL backend of `Store`, on an asyncpg connection pool.

For several bot processes (shards) sharing one database. Behaves like the SQLite backend,
checked by the same contract tests; what differs:
- writes to settings and preferences send a NOTIFY in the same transaction, and `watch`
  LISTENs on a dedicated connection so every process's cache follows the others' writes;
- a usage flush is one statement (an upsert over arrays) whose conflicts add the counts, so
  concurrent flushes from several processes add up and never overwrite each other.
Messages name the server as ``postgresql://user@host:port/db``: never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import asyncpg

from bot.store.base import (
    UNSET,
    Changed,
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
from bot.store.migrations import postgresql as schema

log = logging.getLogger(__name__)

CHANNEL = "recovery_bot_changes"  # LISTEN/NOTIFY channel; payload "guild:<id>" or "member:<p>"
_SETTINGS_COLS = ("region, crisis_replies, reply_mode, alert_channel_id, alert_role_id, "
                  "cooldown_minutes")
_SET_TABLES = {
    GuildSet.IGNORED_CHANNELS: ("guild_ignored_channels", "channel_id"),
    GuildSet.BYPASS_ROLES: ("guild_bypass_roles", "role_id"),
}
# One statement per flush, whose conflicting rows add up. The rows travel as one JSON array
# of [day, guild_id, kind, key, outcome, count]: built in small steps on the event loop and
# sent as a single text value, where binary arrays would be encoded in one long step.
_UPSERT_USAGE = (
    "INSERT INTO usage_daily (day, guild_id, kind, key, outcome, count) "
    "SELECT (r->>0)::date, (r->>1)::bigint, r->>2, r->>3, r->>4, (r->>5)::bigint "
    "FROM json_array_elements($1::json) AS r "
    "ON CONFLICT (day, guild_id, kind, key, outcome) "
    "DO UPDATE SET count = usage_daily.count + EXCLUDED.count"
)
_STEP = 100  # rows handled per event-loop step in add_usage
# Faults of the server or the network: the operation may work later.
_FAULTS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def describe_url(url: str) -> str:
    """The URL without its password (and without query options), safe to log and show."""
    parts = urlsplit(url)
    host = parts.hostname or ",".join(parse_qs(parts.query).get("host", [])) or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{host}{port}{parts.path or '/'}"


def _explain(exc: BaseException) -> str:
    """What went wrong and how to fix it, from the error's class (never its values)."""
    if isinstance(exc, asyncpg.InvalidPasswordError
                  | asyncpg.InvalidAuthorizationSpecificationError):
        return ("the server refused the user name or password. Fix: correct them in "
                "DATABASE_URL")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "the database does not exist. Fix: create it (createdb) or correct DATABASE_URL"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return ("the user may not do this. Fix: make the bot's user the owner of its "
                "database")
    if isinstance(exc, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return "the server is starting, stopping or full. Fix: retry shortly"
    if isinstance(exc, socket.gaierror):
        return "the host name could not be resolved. Fix: check the host in DATABASE_URL"
    if isinstance(exc, ConnectionRefusedError):
        return ("nothing accepts connections there. Fix: start PostgreSQL, or check the host "
                "and port in DATABASE_URL")
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time. Fix: check that it is up and reachable"
    if isinstance(exc, asyncpg.PostgresError):
        return (f"the server reported {type(exc).__name__} "
                f"(SQLSTATE {getattr(exc, 'sqlstate', '?')})")
    return f"{type(exc).__name__}. Fix: check that the server is up and reachable"


class PostgresStore(Store):
    """`Store` on an asyncpg pool. Create with `await PostgresStore.open(url)`."""

    def __init__(self, pool: asyncpg.Pool, url: str):
        self._pool = pool
        self._url = url
        self.where = describe_url(url)
        self._listener: asyncpg.Connection | None = None
        self._on_change: ChangeListener | None = None
        self._relisten: asyncio.Task[None] | None = None
        self._closed = False

    # --- opening ---------------------------------------------------------------------
    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 4,
                   connect_timeout: float = 10.0) -> PostgresStore:
        """Connect, refuse a foreign or newer database, migrate; StoreError if impossible."""
        where = describe_url(url)
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                             timeout=connect_timeout,
                                             command_timeout=30)
        except _FAULTS as exc:
            raise StoreError(f"{where}: cannot connect to the database: "
                             f"{_explain(exc)}") from None
        except (ValueError, asyncpg.ClientConfigurationError):
            raise StoreError(f"{where}: DATABASE_URL is not a valid PostgreSQL URL. Fix: "
                             "write it as postgresql://user:password@host:5432/database"
                             ) from None
        try:
            async with pool.acquire() as conn:
                await schema.migrate(cast(asyncpg.Connection, conn), where, schema.migrations())
        except StoreError:
            await pool.close()
            raise
        except _FAULTS as exc:
            await pool.close()
            raise StoreError(f"{where}: cannot prepare the database: {_explain(exc)}") from None
        return cls(pool, url)

    # --- plumbing --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _tx(self, what: str, *, transaction: bool = True
                  ) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, in a transaction unless the caller runs one statement (which
        is atomic anyway, and saves the BEGIN and COMMIT round trips); faults become a logged
        StoreError."""
        try:
            async with self._pool.acquire() as proxy:
                # The pool hands out a proxy that forwards every call to its Connection.
                conn = cast(asyncpg.Connection, proxy)
                if not transaction:
                    yield conn
                    return
                async with conn.transaction():
                    yield conn
        except _FAULTS as exc:
            log.warning("store: %s failed (%s)", what, type(exc).__name__)
            raise StoreError(f"{self.where}: could not {what}: {_explain(exc)}") from None

    @staticmethod
    async def _notify(conn: asyncpg.Connection, what: Changed, key: object) -> None:
        # Delivered to the listeners when the transaction commits, not before.
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{what}:{key}")

    @staticmethod
    async def _settings(conn: asyncpg.Connection, guild_id: int) -> GuildSettings:
        row = await conn.fetchrow(f"SELECT {_SETTINGS_COLS} FROM guild_settings "
                                  "WHERE guild_id = $1", guild_id)
        chans = await conn.fetch("SELECT channel_id FROM guild_ignored_channels "
                                 "WHERE guild_id = $1", guild_id)
        roles = await conn.fetch("SELECT role_id FROM guild_bypass_roles WHERE guild_id = $1",
                                 guild_id)
        return guild_settings_from(guild_id, None if row is None else tuple(row),
                                   (r[0] for r in chans), (r[0] for r in roles))

    # --- server settings -------------------------------------------------------------
    async def all_guild_settings(self) -> dict[int, GuildSettings]:
        async with self._tx("read server settings") as conn:
            rows = await conn.fetch(f"SELECT guild_id, {_SETTINGS_COLS} FROM guild_settings")
            chans = await conn.fetch("SELECT guild_id, channel_id FROM guild_ignored_channels")
            roles = await conn.fetch("SELECT guild_id, role_id FROM guild_bypass_roles")
        return assemble_guild_settings(rows, chans, roles)

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        async with self._tx("read server settings") as conn:
            return await self._settings(conn, guild_id)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        values = validate_settings_changes(changes)
        async with self._tx("save server settings") as conn:
            if values:
                await _upsert(conn, "guild_settings", "guild_id", guild_id, values)
                await self._notify(conn, Changed.GUILD, guild_id)
            return await self._settings(conn, guild_id)

    async def change_guild_set(self, guild_id: int, which: GuildSet, item_id: int,
                               add: bool) -> GuildSettings:
        guild_id = check_id("guild_id", guild_id)
        which = check_guild_set(which)
        item_id = check_id(which.item_field, item_id)
        table, column = _SET_TABLES[which]
        async with self._tx("save server settings") as conn:
            if add:
                await conn.execute(f"INSERT INTO {table} (guild_id, {column}) VALUES ($1, $2) "
                                   "ON CONFLICT DO NOTHING", guild_id, item_id)
            else:
                await conn.execute(f"DELETE FROM {table} WHERE guild_id = $1 AND "
                                   f"{column} = $2", guild_id, item_id)
            await self._notify(conn, Changed.GUILD, guild_id)
            return await self._settings(conn, guild_id)

    async def purge_guild(self, guild_id: int) -> None:
        guild_id = check_id("guild_id", guild_id)
        async with self._tx("delete the server's data") as conn:
            for table in ("guild_settings", "guild_ignored_channels", "guild_bypass_roles",
                          "usage_daily"):
                await conn.execute(f"DELETE FROM {table} WHERE guild_id = $1", guild_id)
            await self._notify(conn, Changed.GUILD, guild_id)

    # --- member preferences ------------------------------------------------------------
    async def all_member_prefs(self) -> list[MemberPrefs]:
        async with self._tx("read member preferences") as conn:
            rows = await conn.fetch("SELECT pseudonym, crisis_replies, dm_country "
                                    "FROM member_prefs")
        return [MemberPrefs(*r) for r in rows]

    @staticmethod
    async def _prefs(conn: asyncpg.Connection, pseudonym: str) -> MemberPrefs:
        row = await conn.fetchrow("SELECT crisis_replies, dm_country FROM member_prefs "
                                  "WHERE pseudonym = $1", pseudonym)
        return MemberPrefs(pseudonym) if row is None else MemberPrefs(pseudonym, *row)

    async def get_member_prefs(self, pseudonym: str) -> MemberPrefs:
        pseudonym = check_pseudonym(pseudonym)
        async with self._tx("read member preferences") as conn:
            return await self._prefs(conn, pseudonym)

    async def set_member_prefs(self, pseudonym: str, *, crisis_replies: bool | None = None,
                               dm_country: str | Unset | None = UNSET) -> MemberPrefs:
        pseudonym = check_pseudonym(pseudonym)
        values = validate_prefs_changes(crisis_replies, dm_country)
        async with self._tx("save member preferences") as conn:
            if values:
                await _upsert(conn, "member_prefs", "pseudonym", pseudonym, values)
                # A member back on the defaults has nothing worth keeping.
                await conn.execute("DELETE FROM member_prefs WHERE pseudonym = $1 AND "
                                   "crisis_replies AND dm_country IS NULL", pseudonym)
                await self._notify(conn, Changed.MEMBER, pseudonym)
            return await self._prefs(conn, pseudonym)

    # --- usage counts ------------------------------------------------------------------
    async def add_usage(self, rows: Iterable[UsageCount]) -> None:
        # Summed, because one statement may not update the same row twice; sorted, so that
        # concurrent flushes lock rows in the same order (no deadlocks). A big batch is
        # handled _STEP rows at a time so that it never holds the event loop for long.
        totals: dict[tuple, int] = {}
        for i, row in enumerate(rows, start=1):
            *k, count = check_usage_count(row)
            totals[tuple(k)] = totals.get(tuple(k), 0) + count
            if i % _STEP == 0:
                await asyncio.sleep(0)
        if not totals:
            return
        keys = sorted(totals)
        parts = []
        for i in range(0, len(keys), _STEP):
            parts.append(json.dumps([[*k, totals[k]] for k in keys[i:i + _STEP]])[1:-1])
            await asyncio.sleep(0)
        async with self._tx("save usage counts", transaction=False) as conn:
            await conn.execute(_UPSERT_USAGE, f"[{','.join(parts)}]")

    async def usage_summary(self, guild_id: int | None, since_day: dt.date) -> list[UsageRow]:
        gid = 0 if guild_id is None else check_id("guild_id", guild_id)
        async with self._tx("read usage counts") as conn:
            rows = await conn.fetch(
                "SELECT day, kind, key, outcome, count FROM usage_daily "
                "WHERE guild_id = $1 AND day >= $2 ORDER BY day, kind, key, outcome",
                gid, since_day)
        return [UsageRow(*r) for r in rows]

    async def delete_usage_before(self, day: dt.date) -> int:
        async with self._tx("delete old usage counts", transaction=False) as conn:
            status = await conn.execute("DELETE FROM usage_daily WHERE day < $1", day)
        return int(status.split()[-1])

    # --- several processes -------------------------------------------------------------
    async def watch(self, on_change: ChangeListener) -> None:
        """LISTEN for other processes' writes; StoreError if the listener cannot connect."""
        self._on_change = on_change
        try:
            await self._listen()
        except _FAULTS as exc:
            raise StoreError(f"{self.where}: cannot listen for changes made by other "
                             f"processes: {_explain(exc)}") from None

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=10)
        await conn.add_listener(CHANNEL, self._notified)
        conn.add_termination_listener(self._listener_lost)
        self._listener = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        what, _, key = payload.partition(":")
        if self._on_change is not None and what in (Changed.GUILD, Changed.MEMBER):
            self._on_change(Changed(what), key)

    def _listener_lost(self, _conn: object) -> None:
        if self._closed or (self._relisten is not None and not self._relisten.done()):
            return
        log.warning("store: lost the connection that listens for other processes' changes; "
                    "reconnecting")
        self._relisten = asyncio.get_running_loop().create_task(self._reconnect(),
                                                                name="store-relisten")

    async def _reconnect(self) -> None:
        delay = 1.0
        while not self._closed:
            await asyncio.sleep(delay)
            try:
                await self._listen()
            except _FAULTS as exc:
                log.warning("store: reconnecting the change listener failed (%s)",
                            type(exc).__name__)
                delay = min(delay * 2, 60.0)
                continue
            if self._on_change is not None:
                self._on_change(Changed.ALL, "")  # notices sent meanwhile were missed
            return

    # --- lifecycle ---------------------------------------------------------------------
    async def close(self) -> None:
        self._closed = True
        if self._relisten is not None:
            self._relisten.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relisten
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), timeout=5)
            self._listener = None
        try:
            await asyncio.wait_for(self._pool.close(), timeout=10)
        except (TimeoutError, *_FAULTS):
            self._pool.terminate()


async def _upsert(conn: asyncpg.Connection, table: str, key_col: str, key: object,
                  values: dict[str, Any]) -> None:
    """Insert or update one row; `values` has validated, whitelisted column names only."""
    cols = list(values)
    marks = ", ".join(f"${i}" for i in range(2, len(cols) + 2))
    await conn.execute(f"INSERT INTO {table} ({key_col}, {', '.join(cols)}) VALUES ($1, {marks}) "
                       f"ON CONFLICT ({key_col}) DO UPDATE SET "
                       + ", ".join(f"{c} = EXCLUDED.{c}" for c in cols), key, *values.values())
