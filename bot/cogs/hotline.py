"""`/hotline`, `/my-country` and the "lines for another country" button on crisis replies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.content.replies import hotline_embed
from bot.interactions import NOT_SAVED_YET, STORAGE_PROBLEM, answer_when_done
from bot.store.base import Kind, Outcome
from bot.ui import OtherCountryView, button_view, country_choices, resolve_country, to_embed

if TYPE_CHECKING:
    from bot.bot import RecoveryBot


class Hotline(commands.Cog):
    """Crisis lines on request; works in servers and DMs."""

    def __init__(self, bot: RecoveryBot) -> None:
        self.bot = bot

    @app_commands.command(name="hotline", description="Crisis lines and the emergency number "
                                                      "for a country")
    @app_commands.describe(country="Country name or code (default: this server's country)")
    async def hotline(self, interaction: discord.Interaction, country: str | None = None) -> None:
        directory = self.bot.content.hotlines
        if country:
            found = directory.get(country[:60]) or next(iter(directory.search(country[:60], 1)),
                                                        None)
            if found is None:
                await interaction.response.send_message(
                    "I don't have lines for that country yet. Here are international "
                    "options; you can also pick a country from the list as you type.",
                    embed=to_embed(hotline_embed(directory.fallback)), ephemeral=True)
                self.bot.usage.record(interaction.guild_id, Kind.HOTLINE, "", Outcome.NOT_FOUND)
                return
        else:
            found = resolve_country(self.bot, interaction.guild, interaction.user.id)
        await interaction.response.send_message(embed=to_embed(hotline_embed(found)),
                                                view=button_view(self.bot), ephemeral=True)
        self.bot.usage.record(interaction.guild_id, Kind.HOTLINE, found.code)

    @hotline.autocomplete("country")
    async def hotline_autocomplete(self, interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[str]]:
        return await country_choices(self.bot, current)

    @app_commands.command(name="my-country", description="Set the country whose crisis lines "
                                                         "I show you in DMs")
    @app_commands.describe(country="Country name or code; leave empty to clear")
    async def my_country(self, interaction: discord.Interaction,
                         country: str | None = None) -> None:
        directory = self.bot.content.hotlines
        code = None
        if country:
            found = directory.get(country[:60])
            if found is None or found.code == directory.fallback.code:
                await interaction.response.send_message(
                    "Please pick a country from the list as you type.", ephemeral=True)
                return
            code = found.code
        text = (f"In DMs I'll show you crisis lines for {directory.resolve(code).name}."
                if code else "Cleared. In DMs I'll show international options.")
        change = self.bot.cache.set_dm_country(self.bot.pseudonyms(interaction.user.id), code)
        _, error = await answer_when_done(
            interaction, change, lambda _, error: {"content": STORAGE_PROBLEM if error else text},
            pending=NOT_SAVED_YET, what="/my-country")
        if error is None:
            self.bot.usage.record(interaction.guild_id, Kind.MY_COUNTRY, code or "")

    @my_country.autocomplete("country")
    async def my_country_autocomplete(self, interaction: discord.Interaction,
                                      current: str) -> list[app_commands.Choice[str]]:
        return await country_choices(self.bot, current)


async def setup(bot: RecoveryBot) -> None:
    bot.add_view(OtherCountryView(bot))
    await bot.add_cog(Hotline(bot))
