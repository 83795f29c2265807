"""The store's narrow interface, its value types and the validation shared by every backend.

Nothing here touches a database: each backend (SQLite, PostgreSQL) implements `Store`
and the cogs do not change. Values are validated here so every backend rejects the
same things with the same messages.

What is stored, and nothing more (see docs in `bot/store/__init__.py`):
server settings, per-member preferences under a keyed pseudonym, and usage counts
aggregated per UTC day. No user ids, message ids, message content or free text.
"""

from __future__ import annotations

import abc
import datetime as dt
import enum
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple


class StoreError(Exception):
    """The store cannot be opened or written; the message names the database and what to do."""


class Unset(enum.Enum):
    """Marker for "leave this preference as it is" (because None means "clear it")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET

class GuildSet(enum.StrEnum):
    """The per-server sets of ids that `change_guild_set` adds to and removes from."""

    IGNORED_CHANNELS = "ignored_channels"  # no crisis replies in these channels
    BYPASS_ROLES = "bypass_roles"  # members with these roles get no crisis replies

    @property
    def item_field(self) -> str:
        return "channel_id" if self is GuildSet.IGNORED_CHANNELS else "role_id"


class Changed(enum.StrEnum):
    """What another process changed (see `Store.watch`)."""

    GUILD = "guild"  # key: the server id as a string
    MEMBER = "member"  # key: the member's pseudonym
    ALL = "all"  # notices may have been missed: reload everything (key "")


ChangeListener = Callable[[Changed, str], None]

REPLY_MODES = ("channel", "dm", "both")
COOLDOWN_MIN, COOLDOWN_MAX = 1, 1440
DEFAULT_COOLDOWN = 30

# ISO 3166-1 alpha-2 ("GB"), optionally with an ISO 3166-2 subdivision ("US-CA").
_REGION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")



class Kind(enum.StrEnum):
    """What a daily usage count counts. `UsageRecorder.record` takes only these; the store
    checks only the shape, so a new kind needs no migration."""

    TOPIC = "topic"  # /topic; key: the topic id ("" when nothing matched)
    TOPICS = "topics"  # /topics
    HOTLINE = "hotline"  # /hotline or the country picker; key: country code
    MY_COUNTRY = "my_country"  # /my-country; key: country code ("" when cleared)
    CRISIS_REPLY = "crisis_reply"  # an automatic crisis reply; key: category/severity
    CRISIS_COUNTRY = "crisis_country"  # whose lines that reply showed; key: country code
    CRISIS_ALERT = "crisis_alert"  # a moderator alert; key: category/severity
    CRISIS_OPT = "crisis_opt"  # /crisis-replies; key: on or off
    CRISIS_MODEL = "crisis_model"  # the learned crisis model; key: a Decider
    SETTINGS_CHANGE = "settings_change"  # /settings ...; key: the setting's name
    SETTINGS_SHOW = "settings_show"  # /settings show
    STATS = "stats"  # /stats
    PRIVACY = "privacy"  # /privacy


class Outcome(enum.StrEnum):
    """How a counted event ended."""

    OK = "ok"
    NOT_FOUND = "not_found"  # a search matched nothing (what was typed is never kept)
    BAD_INPUT = "bad_input"  # input refused before searching
    SHARED = "shared"  # a topic posted for everyone
    BUTTON = "button"  # lines chosen from the country picker
    COOLDOWN = "cooldown"  # no crisis reply: the member was answered a moment ago
    DM_FALLBACK = "dm_fallback"  # the channel reply failed; the DM arrived
    CHANNEL_FALLBACK = "channel_fallback"  # DM mode; the DM failed, the channel reply arrived
    CHANNEL_CAPPED = "channel_capped"  # too many public replies in the channel: DM instead
    ALERT_FALLBACK = "alert_fallback"  # only the moderators could be told
    FAILED = "failed"  # nothing arrived (or the model failed)
    SCORED = "scored"  # the crisis model answered in time
    LATE = "late"  # the crisis model answered after its deadline
    OVERLOADED = "overloaded"  # the crisis model was too busy to ask
    OFF = "off"  # the crisis model is not configured


class Decider(enum.StrEnum):
    """Which part decided a crisis verdict (the key of `Kind.CRISIS_MODEL` counts)."""

    RULES = "rules"  # a rule fired and the model agreed, or the model was not asked
    MODEL = "model"  # no rule fired; the model was confident on its own
    MODEL_VETO = "model_veto"  # a rule fired on wording the model reads as no crisis
    NOBODY = "nobody"  # neither found a crisis


def usage_vocabulary_markdown() -> str:
    """Every kind and outcome, as the README's "What is stored" lists them."""
    lines = []
    for label, members in (("Kinds", Kind), ("Outcomes", Outcome)):
        text = f"{label}: " + ", ".join(f"`{m.value}`" for m in members) + "."
        lines.extend(textwrap.wrap(text, width=92, initial_indent="  - ",
                                   subsequent_indent="    ", break_on_hyphens=False))
    return "\n".join(lines) + "\n"

# Shapes that a known key has and typed free text almost never has: no spaces, short.
# Callers pass only keys they know (a topic id from the catalogue, "category/severity",
# a country code, a setting name) and pass key="" with outcome "not_found" when a member's
# search matched nothing — the search text itself is never recorded.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_./-]{0,64}$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PSEUDONYM_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """One server's settings. Absent servers get these defaults."""

    guild_id: int
    region: str | None = None
    crisis_replies: bool = True
    reply_mode: str = "channel"
    alert_channel_id: int | None = None
    alert_role_id: int | None = None
    cooldown_minutes: int = DEFAULT_COOLDOWN
    ignored_channels: frozenset[int] = frozenset()
    bypass_roles: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class MemberPrefs:
    """One member's preferences, keyed by pseudonym (never by user id)."""

    pseudonym: str
    crisis_replies: bool = True
    dm_country: str | None = None


class UsageCount(NamedTuple):
    """One aggregated usage count to add. guild_id None means a DM (stored as 0)."""

    day: str  # YYYY-MM-DD, UTC
    guild_id: int | None
    kind: str
    key: str
    outcome: str
    count: int


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One line of a server's usage summary."""

    day: dt.date
    kind: str
    key: str
    outcome: str
    count: int


# Fields of GuildSettings that update_guild_settings() accepts.
SETTINGS_FIELDS = ("region", "crisis_replies", "reply_mode", "alert_channel_id",
                   "alert_role_id", "cooldown_minutes")


def normalize_region(value: object, field: str = "region") -> str | None:
    """An ISO 3166 code in upper case, or None; ValueError naming `field` otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        code = value.strip().upper()
        if _REGION_RE.match(code):
            return code
    raise ValueError(f"{field}: must be an ISO 3166 country code such as 'GB' or 'US' "
                     "(optionally with a subdivision, 'US-CA'), or None to clear it")


def _snowflake(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    raise ValueError(f"{field}: must be a Discord id (a positive integer) or None to clear it")


def validate_settings_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise `update_guild_settings` arguments.

    Raises ValueError naming the field and its allowed values; the offending value is not
    echoed, because it may have been typed by a member.
    """
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "region":
            out[field] = normalize_region(value)
        elif field == "crisis_replies":
            if not isinstance(value, bool):
                raise ValueError("crisis_replies: must be True or False")
            out[field] = value
        elif field == "reply_mode":
            if value not in REPLY_MODES:
                raise ValueError(f"reply_mode: must be one of {', '.join(REPLY_MODES)}")
            out[field] = value
        elif field in ("alert_channel_id", "alert_role_id"):
            out[field] = _snowflake(field, value)
        elif field == "cooldown_minutes":
            if (not isinstance(value, int) or isinstance(value, bool)
                    or not COOLDOWN_MIN <= value <= COOLDOWN_MAX):
                raise ValueError(f"cooldown_minutes: must be a whole number of minutes from "
                                 f"{COOLDOWN_MIN} to {COOLDOWN_MAX}")
            out[field] = value
        elif field in GuildSet.__members__.values():
            raise ValueError(f"{field}: change it with change_guild_set, not "
                             "update_guild_settings")
        else:
            raise ValueError(f"{field}: not a server setting; allowed fields are "
                             f"{', '.join(SETTINGS_FIELDS)}")
    return out


def check_id(field: str, value: object) -> int:
    """A Discord id (positive integer below 2**63); ValueError naming `field` otherwise."""
    out = _snowflake(field, value)
    if out is None:
        raise ValueError(f"{field}: must be a Discord id (a positive integer)")
    return out


def check_guild_set(which: object) -> GuildSet:
    """One of the GuildSet names; ValueError listing them otherwise."""
    try:
        return GuildSet(which)
    except ValueError:
        raise ValueError(f"which: must be one of {', '.join(GuildSet)}") from None


def check_pseudonym(value: object) -> str:
    """A pseudonym from Pseudonymizer; catches a raw user id (or its string) passed by mistake."""
    if isinstance(value, str) and _PSEUDONYM_RE.match(value):
        return value
    raise ValueError("pseudonym: must be a pseudonym from Pseudonymizer (64 lower-case hex "
                     "characters), never a user id")


def validate_prefs_changes(crisis_replies: bool | None,
                           dm_country: str | Unset | None) -> dict[str, Any]:
    """Check `set_member_prefs` arguments; returns only the fields to change."""
    values: dict[str, Any] = {}
    if crisis_replies is not None:
        if not isinstance(crisis_replies, bool):
            raise ValueError("crisis_replies: must be True, False or None (unchanged)")
        values["crisis_replies"] = crisis_replies
    if dm_country is not UNSET:
        values["dm_country"] = normalize_region(dm_country, "dm_country")
    return values


def guild_settings_from(guild_id: int, row: Any, channels: Iterable[int] = (),
                        roles: Iterable[int] = ()) -> GuildSettings:
    """GuildSettings from a stored row (region, crisis_replies, reply_mode, alert_channel_id,
    alert_role_id, cooldown_minutes) or None, plus the server's id sets."""
    s = GuildSettings(guild_id)
    if row is not None:
        region, replies, mode, alert_ch, alert_role, cooldown = row
        s = GuildSettings(guild_id, region, bool(replies), mode, alert_ch, alert_role, cooldown)
    return replace(s, ignored_channels=frozenset(channels), bypass_roles=frozenset(roles))


def assemble_guild_settings(rows: Iterable[Any], chans: Iterable[Any],
              roles: Iterable[Any]) -> dict[int, GuildSettings]:
    """All servers' settings from (guild_id, *settings) rows and (guild_id, id) pairs."""
    ch: dict[int, list[int]] = {}
    ro: dict[int, list[int]] = {}
    for g, c in chans:
        ch.setdefault(g, []).append(c)
    for g, r in roles:
        ro.setdefault(g, []).append(r)
    settings = {r[0]: tuple(r[1:]) for r in rows}
    return {g: guild_settings_from(g, settings.get(g), ch.get(g, ()), ro.get(g, ()))
            for g in settings.keys() | ch.keys() | ro.keys()}


def check_usage_name(field: str, value: object) -> str:
    """A usage kind or outcome: lower-case identifier, at most 32 characters."""
    if isinstance(value, str) and _NAME_RE.match(value):
        return value
    raise ValueError(f"usage {field}: must be a lower-case identifier such as 'topic' or 'ok'")


def check_usage_key(value: object) -> str:
    """A usage key: a known id such as a topic id, 'category/severity' or a country code.

    Rejects anything with spaces or over 64 characters — the shape of free text — so a
    caller that wrongly passes what a member typed fails loudly instead of storing it.
    """
    if isinstance(value, str) and _KEY_RE.match(value):
        return value
    raise ValueError("usage key: must be a known id (letters, digits, _ . / -, at most 64 "
                     "characters) or '' — never text a member typed")


def check_usage_count(row: UsageCount) -> tuple[str, int, str, str, str, int]:
    """Validate one UsageCount and return the row as stored (DMs as guild_id 0)."""
    day, guild_id, kind, key, outcome, count = row
    if not (isinstance(day, str) and _DAY_RE.match(day)):
        raise ValueError("usage day: must be a UTC date written YYYY-MM-DD")
    gid = 0 if guild_id is None else guild_id
    if not isinstance(gid, int) or isinstance(gid, bool) or gid < 0:
        raise ValueError("usage guild_id: must be a server id or None for DMs")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError("usage count: must be a non-negative integer")
    return (day, gid, check_usage_name("kind", kind), check_usage_key(key),
            check_usage_name("outcome", outcome), count)


class Store(abc.ABC):
    """What the bot needs from persistent storage, and nothing more.

    Write methods raise StoreError when the database cannot be written (after logging the
    failure class, never values); ValueError when an argument is invalid.
    """

    # --- server settings -------------------------------------------------------------
    @abc.abstractmethod
    async def all_guild_settings(self) -> dict[int, GuildSettings]:
        """Every server with stored settings (loaded once at start-up into the cache)."""

    @abc.abstractmethod
    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """One server's settings; defaults when nothing is stored."""

    @abc.abstractmethod
    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        """Change some settings (see SETTINGS_FIELDS) and return the result."""

    @abc.abstractmethod
    async def change_guild_set(self, guild_id: int, which: GuildSet, item_id: int,
                               add: bool) -> GuildSettings:
        """Add an id to (or remove it from) one of a server's GuildSet sets."""

    @abc.abstractmethod
    async def purge_guild(self, guild_id: int) -> None:
        """Delete a server's settings, ignored channels, bypass roles and usage counts."""

    # --- member preferences ------------------------------------------------------------
    @abc.abstractmethod
    async def all_member_prefs(self) -> list[MemberPrefs]:
        """Every member with stored preferences (members on the defaults are not stored)."""

    @abc.abstractmethod
    async def get_member_prefs(self, pseudonym: str) -> MemberPrefs:
        """A member's preferences; defaults when nothing is stored."""

    @abc.abstractmethod
    async def set_member_prefs(self, pseudonym: str, *, crisis_replies: bool | None = None,
                               dm_country: str | Unset | None = UNSET) -> MemberPrefs:
        """Change a member's preferences; None/UNSET leave a field as it is
        (dm_country=None clears the country). A member back on the defaults is deleted."""

    # --- usage counts ------------------------------------------------------------------
    @abc.abstractmethod
    async def add_usage(self, rows: Iterable[UsageCount]) -> None:
        """Add counts to the per-day totals (upsert; concurrent writers add, never
        overwrite). `rows` may be a lazy iterable."""

    @abc.abstractmethod
    async def usage_summary(self, guild_id: int | None, since_day: dt.date) -> list[UsageRow]:
        """A server's counts from `since_day` (inclusive) on; guild_id None means DMs."""

    @abc.abstractmethod
    async def delete_usage_before(self, day: dt.date) -> int:
        """Delete counts for days before `day`; returns the number of rows removed."""

    # --- several processes -------------------------------------------------------------
    @abc.abstractmethod
    async def watch(self, on_change: ChangeListener) -> None:
        """Call `on_change` when another process changes settings or preferences.

        Called once, after start-up loading. A store that only one process uses (SQLite)
        has nothing to report.
        """

    # --- lifecycle ---------------------------------------------------------------------
    @abc.abstractmethod
    async def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
