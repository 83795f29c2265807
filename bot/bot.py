"""The Discord client: wiring between discord.py, the content, the store and the cogs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Config
from bot.content.bundle import Content
from bot.crisis.hybrid import Assessor, ModelWorker, shared_process_scorer
from bot.crisis.onnx_encoder import Backend
from bot.runtime import InFlight, make_runtime
from bot.store import Store

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.cogs.topics",
    "bot.cogs.hotline",
    "bot.cogs.crisis",
    "bot.cogs.server_settings",
    "bot.cogs.stats",
    "bot.cogs.privacy",
)

# Shutdown budget (seconds), inside Docker's 10 s grace period: let crisis deliveries
# finish, write the usage counts, close the store; discord.py's own close takes the rest.
DRAIN_SECONDS = 4.5
FLUSH_SECONDS = 2.5
STORE_CLOSE_SECONDS = 1.0
# Gateway events not taken once shutdown has begun (the new work they would start).
STOP_TAKING = frozenset({"message", "raw_message_edit", "message_edit"})


class Tree(app_commands.CommandTree):
    """Command tree whose errors are answered politely and logged without user input."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if getattr(self.client, "stopping", False):
            raise app_commands.CheckFailure(
                "I'm restarting right now. Please try again in a minute.")
        return True

    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        elif isinstance(error, app_commands.TransformerError):
            # A channel, role or value Discord could not resolve here, e.g. one from
            # another server. The value itself is not repeated.
            log.info("command /%s got an option it could not use",
                     interaction.command.qualified_name if interaction.command else "?")
            text = ("I can't use that value here. Please pick it from the list Discord "
                    "offers; channels and roles must belong to this server.")
        else:
            name = interaction.command.qualified_name if interaction.command else "?"
            original = getattr(error, "original", error)
            # The formatter prints frames and the exception class, never its text, which
            # could quote what the member typed.
            log.error("command /%s failed", name, exc_info=original)
            text = "Something went wrong on my side. Please try again in a moment."
        if interaction.type is discord.InteractionType.autocomplete:
            # Autocomplete can only be answered with choices; a message would be refused.
            if not interaction.response.is_done():
                with contextlib.suppress(discord.HTTPException):
                    await interaction.response.autocomplete([])
            return
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            pass


class RecoveryBot(commands.AutoShardedBot):
    """The bot. Holds the loaded content, the store, the settings cache and usage counter.

    Runs the shards SHARD_IDS of SHARD_COUNT (all shards when SHARD_IDS is unset; as many
    as Discord recommends when SHARD_COUNT is unset too). A guild lives on one shard and
    DMs arrive on shard 0, so per-guild state (cooldowns, answered messages) may stay in
    this process; settings, preferences and counts are shared through the store.
    """

    def __init__(self, settings: Config, content: Content, store: Store,
                 pseudonyms: Callable[[int], str], *, guild_ready_timeout: float = 2.0):

        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = True  # privileged: crisis detection reads message text
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=Tree,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,  # no message cache: we never keep message text in memory
            shard_count=settings.shard_count,
            # None means every shard; discord.py's annotation says List[int] only.
            shard_ids=list(settings.shard_ids) if settings.shard_ids else None,  # pyright: ignore[reportArgumentType]
        )
        self.settings = settings
        self.content = content
        self.store = store
        self.pseudonyms = pseudonyms  # callable: user id -> keyed pseudonym
        self.cache, self.usage = make_runtime(store, settings)
        policy = content.crisis_policy
        worker = None
        if content.crisis_model is not None and settings.crisis_model == "on":
            adapter = settings.content_dir / "crisis" / "model" / "adapter.npz"
            scorer = shared_process_scorer(adapter, Backend(settings.crisis_model_backend))
            worker = ModelWorker(scorer, queue_size=policy.queue_size,
                                 max_batch=policy.max_batch)
        self.assessor = Assessor(content.detector, worker, policy)
        self.inflight = InFlight()  # crisis deliveries shutdown waits for
        self.stopping = False
        self.events_not_taken = 0
        self._shutdown: asyncio.Task | None = None

    async def setup_hook(self) -> None:
        await self.cache.load()
        self.usage.start()
        for ext in EXTENSIONS:
            await self.load_extension(ext)
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d application commands", len(synced))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: skip commands.Bot's per-message command parsing."""

    async def on_ready(self) -> None:
        log.info("ready as %s in %d server(s) on shard(s) %s of %s", self.user,
                 len(self.guilds), ",".join(map(str, sorted(self.shards))), self.shard_count)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Forget a server the bot left: settings, ignored channels, roles and usage rows."""
        try:
            await self.store.purge_guild(guild.id)
            self.cache.forget_guild(guild.id)
        except Exception:
            log.exception("could not purge data of a server the bot left")

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """Once shutdown has begun, take no new messages: their replies could not be
        finished, nor counted, before the connection closes."""
        if self.stopping and event_name in STOP_TAKING:
            self.events_not_taken += 1
            return
        super().dispatch(event_name, *args, **kwargs)

    async def close(self) -> None:
        """Shut down in order, within about 9 s: stop taking messages, let crisis deliveries
        finish, write usage counts, close the store, then the gateway and HTTP session."""
        if self._shutdown is None:
            self._shutdown = asyncio.create_task(self._close_in_order(), name="bot-shutdown")
        await asyncio.shield(self._shutdown)

    async def _close_in_order(self) -> None:
        started = time.monotonic()
        self.stopping = True
        still = await self.inflight.wait(DRAIN_SECONDS)
        if still:
            log.warning("shutdown: %d crisis deliveries still running after %.1f s; their "
                        "usage counts will be lost", still, DRAIN_SECONDS)
        # Deliveries are done: the model's thread has nothing left to answer.
        await asyncio.to_thread(self.assessor.close)
        pending = self.usage.pending_events
        if not await _within(self.usage.close(), FLUSH_SECONDS, "final usage flush"):
            log.error("shutdown: %d usage events not confirmed written (the database did "
                      "not answer within %.1f s)", pending, FLUSH_SECONDS)
        await _within(self.store.close(), STORE_CLOSE_SECONDS, "closing the store")
        await super().close()
        if self.events_not_taken:
            log.info("shutdown: %d messages arrived while stopping and were not handled",
                     self.events_not_taken)
        log.info("shutdown took %.1f s", time.monotonic() - started)


async def _within(work: Awaitable[object], seconds: float, what: str) -> bool:
    """Await `work` for at most `seconds`; log a failure or timeout. True if it finished.

    On timeout the work is cancelled but not waited for: a database call stuck in its
    thread cannot be interrupted, and shutdown must not wait for it.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.error("%s did not finish within %.1f s", what, seconds)
        return False
    if task.exception() is not None:
        log.error("%s failed", what, exc_info=task.exception())
        return False
    return True
