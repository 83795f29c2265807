"""The demo server: one guild, a few channels, you, a moderator role and the bot."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.devserver.fake import (
    EVERYONE_PERMISSIONS,
    GUILD_CATEGORY,
    GUILD_TEXT,
    P_KICK_MEMBERS,
    P_MANAGE_MESSAGES,
    P_MODERATE_MEMBERS,
    FakeDiscord,
    make_channel,
    make_guild,
    make_member,
    make_role,
    make_user,
)

P_MANAGE_GUILD = 1 << 5
BOT_NAME = "RecoveryBot"
GUILD_NAME = "Demo Recovery Server"
# en-US makes the bot's default region the United States until /settings region changes it.
GUILD_LOCALE = "en-US"
CHANNELS = ("general", "check-ins", "mod-alerts")
MODERATOR_PERMISSIONS = P_MANAGE_GUILD | P_MANAGE_MESSAGES | P_KICK_MEMBERS | P_MODERATE_MEMBERS


@dataclass
class DemoWorld:
    """The fake Discord plus the ids the terminal chat needs."""

    fake: FakeDiscord
    guild_id: int
    you: int
    mod_role: int
    channels: dict[str, int] = field(default_factory=dict)  # name -> id

    def name_of_channel(self, channel_id: int) -> str | None:
        for name, cid in self.channels.items():
            if cid == channel_id:
                return name
        return None

    def set_moderator(self, moderator: bool) -> None:
        """Give or take the Moderator role (Manage Server) from you."""
        member = self.fake.member(self.guild_id, self.you)
        assert member is not None
        roles = [r for r in member["roles"] if r != str(self.mod_role)]
        member["roles"] = [*roles, str(self.mod_role)] if moderator else roles

    def role_names(self) -> list[str]:
        guild = self.fake.guilds[self.guild_id]
        return [r["name"] for r in guild["roles"] if r["name"] != "@everyone"]

    def is_moderator(self) -> bool:
        member = self.fake.member(self.guild_id, self.you)
        return member is not None and str(self.mod_role) in member["roles"]


def build_world() -> DemoWorld:
    """A FakeDiscord (not started) holding the demo server; you start as a plain member."""
    fake = FakeDiscord(guilds=[])
    fake.bot_user["username"] = BOT_NAME
    ids = fake.ids
    guild = make_guild(name=GUILD_NAME, owner_id=0, preferred_locale=GUILD_LOCALE)
    gid = int(guild["id"])
    owner = make_user(username="server-owner", global_name="Server Owner")
    you = make_user(username="you", global_name="You")
    mod_role = make_role(name="Moderator", permissions=MODERATOR_PERMISSIONS, position=2)
    guild["owner_id"] = owner["id"]
    guild["roles"] = [
        make_role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0),
        mod_role,
        make_role(name=BOT_NAME, permissions=EVERYONE_PERMISSIONS, position=1, managed=True,
                  bot_id=ids.bot),
    ]
    category = make_channel(GUILD_CATEGORY, "community", guild_id=gid)
    channels = {name: make_channel(GUILD_TEXT, name, guild_id=gid, parent_id=int(category["id"]),
                                   position=i + 1)
                for i, name in enumerate(CHANNELS)}
    guild["channels"] = [category, *channels.values()]
    bot_role = guild["roles"][2]["id"]
    guild["members"] = [make_member(owner), make_member(you),
                        make_member(fake.bot_user, roles=[int(bot_role)])]
    guild["member_count"] = len(guild["members"])
    fake.add_guild(guild)
    return DemoWorld(fake=fake, guild_id=gid, you=int(you["id"]), mod_role=int(mod_role["id"]),
                     channels={name: int(c["id"]) for name, c in channels.items()})
