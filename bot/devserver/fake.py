"""A local fake of Discord's REST API and gateway for end-to-end tests.

The fake speaks just enough of Discord's wire protocol for discord.py's *real* HTTP and
gateway code to run against it: a bot logs in, identifies, receives READY and GUILD_CREATE,
syncs its application commands, and answers interactions and messages that a test
dispatches.  Everything the bot sends over REST is recorded so a test can assert on it, and
any route can be made to fail or stall.

It binds to 127.0.0.1 only.  See DEVELOPERS.md for the discord.py patch points and gotchas.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict

DEFAULT_TOKEN = "fake-bot-token"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intent bits that matter to the fake (https://discord.com/developers/docs/events/gateway).
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits used by the default world.
P_ADD_REACTIONS = 1 << 6
P_ADMINISTRATOR = 1 << 3
P_KICK_MEMBERS = 1 << 1
P_VIEW_CHANNEL = 1 << 10
P_SEND_MESSAGES = 1 << 11
P_MANAGE_MESSAGES = 1 << 13
P_EMBED_LINKS = 1 << 14
P_ATTACH_FILES = 1 << 15
P_READ_MESSAGE_HISTORY = 1 << 16
P_USE_APPLICATION_COMMANDS = 1 << 31
P_CREATE_PUBLIC_THREADS = 1 << 35
P_SEND_MESSAGES_IN_THREADS = 1 << 38
P_MODERATE_MEMBERS = 1 << 40
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_PERMISSIONS = (
    P_VIEW_CHANNEL
    | P_SEND_MESSAGES
    | P_READ_MESSAGE_HISTORY
    | P_EMBED_LINKS
    | P_ATTACH_FILES
    | P_ADD_REACTIONS
    | P_USE_APPLICATION_COMMANDS
    | P_CREATE_PUBLIC_THREADS
    | P_SEND_MESSAGES_IN_THREADS
)

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
GUILD_FORUM = 15

# Interaction and callback types.
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")
_API_PREFIX = re.compile(r"^/api(?:/v\d+)?")

Reply = tuple[int, Any] | web.StreamResponse
Handler = Callable[["RecordedRequest", "re.Match[str]"], Reply | Awaitable[Reply]]


def now_iso() -> str:
    """Current UTC time in the ISO 8601 form Discord uses for timestamps."""
    return dt.datetime.now(dt.UTC).isoformat()


class SnowflakeFactory:
    """Makes increasing snowflake ids that decode to the current time, like Discord's."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
            self._last = max(self._last + 1, candidate)
            return self._last


_snowflake = SnowflakeFactory()


# --------------------------------------------------------------------------------------
# Payload builders (pure: they only shape dicts the way Discord's API does)
# --------------------------------------------------------------------------------------


def make_user(
    user_id: int | None = None,
    username: str = "user",
    *,
    global_name: str | None = None,
    bot: bool = False,
) -> dict[str, Any]:
    """A Discord user object."""
    return {
        "id": str(user_id or _snowflake()),
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def make_role(
    role_id: int | None = None,
    name: str = "role",
    *,
    permissions: int = 0,
    position: int = 1,
    managed: bool = False,
    bot_id: int | None = None,
) -> dict[str, Any]:
    """A Discord role object (pass ``bot_id`` for a bot's managed integration role)."""
    role: dict[str, Any] = {
        "id": str(role_id or _snowflake()),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        role["tags"] = {"bot_id": str(bot_id)}
    return role


def make_member(
    user: Mapping[str, Any],
    *,
    roles: list[int] | None = None,
    nick: str | None = None,
    joined_at: str | None = None,
) -> dict[str, Any]:
    """A guild member object with its nested user."""
    return {
        "user": dict(user),
        "nick": nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in roles or []],
        "joined_at": joined_at or now_iso(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }


def make_channel(
    channel_type: int,
    name: str,
    *,
    channel_id: int | None = None,
    guild_id: int | None = None,
    parent_id: int | None = None,
    position: int = 0,
    owner_id: int | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    """A guild channel object: text (0), category (4), public thread (11) or forum (15)."""
    channel: dict[str, Any] = {
        "id": str(channel_id or _snowflake()),
        "type": channel_type,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": str(parent_id) if parent_id else None,
        "nsfw": False,
        "flags": 0,
        "rate_limit_per_user": 0,
    }
    if guild_id is not None:
        channel["guild_id"] = str(guild_id)
    if channel_type in (GUILD_TEXT, GUILD_FORUM):
        channel["topic"] = topic
        channel["last_message_id"] = None
        channel["default_auto_archive_duration"] = 1440
    if channel_type == GUILD_FORUM:
        channel.update(
            available_tags=[],
            default_reaction_emoji=None,
            default_sort_order=None,
            default_forum_layout=0,
            default_thread_rate_limit_per_user=0,
        )
    if channel_type == PUBLIC_THREAD:
        channel.update(
            owner_id=str(owner_id or 0),
            last_message_id=None,
            message_count=0,
            member_count=1,
            total_message_sent=0,
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        )
    return channel


def make_guild(
    guild_id: int | None = None,
    name: str = "Test Guild",
    *,
    owner_id: int,
    preferred_locale: str = "en-US",
    roles: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    threads: list[dict[str, Any]] | None = None,
    members: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A full GUILD_CREATE guild object. ``roles`` should start with @everyone (id = guild id)."""
    gid = guild_id or _snowflake()
    roles = roles or [make_role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0)]
    members = members or []
    return {
        "id": str(gid),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "preferred_locale": preferred_locale,
        "features": [],
        "roles": roles,
        "emojis": [],
        "stickers": [],
        "channels": channels or [],
        "threads": threads or [],
        "members": members,
        "member_count": len(members),
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "large": False,
        "unavailable": False,
        "joined_at": now_iso(),
        "application_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
    }


# --------------------------------------------------------------------------------------
# Recording and failure injection
# --------------------------------------------------------------------------------------


@dataclass
class RecordedFile:
    """A file uploaded in a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One REST request the fake received, with its parsed body and the status it answered.

    ``path`` is relative to the API base (``/channels/1/messages``); ``json`` is the JSON
    body, or the ``payload_json`` field of a multipart body; ``headers`` is case-insensitive.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[RecordedFile] = field(default_factory=list)
    status: int | None = None
    reset: bool = False  # the fake dropped the connection instead of answering

    def matches(self, method: str, path_regex: str) -> bool:
        """Whether this request has ``method`` ('*' for any) and a path fully matching."""
        return (method == "*" or self.method == method.upper()) and bool(
            re.fullmatch(path_regex, self.path)
        )


@dataclass
class RouteRule:
    """A failure or delay injected on routes matching ``method`` and ``path_regex``."""

    method: str
    path_regex: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None
    hits: int = 0
    reset: str | None = None  # "before" or "after" handling: drop the connection

    def applies(self, method: str, path: str) -> bool:
        """Whether the rule is still live and matches this request."""
        if self.times is not None and self.hits >= self.times:
            return False
        return (self.method == "*" or self.method == method) and bool(
            re.fullmatch(self.path_regex, path)
        )


def discord_error(code: int, message: str, errors: Any = None) -> dict[str, Any]:
    """Discord's JSON error body."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return body


def _json_response(status: int, body: Any) -> web.Response:
    # discord.py compares the Content-Type header to exactly 'application/json'; aiohttp's
    # json_response would append '; charset=utf-8' and the body would be read as text.
    if status == 204 or body is None:
        return web.Response(status=204)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


# --------------------------------------------------------------------------------------
# Limits Discord enforces server-side (a subset; enough to catch over-long bot output)
# --------------------------------------------------------------------------------------


def message_body_problems(body: Mapping[str, Any]) -> dict[str, str]:
    """Form-field errors Discord would report for a message create/edit body."""
    problems: dict[str, str] = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > 2000:
        problems["content"] = "Must be 2000 or fewer in length."
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    for i, embed in enumerate(embeds):
        total = 0
        limits = [("title", 256), ("description", 4096)]
        for key, limit in limits:
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                problems[f"embeds.{i}.{key}"] = f"Must be {limit} or fewer in length."
        for key, sub, limit in [("footer", "text", 2048), ("author", "name", 256)]:
            text = (embed.get(key) or {}).get(sub) or ""
            total += len(text)
            if len(text) > limit:
                problems[f"embeds.{i}.{key}.{sub}"] = f"Must be {limit} or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, fld in enumerate(fields):
            name, value = fld.get("name") or "", fld.get("value") or ""
            total += len(name) + len(value)
            if not name or len(name) > 256:
                problems[f"embeds.{i}.fields.{j}.name"] = "Must be between 1 and 256 in length."
            if not value or len(value) > 1024:
                problems[f"embeds.{i}.fields.{j}.value"] = "Must be between 1 and 1024 in length."
        if total > 6000:
            problems[f"embeds.{i}"] = "Embed size exceeds maximum size of 6000"
    return problems


def autocomplete_problems(body: Mapping[str, Any]) -> dict[str, str]:
    """Form-field errors Discord would report for an autocomplete (type 8) callback."""
    problems: dict[str, str] = {}
    choices = (body.get("data") or {}).get("choices")
    if choices is None:
        return {"data.choices": "This field is required"}
    if len(choices) > 25:
        problems["data.choices"] = "Must be 25 or fewer in length."
    for i, choice in enumerate(choices):
        name = choice.get("name") or ""
        if not 1 <= len(name) <= 100:
            problems[f"data.choices.{i}.name"] = "Must be between 1 and 100 in length."
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            problems[f"data.choices.{i}.value"] = "Must be 100 or fewer in length."
    return problems


def command_problems(commands: list[Mapping[str, Any]]) -> dict[str, str]:
    """Form-field errors Discord would report for a bulk command overwrite."""
    problems: dict[str, str] = {}
    if len(commands) > 100:
        problems["_"] = "Maximum number of application commands reached (100)."
    name_re = re.compile(r"^[-_'\w]{1,32}$")
    for i, cmd in enumerate(commands):
        name = cmd.get("name") or ""
        if cmd.get("type", 1) == 1:
            if not name_re.match(name) or name != name.lower():
                problems[f"{i}.name"] = "Command name is invalid"
            if not 1 <= len(cmd.get("description") or "") <= 100:
                problems[f"{i}.description"] = "Must be between 1 and 100 in length."
        if len(cmd.get("options") or []) > 25:
            problems[f"{i}.options"] = "Must be 25 or fewer in length."
    return problems


def _form_error(problems: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    errors = {
        k: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": v}]} for k, v in problems.items()
    }
    return 400, discord_error(50035, "Invalid Form Body", errors)


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


@dataclass
class WorldIds:
    """Ids of the default world the fake builds when no guilds are given."""

    application: int
    bot: int
    guild: int = 0
    owner: int = 0
    user: int = 0
    moderator: int = 0
    bot_role: int = 0
    mod_role: int = 0
    category: int = 0
    text_channel: int = 0
    thread: int = 0
    forum: int = 0


class _GatewayConnection:
    """One websocket client; serialises sends so zlib-stream frames stay in order."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self.lock = asyncio.Lock()
        self.identified = False
        self.intents = 0
        self.session_id: str | None = None
        self.shard: tuple[int, int] = (0, 1)  # [shard_id, num_shards] from IDENTIFY

    async def send(self, payload: Mapping[str, Any]) -> None:
        data = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            if self.zlib is not None:
                frame = self.zlib.compress(data.encode()) + self.zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(data)


class FakeDiscord:
    """A fake Discord REST API + gateway on 127.0.0.1 for discord.py end-to-end tests.

    Use ``await start()`` / ``await stop()`` (or ``async with``).  By default it builds one
    guild with a category, a text channel, a thread, a forum, three roles and four members
    (owner, an ordinary user, a moderator, the bot); their ids are in ``self.ids``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        token: str | None = DEFAULT_TOKEN,
        guilds: list[dict[str, Any]] | None = None,
        enforce_intents: bool = True,
        privileged_intents_enabled: bool = True,
        echo_bot_messages: bool = True,
        gateway_compression: bool = True,
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("FakeDiscord only binds to the loopback interface")
        self.host = host
        self.token = token
        self.enforce_intents = enforce_intents
        self.privileged_intents_enabled = privileged_intents_enabled
        self.echo_bot_messages = echo_bot_messages
        self.gateway_compression = gateway_compression
        self.heartbeat_interval_ms = heartbeat_interval_ms
        # Seconds an interaction may wait for its first callback (Discord: 3); None: forever.
        self.interaction_deadline = interaction_deadline

        self.ids = WorldIds(application=_snowflake(), bot=_snowflake())
        self.bot_user = make_user(self.ids.bot, "TestBot", bot=True)
        self.users: dict[int, dict[str, Any]] = {self.ids.bot: self.bot_user}
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.requests: list[RecordedRequest] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.gateway_sent: list[dict[str, Any]] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.gateway_modes: list[str] = []  # per connection: "zlib-stream" or "text"
        self.errors: list[Exception] = []  # exceptions raised by route handlers
        self.identify_count = 0
        self.recommended_shards = 1  # what GET /gateway/bot tells an AutoShardedBot

        self._interactions: dict[str, dict[str, Any]] = {}  # token -> state
        self._dm_by_user: dict[int, int] = {}
        self._rules: list[RouteRule] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._custom_routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._conns: set[_GatewayConnection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seq = 0
        self._session_id = f"fake-session-{_snowflake()}"
        self._request_event: asyncio.Event | None = None
        self._identified: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

        if guilds is None:
            self._build_default_world()
        else:
            for guild in guilds:
                self.add_guild(guild)
        self._register_builtin_routes()

    # ----- world --------------------------------------------------------------------------

    def _build_default_world(self) -> None:
        ids = self.ids
        ids.guild, ids.owner, ids.user, ids.moderator = (_snowflake() for _ in range(4))
        ids.bot_role, ids.mod_role = _snowflake(), _snowflake()
        ids.category, ids.text_channel, ids.thread, ids.forum = (_snowflake() for _ in range(4))
        owner = make_user(ids.owner, "owner", global_name="Server Owner")
        user = make_user(ids.user, "alice", global_name="Alice")
        moderator = make_user(ids.moderator, "mod", global_name="Mod")
        roles = [
            make_role(ids.guild, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0),
            make_role(
                ids.mod_role,
                "Moderator",
                permissions=P_MANAGE_MESSAGES | P_KICK_MEMBERS | P_MODERATE_MEMBERS,
                position=2,
            ),
            make_role(
                ids.bot_role,
                "TestBot",
                permissions=EVERYONE_PERMISSIONS | P_MANAGE_MESSAGES,
                position=1,
                managed=True,
                bot_id=ids.bot,
            ),
        ]
        gid = ids.guild
        channels = [
            make_channel(GUILD_CATEGORY, "support", channel_id=ids.category, guild_id=gid),
            make_channel(
                GUILD_TEXT, "general", channel_id=ids.text_channel, guild_id=gid,
                parent_id=ids.category, position=1,
            ),
            make_channel(
                GUILD_FORUM, "help-forum", channel_id=ids.forum, guild_id=gid,
                parent_id=ids.category, position=2,
            ),
        ]
        threads = [
            make_channel(
                PUBLIC_THREAD, "a thread", channel_id=ids.thread, guild_id=gid,
                parent_id=ids.text_channel, owner_id=ids.user,
            )
        ]
        members = [
            make_member(owner),
            make_member(user),
            make_member(moderator, roles=[ids.mod_role]),
            make_member(self.bot_user, roles=[ids.bot_role]),
        ]
        self.add_guild(
            make_guild(
                gid, "Recovery Test Guild", owner_id=ids.owner, roles=roles,
                channels=channels, threads=threads, members=members,
            )
        )

    def add_guild(self, guild: dict[str, Any]) -> dict[str, Any]:
        """Register a guild payload (see ``make_guild``); the bot member is added if absent."""
        gid = int(guild["id"])
        if not any(int(m["user"]["id"]) == self.ids.bot for m in guild["members"]):
            guild["members"].append(make_member(self.bot_user))
            guild["member_count"] = len(guild["members"])
        self.guilds[gid] = guild
        for member in guild["members"]:
            self.users.setdefault(int(member["user"]["id"]), member["user"])
        for channel in [*guild["channels"], *guild["threads"]]:
            channel["guild_id"] = str(gid)
            self.channels[int(channel["id"])] = channel
        return guild

    def add_user(self, user: dict[str, Any]) -> dict[str, Any]:
        """Register a user that is in no guild (e.g. for DM flows)."""
        self.users[int(user["id"])] = user
        return user

    def guild_of(self, channel_id: int) -> int | None:
        """The guild id a channel belongs to, or None for DMs and unknown channels."""
        channel = self.channels.get(int(channel_id))
        gid = channel.get("guild_id") if channel else None
        return int(gid) if gid else None

    def member(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        """The stored member payload (with user) or None."""
        guild = self.guilds.get(int(guild_id))
        for m in guild["members"] if guild else []:
            if int(m["user"]["id"]) == int(user_id):
                return m
        return None

    def permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions of a member (roles OR-ed; owner/admin get everything)."""
        guild = self.guilds[int(guild_id)]
        if int(guild["owner_id"]) == int(user_id):
            return ALL_PERMISSIONS
        member = self.member(guild_id, user_id)
        role_ids = {str(guild_id), *(member["roles"] if member else [])}
        perms = 0
        for role in guild["roles"]:
            if role["id"] in role_ids:
                perms |= int(role["permissions"])
        return ALL_PERMISSIONS if perms & P_ADMINISTRATOR else perms

    def dm_channel(self, user_id: int) -> dict[str, Any]:
        """The bot's DM channel with a user, created on first use (as Discord does)."""
        user_id = int(user_id)
        if user_id not in self._dm_by_user:
            cid = _snowflake()
            self._dm_by_user[user_id] = cid
            self.channels[cid] = {
                "id": str(cid),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.users[user_id]],
            }
        return self.channels[self._dm_by_user[user_id]]

    def _user(self, user: int | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(user, Mapping):
            return self.users.setdefault(int(user["id"]), dict(user))
        return self.users[int(user)]

    # ----- lifecycle --------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        """Bind a free port on the loopback interface and start serving."""
        self._request_event = asyncio.Event()
        self._identified = asyncio.Event()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_route("*", "/api/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        family = socket.AF_INET6 if self.host == "::1" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        """Close gateway connections, cancel background work and release the port."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._conns):
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"http://{self._netloc}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (wrap in yarl.URL)."""
        return f"ws://{self._netloc}/gateway"

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----- request log ------------------------------------------------------------------

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with ``method`` ('*' for any) whose path fully matches."""
        return [r for r in self.requests if r.matches(method, path_regex)]

    async def wait_for_request(
        self, method: str, path_regex: str, timeout: float = 5.0, *, since: int = 0
    ) -> RecordedRequest:
        """The first matching request at index >= ``since`` that has been answered.

        Raises TimeoutError if none arrives in ``timeout`` seconds.  Pass
        ``since=len(fake.requests)`` to wait only for a request made from now on.
        """
        assert self._request_event is not None, "FakeDiscord.start() was not awaited"
        async with asyncio.timeout(timeout):
            while True:
                for req in self.requests[since:]:
                    if req.status is not None and req.matches(method, path_regex):
                        return req
                self._request_event.clear()
                await self._request_event.wait()

    # ----- failure injection ------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        code: int = 0,
        message: str | None = None,
        body: Any = None,
        times: int | None = None,
        retry_after: float = 0.05,
    ) -> RouteRule:
        """Make matching requests answer ``status`` with a Discord error body.

        ``times`` limits how many requests fail (None: until ``rule`` is removed with
        ``clear_rules``).  A 429 carries ``retry_after`` and the ``Via`` header discord.py
        needs to treat it as a rate limit rather than a Cloudflare ban.
        """
        headers: dict[str, str] = {}
        if body is None:
            body = discord_error(code, message or f"{status}: fake failure")
        if status == 429:
            body = {**body, "retry_after": retry_after, "global": False}
            headers = {"Via": "1.1 google", "Retry-After": str(retry_after)}
        rule = RouteRule(method.upper(), path_regex, status, body, headers, times=times)
        self._rules.append(rule)
        return rule

    def delay(
        self, method: str, path_regex: str, seconds: float, *, times: int | None = None
    ) -> RouteRule:
        """Stall matching requests for ``seconds`` before they are handled normally."""
        rule = RouteRule(method.upper(), path_regex, delay=seconds, times=times)
        self._rules.append(rule)
        return rule

    def reset(
        self, method: str, path_regex: str, *, after: bool = False, times: int | None = None
    ) -> RouteRule:
        """Drop the connection on matching requests instead of answering.

        The bot sees ``aiohttp.ServerDisconnectedError``.  With ``after=True`` the request is
        handled first (a message is created and echoed) and only the answer is lost: the
        case where the bot cannot know whether its message arrived.
        """
        rule = RouteRule(method.upper(), path_regex, times=times,
                         reset="after" if after else "before")
        self._rules.append(rule)
        return rule

    def stall(self, method: str, path_regex: str, *, times: int | None = None) -> RouteRule:
        """Never answer matching requests (until the fake stops): a hung connection."""
        return self.delay(method, path_regex, 24 * 3600.0, times=times)

    def rate_limit_headers(
        self,
        method: str,
        path_regex: str,
        *,
        remaining: int = 0,
        reset_after: float = 20.0,
        bucket: str = "fake-bucket",
        times: int | None = None,
    ) -> RouteRule:
        """Answer matching requests normally but with Discord's rate-limit headers.

        ``remaining=0`` tells discord.py the bucket is exhausted: it then waits
        ``reset_after`` seconds before its next request on that route.
        """
        headers = {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": str(reset_after),
            "X-RateLimit-Reset": str(time.time() + reset_after),
            "X-RateLimit-Bucket": bucket,
        }
        rule = RouteRule(method.upper(), path_regex, headers=headers, times=times)
        self._rules.append(rule)
        return rule

    def _reset_rule(self, rec: RecordedRequest) -> RouteRule | None:
        for rule in reversed(self._rules):
            if rule.reset is not None and rule.applies(rec.method, rec.path):
                rule.hits += 1
                return rule
        return None

    def _drop_connection(
        self, request: web.Request, rec: RecordedRequest, status: int | None
    ) -> web.StreamResponse:
        rec.reset = True
        rec.status = status if status is not None else 0
        if request.transport is not None:
            request.transport.abort()
        assert self._request_event is not None
        self._request_event.set()
        return web.Response(status=200)  # never written: the transport is gone

    def clear_rules(self, rule: RouteRule | None = None) -> None:
        """Remove one injected rule, or all of them."""
        if rule is None:
            self._rules.clear()
        else:
            self._rules.remove(rule)

    def add_route(self, method: str, path_regex: str, handler: Handler) -> None:
        """Serve a route the fake lacks (or override one).

        ``handler(request, match)`` may be sync or async and returns ``(status, json_body)``
        (body None for 204) or an aiohttp response.  Added routes win over built-in ones.
        """
        self._custom_routes.insert(0, (method.upper(), re.compile(path_regex), handler))

    # ----- REST plumbing ----------------------------------------------------------------

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = _API_PREFIX.sub("", request.path) or "/"
        rec = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
        )
        self.requests.append(rec)
        try:
            await self._parse_body(request, rec)
            reset = self._reset_rule(rec)
            if reset is not None and reset.reset == "before":
                return self._drop_connection(request, rec, None)
            response = await self._respond(rec)
            if reset is not None:
                return self._drop_connection(request, rec, response.status)
        except Exception as exc:
            # A bug in the fake (or a handler) must fail fast: a 5xx would make discord.py
            # retry for 25 s, so answer 400 and keep the exception for the test to inspect.
            self.errors.append(exc)
            response = _json_response(400, discord_error(0, f"fake error: {type(exc).__name__}"))
        rec.status = response.status
        assert self._request_event is not None
        self._request_event.set()
        return response

    async def _parse_body(self, request: web.Request, rec: RecordedRequest) -> None:
        if not request.can_read_body:
            return
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    rec.files.append(
                        RecordedFile(name, value.filename, value.content_type, value.file.read())
                    )
                else:
                    rec.form[name] = str(value)
            if "payload_json" in rec.form:
                rec.json = json.loads(rec.form["payload_json"])
        else:
            raw = await request.read()
            if raw:
                rec.json = json.loads(raw)

    async def _respond(self, rec: RecordedRequest) -> web.StreamResponse:
        extra_headers: dict[str, str] = {}
        for rule in reversed(self._rules):
            if rule.reset is None and rule.applies(rec.method, rec.path):
                rule.hits += 1
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.status is not None:
                    resp = _json_response(rule.status, rule.body)
                    resp.headers.update(rule.headers)
                    return resp
                extra_headers.update(rule.headers)
        resp = await self._respond_normally(rec)
        resp.headers.update(extra_headers)
        return resp

    async def _respond_normally(self, rec: RecordedRequest) -> web.StreamResponse:
        for method, pattern, handler in [*self._custom_routes, *self._routes]:
            if method not in ("*", rec.method):
                continue
            match = pattern.fullmatch(rec.path)
            if match is None:
                continue
            if not self._authorised(rec, handler):
                return _json_response(401, discord_error(0, "401: Unauthorized"))
            result = handler(rec, match)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, web.StreamResponse):
                return result
            status, body = result
            return _json_response(status, body)
        return _json_response(404, discord_error(0, "404: Not Found"))

    def _authorised(self, rec: RecordedRequest, handler: Handler) -> bool:
        # Interaction callbacks and webhook-token routes are authorised by the token in the
        # path; discord.py sends them without an Authorization header.
        if getattr(handler, "_no_auth", False) or self.token is None:
            return True
        return rec.headers.get("Authorization") == f"Bot {self.token}"

    def _register_builtin_routes(self) -> None:
        def route(method: str, regex: str, handler: Handler, *, auth: bool = True) -> None:
            if not auth:
                handler = _no_auth(handler)
            self._routes.append((method, re.compile(regex), handler))

        s = r"(\d+)"
        route("GET", r"/users/@me", lambda r, m: (200, self.bot_user))
        route("GET", rf"/users/{s}", self._get_user)
        route("POST", r"/users/@me/channels", self._create_dm)
        route("GET", r"/oauth2/applications/@me", lambda r, m: (200, self._app_info()))
        route("GET", r"/applications/@me", lambda r, m: (200, self._app_info()))
        route("GET", r"/gateway", lambda r, m: (200, {"url": self.gateway_url}))
        route("GET", r"/gateway/bot", lambda r, m: (200, self._gateway_bot()))
        for scope in (rf"/applications/{s}/commands", rf"/applications/{s}/guilds/{s}/commands"):
            route("GET", scope, self._get_commands)
            route("PUT", scope, self._put_commands)
            route("POST", scope, self._post_command)
            route("DELETE", scope + rf"/{s}", self._delete_command)
        route("POST", rf"/interactions/{s}/([^/]+)/callback", self._callback, auth=False)
        route("POST", rf"/webhooks/{s}/([^/]+)", self._followup, auth=False)
        msg = rf"/webhooks/{s}/([^/]+)/messages/(@original|\d+)"
        route("GET", msg, self._get_webhook_message, auth=False)
        route("PATCH", msg, self._edit_webhook_message, auth=False)
        route("DELETE", msg, self._delete_webhook_message, auth=False)
        route("GET", rf"/channels/{s}", self._get_channel)
        route("POST", rf"/channels/{s}/messages", self._create_message)
        route("GET", rf"/channels/{s}/messages", self._list_messages)
        route("GET", rf"/channels/{s}/messages/{s}", self._get_message)
        route("PATCH", rf"/channels/{s}/messages/{s}", self._edit_message)
        route("DELETE", rf"/channels/{s}/messages/{s}", self._delete_message)
        route("POST", rf"/channels/{s}/typing", lambda r, m: (204, None))
        route("PUT", rf"/channels/{s}/messages/{s}/reactions/[^/]+/@me", self._react)
        route("DELETE", rf"/channels/{s}/messages/{s}/reactions/[^/]+/@me", self._react)
        route("GET", rf"/guilds/{s}", self._get_guild)
        route("GET", rf"/guilds/{s}/channels", self._get_guild_channels)
        route("GET", rf"/guilds/{s}/roles", self._get_guild_roles)
        route("GET", rf"/guilds/{s}/members/{s}", self._get_member)

    # ----- REST handlers: users, application, gateway ---------------------------------------

    def _app_info(self) -> dict[str, Any]:
        return {
            "id": str(self.ids.application),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.users.get(self.ids.owner) or make_user(self.ids.owner, "owner"),
            "team": None,
            "flags": 0,
            "bot": self.bot_user,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }

    def _gateway_bot(self) -> dict[str, Any]:
        return {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1,
            },
        }

    def _get_user(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        user = self.users.get(int(m[1]))
        return (200, user) if user else (404, discord_error(10013, "Unknown User"))

    def _create_dm(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        recipient = int((rec.json or {}).get("recipient_id", 0))
        if recipient not in self.users:
            return 400, discord_error(50033, "Invalid Recipient(s)")
        return 200, self.dm_channel(recipient)

    # ----- REST handlers: application commands -----------------------------------------

    def _command_scope(self, m: re.Match[str]) -> tuple[int | None, Reply | None]:
        if int(m[1]) != self.ids.application:
            return None, (404, discord_error(10002, "Unknown Application"))
        guild_id = int(m[2]) if m.lastindex and m.lastindex >= 2 and m[2] else None
        if guild_id is not None and guild_id not in self.guilds:
            return None, (403, discord_error(50001, "Missing Access"))
        return guild_id, None

    def _stored_command(self, guild_id: int | None, cmd: Mapping[str, Any]) -> dict[str, Any]:
        previous = {(c["name"], c["type"]): c for c in self.commands.get(guild_id, [])}
        old = previous.get((cmd["name"], cmd.get("type", 1)))
        stored = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "name_localizations": None,
            "description_localizations": None,
            **cmd,
            "id": old["id"] if old else str(_snowflake()),
            "application_id": str(self.ids.application),
            "version": str(_snowflake()),
            "type": cmd.get("type", 1),
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def _get_commands(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild_id, err = self._command_scope(m)
        return err or (200, self.commands.get(guild_id, []))

    def _put_commands(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild_id, err = self._command_scope(m)
        if err:
            return err
        body = rec.json or []
        problems = command_problems(body)
        if problems:
            return _form_error(problems)
        self.commands[guild_id] = [self._stored_command(guild_id, c) for c in body]
        return 200, self.commands[guild_id]

    def _post_command(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild_id, err = self._command_scope(m)
        if err:
            return err
        problems = command_problems([rec.json or {}])
        if problems:
            return _form_error(problems)
        stored = self._stored_command(guild_id, rec.json)
        others = [c for c in self.commands.get(guild_id, []) if c["id"] != stored["id"]]
        self.commands[guild_id] = [*others, stored]
        return 201, stored

    def _delete_command(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild_id, err = self._command_scope(m)
        if err:
            return err
        cmd_id = m[m.lastindex or 0]
        self.commands[guild_id] = [c for c in self.commands.get(guild_id, []) if c["id"] != cmd_id]
        return 204, None

    def command(self, name: str, guild_id: int | None = None) -> dict[str, Any] | None:
        """A synced command by name (guild-scoped when ``guild_id`` is given)."""
        for cmd in self.commands.get(guild_id, []):
            if cmd["name"] == name:
                return cmd
        return None

    # ----- REST handlers: channels and messages ----------------------------------------

    def _get_channel(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        channel = self.channels.get(int(m[1]))
        return (200, channel) if channel else (404, discord_error(10003, "Unknown Channel"))

    def _build_bot_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: list[RecordedFile],
        *,
        msg_type: int = 0,
        webhook_id: int | None = None,
        interaction: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any] | None, Reply | None]:
        """Validate a create-message body and return the stored message (or an error)."""
        problems = message_body_problems(body)
        has_content = bool(body.get("content") or body.get("embeds") or files)
        has_content = has_content or bool(body.get("components") or body.get("sticker_ids"))
        if not has_content and not (body.get("flags", 0) & MESSAGE_FLAG_LOADING):
            return None, (400, discord_error(50006, "Cannot send an empty message"))
        if problems:
            return None, _form_error(problems)
        msg = self._message_payload(
            channel_id, self.bot_user, body.get("content") or "", msg_type=msg_type,
            embeds=body.get("embeds") or [], flags=int(body.get("flags") or 0),
            components=body.get("components") or [], files=files, webhook_id=webhook_id,
        )
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref:
            target = self.messages.get(int(ref["message_id"]))
            if target is None and ref.get("fail_if_not_exists", True):
                return None, _form_error({"message_reference": "Unknown message"})
            msg["message_reference"] = {
                "type": ref.get("type", 0),
                "message_id": str(ref["message_id"]),
                "channel_id": str(ref.get("channel_id") or channel_id),
                **({"guild_id": str(ref["guild_id"])} if ref.get("guild_id") else {}),
            }
            msg["referenced_message"] = target
        if interaction is not None:
            msg["interaction_metadata"] = {
                "id": interaction["id"],
                "type": interaction["type"],
                "user": interaction.get("user") or interaction["member"]["user"],
                "authorizing_integration_owners": interaction["authorizing_integration_owners"],
            }
            msg["application_id"] = str(self.ids.application)
        self.messages[int(msg["id"])] = msg
        return msg, None

    def _message_payload(
        self,
        channel_id: int,
        author: Mapping[str, Any],
        content: str,
        *,
        msg_type: int = 0,
        embeds: list[Any] | None = None,
        flags: int = 0,
        components: list[Any] | None = None,
        files: list[RecordedFile] | None = None,
        webhook_id: int | None = None,
    ) -> dict[str, Any]:
        attachments = [
            {
                "id": str(_snowflake()),
                "filename": f.filename,
                "size": len(f.data),
                "content_type": f.content_type,
                "url": f"http://{self._netloc}/attachments/{channel_id}/{f.filename}",
                "proxy_url": f"http://{self._netloc}/attachments/{channel_id}/{f.filename}",
            }
            for f in files or []
        ]
        msg: dict[str, Any] = {
            "id": str(_snowflake()),
            "channel_id": str(channel_id),
            "author": dict(author),
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": embeds or [],
            "pinned": False,
            "type": msg_type,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            msg["webhook_id"] = str(webhook_id)
        return msg

    def _create_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        channel_id = int(m[1])
        channel = self.channels.get(channel_id)
        if channel is None:
            return 404, discord_error(10003, "Unknown Channel")
        if channel["type"] in (GUILD_CATEGORY, GUILD_FORUM):
            return 400, discord_error(50008, "Cannot send messages in a non-text channel")
        msg, err = self._build_bot_message(channel_id, rec.json or {}, rec.files)
        if err:
            return err
        assert msg is not None
        channel["last_message_id"] = msg["id"]
        self._echo(msg)
        return 200, msg

    def _echo(self, msg: Mapping[str, Any]) -> None:
        # Discord sends the bot's own messages back as MESSAGE_CREATE; a bot must ignore them.
        if not self.echo_bot_messages or msg["flags"] & MESSAGE_FLAG_EPHEMERAL:
            return
        event = dict(msg)
        gid = self.guild_of(int(msg["channel_id"]))
        if gid is not None:
            event["guild_id"] = str(gid)
            member = self.member(gid, self.ids.bot)
            if member:
                event["member"] = {k: v for k, v in member.items() if k != "user"}
        if self._conns:
            self._spawn(self._dispatch_if_connected("MESSAGE_CREATE", event))

    async def _dispatch_if_connected(self, event: str, payload: Mapping[str, Any]) -> None:
        # The bot may have disconnected since the REST call that triggered this event.
        with contextlib.suppress(RuntimeError, ConnectionError):
            await self.dispatch(event, payload)

    def _channel_message(self, m: re.Match[str]) -> dict[str, Any] | None:
        msg = self.messages.get(int(m[2]))
        return msg if msg and int(msg["channel_id"]) == int(m[1]) else None

    def _list_messages(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        if int(m[1]) not in self.channels:
            return 404, discord_error(10003, "Unknown Channel")
        limit = min(int(rec.query.get("limit", 50)), 100)
        msgs = [x for x in self.messages.values() if int(x["channel_id"]) == int(m[1])]
        return 200, sorted(msgs, key=lambda x: int(x["id"]), reverse=True)[:limit]

    def _get_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        msg = self._channel_message(m)
        return (200, msg) if msg else (404, discord_error(10008, "Unknown Message"))

    def _edit_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        msg = self._channel_message(m)
        if msg is None:
            return 404, discord_error(10008, "Unknown Message")
        if int(msg["author"]["id"]) != self.ids.bot:
            return 403, discord_error(50005, "Cannot edit a message authored by another user")
        return self._apply_edit(msg, rec)

    def _apply_edit(self, msg: dict[str, Any], rec: RecordedRequest) -> Reply:
        body = rec.json or {}
        problems = message_body_problems(body)
        if problems:
            return _form_error(problems)
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                msg[key] = body[key]
        msg["flags"] = int(msg["flags"]) & ~MESSAGE_FLAG_LOADING
        msg["edited_timestamp"] = now_iso()
        return 200, msg

    def _delete_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        if self._channel_message(m) is None:
            return 404, discord_error(10008, "Unknown Message")
        del self.messages[int(m[2])]
        return 204, None

    def _react(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        if self._channel_message(m) is None:
            return 404, discord_error(10008, "Unknown Message")
        return 204, None

    # ----- REST handlers: guilds --------------------------------------------------------

    def _guild_or_404(self, gid: str) -> tuple[dict[str, Any] | None, Reply | None]:
        guild = self.guilds.get(int(gid))
        return guild, None if guild else (404, discord_error(10004, "Unknown Guild"))

    def _get_guild(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild, err = self._guild_or_404(m[1])
        if err:
            return err
        assert guild is not None
        gateway_only = {"channels", "threads", "members", "presences", "voice_states", "large",
                        "joined_at", "member_count", "unavailable", "stage_instances",
                        "guild_scheduled_events", "soundboard_sounds"}
        return 200, {k: v for k, v in guild.items() if k not in gateway_only}

    def _get_guild_channels(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild, err = self._guild_or_404(m[1])
        return err or (200, guild["channels"])  # type: ignore[index]

    def _get_guild_roles(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        guild, err = self._guild_or_404(m[1])
        return err or (200, guild["roles"])  # type: ignore[index]

    def _get_member(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        _, err = self._guild_or_404(m[1])
        if err:
            return err
        member = self.member(int(m[1]), int(m[2]))
        return (200, member) if member else (404, discord_error(10007, "Unknown Member"))

    # ----- REST handlers: interactions and webhooks --------------------------------------

    def _callback(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        state = self._interactions.get(m[2])
        if state is None or state["payload"]["id"] != m[1]:
            return 404, discord_error(10062, "Unknown interaction")
        if (self.interaction_deadline is not None and not state["acknowledged"]
                and time.monotonic() - state["dispatched_at"] > self.interaction_deadline):
            # Discord forgets an interaction not answered in time.
            return 404, discord_error(10062, "Unknown interaction")
        if state["acknowledged"]:
            return 400, discord_error(40060, "Interaction has already been acknowledged.")
        body = rec.json or {}
        cb_type = body.get("type")
        data = body.get("data") or {}
        payload = state["payload"]
        message: dict[str, Any] | None = None
        if cb_type == CALLBACK_AUTOCOMPLETE_RESULT:
            if payload["type"] != INTERACTION_AUTOCOMPLETE:
                return 400, discord_error(50035, "Invalid interaction response type")
            problems = autocomplete_problems(body)
            if problems:
                return _form_error(problems)
        elif cb_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            if payload["type"] == INTERACTION_AUTOCOMPLETE:
                return 400, discord_error(50035, "Invalid interaction response type")
            if cb_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
                data = {**data, "flags": int(data.get("flags") or 0) | MESSAGE_FLAG_LOADING}
            message, err = self._build_bot_message(
                int(payload["channel_id"]), data, rec.files,
                msg_type=20 if payload["type"] == INTERACTION_APPLICATION_COMMAND else 0,
                webhook_id=self.ids.application, interaction=payload,
            )
            if err:
                return err
            assert message is not None
            state["original"] = message
            if cb_type == CALLBACK_CHANNEL_MESSAGE:
                self._echo(message)
        elif cb_type in (CALLBACK_UPDATE_MESSAGE, CALLBACK_DEFERRED_UPDATE):
            if "message" not in payload:
                return 400, discord_error(50035, "Interaction has no message to update")
            message = self.messages.get(int(payload["message"]["id"])) or payload["message"]
            if cb_type == CALLBACK_UPDATE_MESSAGE:
                edit = RecordedRequest("PATCH", "", {}, rec.headers, data)
                status, _ = self._apply_edit(message, edit)  # type: ignore[misc]
                if status != 200:
                    return _form_error(message_body_problems(data))
            state["original"] = message
        elif cb_type == CALLBACK_MODAL:
            if payload["type"] in (INTERACTION_AUTOCOMPLETE, INTERACTION_MODAL_SUBMIT):
                return 400, discord_error(50035, "Invalid interaction response type")
        elif cb_type != 1:
            return _form_error({"type": "Value is not a valid enum value."})
        state["acknowledged"] = True
        state["callback_type"] = cb_type
        if "with_response" not in rec.query:
            return 204, None
        result: dict[str, Any] = {
            "interaction": {
                "id": payload["id"],
                "type": payload["type"],
                "response_message_loading": cb_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(
                    message and message["flags"] & MESSAGE_FLAG_EPHEMERAL
                ),
            }
        }
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": cb_type, "message": message}
        return 200, result

    def _webhook_state(self, m: re.Match[str]) -> tuple[dict[str, Any] | None, Reply | None]:
        state = self._interactions.get(m[2])
        if int(m[1]) != self.ids.application or state is None or not state["acknowledged"]:
            return None, (404, discord_error(10015, "Unknown Webhook"))
        return state, None

    def _webhook_message(
        self, state: dict[str, Any], which: str
    ) -> dict[str, Any] | None:
        if which == "@original":
            return state.get("original")
        for msg in state["followups"]:
            if msg["id"] == which:
                return msg
        return None

    def _followup(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        state, err = self._webhook_state(m)
        if err:
            return err
        assert state is not None
        payload = state["payload"]
        msg, err = self._build_bot_message(
            int(payload["channel_id"]), rec.json or {}, rec.files,
            webhook_id=self.ids.application, interaction=payload,
        )
        if err:
            return err
        assert msg is not None
        state["followups"].append(msg)
        self._echo(msg)
        return (200, msg) if rec.query.get("wait") in ("true", "1", "True") else (204, None)

    def _get_webhook_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        state, err = self._webhook_state(m)
        if err:
            return err
        msg = self._webhook_message(state, m[3])  # type: ignore[arg-type]
        return (200, msg) if msg else (404, discord_error(10008, "Unknown Message"))

    def _edit_webhook_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        state, err = self._webhook_state(m)
        if err:
            return err
        msg = self._webhook_message(state, m[3])  # type: ignore[arg-type]
        if msg is None:
            return 404, discord_error(10008, "Unknown Message")
        return self._apply_edit(msg, rec)

    def _delete_webhook_message(self, rec: RecordedRequest, m: re.Match[str]) -> Reply:
        state, err = self._webhook_state(m)
        if err:
            return err
        assert state is not None
        msg = self._webhook_message(state, m[3])
        if msg is None:
            return 404, discord_error(10008, "Unknown Message")
        self.messages.pop(int(msg["id"]), None)
        if m[3] == "@original":
            state["original"] = None
        else:
            state["followups"].remove(msg)
        return 204, None

    # ----- gateway ------------------------------------------------------------------------

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        compress = request.query.get("compress") if self.gateway_compression else None
        conn = _GatewayConnection(ws, compress)
        self.gateway_modes.append("zlib-stream" if conn.zlib is not None else "text")
        self._conns.add(conn)
        try:
            await conn.send({"op": 10, "s": None, "t": None,
                             "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                payload = json.loads(msg.data)
                self.gateway_received.append(payload)
                await self._on_gateway_op(conn, payload)
        finally:
            self._conns.discard(conn)
        return ws

    async def _on_gateway_op(self, conn: _GatewayConnection, payload: Mapping[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await conn.send({"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            if conn.identified or (data or {}).get("session_id") != self._session_id:
                await conn.send({"op": 9, "s": None, "t": None, "d": False})
                return
            # A resumed session keeps the intents it identified with.
            conn.identified, conn.session_id = True, self._session_id
            conn.intents = self.intents
            await self._send_event(conn, "RESUMED", {})
        elif op == 8:
            await self._member_chunk(conn, data or {})
        # Presence (3) and voice state (4) updates are recorded only.

    async def _identify(self, conn: _GatewayConnection, data: Mapping[str, Any]) -> None:
        if self.token is not None and data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        if not self.privileged_intents_enabled and intents & PRIVILEGED_INTENTS:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        conn.identified, conn.intents, conn.session_id = True, intents, self._session_id
        shard_id, num_shards = data.get("shard") or (0, 1)
        conn.shard = (int(shard_id), int(num_shards))
        self.identify_count += 1
        guilds = [g for g in self.guilds.values() if self._on_shard(conn, int(g["id"]))]
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g["id"]), "unavailable": True} for g in guilds],
            "session_id": self._session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "shard": list(conn.shard),
            "application": {"id": str(self.ids.application), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        await self._send_event(conn, "READY", ready)
        for guild in guilds:
            await self._send_event(conn, "GUILD_CREATE", self._guild_for(conn, guild))
        assert self._identified is not None
        self._identified.set()

    def _guild_for(self, conn: _GatewayConnection, guild: Mapping[str, Any]) -> dict[str, Any]:
        payload = dict(guild)
        if self.enforce_intents and not conn.intents & INTENT_GUILD_MEMBERS:
            # Without the members intent Discord only includes the bot's own member.
            payload["members"] = [
                m for m in guild["members"] if int(m["user"]["id"]) == self.ids.bot
            ]
        return payload

    async def _member_chunk(self, conn: _GatewayConnection, data: Mapping[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = guild["members"]
        if data.get("user_ids"):
            wanted = {str(u) for u in data["user_ids"]}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif data.get("query"):
            members = [m for m in members if m["user"]["username"].startswith(data["query"])]
        limit = int(data.get("limit") or 0)
        chunk = {
            "guild_id": guild["id"],
            "members": members[:limit] if limit else members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_event(conn, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_event(self, conn: _GatewayConnection, name: str, payload: Any) -> None:
        self._seq += 1
        frame = {"op": 0, "s": self._seq, "t": name, "d": payload}
        self.gateway_sent.append(frame)
        await conn.send(frame)

    async def wait_until_identified(self, timeout: float = 5.0) -> None:
        """Wait until a client has identified and been sent READY and every GUILD_CREATE."""
        assert self._identified is not None, "FakeDiscord.start() was not awaited"
        async with asyncio.timeout(timeout):
            await self._identified.wait()

    @property
    def intents(self) -> int:
        """Intents of the most recent IDENTIFY (0 if none yet)."""
        for payload in reversed(self.gateway_received):
            if payload.get("op") == 2:
                return int(payload["d"].get("intents") or 0)
        return 0

    @staticmethod
    def shard_of(guild_id: int, num_shards: int) -> int:
        """The shard Discord routes a guild to: ``(guild_id >> 22) % num_shards``."""
        return (int(guild_id) >> 22) % num_shards

    def _on_shard(self, conn: _GatewayConnection, guild_id: int | None) -> bool:
        # Guild events go to the guild's shard; DMs (no guild) arrive on shard 0.
        shard_id, num_shards = conn.shard
        if guild_id is None:
            return shard_id == 0
        return self.shard_of(guild_id, num_shards) == shard_id

    @property
    def identified_shards(self) -> set[tuple[int, int]]:
        """(shard_id, num_shards) of every identified, open gateway connection."""
        return {c.shard for c in self._conns if c.identified and not c.ws.closed}

    async def dispatch(self, event: str, payload: Mapping[str, Any], *,
                       shard: int | None = None) -> None:
        """Send a gateway DISPATCH (op 0) to the identified connection(s) it is routed to.

        With one unsharded connection that is every event. With shards (IDENTIFY's
        ``shard``), a guild's events go to the guild's shard and DMs to shard 0, as on
        Discord; ``shard`` sends the event to that shard instead, for a test that plays a
        guild moving between shards. MESSAGE_CREATE / MESSAGE_UPDATE are filtered like
        Discord filters them when the client lacks the (privileged) message-content or
        message intents.
        """
        conns = [c for c in self._conns if c.identified and not c.ws.closed]
        if not conns:
            raise RuntimeError("no identified gateway connection to dispatch to")
        if shard is not None:
            conns = [c for c in conns if c.shard[0] == shard]
        else:
            gid = payload.get("guild_id")
            if gid is None and event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
                gid = payload.get("id")
            conns = [c for c in conns if self._on_shard(c, None if gid is None else int(gid))]
        if not conns:
            raise RuntimeError(f"no identified gateway connection for the shard of {event}")
        if event == "INTERACTION_CREATE":
            self._register_interaction(payload)
        for conn in conns:
            filtered = self._filter_for_intents(conn, event, payload)
            if filtered is not None:
                await self._send_event(conn, event, filtered)

    def _filter_for_intents(
        self, conn: _GatewayConnection, event: str, payload: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        if not self.enforce_intents or event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return payload
        in_guild = "guild_id" in payload
        needed = INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
        if not conn.intents & needed:
            return None
        author_id = int(payload.get("author", {}).get("id", 0))
        mentioned = any(int(u["id"]) == self.ids.bot for u in payload.get("mentions", []))
        if conn.intents & INTENT_MESSAGE_CONTENT or not in_guild or mentioned:
            return payload
        if author_id == self.ids.bot:
            return payload
        stripped = dict(payload)
        stripped.update(content="", embeds=[], attachments=[], components=[])
        return stripped

    async def close_gateway(self, code: int, message: str = "") -> None:
        """Close every gateway connection with ``code`` (e.g. 4004 token revoked)."""
        for conn in list(self._conns):
            conn.identified = False
            await conn.ws.close(code=code, message=message.encode())

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: discord.py closes and RESUMEs on a new connection."""
        for conn in list(self._conns):
            conn.identified = False
            await conn.send({"op": 7, "s": None, "t": None, "d": None})

    # ----- events a test sends ----------------------------------------------------------

    def make_message(
        self,
        channel_id: int,
        author: int | Mapping[str, Any],
        content: str,
        *,
        guild_id: int | None = None,
        message_id: int | None = None,
        reply_to: int | None = None,
        embeds: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload from ``author`` (id or user dict) in ``channel_id``.

        ``guild_id`` defaults to the channel's guild; guild messages carry the author's
        ``member`` (without ``user``) like Discord's.  ``<@id>``/``<@&id>`` mentions in the
        content fill ``mentions`` / ``mention_roles``.  The message is stored, so the bot can
        reply to it.
        """
        user = self._user(author)
        guild_id = guild_id or self.guild_of(channel_id)
        msg = self._message_payload(channel_id, user, content, embeds=embeds)
        if message_id is not None:
            msg["id"] = str(message_id)
        if attachments:
            msg["attachments"] = attachments
        msg["mentions"] = []
        for uid in dict.fromkeys(int(x) for x in _MENTION_USER.findall(content)):
            if uid in self.users:
                mention = dict(self.users[uid])
                if guild_id and (member := self.member(guild_id, uid)):
                    mention["member"] = {k: v for k, v in member.items() if k != "user"}
                msg["mentions"].append(mention)
        msg["mention_roles"] = list(dict.fromkeys(_MENTION_ROLE.findall(content)))
        if guild_id:
            msg["guild_id"] = str(guild_id)
            member = self.member(guild_id, int(user["id"]))
            if member:
                msg["member"] = {k: v for k, v in member.items() if k != "user"}
        if reply_to is not None:
            target = self.messages.get(int(reply_to))
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0, "message_id": str(reply_to), "channel_id": str(channel_id),
                **({"guild_id": str(guild_id)} if guild_id else {}),
            }
            msg["referenced_message"] = target
        self.messages[int(msg["id"])] = msg
        return msg

    async def dispatch_message(
        self, channel_id: int, author: int | Mapping[str, Any], content: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Build a message with ``make_message`` and dispatch it as MESSAGE_CREATE."""
        msg = self.make_message(channel_id, author, content, **kwargs)
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    def make_interaction(
        self,
        interaction_type: int,
        data: Mapping[str, Any] | None,
        *,
        user: int | Mapping[str, Any] | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        locale: str = "en-US",
        guild_locale: str | None = None,
        app_permissions: int | None = None,
        message: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload that satisfies discord.py's ``Interaction``.

        ``user`` defaults to the default world's ordinary user; ``channel_id`` defaults to
        its text channel.  A DM channel (see ``dm_channel``) makes a DM interaction with
        ``user`` instead of ``member``.  ``app_permissions`` defaults to the bot's guild
        permissions, ``guild_locale`` to the guild's ``preferred_locale``.
        """
        author = self._user(user if user is not None else self.ids.user)
        channel_id = int(channel_id or self.ids.text_channel)
        channel = self.channels[channel_id]
        guild_id = guild_id or self.guild_of(channel_id)
        payload: dict[str, Any] = {
            "id": str(_snowflake()),
            "application_id": str(self.ids.application),
            "type": interaction_type,
            "token": f"itok-{_snowflake()}",
            "version": 1,
            "channel": channel,
            "channel_id": str(channel_id),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if data is not None:
            payload["data"] = dict(data)
        if message is not None:
            payload["message"] = dict(message)
        if guild_id:
            guild = self.guilds[guild_id]
            member = self.member(guild_id, int(author["id"])) or make_member(author)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": guild["preferred_locale"],
                       "features": guild["features"]},
                guild_locale=guild_locale or guild["preferred_locale"],
                member={
                    **member, "permissions": str(self.permissions(guild_id, int(author["id"])))
                },
                app_permissions=str(
                    app_permissions if app_permissions is not None
                    else self.permissions(guild_id, self.ids.bot)
                ),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(
                user=author,
                app_permissions=str(app_permissions if app_permissions is not None
                                    else EVERYONE_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    def slash_data(
        self,
        name: str,
        options: Mapping[str, Any] | list[dict[str, Any]] | None = None,
        *,
        guild_id: int | None = None,
        focused: str | None = None,
    ) -> dict[str, Any]:
        """``data`` for a chat-input command, using the synced command's id when known.

        ``options`` is raw option dicts or ``{name: value}`` (str→3, bool→5, int→4,
        float→10).  ``focused`` marks one option as the autocomplete focus.
        """
        cmd = self.command(name, guild_id) or self.command(name)
        if isinstance(options, Mapping):
            kinds = {str: 3, bool: 5, int: 4, float: 10}
            opts = [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()]
        else:
            opts = [dict(o) for o in options or []]
        for opt in opts:
            if opt["name"] == focused:
                opt["focused"] = True
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else str(_snowflake()),
            "name": name,
            "type": 1,
            "options": opts,
        }
        if cmd and "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        return data

    async def dispatch_interaction(self, payload: Mapping[str, Any], *,
                                   shard: int | None = None) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE; the token becomes valid for callback/webhook routes."""
        await self.dispatch("INTERACTION_CREATE", payload, shard=shard)
        return dict(payload)

    async def invoke_slash(
        self,
        name: str,
        options: Mapping[str, Any] | list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Dispatch a slash-command interaction (kwargs as for ``make_interaction``)."""
        data = self.slash_data(name, options, guild_id=kwargs.get("guild_id"))
        return await self.dispatch_interaction(
            self.make_interaction(INTERACTION_APPLICATION_COMMAND, data, **kwargs)
        )

    async def invoke_autocomplete(
        self,
        name: str,
        focused: str,
        options: Mapping[str, Any] | list[dict[str, Any]],
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Dispatch an autocomplete interaction with option ``focused`` marked."""
        data = self.slash_data(name, options, guild_id=kwargs.get("guild_id"), focused=focused)
        return await self.dispatch_interaction(
            self.make_interaction(INTERACTION_AUTOCOMPLETE, data, **kwargs)
        )

    def _register_interaction(self, payload: Mapping[str, Any]) -> None:
        self._interactions[payload["token"]] = {
            "dispatched_at": time.monotonic(),
            "payload": dict(payload),
            "acknowledged": False,
            "callback_type": None,
            "original": None,
            "followups": [],
        }

    async def wait_for_callback(
        self, interaction: Mapping[str, Any], timeout: float = 5.0
    ) -> RecordedRequest:
        """The bot's callback request for ``interaction`` (a payload the fake dispatched)."""
        path = rf"/interactions/{interaction['id']}/{re.escape(interaction['token'])}/callback"
        return await self.wait_for_request("POST", path, timeout)

    def original_response(self, interaction: Mapping[str, Any]) -> dict[str, Any] | None:
        """The message the interaction's response created (None if none yet)."""
        state = self._interactions.get(interaction["token"])
        return state["original"] if state else None

    def followups(self, interaction: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Followup messages sent for the interaction."""
        state = self._interactions.get(interaction["token"])
        return list(state["followups"]) if state else []

    def sent_messages(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Messages authored by the bot (channel, interaction and followup), oldest first."""
        return [
            m for m in sorted(self.messages.values(), key=lambda m: int(m["id"]))
            if int(m["author"]["id"]) == self.ids.bot
            and (channel_id is None or int(m["channel_id"]) == int(channel_id))
        ]


def _no_auth(handler: Handler) -> Handler:
    def wrapped(rec: RecordedRequest, m: re.Match[str]) -> Reply | Awaitable[Reply]:
        return handler(rec, m)

    wrapped._no_auth = True  # type: ignore[attr-defined]
    return wrapped


# --------------------------------------------------------------------------------------
# Wiring discord.py to the fake
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def patched_endpoints(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the fake; restore on exit."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_bot(
    bot: Any,
    fake: FakeDiscord,
    *,
    token: str | None = None,
    ready_timeout: float = 5.0,
    reconnect: bool = True,
) -> AsyncIterator[Any]:
    """Log ``bot`` in to ``fake``, connect it, wait for on_ready; close it on exit.

    The bot should be built with a small ``guild_ready_timeout`` (e.g. 0.1) or READY waits
    two seconds for more guilds.
    """
    with patched_endpoints(fake.api_base, fake.gateway_url):
        connect: asyncio.Task[None] | None = None
        try:
            await bot.login(token or fake.token or DEFAULT_TOKEN)
            connect = asyncio.create_task(bot.connect(reconnect=reconnect))
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {connect, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if connect in done:
                    connect.result()  # re-raise the connection error
                raise TimeoutError(f"bot was not ready within {ready_timeout}s")
            yield bot
        finally:
            await bot.close()
            if connect is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(connect, timeout=5.0)
