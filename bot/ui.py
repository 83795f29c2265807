"""Small Discord-side helpers shared by the cogs."""

from __future__ import annotations

import discord

from bot.content.embeds import EmbedSpec

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


