"""`/stats`: this server's aggregated usage, for moderators."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.interactions import answer_when_done
from bot.stats import StatsReport, shown, summarize
from bot.store.base import Kind, UsageRow

if TYPE_CHECKING:
    from bot.bot import RecoveryBot

DAYS_MAX = 365


def _lines(counter: Counter[str], crisis: bool, limit: int = 10) -> str:
    return "\n".join(f"{key}: {shown(n, crisis)}" for key, n in counter.most_common(limit)) \
        or "none"


class Stats(commands.Cog):
    def __init__(self, bot: RecoveryBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="How the bot was used in this server")
    @app_commands.describe(days="How many days back (1-365, default 30)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction,
                    days: app_commands.Range[int, 1, DAYS_MAX] = 30) -> None:
        if not interaction.permissions.manage_guild:
            await interaction.response.send_message(
                "Only members with the Manage Server permission can see statistics.",
                ephemeral=True)
            return
        # Discord enforces the range in its client only; a forged value is checked here.
        if not isinstance(days, int) or not 1 <= days <= DAYS_MAX:
            await interaction.response.send_message(
                f"`days` must be a whole number from 1 to {DAYS_MAX}.", ephemeral=True)
            return
        today = dt.datetime.now(dt.UTC).date()

        async def read() -> list[UsageRow]:
            # Flush first so the moderator sees what happened a moment ago. Shielded: a
            # flush cut off by the answer deadline would lose its batch of counts.
            await asyncio.shield(self.bot.usage.flush())
            return await self.bot.store.usage_summary(interaction.guild_id,
                                                      today - dt.timedelta(days=days - 1))

        def reply(rows: list[UsageRow] | None, error: BaseException | None) -> dict[str, Any]:
            if error is not None:
                return {"content": "I couldn't read the statistics just now. Please try "
                                   "again later."}
            return {"embed": _embed(summarize(rows or [], days, today), days)}

        _, error = await answer_when_done(interaction, read(), reply, what="/stats")
        if error is None:
            self.bot.usage.record(interaction.guild_id, Kind.STATS)


def _embed(report: StatsReport, days: int) -> discord.Embed:
    embed = discord.Embed(title=f"Usage in the last {days} day(s)",
                          colour=discord.Colour.teal(),
                          description=f"Daily activity: `{report.sparkline()}`")
    embed.add_field(name="Topic lookups", value=_lines(report.topics, False), inline=False)
    embed.add_field(name="Crisis replies (category/severity)",
                    value=_lines(report.crisis, True), inline=False)
    embed.add_field(name="Moderator alerts", value=shown(report.alerts, True), inline=True)
    embed.add_field(name="Fallbacks (DM, capped, alert)",
                    value=_lines(report.fallbacks, True), inline=True)
    embed.add_field(name="Crisis-line lookups by country",
                    value=_lines(report.hotlines, False), inline=False)
    embed.add_field(name="Crisis model (model: found alone; model_veto: overruled a rule; "
                         "late/overloaded/failed: rules alone)",
                    value=_lines(report.model, True), inline=False)
    embed.set_footer(text="Counts per UTC day; no messages or member ids are stored. "
                          "Crisis counts from 1 to 4 show as 'fewer than 5'.")
    return embed


async def setup(bot: RecoveryBot) -> None:
    await bot.add_cog(Stats(bot))
