"""The Discord client: wiring between discord.py, the content, the store and the cogs."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.content.bundle import Content
from bot.runtime import make_runtime
from bot.settings import Settings

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.cogs.topics",
    "bot.cogs.hotline",
    "bot.cogs.crisis",
    "bot.cogs.settings",
    "bot.cogs.stats",
    "bot.cogs.privacy",
)


class Tree(app_commands.CommandTree):
    """Command tree whose errors are answered politely and logged without user input."""

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
            # Only the command name and the exception class: the exception text could
            # quote what the member typed.
            log.error("command /%s failed: %s", name, type(original).__name__)
            text = "Something went wrong on my side. Please try again in a moment."
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

    def __init__(self, settings: Settings, content: Content, store, pseudonyms, *,
                 guild_ready_timeout: float = 2.0):

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
            shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
        )
        self.settings = settings
        self.content = content
        self.store = store
        self.pseudonyms = pseudonyms  # callable: user id -> keyed pseudonym
        self.cache, self.usage = make_runtime(store, settings)

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
        except Exception as exc:
            log.error("could not purge data of a server the bot left: %s", type(exc).__name__)

    async def close(self) -> None:
        try:
            await self.usage.close()
        except Exception as exc:
            log.error("final usage flush failed: %s", type(exc).__name__)
        try:
            await self.store.close()
        except Exception as exc:
            log.error("closing the store failed: %s", type(exc).__name__)
        await super().close()
