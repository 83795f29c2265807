"""`/topic` and `/topics`: vetted, sourced summaries from content/topics/."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.content.topics import TopicLibrary, clean_query
from bot.store.base import Kind, Outcome
from bot.ui import TEAL, to_embed

if TYPE_CHECKING:
    from bot.bot import RecoveryBot

NAME_MAX = 100


class Topics(commands.Cog):
    """Serves topic summaries. Answers are private unless the member asks to share."""

    def __init__(self, bot: RecoveryBot) -> None:
        self.bot = bot

    @property
    def library(self) -> TopicLibrary:
        return self.bot.content.topics

    @app_commands.command(name="topic", description="A short, sourced summary of a topic")
    @app_commands.describe(
        name="Topic, e.g. ptsd, naloxone, methadone, kratom",
        share="Post it in the channel for everyone (default: only you see it)",
    )
    async def topic(self, interaction: discord.Interaction, name: str,
                    share: bool = False) -> None:
        guild_id = interaction.guild_id
        if len(name) > NAME_MAX or not clean_query(name):
            await interaction.response.send_message(
                "Please give a short topic name, like `ptsd` or `naloxone`. "
                "`/topics` lists them all.", ephemeral=True)
            self.bot.usage.record(guild_id, Kind.TOPIC, "", Outcome.BAD_INPUT)
            return
        # Autocomplete picks arrive as ids; anything else typed must be an exact id, title
        # or alias. Near misses get suggestions rather than a guess.
        topic = self.library.get(name)
        if topic is None:
            # Never echo what was typed: it may be sensitive, and replies reach logs.
            suggestions = [m.topic for m in self.library.search(name, limit=3, cutoff=40)]
            lines = "\n".join(f"• `{t.id}`: {t.title}" for t in suggestions)
            text = "I don't have a topic by that name."
            text += f" Did you mean:\n{lines}" if lines else " `/topics` lists them all."
            await interaction.response.send_message(text, ephemeral=True)
            self.bot.usage.record(guild_id, Kind.TOPIC, "", Outcome.NOT_FOUND)
            return
        await interaction.response.send_message(embed=to_embed(topic.embed()),
                                                ephemeral=not share)
        self.bot.usage.record(guild_id, Kind.TOPIC, topic.id,
                              Outcome.SHARED if share else Outcome.OK)

    @topic.autocomplete("name")
    async def topic_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=m.topic.title[:100], value=m.topic.id)
                for m in self.library.search(str(current)[:NAME_MAX], limit=25)]

    @app_commands.command(name="topics", description="List the topics I can summarise")
    async def topics(self, interaction: discord.Interaction) -> None:
        lines = [f"**{t.title}** (`{t.id}`): {t.description}" for t in self.library.topics]
        embed = discord.Embed(title="Topics", description="\n".join(lines)[:4096],
                              colour=TEAL)
        embed.set_footer(text="Use /topic name:<topic>. Answers are only visible to you "
                              "unless you choose share.")
        await interaction.response.send_message(embed=embed, ephemeral=True)
        self.bot.usage.record(interaction.guild_id, Kind.TOPICS)


async def setup(bot: RecoveryBot) -> None:
    await bot.add_cog(Topics(bot))
