"""/settings, /stats and /privacy end to end, and forgetting a server the bot leaves."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.devserver.fake import make_channel, make_role

EPHEMERAL = 64


def sub(fake, name: str, options: list[dict] | None = None, resolved: dict | None = None,
        **kwargs):
    """A /settings <name> interaction payload, options typed as Discord sends them."""
    data = fake.slash_data("settings", [{"name": name, "type": 1, "options": options or []}])
    if resolved:
        data["resolved"] = resolved
    return fake.make_interaction(2, data, **kwargs)


def channel_option(channel: dict, name: str = "channel") -> tuple[dict, dict]:
    return ({"name": name, "type": 7, "value": str(channel["id"])},
            {"channels": {str(channel["id"]): {k: channel[k] for k in
                                               ("id", "name", "type", "guild_id")
                                               if k in channel} | {"permissions": "0"}}})


def role_option(role: dict, name: str = "role") -> tuple[dict, dict]:
    return {"name": name, "type": 8, "value": str(role["id"])}, {"roles": {str(role["id"]): role}}


async def answer(fake, payload) -> dict:
    sent = await fake.dispatch_interaction(payload)
    callback = await fake.wait_for_callback(sent)
    assert callback.json["type"] == 4
    data = callback.json["data"]
    assert data["flags"] & EPHEMERAL, "settings answers must be private"
    return data


def text_of(data: dict) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_settings_require_manage_server(running):
    """A member without Manage Server gets a clear private refusal; nothing changes."""
    fake = running.fake
    command = fake.command("settings")
    assert int(command["default_member_permissions"]) == 1 << 5  # Manage Server
    assert command["contexts"] == [0]  # guild only: not offered in DMs
    data = await answer(fake, sub(fake, "region", [{"name": "country", "type": 3,
                                                    "value": "GB"}], user=fake.ids.user))
    assert "Manage Server" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).region is None


async def test_region_is_saved_confirmed_and_survives_restart(start_bot):
    """Setting the region confirms the new value, updates memory and the database."""
    running = await start_bot()
    fake = running.fake
    data = await answer(fake, sub(fake, "region", [{"name": "country", "type": 3,
                                                    "value": "gb"}], user=fake.ids.owner))
    assert "United Kingdom" in data["content"] and "(GB)" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).region == "GB"
    stored = await running.bot.store.get_guild_settings(fake.ids.guild)
    assert stored.region == "GB"
    data = await answer(fake, sub(fake, "show", user=fake.ids.owner))
    assert "United Kingdom (GB)" in text_of(data)


async def test_invalid_values_are_refused_with_allowed_values(running):
    """An unknown country or reply mode is refused, naming what is allowed."""
    fake = running.fake
    data = await answer(fake, sub(fake, "region", [{"name": "country", "type": 3,
                                                    "value": "Atlantis"}],
                                  user=fake.ids.owner))
    assert "US" in data["content"] and "GB" in data["content"]
    data = await answer(fake, sub(fake, "reply-mode", [{"name": "mode", "type": 3,
                                                        "value": "carrier-pigeon"}],
                                  user=fake.ids.owner))
    assert "channel" in data["content"] and "dm" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).reply_mode == "channel"


async def test_cooldown_range_is_enforced(running):
    """A cooldown outside 1..1440 minutes is refused; a valid one is confirmed and stored."""
    fake = running.fake
    data = await answer(fake, sub(fake, "cooldown", [{"name": "minutes", "type": 4,
                                                      "value": 0}], user=fake.ids.owner))
    assert "1440" in data["content"] or "1" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).cooldown_minutes == 30
    data = await answer(fake, sub(fake, "cooldown", [{"name": "minutes", "type": 4,
                                                      "value": 45}], user=fake.ids.owner))
    assert "45 minutes" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).cooldown_minutes == 45


async def test_channels_and_roles_of_this_server(running):
    """Alert channel, alert role, ignored channel and bypass role are saved and shown."""
    fake = running.fake
    guild = fake.ids.guild
    channel = {"id": fake.ids.text_channel, "name": "general", "type": 0, "guild_id": guild}
    option, resolved = channel_option(channel)
    data = await answer(fake, sub(fake, "alert-channel", [option], resolved,
                                  user=fake.ids.owner))
    assert f"<#{channel['id']}>" in data["content"]
    assert "never its text" in data["content"]
    role = make_role(fake.ids.mod_role, "mods")
    option, resolved = role_option(role)
    await answer(fake, sub(fake, "alert-role", [option], resolved, user=fake.ids.owner))
    await answer(fake, sub(fake, "bypass-role", [option], resolved, user=fake.ids.owner))
    option, resolved = channel_option(channel)
    await answer(fake, sub(fake, "ignore-channel", [option], resolved, user=fake.ids.owner))
    s = running.bot.cache.guild(guild)
    role_id = int(role["id"])
    assert s.alert_channel_id == channel["id"] and s.alert_role_id == role_id
    assert s.bypass_roles == {role_id} and s.ignored_channels == {channel["id"]}
    await answer(fake, sub(fake, "unignore-channel", [option], resolved,
                           user=fake.ids.owner))
    await answer(fake, sub(fake, "alert-channel", user=fake.ids.owner))
    s = running.bot.cache.guild(guild)
    assert s.ignored_channels == frozenset() and s.alert_channel_id is None
    stored = await running.bot.store.get_guild_settings(guild)
    assert stored == s


async def test_channel_or_role_of_another_server_is_refused(running):
    """A channel or role whose guild is not this server is refused and not stored."""
    fake = running.fake
    foreign = make_channel(0, "elsewhere", channel_id=987654321098765432,
                           guild_id=123456789012345678)
    option, resolved = channel_option(foreign)
    data = await answer(fake, sub(fake, "ignore-channel", [option], resolved,
                                  user=fake.ids.owner))
    assert "must belong to this server" in data["content"]
    assert running.bot.cache.guild(fake.ids.guild).ignored_channels == frozenset()
    assert (await running.bot.store.get_guild_settings(fake.ids.guild)).ignored_channels \
        == frozenset()


async def test_stats_shows_counts_and_masks_small_crisis_counts(running):
    """/stats shows topic lookups per topic and crisis counts 1-4 as 'fewer than 5'."""
    fake = running.fake
    for _ in range(2):
        sent = await fake.invoke_slash("topic", {"name": "ptsd"})
        await fake.wait_for_callback(sent)
    running.bot.usage.record(fake.ids.guild, "crisis_reply", "suicide/urgent", "ok")
    running.bot.usage.record(fake.ids.guild, "hotline", "GB")
    running.bot.usage.record(None, "topic", "kratom")  # a DM: not this server's
    sent = await fake.invoke_slash("stats", {"days": 7}, user=fake.ids.owner)
    callback = await fake.wait_for_callback(sent)
    data = callback.json["data"]
    assert data["flags"] & EPHEMERAL
    text = text_of(data)
    assert "ptsd: 2" in text
    assert "suicide/urgent: fewer than 5" in text
    assert "GB: 1" in text
    assert "kratom" not in text
    assert len(data["embeds"][0]["description"].split("`")[1]) == 7  # one spark per day


async def test_stats_refused_without_manage_server(running):
    """A member without Manage Server cannot read statistics."""
    fake = running.fake
    sent = await fake.invoke_slash("stats", user=fake.ids.user)
    callback = await fake.wait_for_callback(sent)
    assert "Manage Server" in callback.json["data"]["content"]
    assert not callback.json["data"].get("embeds")


async def test_privacy_explains_storage_in_plain_words(running):
    """/privacy says what is stored, what never is, how long, and how to opt out."""
    sent = await running.fake.invoke_slash("privacy")
    callback = await running.fake.wait_for_callback(sent)
    data = callback.json["data"]
    assert data["flags"] & EPHEMERAL
    text = text_of(data)
    for phrase in ("never store", "180 days", "/crisis-replies enabled:False", "open source"):
        assert phrase in text, phrase


async def test_leaving_a_server_deletes_its_data(running):
    """GUILD_DELETE (bot removed) deletes the server's settings and usage rows."""
    fake = running.fake
    guild = fake.ids.guild
    await running.bot.cache.update_guild(guild, region="IE", cooldown_minutes=10)
    running.bot.usage.record(guild, "topic", "ptsd")
    await running.bot.usage.flush()
    today = dt.datetime.now(dt.UTC).date()
    assert await running.bot.store.usage_summary(guild, today)
    await fake.dispatch("GUILD_DELETE", {"id": str(guild)})
    for _ in range(100):
        if running.bot.cache.guild(guild).region is None:
            break
        await asyncio.sleep(0.02)
    assert running.bot.cache.guild(guild).region is None
    assert (await running.bot.store.get_guild_settings(guild)).region is None
    assert await running.bot.store.usage_summary(guild, today) == []
