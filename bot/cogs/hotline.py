"""`/hotline`, `/my-country` and the "lines for another country" button on crisis replies."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.interactions import NOT_SAVED_YET, STORAGE_PROBLEM, answer_when_done
from bot.replies import hotline_embed
from bot.ui import TEAL, to_embed

OTHER_COUNTRY_ID = "crisis:other-country"


def resolve_country(bot, guild: discord.Guild | None, user_id: int):
    """The country whose lines a person should see.

    In a server: the configured region, else the server's preferred locale, else the
    international fallback. In DMs: the member's own choice, else the fallback.
    """
    hotlines = bot.content.hotlines
    if guild is not None:
        region = bot.cache.guild(guild.id).region
        if region:
            return hotlines.resolve(region)
        locale = getattr(guild, "preferred_locale", None)
        return hotlines.resolve(hotlines.country_for_locale(str(locale) if locale else None))
    return hotlines.resolve(bot.cache.dm_country(bot.pseudonyms(user_id)))


async def country_choices(bot, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete over country names and ISO codes."""
    return [app_commands.Choice(name=f"{c.name} ({c.code})"[:100], value=c.code)
            for c in bot.content.hotlines.search(current[:60], limit=25)]


class CountrySelect(discord.ui.Select):
    """One alphabetical group of countries; a message carries one select per group."""

    def __init__(self, bot, countries, placeholder: str = "Choose a country"):
        self.bot = bot
        super().__init__(placeholder=placeholder[:150],
                         options=[discord.SelectOption(label=c.name[:100], value=c.code)
                                  for c in countries])

    async def callback(self, interaction: discord.Interaction) -> None:
        country = self.bot.content.hotlines.resolve(self.values[0])
        await interaction.response.edit_message(embed=to_embed(hotline_embed(country), TEAL),
                                                view=None)
        self.bot.usage.record(interaction.guild_id, "hotline", country.code, "button")


class OtherCountryView(discord.ui.View):
    """Persistent button under every crisis reply; survives restarts by its custom_id."""

    def __init__(self, bot):
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Lines for another country", style=discord.ButtonStyle.secondary,
                       custom_id=OTHER_COUNTRY_ID)
    async def other_country(self, interaction: discord.Interaction,
                            button: discord.ui.Button) -> None:
        await interaction.response.send_message("Which country are you in?",
                                                view=country_picker(self.bot), ephemeral=True)


def country_picker(bot) -> discord.ui.View:
    """Selects that together reach every country (a select holds only 25 options)."""
    view = discord.ui.View(timeout=600)
    groups = bot.content.hotlines.picker_groups()
    for group in groups:
        label = "Choose a country"
        if len(groups) > 1:
            label += f" ({group[0].name[:20]} to {group[-1].name[:20]})"
        view.add_item(CountrySelect(bot, group, label))
    return view


def button_view(bot) -> OtherCountryView:
    """The button to attach to a message, without discord.py keeping a view per message.

    A view sent while still running is stored for its message forever (timeout=None), so
    every crisis reply would grow memory. This one is stopped before sending: the button is
    still sent, and clicks reach the single persistent view registered at start-up, which
    has the same custom_id (and so also works after a restart).
    """
    view = OtherCountryView(bot)
    view.stop()
    return view


class Hotline(commands.Cog):
    """Crisis lines on request; works in servers and DMs."""

    def __init__(self, bot):
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
                self.bot.usage.record(interaction.guild_id, "hotline", "", "not_found")
                return
        else:
            found = resolve_country(self.bot, interaction.guild, interaction.user.id)
        await interaction.response.send_message(embed=to_embed(hotline_embed(found)),
                                                view=button_view(self.bot), ephemeral=True)
        self.bot.usage.record(interaction.guild_id, "hotline", found.code)

    @hotline.autocomplete("country")
    async def hotline_autocomplete(self, interaction: discord.Interaction, current: str):
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
            self.bot.usage.record(interaction.guild_id, "my_country", code or "", "ok")

    @my_country.autocomplete("country")
    async def my_country_autocomplete(self, interaction: discord.Interaction, current: str):
        return await country_choices(self.bot, current)


async def setup(bot) -> None:
    bot.add_view(OtherCountryView(bot))
    await bot.add_cog(Hotline(bot))
