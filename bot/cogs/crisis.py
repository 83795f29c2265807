"""Automatic crisis replies: reads messages, replies with crisis lines, alerts moderators.

The hot path touches no database: settings and opt-outs come from the in-memory cache,
usage is counted in memory, and the reply is sent before anything else. Every failure of
a step (Discord refusing, a dropped connection, a step taking longer than STEP_SECONDS,
a long rate-limit wait) falls through to the next route (channel -> DM -> moderator
alert) so that nobody who needs help is skipped silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.content.replies import burst_alert, crisis_reply, moderator_alert
from bot.crisis.gate import SEVERITY_RANK, ReplyGate
from bot.crisis.hybrid import ModelState
from bot.crisis.schema import Severity
from bot.delivery import ReplyMode, Route, Sent, Step, follow, plan
from bot.interactions import NOT_SAVED_YET, STORAGE_PROBLEM, answer_when_done
from bot.store.base import Decider, Kind, Outcome
from bot.ui import CRISIS, button_view, resolve_country, to_embed

if TYPE_CHECKING:
    from bot.bot import RecoveryBot
    from bot.content.embeds import EmbedSpec
    from bot.crisis.detector import Detection
    from bot.store.base import GuildSettings

Member = discord.User | discord.Member

log = logging.getLogger(__name__)

SCANNED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
ANSWERED_LIMIT = 10_000
NOTEWORTHY = frozenset({Decider.MODEL, Decider.MODEL_VETO})
UNSCORED = frozenset({ModelState.LATE, ModelState.OVERLOADED, ModelState.FAILED})
# Each delivery step (channel reply, DM, moderator alert) gets this long, rate-limit waits
# and discord.py's 5xx retries included; then the next route is tried.
STEP_SECONDS = 3.0
UNCERTAIN_NOTE = ("In case my reply in the channel didn't reach you, here it is again. "
                  "You don't need to answer me.")


class Crisis(commands.Cog):
    """Notices crisis language and answers with help; `/crisis-replies` to opt out."""

    def __init__(self, bot: RecoveryBot, gate: ReplyGate | None = None):
        self.bot = bot
        self.gate = gate or ReplyGate()
        self.step_seconds = STEP_SECONDS
        # message id -> severity already answered, so an edit does not answer twice.
        self._answered: OrderedDict[int, Severity] = OrderedDict()

    # --- listeners -------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self.consider(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        message = payload.message
        # Discord also sends MESSAGE_UPDATE when a link preview unfurls; only a real edit
        # (edited_timestamp set) can change the text, so only those are looked at again.
        if ("content" in payload.data and getattr(message, "author", None) is not None
                and message.edited_at is not None):
            await self.consider(message)

    async def consider(self, message: discord.Message) -> None:
        """Check one message and reply if it shows a crisis. Never raises."""
        inflight = getattr(self.bot, "inflight", None)
        try:
            if inflight is None:
                await self._consider(message)
            else:
                with inflight.track():  # shutdown lets these finish before closing
                    await self._consider(message)
        except Exception:
            log.exception("crisis handling failed")

    async def _consider(self, message: discord.Message) -> None:
        author = message.author
        if (author.bot or author.system or message.webhook_id is not None
                or message.type not in SCANNED_TYPES or not message.content):
            return
        guild = message.guild
        settings = self.bot.cache.guild(guild.id) if guild else None
        if settings is not None:
            if not settings.crisis_replies:
                return
            channel = message.channel
            parent_id = getattr(channel, "parent_id", None)
            if channel.id in settings.ignored_channels or parent_id in settings.ignored_channels:
                return
            roles = getattr(author, "_roles", ())
            if settings.bypass_roles and any(r in settings.bypass_roles for r in roles):
                return
        verdict = await self.bot.assessor.assess(message.content)
        if verdict.decided_by in NOTEWORTHY or verdict.model in UNSCORED:
            # Counts only: how often the model added or vetoed, or could not answer in time.
            self.bot.usage.record(guild.id if guild else None, Kind.CRISIS_MODEL,
                                  verdict.decided_by, Outcome(verdict.model))
        detection = verdict.detection
        if detection is None:
            return
        if self.bot.cache.opted_out(self.bot.pseudonyms(author.id)):
            return
        previous = self._answered.get(message.id)
        if previous is not None and SEVERITY_RANK[previous] >= SEVERITY_RANK[detection.severity]:
            return
        cooldown = (settings.cooldown_minutes if settings else 30) * 60
        if not self.gate.member_allows((guild.id if guild else 0, author.id),
                                       detection.severity, cooldown):
            self.bot.usage.record(guild.id if guild else None, Kind.CRISIS_REPLY,
                                  f"{detection.category}/{detection.severity}", Outcome.COOLDOWN)
            return
        self._remember(message.id, detection.severity)
        await self._deliver(message, detection, settings)

    def _remember(self, message_id: int, severity: Severity) -> None:
        self._answered[message_id] = severity
        self._answered.move_to_end(message_id)
        while len(self._answered) > ANSWERED_LIMIT:
            self._answered.popitem(last=False)

    # --- delivery --------------------------------------------------------------------

    def _also(self, text: str) -> set[str]:
        """Every crisis category in the message, so an overdose with suicidal words gets a
        reply that speaks to both. A failure here must never stop the reply."""
        try:
            return {c.rule.category for c in self.bot.content.detector.explain(text)
                    if c.suppressed_by is None}
        except Exception:
            log.exception("listing crisis categories failed")
            return set()

    async def _deliver(self, message: discord.Message, detection: Detection,
                       settings: GuildSettings | None) -> None:
        guild = message.guild
        guild_id = guild.id if guild else None
        key = f"{detection.category}/{detection.severity}"
        alert_channel = self._alert_channel(guild, settings)
        alerting = alert_channel is not None and self.gate.alert_allows(guild_id)
        country = resolve_country(self.bot, guild, message.author.id)
        embed = to_embed(crisis_reply(detection.category, detection.severity, detection.subject,
                                      country, moderators_notified=alerting,
                                      also=self._also(message.content)), CRISIS)
        view = button_view(self.bot)

        in_guild = guild is not None
        mode = settings.reply_mode if settings is not None else ReplyMode.CHANNEL
        # The channel cap is checked before the first step, except in DM mode where the
        # channel is only a fallback (checking takes a slot).
        cap_reached = (in_guild and mode != ReplyMode.DM
                       and not self.gate.channel_allows(message.channel.id))
        steps = plan(mode, in_guild=in_guild, cap_reached=cap_reached,
                     alert_configured=alert_channel is not None)
        tried: dict[Route, Sent] = {}

        async def attempt(step: Step) -> Sent:
            if step.if_cap_allows and not self.gate.channel_allows(message.channel.id):
                return Sent.FAILED
            if step.route is Route.CHANNEL:
                sent = await self._reply(message, embed, view)
            elif step.route is Route.DM:
                # A reply cut off after sending may not have arrived: the DM says so.
                note = UNCERTAIN_NOTE if tried.get(Route.CHANNEL) is Sent.UNCERTAIN else None
                sent = await self._dm(message.author, embed, view, note=note)
            else:
                sent = await self._last_resort(alert_channel, settings, message, detection)
            tried[step.route] = sent
            return sent

        outcome = await follow(steps, attempt)
        if cap_reached and alert_channel is not None and settings is not None \
                and self.gate.burst_alert_due(message.channel.id):
            # The member first; the moderators' burst alert after.
            await self._send_alert(alert_channel, settings, burst_alert(
                channel_mention=f"<#{message.channel.id}>", limit=self.gate.channel_limit,
                window_seconds=int(self.gate.channel_window)))
        if outcome in (Outcome.FAILED, Outcome.ALERT_FALLBACK):
            log.warning("crisis reply could not reach the member (%s)", outcome)
        self.bot.usage.record(guild_id, Kind.CRISIS_REPLY, key, outcome)
        self.bot.usage.record(guild_id, Kind.CRISIS_COUNTRY, country.code)
        # The alert fallback has already told the moderators.
        if alerting and alert_channel and settings and outcome != Outcome.ALERT_FALLBACK:
            sent = await self._alert(alert_channel, settings, message, detection)
            self.bot.usage.record(guild_id, Kind.CRISIS_ALERT, key,
                                  Outcome.OK if sent else Outcome.FAILED)

    async def _last_resort(self, alert_channel: discord.abc.Messageable | None,
                           settings: GuildSettings | None, message: discord.Message,
                           detection: Detection) -> Sent:
        """Neither the channel nor DMs worked: tell the moderators someone needs a person."""
        spec = moderator_alert(detection.category, detection.severity, detection.subject,
                               channel_mention=f"<#{message.channel.id}>",
                               member_mention=message.author.mention,
                               jump_url=message.jump_url, replied=False)
        if alert_channel is None or settings is None:  # not planned without an alert channel
            return Sent.FAILED
        return Sent.OK if await self._send_alert(alert_channel, settings, spec) \
            else Sent.FAILED

    async def _reply(self, message: discord.Message, embed: discord.Embed,
                     view: discord.ui.View) -> Sent:
        return await _step("crisis reply in channel", self.step_seconds, lambda: message.reply(
            embed=embed, view=view, mention_author=False))

    async def _dm(self, user: Member, embed: discord.Embed, view: discord.ui.View,
                  note: str | None = None) -> Sent:
        return await _step("crisis reply by DM", self.step_seconds,
                           lambda: user.send(content=note, embed=embed, view=view))

    # --- moderator alerts ------------------------------------------------------------

    def _alert_channel(self, guild: discord.Guild | None,
                       settings: GuildSettings | None) -> discord.abc.Messageable | None:
        if guild is None or settings is None or not settings.alert_channel_id:
            return None
        channel = guild.get_channel_or_thread(settings.alert_channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.bot.get_partial_messageable(settings.alert_channel_id, guild_id=guild.id)

    async def _alert(self, channel: discord.abc.Messageable, settings: GuildSettings,
                     message: discord.Message, detection: Detection) -> bool:
        spec = moderator_alert(detection.category, detection.severity, detection.subject,
                               channel_mention=f"<#{message.channel.id}>",
                               member_mention=message.author.mention,
                               jump_url=message.jump_url)
        return await self._send_alert(channel, settings, spec)

    async def _send_alert(self, channel: discord.abc.Messageable, settings: GuildSettings,
                          spec: EmbedSpec) -> bool:
        role_id = settings.alert_role_id
        content = f"<@&{role_id}>" if role_id else None
        mentions = discord.AllowedMentions(roles=[discord.Object(role_id)]) if role_id \
            else discord.AllowedMentions.none()
        sent = await _step("moderator alert", self.step_seconds, lambda: channel.send(
            content=content, embed=to_embed(spec, CRISIS), allowed_mentions=mentions))
        return sent is Sent.OK

    # --- member preference -----------------------------------------------------------

    @app_commands.command(name="crisis-replies",
                          description="Turn automatic crisis replies to your messages off or on")
    @app_commands.describe(enabled="False: I won't reply to your messages. /hotline still works.")
    async def crisis_replies(self, interaction: discord.Interaction, enabled: bool) -> None:
        if not isinstance(enabled, bool):  # Discord checks option types in its client only
            await interaction.response.send_message("`enabled` must be True or False.",
                                                    ephemeral=True)
            return
        text = ("Automatic crisis replies to your messages are on." if enabled else
                "Done: I won't reply automatically to your messages, in any server. "
                "`/hotline` still shows crisis lines any time, and `/crisis-replies "
                "enabled:True` turns replies back on.")

        def reply(_: object, error: BaseException | None) -> dict[str, Any]:
            if error is not None:
                return {"content": STORAGE_PROBLEM}
            lost = self.bot.cache.storage_problem()
            return {"content": f"{text}\n\n{lost}" if lost else text}

        change = self.bot.cache.set_opt_out(self.bot.pseudonyms(interaction.user.id),
                                            not enabled)
        _, error = await answer_when_done(interaction, change, reply, pending=NOT_SAVED_YET,
                                          what="/crisis-replies")
        if error is None:
            self.bot.usage.record(interaction.guild_id, Kind.CRISIS_OPT,
                                  "on" if enabled else "off")


# Steps given up on but still running: a reference keeps them alive until they end.
_abandoned: set[asyncio.Task] = set()


async def _step(what: str, seconds: float, send: Callable[[], Awaitable[object]]) -> Sent:
    """Run one delivery step, waiting at most `seconds`; never raises an ordinary error.

    A step that takes too long is left to finish in the background rather than cancelled:
    cancelling discord.py in the middle of a global rate-limit wait would leave every
    later request blocked. If it completes later, the member gets a second copy.
    """
    task = asyncio.ensure_future(send())
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        # Waiting on a rate limit, 5xx retries or a hung connection: it may yet be sent.
        log.warning("%s took longer than %.1f s; trying the next route", what, seconds)
        _abandoned.add(task)
        task.add_done_callback(_forget)
        return Sent.UNCERTAIN
    exc = task.exception()
    if exc is None:
        return Sent.OK
    if isinstance(exc, discord.HTTPException):
        log.warning("%s failed: HTTP %s code %s", what, exc.status, exc.code)
        return Sent.FAILED
    if isinstance(exc, aiohttp.ClientConnectorError):  # no connection was made
        log.warning("%s failed: %s", what, type(exc).__name__)
        return Sent.FAILED
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        # Dropped mid-request: it may have arrived.
        log.warning("%s failed: %s", what, type(exc).__name__)
        return Sent.UNCERTAIN
    # Anything else is a bug here or in discord.py; the next route may still work.
    log.error("%s failed unexpectedly", what, exc_info=exc)
    return Sent.FAILED


def _forget(task: asyncio.Task) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.info("a crisis delivery step given up on ended with an error",
                 exc_info=task.exception())


async def setup(bot: RecoveryBot) -> None:
    await bot.add_cog(Crisis(bot))
