"""`/settings`: per-server configuration for moderators (Manage Server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.interactions import NOT_SAVED_YET, STORAGE_PROBLEM, answer_when_done
from bot.store.base import GuildSet, Kind
from bot.ui import country_choices

if TYPE_CHECKING:
    from bot.bot import RecoveryBot

MODE_TEXT = {"channel": "in the channel", "dm": "by DM", "both": "in the channel and by DM"}
COOLDOWN_MIN, COOLDOWN_MAX = 1, 1440


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerSettingsGroup(app_commands.Group, name="settings",
                    description="Configure the bot for this server (moderators)"):
    def __init__(self, bot: RecoveryBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Runtime check: even if a server override exposes the command, refuse politely."""
        if interaction.guild_id is None:
            raise app_commands.CheckFailure("This command only works in a server.")
        if not interaction.permissions.manage_guild:
            raise app_commands.CheckFailure(
                "Only members with the Manage Server permission can change or view "
                "these settings.")
        return True

    # --- helpers ---------------------------------------------------------------------

    @staticmethod
    def _guild_id(interaction: discord.Interaction) -> int:
        """The server's id; interaction_check has already refused DMs."""
        if interaction.guild_id is None:
            raise app_commands.CheckFailure("This command only works in a server.")
        return interaction.guild_id

    async def _save(self, interaction: discord.Interaction, setting: str,
                    change: Callable[[], Awaitable[object]], confirmation: str) -> None:
        """Apply a change through the cache (which writes the store) and confirm it, within
        Discord's answer deadline however slow the database is."""

        def reply(_: object, error: BaseException | None) -> dict[str, Any]:
            if error is None:
                lost = self.bot.cache.storage_problem()
                return {"content": f"{confirmation}\n\n{lost}" if lost else confirmation}
            if isinstance(error, ValueError):
                return {"content": str(error)}
            return {"content": STORAGE_PROBLEM}

        _, error = await answer_when_done(interaction, change(), reply, pending=NOT_SAVED_YET,
                                          what=f"/settings {setting}")
        if error is None:
            self.bot.usage.record(interaction.guild_id, Kind.SETTINGS_CHANGE, setting)

    def _update(self, interaction: discord.Interaction,
                **changes: object) -> Callable[[], Awaitable[object]]:
        return lambda: self.bot.cache.update_guild(self._guild_id(interaction),
                                                    **changes)

    @staticmethod
    def _same_guild(interaction: discord.Interaction, obj: object) -> bool:
        guild_id = getattr(obj, "guild_id", None) or getattr(getattr(obj, "guild", None), "id",
                                                             None)
        return guild_id == interaction.guild_id

    @staticmethod
    def _own_role(interaction: discord.Interaction, role: discord.abc.Snowflake) -> bool:
        """The role exists in this server. discord.py builds resolved roles with the
        interaction's guild, so only the guild's own role list can tell."""
        guild = interaction.guild
        return guild is not None and guild.get_role(role.id) is not None

    async def _refuse_foreign(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "That channel or role is not in this server.", ephemeral=True)

    # --- commands --------------------------------------------------------------------

    @app_commands.command(name="show", description="Show this server's settings")
    async def show(self, interaction: discord.Interaction) -> None:
        s = self.bot.cache.guild(self._guild_id(interaction))
        hotlines = self.bot.content.hotlines
        region = (f"{hotlines.resolve(s.region).name} ({s.region})" if s.region
                  else "not set (using the server's language setting, else international)")

        def mentions(ids: Iterable[int], fmt: str) -> str:
            return ", ".join(fmt.format(i) for i in sorted(ids)) or "none"

        embed = discord.Embed(title="Settings for this server", colour=discord.Colour.teal())
        rows = [
            ("Region", region),
            ("Automatic crisis replies", "on" if s.crisis_replies else "off"),
            ("Reply mode", MODE_TEXT[s.reply_mode]),
            ("Alert channel", f"<#{s.alert_channel_id}>" if s.alert_channel_id else "none"),
            ("Alert role", f"<@&{s.alert_role_id}>" if s.alert_role_id else "none"),
            ("Cooldown per member", f"{s.cooldown_minutes} minutes"),
            ("Ignored channels", mentions(s.ignored_channels, "<#{}>")),
            ("Bypass roles", mentions(s.bypass_roles, "<@&{}>")),
        ]
        for name, value in rows:
            embed.add_field(name=name, value=value[:1024], inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)
        self.bot.usage.record(interaction.guild_id, Kind.SETTINGS_SHOW)

    @app_commands.command(name="region", description="Country whose crisis lines I show here")
    @app_commands.describe(country="Country name or code; leave empty to use the server's "
                                   "language setting")
    async def region(self, interaction: discord.Interaction, country: str | None = None) -> None:
        code = None
        if country:
            found = self.bot.content.hotlines.get(country[:60])
            if found is None:
                codes = ", ".join(self.bot.content.hotlines.codes())
                await interaction.response.send_message(
                    f"I don't know that country. Pick one from the list as you type; "
                    f"allowed codes: {codes}.", ephemeral=True)
                return
            code = found.code
        name = self.bot.content.hotlines.resolve(code).name if code else None
        await self._save(interaction, "region", self._update(interaction, region=code),
                         f"Region set to {name} ({code})." if code else
                         "Region cleared: I'll use the server's language setting, "
                         "else international lines.")

    @region.autocomplete("country")
    async def region_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        return await country_choices(self.bot, str(current))  # a forged value may be a number

    @app_commands.command(name="crisis-replies", description="Turn automatic crisis replies "
                                                             "on or off in this server")
    async def crisis_replies(self, interaction: discord.Interaction, enabled: bool) -> None:
        await self._save(interaction, "crisis_replies",
                         self._update(interaction, crisis_replies=enabled),
                         "Automatic crisis replies are now " + ("on." if enabled else
                         "off. `/hotline` still works for everyone."))

    @app_commands.command(name="reply-mode", description="Where crisis replies go")
    async def reply_mode(self, interaction: discord.Interaction,
                         mode: Literal["channel", "dm", "both"]) -> None:
        if mode not in MODE_TEXT:
            await interaction.response.send_message(
                f"Reply mode must be one of: {', '.join(MODE_TEXT)}.", ephemeral=True)
            return
        await self._save(interaction, "reply_mode", self._update(interaction, reply_mode=mode),
                         f"Crisis replies now go {MODE_TEXT[mode]}.")

    @app_commands.command(name="alert-channel", description="Channel where moderators get "
                                                            "crisis alerts (empty: none)")
    async def alert_channel(self, interaction: discord.Interaction,
                            channel: discord.TextChannel | None = None) -> None:
        if channel is None:
            await self._save(interaction, "alert_channel",
                             self._update(interaction, alert_channel_id=None),
                             "Alert channel cleared: moderators won't get crisis alerts.")
            return
        if not self._same_guild(interaction, channel):
            await self._refuse_foreign(interaction)
            return
        warning = ""
        real = interaction.guild.get_channel(channel.id) if interaction.guild else None
        me = interaction.guild.me if interaction.guild else None
        if real is not None and me is not None:
            perms = real.permissions_for(me)
            if not (perms.view_channel and perms.send_messages and perms.embed_links):
                warning = (" Warning: I can't post there yet. Give me View Channel, Send "
                           "Messages and Embed Links in that channel.")
        await self._save(interaction, "alert_channel",
                         self._update(interaction, alert_channel_id=channel.id),
                         f"Crisis alerts will go to {channel.mention}. They name the channel "
                         f"and member and link the message, never its text.{warning}")

    @app_commands.command(name="alert-role", description="Role to mention in crisis alerts "
                                                         "(empty: none)")
    async def alert_role(self, interaction: discord.Interaction,
                         role: discord.Role | None = None) -> None:
        if role is not None and not self._own_role(interaction, role):
            await self._refuse_foreign(interaction)
            return
        await self._save(interaction, "alert_role",
                         self._update(interaction, alert_role_id=role.id if role else None),
                         f"Crisis alerts will mention {role.mention}." if role else
                         "Alert role cleared.")

    @app_commands.command(name="cooldown", description="Minutes between automatic replies "
                                                       "to the same member")
    async def cooldown(self, interaction: discord.Interaction,
                       minutes: app_commands.Range[int, COOLDOWN_MIN, COOLDOWN_MAX]) -> None:
        # Discord enforces the range in its client only; a forged value is checked here.
        if not COOLDOWN_MIN <= minutes <= COOLDOWN_MAX:
            await interaction.response.send_message(
                f"The cooldown must be {COOLDOWN_MIN} to {COOLDOWN_MAX} minutes.",
                ephemeral=True)
            return
        await self._save(interaction, "cooldown",
                         self._update(interaction, cooldown_minutes=minutes),
                         f"Each member gets at most one automatic reply every {minutes} "
                         f"minutes (one more if things become urgent).")

    async def _toggle(self, interaction: discord.Interaction, channel: discord.abc.Snowflake,
                      setting: GuildSet, add: bool, text: str) -> None:
        # A role or channel Discord did not resolve arrives as a bare discord.Object.
        own = self._own_role(interaction, channel) if setting is GuildSet.BYPASS_ROLES \
            else self._same_guild(interaction, channel)
        if not own:
            await self._refuse_foreign(interaction)
            return
        await self._save(interaction, setting, lambda: self.bot.cache.change_set(
            self._guild_id(interaction), setting, channel.id, add=add), text)

    @app_commands.command(name="ignore-channel", description="Don't scan messages in a channel")
    async def ignore_channel(self, interaction: discord.Interaction,
                             channel: discord.abc.GuildChannel) -> None:
        await self._toggle(interaction, channel, GuildSet.IGNORED_CHANNELS, True,
                                f"I won't scan messages in <#{channel.id}> (or its threads).")

    @app_commands.command(name="unignore-channel", description="Scan a channel again")
    async def unignore_channel(self, interaction: discord.Interaction,
                               channel: discord.abc.GuildChannel) -> None:
        await self._toggle(interaction, channel, GuildSet.IGNORED_CHANNELS, False,
                                f"I'll scan messages in <#{channel.id}> again.")

    @app_commands.command(name="bypass-role", description="Members with this role are not "
                                                          "scanned (e.g. peer supporters)")
    async def bypass_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await self._toggle(interaction, role, GuildSet.BYPASS_ROLES, True,
                                f"Members with <@&{role.id}> won't be scanned.")

    @app_commands.command(name="unbypass-role", description="Scan members with this role again")
    async def unbypass_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await self._toggle(interaction, role, GuildSet.BYPASS_ROLES, False,
                                f"Members with <@&{role.id}> will be scanned again.")


class ServerSettings(commands.Cog):
    """The `/settings` commands, per server."""

    def __init__(self, bot: RecoveryBot) -> None:
        self.bot = bot
        bot.tree.add_command(ServerSettingsGroup(bot))

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command("settings")


async def setup(bot: RecoveryBot) -> None:
    await bot.add_cog(ServerSettings(bot))
