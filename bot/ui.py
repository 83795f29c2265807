"""Discord-side pieces shared by the cogs: embeds, the country picker and the
"Lines for another country" button that crisis replies and /hotline carry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.content.embeds import EmbedSpec
from bot.content.replies import hotline_embed
from bot.store.base import Kind, Outcome

if TYPE_CHECKING:
    from bot.bot import RecoveryBot
    from bot.content.hotlines import Country

TEAL = discord.Colour(0x2A9D8F)
CRISIS = discord.Colour(0xE76F51)


def to_embed(spec: EmbedSpec, colour: discord.Colour = TEAL) -> discord.Embed:
    """Turn a Discord-free EmbedSpec into a discord.Embed."""
    embed = discord.Embed(title=spec.title, description=spec.description or None, colour=colour)
    for name, value in spec.fields:
        embed.add_field(name=name, value=value, inline=False)
    if spec.footer:
        embed.set_footer(text=spec.footer)
    return embed


OTHER_COUNTRY_ID = "crisis:other-country"


def resolve_country(bot: RecoveryBot, guild: discord.Guild | None, user_id: int) -> Country:
    """The country whose lines a person should see (see `HotlineDirectory.for_member`)."""
    hotlines = bot.content.hotlines
    if guild is None:
        return hotlines.for_member(in_server=False,
                                   dm_choice=bot.cache.dm_country(bot.pseudonyms(user_id)))
    locale = getattr(guild, "preferred_locale", None)
    return hotlines.for_member(in_server=True, region=bot.cache.guild(guild.id).region,
                               locale=str(locale) if locale else None)


async def country_choices(bot: RecoveryBot, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete over country names and ISO codes."""
    return [app_commands.Choice(name=f"{c.name} ({c.code})"[:100], value=c.code)
            for c in bot.content.hotlines.search(current[:60], limit=25)]


class CountrySelect(discord.ui.Select):
    """One alphabetical group of countries; a message carries one select per group."""

    def __init__(self, bot: RecoveryBot, countries: Sequence[Country],
                 placeholder: str = "Choose a country") -> None:
        self.bot = bot
        super().__init__(placeholder=placeholder[:150],
                         options=[discord.SelectOption(label=c.name[:100], value=c.code)
                                  for c in countries])

    async def callback(self, interaction: discord.Interaction) -> None:
        country = self.bot.content.hotlines.resolve(self.values[0])
        await interaction.response.edit_message(embed=to_embed(hotline_embed(country), TEAL),
                                                view=None)
        self.bot.usage.record(interaction.guild_id, Kind.HOTLINE, country.code, Outcome.BUTTON)


class OtherCountryView(discord.ui.View):
    """Persistent button under every crisis reply; survives restarts by its custom_id."""

    def __init__(self, bot: RecoveryBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Lines for another country", style=discord.ButtonStyle.secondary,
                       custom_id=OTHER_COUNTRY_ID)
    async def other_country(self, interaction: discord.Interaction,
                            button: discord.ui.Button) -> None:
        await interaction.response.send_message("Which country are you in?",
                                                view=country_picker(self.bot), ephemeral=True)


def country_picker(bot: RecoveryBot) -> discord.ui.View:
    """Selects that together reach every country (a select holds only 25 options)."""
    view = discord.ui.View(timeout=600)
    groups = bot.content.hotlines.picker_groups()
    for group in groups:
        label = "Choose a country"
        if len(groups) > 1:
            label += f" ({group[0].name[:20]} to {group[-1].name[:20]})"
        view.add_item(CountrySelect(bot, group, label))
    return view


def button_view(bot: RecoveryBot) -> OtherCountryView:
    """The button to attach to a message, without discord.py keeping a view per message.

    A view sent while still running is stored for its message forever (timeout=None), so
    every crisis reply would grow memory. This one is stopped before sending: the button is
    still sent, and clicks reach the single persistent view registered at start-up, which
    has the same custom_id (and so also works after a restart).
    """
    view = OtherCountryView(bot)
    view.stop()
    return view
