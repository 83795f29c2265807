"""`/privacy`: what the bot keeps and what it never keeps, in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.store.base import Kind

if TYPE_CHECKING:
    from bot.bot import RecoveryBot


def privacy_text(retention_days: int, source_url: str | None) -> str:
    where = (f"The code is open source: {source_url}" if source_url else
             "The code is open source; your moderators can tell you where it is hosted.")
    return (
        "**What I never store:** what you write. I read messages to notice when someone "
        "may be in danger, then forget them. Your messages, what you type into my commands, "
        "and your user id are never saved or logged.\n\n"
        "**What I store:**\n"
        "• This server's settings, chosen by moderators.\n"
        "• If you turn off automatic replies or pick a DM country: that choice, filed under "
        "a scrambled code made from your id with a secret key. The code cannot be turned "
        "back into your id.\n"
        "• Counts per day, like \"3 topic lookups for ptsd\" or \"1 crisis reply\". No names, "
        "no messages, no times finer than a day.\n\n"
        f"**How long:** daily counts are deleted after {retention_days} days. When I leave a "
        "server, its settings and counts are deleted.\n\n"
        "**Moderator alerts:** if this server set an alert channel, moderators see that a "
        "crisis reply went out, in which channel, to whom, with a link. Never the text.\n\n"
        "**Opt out:** `/crisis-replies enabled:False` stops automatic replies to your "
        "messages everywhere. `/hotline` always works.\n\n"
        f"{where}"
    )


class Privacy(commands.Cog):
    def __init__(self, bot: RecoveryBot) -> None:
        self.bot = bot

    @app_commands.command(name="privacy", description="What this bot stores and what it never "
                                                      "stores")
    async def privacy(self, interaction: discord.Interaction) -> None:
        embed = discord.Embed(title="Your privacy", colour=discord.Colour.teal(),
                              description=privacy_text(self.bot.settings.retention_days,
                                                       self.bot.settings.source_url))
        await interaction.response.send_message(embed=embed, ephemeral=True)
        self.bot.usage.record(interaction.guild_id, Kind.PRIVACY)


async def setup(bot: RecoveryBot) -> None:
    await bot.add_cog(Privacy(bot))
