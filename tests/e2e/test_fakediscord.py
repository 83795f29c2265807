"""End-to-end checks that FakeDiscord works with discord.py's real gateway and REST code.

A plain ``commands.Bot`` (not the project's bot) is driven through the fake: login, READY,
command sync, slash commands, autocomplete, messages, DMs, followups and injected failures.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.devserver.fake import (
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    DEFAULT_TOKEN,
    MESSAGE_FLAG_EPHEMERAL,
    FakeDiscord,
    running_bot,
)

TOPICS = ["grounding", "grief", "gratitude", "sleep", "cravings"]


@dataclass
class Probe:
    """What the test bot saw, for assertions."""

    messages: list[discord.Message] = field(default_factory=list)
    interactions: list[discord.Interaction] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)


def make_bot(probe: Probe, *, message_content: bool = True, members: bool = True) -> commands.Bot:
    """A small bot with a few slash commands and an on_message that replies to 'ping'."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = members
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.1)

    @bot.tree.command(description="Show a topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        probe.interactions.append(interaction)
        embed = discord.Embed(title=name.title(), description="A short summary.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @topic.autocomplete("name")
    async def topic_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

    @bot.tree.command(description="Too many suggestions")
    async def flood(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message("unused")

    @flood.autocomplete("name")
    async def flood_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"choice {i}", value=str(i)) for i in range(30)]

    @bot.tree.command(description="Think, then answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Done thinking.")
        await interaction.followup.send("A followup.", ephemeral=True)
        original = await interaction.original_response()
        probe.messages.append(original)

    @bot.tree.command(description="Send me a DM")
    async def dm(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Check your DMs.", ephemeral=True)
        try:
            await interaction.user.send("Here is the list you asked for.")
        except discord.HTTPException as exc:
            probe.errors.append(exc)

    @bot.tree.command(description="Upload a file")
    async def export(interaction: discord.Interaction) -> None:
        file = discord.File(__import__("io").BytesIO(b"hello"), filename="notes.txt")
        await interaction.response.send_message("Your file.", file=file, ephemeral=True)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        probe.messages.append(message)
        if message.author.bot or message.content != "ping":
            return
        try:
            await message.reply("pong")
        except discord.HTTPException as exc:
            probe.errors.append(exc)

    @bot.event
    async def on_resumed() -> None:
        probe.resumed.set()

    return bot


@pytest.fixture
async def probe() -> Probe:
    """A fresh event recorder."""
    return Probe()


@pytest.fixture
async def bot(fake_discord: FakeDiscord, probe: Probe) -> AsyncIterator[commands.Bot]:
    """A ready test bot connected to the fake (all intents the project needs)."""
    async with running_bot(make_bot(probe), fake_discord) as running:
        yield running


async def wait_until(predicate: Any, timeout: float = 2.0) -> None:
    """Poll ``predicate`` until true; raise TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        # Polling: the conditions are bot-side state that has no event to await.
        while not predicate():
            await asyncio.sleep(0.01)


async def enter_and_leave(context: Any) -> None:
    """Enter and exit an async context manager (for errors raised on entry)."""
    async with context:
        pass


# ----- login and gateway ------------------------------------------------------------------


async def test_login_uses_bot_token_and_fetches_users_me(fake_discord: FakeDiscord, bot):
    """Login calls GET /users/@me with the bot token and the client user is the fake's bot."""
    [login] = fake_discord.requests_to("GET", r"/users/@me")
    assert login.headers["authorization"] == f"Bot {DEFAULT_TOKEN}"
    assert bot.user.id == fake_discord.ids.bot
    assert bot.application_id == fake_discord.ids.application


async def test_gateway_identify_ready_and_guild_create(fake_discord: FakeDiscord, bot):
    """The bot identifies with its intents over zlib-stream and caches the guild's channels."""
    [query] = fake_discord.gateway_queries
    assert query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert fake_discord.gateway_modes == ["zlib-stream"]
    assert fake_discord.intents == bot.intents.value
    assert bot.intents.message_content and bot.intents.members
    events = [f["t"] for f in fake_discord.gateway_sent]
    assert events[:2] == ["READY", "GUILD_CREATE"]
    guild = bot.get_guild(fake_discord.ids.guild)
    assert guild is not None and guild.chunked
    assert isinstance(guild.get_channel(fake_discord.ids.text_channel), discord.TextChannel)
    assert isinstance(guild.get_channel(fake_discord.ids.forum), discord.ForumChannel)
    assert isinstance(guild.get_thread(fake_discord.ids.thread), discord.Thread)
    assert guild.me.get_role(fake_discord.ids.bot_role) is not None
    assert {m.id for m in guild.members} >= {fake_discord.ids.user, fake_discord.ids.moderator}


async def test_heartbeat_is_acknowledged(fake_discord: FakeDiscord, bot):
    """discord.py's first heartbeat (sent right after HELLO) is answered with op 11."""
    assert any(p.get("op") == 1 for p in fake_discord.gateway_received)
    # Client.latency stays infinite until discord.py has received a HEARTBEAT_ACK.
    await wait_until(lambda: bot.latency != float("inf"))


async def test_uncompressed_gateway_frames_work(probe: Probe):
    """With compression off the fake sends text frames and the bot still becomes ready."""
    async with (
        FakeDiscord(gateway_compression=False) as fake,
        running_bot(make_bot(probe), fake) as bot,
    ):
        assert fake.gateway_modes == ["text"]
        assert bot.get_guild(fake.ids.guild) is not None
        await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, "hello")
        await wait_until(lambda: any(m.content == "hello" for m in probe.messages))


async def test_wrong_token_is_rejected(fake_discord: FakeDiscord, probe: Probe):
    """A token the fake does not expect fails login the way Discord's 401 does."""
    with pytest.raises(discord.LoginFailure):
        await enter_and_leave(running_bot(make_bot(probe), fake_discord, token="not-the-token"))


async def test_privileged_intents_refused_when_disabled(probe: Probe):
    """A fake with privileged intents disabled closes with 4014, which discord.py reports."""
    async with FakeDiscord(privileged_intents_enabled=False) as fake:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await enter_and_leave(running_bot(make_bot(probe), fake))


async def test_reconnect_request_leads_to_resume(fake_discord: FakeDiscord, bot, probe: Probe):
    """After op 7 the bot RESUMEs on a new connection and still receives events."""
    await fake_discord.request_reconnect()
    await asyncio.wait_for(probe.resumed.wait(), 5)
    assert any(p.get("op") == 6 for p in fake_discord.gateway_received)
    assert len(fake_discord.gateway_queries) == 2
    await fake_discord.dispatch_message(fake_discord.ids.text_channel, fake_discord.ids.user, "hi")
    await wait_until(lambda: any(m.content == "hi" for m in probe.messages))


# ----- application commands -----------------------------------------------------------------


async def test_command_sync_global_and_guild_is_recorded(fake_discord: FakeDiscord, bot):
    """Global and guild syncs hit the PUT routes and echo commands back with ids."""
    synced = await bot.tree.sync()
    bot.tree.copy_global_to(guild=discord.Object(fake_discord.ids.guild))
    guild_synced = await bot.tree.sync(guild=discord.Object(fake_discord.ids.guild))
    app = fake_discord.ids.application
    [put_global] = fake_discord.requests_to("PUT", rf"/applications/{app}/commands")
    [put_guild] = fake_discord.requests_to(
        "PUT", rf"/applications/{app}/guilds/{fake_discord.ids.guild}/commands"
    )
    names = {c["name"] for c in put_global.json}
    assert names == {"topic", "flood", "slow", "dm", "export"}
    assert {c["name"] for c in put_guild.json} == names
    assert {c.name for c in synced} == names
    assert fake_discord.command("topic").get("id") == str(
        next(c.id for c in synced if c.name == "topic")
    )
    assert all(c.guild_id == fake_discord.ids.guild for c in guild_synced)


async def test_invalid_command_payload_is_rejected(fake_discord: FakeDiscord, bot):
    """A bulk overwrite with an upper-case name gets Discord's 400 Invalid Form Body."""
    route = discord.http.Route(
        "PUT", "/applications/{app}/commands", app=fake_discord.ids.application
    )
    with pytest.raises(discord.HTTPException) as info:
        await bot.http.request(route, json=[{"name": "Bad", "description": "x", "type": 1}])
    assert info.value.status == 400 and info.value.code == 50035


# ----- interactions -----------------------------------------------------------------------


async def test_slash_command_gets_ephemeral_embed_response(
    fake_discord: FakeDiscord, bot, probe: Probe
):
    """A type-2 interaction reaches the command; its type-4 callback is ephemeral with an embed."""
    await bot.tree.sync()
    sent = await fake_discord.invoke_slash("topic", {"name": "grounding"}, locale="fr")
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.status == 200
    assert "authorization" not in callback.headers
    assert callback.query.get("with_response") == "1"
    assert callback.json["type"] == CALLBACK_CHANNEL_MESSAGE
    assert callback.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
    assert callback.json["data"]["embeds"][0]["title"] == "Grounding"
    [interaction] = probe.interactions
    assert isinstance(interaction.user, discord.Member)
    assert interaction.user.id == fake_discord.ids.user
    assert interaction.locale is discord.Locale.french
    assert interaction.guild_locale is discord.Locale.american_english
    assert interaction.app_permissions.send_messages
    original = fake_discord.original_response(sent)
    assert original is not None and original["embeds"][0]["title"] == "Grounding"


async def test_slash_command_in_dm_has_user_not_member(
    fake_discord: FakeDiscord, bot, probe: Probe
):
    """An interaction in the bot's DM carries a User, no guild, and is answered normally."""
    dm_id = int(fake_discord.dm_channel(fake_discord.ids.user)["id"])
    sent = await fake_discord.invoke_slash("topic", {"name": "sleep"}, channel_id=dm_id)
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.status == 200
    [interaction] = probe.interactions
    assert interaction.guild is None and not isinstance(interaction.user, discord.Member)
    assert isinstance(interaction.channel, discord.DMChannel)


async def test_autocomplete_gets_choices(fake_discord: FakeDiscord, bot):
    """A type-4 interaction gets a type-8 callback listing the matching choices."""
    sent = await fake_discord.invoke_autocomplete("topic", "name", {"name": "gr"})
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.status == 200
    assert callback.json["type"] == CALLBACK_AUTOCOMPLETE_RESULT
    values = [c["value"] for c in callback.json["data"]["choices"]]
    assert values == ["grounding", "grief", "gratitude"]


async def test_autocomplete_over_25_choices_is_rejected(fake_discord: FakeDiscord, bot):
    """The fake enforces Discord's 25-choice limit, so an over-long list is a 400."""
    sent = await fake_discord.invoke_autocomplete("flood", "name", {"name": ""})
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.status == 400
    assert callback.json["type"] == CALLBACK_AUTOCOMPLETE_RESULT


async def test_defer_edit_original_and_followup(fake_discord: FakeDiscord, bot, probe: Probe):
    """Defer (type 5), PATCH @original, followup with wait=true and GET @original all work."""
    sent = await fake_discord.invoke_slash("slow")
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.json["type"] == CALLBACK_DEFERRED_CHANNEL_MESSAGE
    app, token = fake_discord.ids.application, sent["token"]
    edit = await fake_discord.wait_for_request(
        "PATCH", rf"/webhooks/{app}/{token}/messages/@original"
    )
    assert edit.json["content"] == "Done thinking."
    followup = await fake_discord.wait_for_request("POST", rf"/webhooks/{app}/{token}")
    assert followup.query.get("wait") in ("1", "true")
    assert followup.json["flags"] & MESSAGE_FLAG_EPHEMERAL
    await fake_discord.wait_for_request("GET", rf"/webhooks/{app}/{token}/messages/@original")
    await wait_until(lambda: any(m.content == "Done thinking." for m in probe.messages))
    assert [m["content"] for m in fake_discord.followups(sent)] == ["A followup."]


async def test_multipart_callback_is_parsed(fake_discord: FakeDiscord, bot):
    """A response with a file arrives as multipart: payload_json and the file are recorded."""
    sent = await fake_discord.invoke_slash("export")
    callback = await fake_discord.wait_for_callback(sent)
    assert callback.status == 200
    assert callback.json["data"]["content"] == "Your file."
    [upload] = callback.files
    assert (upload.filename, upload.data) == ("notes.txt", b"hello")


async def test_unknown_interaction_token_is_rejected(fake_discord: FakeDiscord, bot):
    """A callback for an interaction the fake never dispatched gets 10062 Unknown interaction."""
    payload = fake_discord.make_interaction(2, fake_discord.slash_data("topic"))
    interaction = discord.Interaction(data=payload, state=bot._connection)
    with pytest.raises(discord.NotFound) as info:
        await interaction.response.send_message("too late")
    assert info.value.code == 10062


# ----- messages and DMs -----------------------------------------------------------------------


async def test_message_create_reaches_on_message_and_reply_is_recorded(
    fake_discord: FakeDiscord, bot, probe: Probe
):
    """MESSAGE_CREATE reaches on_message with a Member author; the reply references it."""
    sent = await fake_discord.dispatch_message(
        fake_discord.ids.text_channel, fake_discord.ids.user, "ping"
    )
    reply = await fake_discord.wait_for_request(
        "POST", rf"/channels/{fake_discord.ids.text_channel}/messages"
    )
    assert reply.status == 200
    assert reply.json["content"] == "pong"
    assert reply.json["message_reference"]["message_id"] == int(sent["id"])
    received = probe.messages[0]
    assert isinstance(received.author, discord.Member) and received.guild is not None
    # Discord echoes the bot's own message back over the gateway.
    await wait_until(lambda: any(m.author.id == bot.user.id for m in probe.messages))
    assert [m["content"] for m in fake_discord.sent_messages()] == ["pong"]


async def test_message_in_thread_resolves_thread_channel(fake_discord: FakeDiscord, bot, probe):
    """A message in the thread is delivered with a Thread channel."""
    await fake_discord.dispatch_message(fake_discord.ids.thread, fake_discord.ids.user, "hey")
    await wait_until(lambda: probe.messages)
    assert isinstance(probe.messages[0].channel, discord.Thread)


async def test_missing_message_content_intent_blanks_guild_content(
    fake_discord: FakeDiscord, probe: Probe
):
    """Without message_content the fake strips guild message text but not DM text."""
    quiet_bot = make_bot(probe, message_content=False, members=False)
    async with running_bot(quiet_bot, fake_discord):
        # Without the members intent GUILD_CREATE carries only the bot's own member.
        assert [m.id for m in quiet_bot.get_guild(fake_discord.ids.guild).members] == [
            fake_discord.ids.bot
        ]
        channel, user = fake_discord.ids.text_channel, fake_discord.ids.user
        await fake_discord.dispatch_message(channel, user, "guild text")
        dm = fake_discord.dm_channel(user)
        await fake_discord.dispatch_message(int(dm["id"]), user, "dm text")
        await wait_until(lambda: len(probe.messages) == 2)
        assert [m.content for m in probe.messages] == ["", "dm text"]
        assert probe.messages[1].guild is None


async def test_dm_flow_creates_channel_then_posts(fake_discord: FakeDiscord, bot, probe: Probe):
    """user.send() opens a DM channel (POST /users/@me/channels) and posts to it."""
    sent = await fake_discord.invoke_slash("dm")
    await fake_discord.wait_for_callback(sent)
    opened = await fake_discord.wait_for_request("POST", r"/users/@me/channels")
    assert opened.json == {"recipient_id": fake_discord.ids.user}
    dm_id = fake_discord.dm_channel(fake_discord.ids.user)["id"]
    posted = await fake_discord.wait_for_request("POST", rf"/channels/{dm_id}/messages")
    assert posted.json["content"] == "Here is the list you asked for."
    assert probe.errors == []


# ----- failure injection ----------------------------------------------------------------------


async def test_forbidden_reply_surfaces_discord_error(fake_discord: FakeDiscord, bot, probe):
    """An injected 403 Missing Permissions reaches the bot as discord.Forbidden code 50013."""
    fake_discord.fail(
        "POST", r"/channels/\d+/messages", 403, code=50013, message="Missing Permissions", times=1
    )
    channel, user = fake_discord.ids.text_channel, fake_discord.ids.user
    await fake_discord.dispatch_message(channel, user, "ping")
    await wait_until(lambda: probe.errors)
    [error] = probe.errors
    assert isinstance(error, discord.Forbidden)
    assert (error.status, error.code, error.text) == (403, 50013, "Missing Permissions")
    # times=1: the next reply goes through.
    await fake_discord.dispatch_message(channel, user, "ping")
    await wait_until(lambda: fake_discord.sent_messages())
    assert [r.status for r in fake_discord.requests_to("POST", r"/channels/\d+/messages")] == [
        403,
        200,
    ]


async def test_server_error_surfaces_as_discord_server_error(fake_discord: FakeDiscord, bot, probe):
    """A 503 (not retried by discord.py's REST client) becomes DiscordServerError."""
    fake_discord.fail("POST", r"/channels/\d+/messages", 503)
    channel, user = fake_discord.ids.text_channel, fake_discord.ids.user
    await fake_discord.dispatch_message(channel, user, "ping")
    await wait_until(lambda: probe.errors)
    assert isinstance(probe.errors[0], discord.DiscordServerError)


async def test_dm_closed_error_is_reported(fake_discord: FakeDiscord, bot, probe: Probe):
    """A 403 50007 on the DM channel (user has DMs closed) reaches the command's handler."""
    dm_id = fake_discord.dm_channel(fake_discord.ids.user)["id"]
    fake_discord.fail(
        "POST", rf"/channels/{dm_id}/messages", 403, code=50007,
        message="Cannot send messages to this user",
    )
    await fake_discord.invoke_slash("dm")
    await wait_until(lambda: probe.errors)
    assert probe.errors[0].code == 50007


async def test_rate_limit_is_retried(fake_discord: FakeDiscord, bot, probe: Probe):
    """A single 429 with retry_after is retried by discord.py and the reply then succeeds."""
    fake_discord.fail("POST", r"/channels/\d+/messages", 429, times=1, retry_after=0.01)
    channel, user = fake_discord.ids.text_channel, fake_discord.ids.user
    await fake_discord.dispatch_message(channel, user, "ping")
    await wait_until(lambda: fake_discord.sent_messages())
    statuses = [r.status for r in fake_discord.requests_to("POST", r"/channels/\d+/messages")]
    assert statuses == [429, 200]
    assert probe.errors == []


async def test_delayed_route_is_answered_later(fake_discord: FakeDiscord, bot):
    """A delayed route is not answered within a short wait, then is answered normally."""
    fake_discord.delay("POST", r"/channels/\d+/messages", 0.3, times=1)
    channel, user = fake_discord.ids.text_channel, fake_discord.ids.user
    await fake_discord.dispatch_message(channel, user, "ping")
    with pytest.raises(TimeoutError):
        await fake_discord.wait_for_request("POST", r"/channels/\d+/messages", timeout=0.05)
    reply = await fake_discord.wait_for_request("POST", r"/channels/\d+/messages")
    assert reply.status == 200


async def test_unknown_route_is_recorded_as_404(fake_discord: FakeDiscord, bot):
    """A route the fake does not serve answers 404 and is still recorded."""
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/stickers/{id}", id=1))
    [req] = fake_discord.requests_to("GET", r"/stickers/1")
    assert req.status == 404


async def test_added_route_is_served(fake_discord: FakeDiscord, bot):
    """add_route lets a test serve an endpoint the fake lacks."""
    fake_discord.add_route("GET", r"/stickers/(\d+)", lambda req, m: (200, {"id": m[1]}))
    data = await bot.http.request(discord.http.Route("GET", "/stickers/{id}", id=7))
    assert data == {"id": "7"}


# ----- clean shutdown -------------------------------------------------------------------------


async def test_bot_and_fake_shut_down_without_leaks(probe: Probe):
    """After closing the bot and stopping the fake no task, socket or heartbeat thread remains."""
    before = {t.ident for t in threading.enumerate()}
    fake = FakeDiscord()
    await fake.start()
    async with running_bot(make_bot(probe), fake) as bot:
        await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, "ping")
        await fake.wait_for_request("POST", r"/channels/\d+/messages")
    await fake.stop()
    assert bot.is_closed()
    assert fake._conns == set()
    await wait_until(lambda: {t.ident for t in threading.enumerate()} <= before)
    current = asyncio.current_task()
    await wait_until(lambda: not [t for t in asyncio.all_tasks() if t is not current])


async def test_handler_error_fails_fast_and_is_kept(fake_discord: FakeDiscord, bot):
    """A route handler that raises answers 400 at once and its exception is recorded."""

    def broken(req, match):
        raise KeyError("boom")

    fake_discord.add_route("GET", r"/stickers/\d+", broken)
    with pytest.raises(discord.HTTPException) as info:
        await bot.http.request(discord.http.Route("GET", "/stickers/{id}", id=3))
    assert info.value.status == 400
    assert [type(e) for e in fake_discord.errors] == [KeyError]
    fake_discord.errors.clear()  # expected here; the fixture fails on leftover errors
