"""A demo session: the real bot (BotRunner, as `python -m bot run`) against the local fake.

`DemoSession.handle(line)` sends one typed line to the bot as Discord would (a message, a
slash command or a button press), waits until the bot has finished handling it, and
returns what the bot sent, in order, as `Shown` messages and `Note`s from the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app import BotRunner
from bot.config import Config, load_config
from bot.content.bundle import Content
from bot.demo import commands as cmdline
from bot.demo.world import BOT_NAME, DemoWorld, build_world
from bot.devserver.fake import (
    DM,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_COMPONENT,
    MESSAGE_FLAG_EPHEMERAL,
)
from bot.store.base import Kind, Outcome

if TYPE_CHECKING:
    from bot.bot import RecoveryBot

# Tasks discord.py starts for an event, a slash command and a component press.
_HANDLER_TASKS = ("discord.py: ", "discord-ui-view-dispatch", "CommandTree-invoker")
SETTLE_TIMEOUT = 15.0
BUTTON, SELECT = 2, 3
DEMO_COMMANDS = ("as", "dm", "channel", "press", "help", "quit")
HELP = """\
Type a message to post it in the current channel, or a command:
  /topic name:naloxone   /topics   /hotline country:GB   /privacy   /stats
  /settings show   /settings region country:AU   /settings alert-channel channel:mod-alerts
  /settings reply-mode mode:dm   /settings cooldown minutes:1   /crisis-replies enabled:False
Demo commands:
  /as moderator | /as member   switch your permissions (moderators have Manage Server)
  /channel NAME                post in another channel ({channels})
  /dm                          talk to the bot in a direct message
  /press N                     press button or menu choice N of the last answer
  /help, /quit (or Ctrl-D)"""


class Where(StrEnum):
    CHANNEL = "channel"
    DM = "dm"


@dataclass
class Choice:
    """A button or a select-menu option the user can press with /press N."""

    number: int
    label: str
    message_id: int
    channel_id: int
    custom_id: str
    component_type: int
    value: str | None = None
    disabled: bool = False


@dataclass
class Shown:
    """One message the bot sent (or edited), as the person at the terminal sees it."""

    place: str  # "#general" or "direct message"
    content: str
    embeds: list[dict[str, Any]]
    ephemeral: bool = False
    alert: bool = False  # posted in the server's moderator alert channel
    edited: bool = False
    reply: bool = False  # a reply to your message
    choices: list[Choice] = field(default_factory=list)
    placeholder: str | None = None  # a select menu's prompt


@dataclass
class Note:
    """A line from the demo itself, not from the bot."""

    text: str


Output = Shown | Note


def _database_path(tmp: Path) -> Path:
    # Only an explicit DATABASE_PATH in the environment keeps demo data: a .env file is
    # the production bot's configuration, and the demo must not write into its database.
    env = os.environ.get("DATABASE_PATH")
    return Path(env) if env else tmp / "demo.sqlite3"


class DemoSession:
    """The fake Discord, the real bot and the state of the terminal chat."""

    def __init__(self, world: DemoWorld, runner: BotRunner, tmp: tempfile.TemporaryDirectory):
        self.world = world
        self.fake = world.fake
        self.runner = runner
        self._tmp = tmp
        self.where = Where.CHANNEL
        self.channel = "general"
        self.choices: list[Choice] = []
        self.finished = False
        self._usage_seen: list[tuple[str, str, str]] = []
        bot = _started(runner)
        record = bot.usage.record

        def watched(guild_id: int | None, kind: Kind, key: str = "",
                    outcome: Outcome = Outcome.OK) -> None:
            # Lets the demo say why the bot stayed quiet (e.g. the cooldown); usage events
            # carry a kind, key and outcome, never text.
            self._usage_seen.append((kind, key, outcome))
            record(guild_id, kind, key, outcome)

        bot.usage.record = watched

    # --- lifecycle -------------------------------------------------------------------

    @classmethod
    async def start(cls, content: Content) -> DemoSession:
        """Start the fake and the bot (settings: the environment and .env, pointed here)."""
        world = build_world()
        await world.fake.start()
        tmp = tempfile.TemporaryDirectory(prefix="recovery-bot-demo-")
        runner = None
        try:
            settings = demo_settings(world, Path(tmp.name))
            runner = BotRunner(settings, content, guild_ready_timeout=0.1)
            await runner.start()
            await asyncio.wait_for(_started(runner).wait_until_ready(), timeout=30)
        except BaseException:
            if runner is not None:
                await runner.stop()
            await world.fake.stop()
            tmp.cleanup()
            raise
        return cls(world, runner, tmp)

    async def stop(self) -> None:
        """Close the bot (flushing usage counts), then the fake; remove the throwaway folder."""
        try:
            await self.runner.stop()
        finally:
            await self.fake.stop()
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    # --- where you are ---------------------------------------------------------------

    @property
    def channel_id(self) -> int:
        if self.where is Where.DM:
            return int(self.fake.dm_channel(self.world.you)["id"])
        return self.world.channels[self.channel]

    @property
    def prompt(self) -> str:
        role = "moderator" if self.world.is_moderator() else "member"
        place = f"DM with {BOT_NAME}" if self.where is Where.DM else f"#{self.channel}"
        return f"[{place} as {role}]> "

    # --- one line --------------------------------------------------------------------

    async def handle(self, line: str) -> list[Output]:
        """Act on one typed line and return what happened."""
        line = line.strip()
        if not line:
            return []
        if line.startswith("/") and len(line) > 1:
            name, rest = cmdline.split_command(line)
            if name in DEMO_COMMANDS:
                return await getattr(self, f"_demo_{name}")(rest)
            return await self.slash(name, rest)
        return await self.message(line)

    async def message(self, text: str) -> list[Output]:
        """Post `text` as you in the current channel (or DM) and collect the bot's answer."""
        before = self._snapshot()
        self._usage_seen.clear()
        posted = await self.fake.dispatch_message(self.channel_id, self.world.you, text)
        outputs = await self._after(before, reply_to=int(posted["id"]))
        if not any(isinstance(o, Shown) for o in outputs):
            outputs.append(Note(self._why_quiet()))
        return outputs

    async def slash(self, name: str, rest: str) -> list[Output]:
        """Run a slash command of the bot, typed as in Discord's message box."""
        command = self.fake.command(name)
        if command is None:
            names = ", ".join(sorted(c["name"] for c in self.fake.commands.get(None, [])))
            return [Note(f"No command /{name}. The bot's commands: {names}; "
                         f"the demo's: {', '.join(DEMO_COMMANDS)}")]
        try:
            parsed = cmdline.parse(command, rest, self.resolver())
        except cmdline.CommandLineError as exc:
            return [Note(str(exc))]
        before = self._snapshot()
        self._usage_seen.clear()
        payload = self.fake.make_interaction(INTERACTION_APPLICATION_COMMAND,
                                             parsed.data(command), user=self.world.you,
                                             channel_id=self.channel_id)
        await self.fake.dispatch_interaction(payload)
        outputs = await self._after(before)
        if not outputs:
            outputs.append(Note(f"{BOT_NAME} did not respond to /{name}."))
        return outputs

    async def autocomplete(self, line: str) -> list[tuple[str, str]]:
        """The bot's own autocomplete for the option being typed: [(value, label)]."""
        name, rest = cmdline.split_command(line)
        command = self.fake.command(name)
        if command is None:
            return []
        try:
            leaf, path, tail = cmdline.walk(command, rest)
        except cmdline.CommandLineError:
            return []
        match = re.search(r"(?:^|\s)([a-z0-9_-]+):([^:]*)$", tail, re.IGNORECASE)
        if match is None:
            return []
        option = next((o for o in leaf.get("options") or []
                       if o["name"] == match[1].casefold()), None)
        if option is None or not option.get("autocomplete"):
            return []
        # The bot's autocompletes look only at the focused value, so it is sent alone.
        focused = {"name": option["name"], "type": option["type"], "value": match[2],
                   "focused": True}
        data = cmdline.ParsedCommand(command["name"], path, [focused]).data(command)
        payload = self.fake.make_interaction(INTERACTION_AUTOCOMPLETE, data, user=self.world.you,
                                             channel_id=self.channel_id)
        await self.fake.dispatch_interaction(payload)
        try:
            callback = await self.fake.wait_for_callback(payload, timeout=5)
        except TimeoutError:
            return []
        choices = ((callback.json or {}).get("data") or {}).get("choices") or []
        return [(str(c["value"]), c["name"]) for c in choices]

    async def press(self, number: int) -> list[Output]:
        """Press button or select option `number` of the last answer that had any."""
        choice = next((c for c in self.choices if c.number == number), None)
        if choice is None:
            return [Note(f"There is no choice {number}. "
                         + (f"Choose 1 to {len(self.choices)}." if self.choices
                            else "The last answer had no buttons."))]
        if choice.disabled:
            return [Note(f"Choice {number} is disabled.")]
        message = self.fake.messages.get(choice.message_id)
        if message is None:
            return [Note("That message no longer exists.")]
        data: dict[str, Any] = {"custom_id": choice.custom_id,
                                "component_type": choice.component_type}
        if choice.component_type == SELECT:
            data["values"] = [choice.value]
        before = self._snapshot()
        self._usage_seen.clear()
        payload = self.fake.make_interaction(INTERACTION_COMPONENT, data, user=self.world.you,
                                             channel_id=choice.channel_id, message=message)
        await self.fake.dispatch_interaction(payload)
        outputs = await self._after(before)
        return outputs or [Note(f"{BOT_NAME} did not respond to the press.")]

    # --- demo commands -----------------------------------------------------------------

    async def _demo_as(self, rest: str) -> list[Output]:
        role = rest.strip().casefold()
        if role not in ("moderator", "member"):
            return [Note("Use /as moderator or /as member.")]
        self.world.set_moderator(role == "moderator")
        what = ("a moderator (Manage Server)" if role == "moderator"
                else "a member (no moderator permissions)")
        return [Note(f"You are now {what}.")]

    async def _demo_dm(self, rest: str) -> list[Output]:
        self.where = Where.DM
        return [Note(f"You are in a direct message with {BOT_NAME}. "
                     "/channel general goes back to the server.")]

    async def _demo_channel(self, rest: str) -> list[Output]:
        name = rest.strip().lstrip("#").casefold()
        if name not in self.world.channels:
            return [Note(f"No channel {rest.strip()!r}. Channels: "
                         + ", ".join(self.world.channels))]
        self.where, self.channel = Where.CHANNEL, name
        return [Note(f"You are in #{name}.")]

    async def _demo_press(self, rest: str) -> list[Output]:
        try:
            number = int(rest.strip())
        except ValueError:
            return [Note("Use /press N with the number shown next to a button or choice.")]
        return await self.press(number)

    async def _demo_help(self, rest: str) -> list[Output]:
        return [Note(HELP.format(channels=", ".join(self.world.channels)))]

    async def _demo_quit(self, rest: str) -> list[Output]:
        self.finished = True
        return []

    # --- watching the bot --------------------------------------------------------------

    def resolver(self) -> cmdline.Resolver:
        guild = self.fake.guilds[self.world.guild_id]
        return cmdline.Resolver({c["name"]: c for c in guild["channels"] if c["type"] != 4},
                                {r["name"]: r for r in guild["roles"] if r["name"] != "@everyone"})

    def _snapshot(self) -> dict[int, str]:
        return {mid: json.dumps(m, sort_keys=True) for mid, m in self.fake.messages.items()
                if int(m["author"]["id"]) == self.fake.ids.bot}

    async def settle(self, within: float = SETTLE_TIMEOUT) -> bool:
        """Wait until the bot has read every event sent so far and finished handling it."""
        bot = _started(self.runner)
        me = asyncio.current_task()
        idle_polls = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            sent = self.fake.gateway_sent[-1]["s"] if self.fake.gateway_sent else 0
            # The bot is sharded (AutoShardedBot): `bot.ws` stays None; the demo's one
            # guild and its DMs live on shard 0.
            try:
                ws = bot._get_websocket(shard_id=0)
            except KeyError:
                ws = None
            received = ws is not None and (ws.sequence or 0) >= sent
            busy = any(t is not me and not t.done() and t.get_name().startswith(_HANDLER_TASKS)
                       for t in asyncio.all_tasks())
            idle_polls = idle_polls + 1 if received and not busy else 0
            if idle_polls >= 2:  # twice in a row: a handler may start another task
                return True
            await asyncio.sleep(0.01)
        return False

    async def _after(self, before: dict[int, str], reply_to: int | None = None) -> list[Output]:
        outputs: list[Output] = []
        if not await self.settle():
            outputs.append(Note(f"{BOT_NAME} is still busy after {SETTLE_TIMEOUT:.0f} s; "
                                "anything it sends later shows with your next line."))
        changed = []
        for mid, msg in sorted(self.fake.messages.items()):
            if int(msg["author"]["id"]) != self.fake.ids.bot:
                continue
            if mid not in before:
                changed.append((msg, False))
            elif before[mid] != json.dumps(msg, sort_keys=True):
                changed.append((msg, True))
        shown = [self._shown(msg, edited, reply_to) for msg, edited in changed]
        numbered = [c for s in shown for c in s.choices]
        for number, choice in enumerate(numbered, 1):
            choice.number = number
        if numbered:
            self.choices = numbered
        return [*outputs, *shown]

    def _shown(self, msg: dict[str, Any], edited: bool, reply_to: int | None) -> Shown:
        channel_id = int(msg["channel_id"])
        channel = self.fake.channels.get(channel_id) or {}
        place = "direct message" if channel.get("type") == DM else \
            f"#{self.world.name_of_channel(channel_id) or channel.get('name', '?')}"
        settings = _started(self.runner).cache.guild(self.world.guild_id)
        ref = (msg.get("message_reference") or {}).get("message_id")
        shown = Shown(
            place=place,
            content=self.readable(msg.get("content") or ""),
            embeds=[self._readable_embed(e) for e in msg.get("embeds") or []],
            ephemeral=bool(int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL),
            alert=channel_id == settings.alert_channel_id,
            edited=edited,
            reply=ref is not None and int(ref) == reply_to,
        )
        self._number_choices(shown, msg, channel_id)
        return shown

    def _number_choices(self, shown: Shown, msg: dict[str, Any], channel_id: int) -> None:
        for row in msg.get("components") or []:
            for comp in row.get("components") or []:
                base: dict[str, Any] = dict(message_id=int(msg["id"]), channel_id=channel_id,
                            custom_id=comp.get("custom_id", ""),
                            component_type=comp["type"], disabled=bool(comp.get("disabled")))
                if comp["type"] == BUTTON:
                    shown.choices.append(Choice(0, comp.get("label") or "(button)", **base))
                elif comp["type"] == SELECT:
                    shown.placeholder = comp.get("placeholder")
                    for option in comp.get("options") or []:
                        shown.choices.append(Choice(0, option["label"], value=option["value"],
                                                    **base))

    def _readable_embed(self, embed: dict[str, Any]) -> dict[str, Any]:
        out = dict(embed)
        for key in ("title", "description"):
            if out.get(key):
                out[key] = self.readable(out[key])
        out["fields"] = [{**f, "name": self.readable(f["name"]),
                          "value": self.readable(f["value"])} for f in embed.get("fields") or []]
        if embed.get("footer"):
            out["footer"] = {**embed["footer"], "text": self.readable(embed["footer"]["text"])}
        return out

    def readable(self, text: str) -> str:
        """Mentions as Discord shows them: <#id> -> #general, <@&id> -> @Moderator."""
        fake = self.fake
        guild = fake.guilds[self.world.guild_id]
        roles = {r["id"]: r["name"] for r in guild["roles"]}

        def channel(m: re.Match[str]) -> str:
            return f"#{(fake.channels.get(int(m[1])) or {}).get('name', 'unknown-channel')}"

        def user(m: re.Match[str]) -> str:
            u = fake.users.get(int(m[1]))
            return f"@{(u.get('global_name') or u['username']) if u else 'unknown-user'}"

        text = re.sub(r"<#(\d+)>", channel, text)
        text = re.sub(r"<@&(\d+)>", lambda m: f"@{roles.get(m[1], 'unknown-role')}", text)
        return re.sub(r"<@!?(\d+)>", user, text)

    def _why_quiet(self) -> str:
        for kind, key, outcome in self._usage_seen:
            if kind == "crisis_reply" and outcome == "cooldown":
                category, _, severity = key.partition("/")
                # DMs have no server settings; the crisis cog then uses 30 minutes.
                minutes = _started(self.runner).cache.guild(self.world.guild_id).cooldown_minutes \
                    if self.where is Where.CHANNEL else 30
                return (f"(No reply. {BOT_NAME} noticed {category.replace('_', '-')} language "
                        f"({severity}), but it already answered you less than {minutes} "
                        "minutes ago: it replies once per member per cooldown, and once more "
                        "if things become urgent. Moderators set the cooldown with "
                        "/settings cooldown.)")
        return "(No reply.)"


def demo_settings(world: DemoWorld, tmp: Path, **overrides: Any) -> Config:
    """The configuration from the environment and .env, pointed at the local fake.

    Raises ConfigError like `run` for bad values (the token is not needed).
    """
    values: dict[str, Any] = dict(
        discord_token=world.fake.token, database_path=_database_path(tmp),
        discord_api_base=world.fake.api_base, discord_gateway_url=world.fake.gateway_url,
        dev_guild_id=None)
    values.update(overrides)
    return load_config(".env", **values)


def _started(runner: BotRunner) -> RecoveryBot:
    """The runner's bot, which exists from `runner.start()` on."""
    if runner.bot is None:
        raise RuntimeError("the demo's bot has not been started")
    return runner.bot
