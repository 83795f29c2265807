"""Automatic crisis replies end to end: the real bot, through BotRunner, against the fake Discord.

Covers the reply and its country, the messages that must get no reply, edits, DMs, the
member cooldown, the channel cap, the channel -> DM -> moderator-alert fallbacks, the
moderator alert (which never carries the message text), a failing database, the
"Lines for another country" button and the usage counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass

import pytest

from bot.devserver.fake import (
    EVERYONE_PERMISSIONS,
    GUILD_TEXT,
    INTERACTION_COMPONENT,
    MESSAGE_FLAG_EPHEMERAL,
    FakeDiscord,
    RecordedRequest,
    make_channel,
    make_guild,
    make_member,
    make_role,
    make_user,
)
from bot.store import Store
from tests.e2e.conftest import Running

# Test messages, checked against the real detector in the first test below.
URGENT_SELF = "I'm going to kill myself tonight"
CONCERN_SELF = "i want to die"
SELF_HARM = "I've been cutting myself again"
OVERDOSE_SELF = "I think I took too many pills"
OVERDOSE_OTHER = "my friend overdosed and won't wake up"
SUICIDE_OTHER = "my brother said he's going to kill himself tonight"
FIGURATIVE = (
    "this traffic is killing me lol",
    "that exam killed me, I'm dead",
    "news: a man died of an overdose in the city",
    "I would kill for a pizza right now",
    "I could just die of embarrassment",
)
EXPECTED = {
    URGENT_SELF: ("suicide", "urgent", "self"),
    CONCERN_SELF: ("suicide", "concern", "self"),
    SELF_HARM: ("self_harm", "concern", "self"),
    OVERDOSE_SELF: ("overdose", "urgent", "self"),
    OVERDOSE_OTHER: ("overdose", "urgent", "other"),
    SUICIDE_OTHER: ("suicide", "urgent", "other"),
}
MARKER = "zq-marker-7f3a9c"
# Variants the edit, link-preview and privacy tests send: still urgent suicide.
for _suffix in (" please", " https://example.org", f" {MARKER}"):
    EXPECTED[URGENT_SELF + _suffix] = EXPECTED[URGENT_SELF]
MESSAGES = r"/channels/\d+/messages"
_names = itertools.count(1)


# --- the world -----------------------------------------------------------------------


@dataclass
class World:
    """The default fake world plus an alert channel, a second text channel and a bot."""

    run: Running
    alerts: int
    second: int

    @property
    def fake(self) -> FakeDiscord:
        return self.run.fake

    @property
    def bot(self):
        return self.run.bot

    @property
    def gid(self) -> int:
        return self.fake.ids.guild

    @property
    def general(self) -> int:
        return self.fake.ids.text_channel


@pytest.fixture
async def world(fake_discord: FakeDiscord, start_bot) -> World:
    """Default world with #mod-alerts and #second added before the bot starts."""
    fake = fake_discord
    guild = fake.guilds[fake.ids.guild]
    alerts = make_channel(GUILD_TEXT, "mod-alerts", guild_id=fake.ids.guild, position=5)
    second = make_channel(GUILD_TEXT, "second", guild_id=fake.ids.guild, position=6)
    guild["channels"] += [alerts, second]
    for channel in (alerts, second):
        fake.channels[int(channel["id"])] = channel
    run = await start_bot()
    return World(run, int(alerts["id"]), int(second["id"]))


def new_member(fake: FakeDiscord, guild_id: int, roles: list[int] | None = None) -> int:
    """Add an ordinary member to a guild (messages carry the member, so this works live)."""
    user = make_user(username=f"member{next(_names)}")
    fake.guilds[guild_id]["members"].append(make_member(user, roles=roles))
    fake.users[int(user["id"])] = user
    return int(user["id"])


async def join_guild(w: World, locale: str) -> tuple[int, int, int]:
    """The bot joins a new guild with `locale`; returns (guild, text channel, member)."""
    fake = w.fake
    owner = make_user(username=f"owner{next(_names)}")
    member = make_user(username=f"member{next(_names)}")
    guild = make_guild(owner_id=int(owner["id"]), preferred_locale=locale,
                       members=[make_member(owner), make_member(member)])
    gid = int(guild["id"])
    guild["roles"] = [make_role(gid, "@everyone", permissions=EVERYONE_PERMISSIONS)]
    guild["channels"] = [make_channel(GUILD_TEXT, "chat", guild_id=gid)]
    fake.add_guild(guild)
    await fake.dispatch("GUILD_CREATE", guild)
    async with asyncio.timeout(3):
        while w.bot.get_guild(gid) is None:
            await asyncio.sleep(0.01)
    return gid, int(guild["channels"][0]["id"]), int(member["id"])


# --- what the bot sent ----------------------------------------------------------------


def _ref_id(req: RecordedRequest) -> int | None:
    ref = (req.json or {}).get("message_reference") if isinstance(req.json, dict) else None
    return int(ref["message_id"]) if ref else None


def replies_to(fake: FakeDiscord, msg: dict) -> list[RecordedRequest]:
    """Answered replies (POST with message_reference) to the message `msg`."""
    return [r for r in fake.requests_to("POST", MESSAGES)
            if r.status == 200 and _ref_id(r) == int(msg["id"])]


async def wait_until(predicate, timeout: float = 3.0):
    """Poll `predicate` until it returns something truthy; return that."""
    async with asyncio.timeout(timeout):
        while not (result := predicate()):
            await asyncio.sleep(0.01)
    return result


async def wait_reply(fake: FakeDiscord, msg: dict,
                     timeout: float = 3.0) -> RecordedRequest:
    """The bot's reply to `msg` (waits for it)."""
    return (await wait_until(lambda: replies_to(fake, msg), timeout))[0]


def sent_to(fake: FakeDiscord, channel_id: int) -> list[RecordedRequest]:
    """Answered message posts to one channel."""
    return [r for r in fake.requests_to("POST", rf"/channels/{channel_id}/messages")
            if r.status == 200]


def embed_text(req: RecordedRequest | dict) -> str:
    """Everything a member can read in the first embed of a request (or message body)."""
    body = req.json if isinstance(req, RecordedRequest) else req
    embed = body["embeds"][0]
    parts = [embed.get("title") or "", embed.get("description") or ""]
    for fld in embed.get("fields") or []:
        parts += [fld["name"], fld["value"]]
    parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


async def barrier(w: World, channel: int | None = None) -> None:
    """Send a crisis message from a fresh member and wait for its reply.

    Events are handled in order, so once this reply is out every earlier message has been
    considered; the short sleep lets any (wrong) earlier reply request reach the fake.
    """
    channel = channel or w.general
    gid = w.fake.guild_of(channel)
    msg = await w.fake.dispatch_message(channel, new_member(w.fake, gid), URGENT_SELF)
    await wait_reply(w.fake, msg)
    await asyncio.sleep(0.1)


_HANDLER_TASKS = ("discord.py: ", "discord-ui-view-dispatch", "CommandTree-invoker")


async def idle(timeout: float = 3.0) -> None:
    """Wait until discord.py has no event, command or component handler still running."""
    me = asyncio.current_task()
    await wait_until(lambda: not [t for t in asyncio.all_tasks() if t is not me
                                  and t.get_name().startswith(_HANDLER_TASKS)], timeout)


async def usage(bot, guild_id: int | None) -> dict[tuple[str, str, str], int]:
    """Once the bot is idle, flush its usage counter and read a guild's counts:
    (kind, key, outcome) -> n."""
    await idle()
    assert await bot.usage.flush()
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    rows = await bot.store.usage_summary(guild_id, since)
    out: dict[tuple[str, str, str], int] = {}
    for row in rows:
        out[(row.kind, row.key, row.outcome)] = out.get((row.kind, row.key, row.outcome), 0) \
            + row.count
    return out


def bot_bodies(fake: FakeDiscord) -> str:
    """Every REST request the bot made (path, query and body) as one string."""
    return "\n".join(f"{r.method} {r.path} {json.dumps(r.query)} {json.dumps(r.json)} "
                     f"{json.dumps(r.form)}" for r in fake.requests)


# --- tests ----------------------------------------------------------------------------


def test_test_messages_are_what_the_detector_says(content):
    """The messages these tests send are flagged (or not) by the bot's detector as assumed."""
    for text, (category, severity, subject) in EXPECTED.items():
        found = content.detector.detect(text)
        assert found is not None, text
        assert (found.category, found.severity, found.subject) == (category, severity, subject)
    for text in FIGURATIVE:
        assert content.detector.detect(text) is None, text


async def test_urgent_suicide_reply_with_us_numbers(world):
    """An urgent suicide message in an en-US server gets a reply with 988 and 911."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    reply = await wait_reply(fake, msg)
    assert reply.path == f"/channels/{world.general}/messages"
    text = embed_text(reply)
    assert "988" in text and "911" in text
    assert "Call 988" in text
    assert reply.json["allowed_mentions"]["replied_user"] is False
    assert reply.json["components"][0]["components"][0]["custom_id"] == "crisis:other-country"
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 1
    assert counts[("crisis_country", "US", "ok")] == 1


async def test_self_harm_and_concern_replies(world):
    """Self-harm and concern-level suicide messages get a first-person reply with 988."""
    fake = world.fake
    first = await fake.dispatch_message(world.general, fake.ids.user, SELF_HARM)
    second = await fake.dispatch_message(world.second, new_member(fake, world.gid),
                                         CONCERN_SELF)
    for msg in (first, second):
        text = embed_text(await wait_reply(fake, msg))
        assert "988" in text and "911" in text
        assert "You don't have to go through this alone" in text
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "self_harm/concern", "ok")] == 1
    assert counts[("crisis_reply", "suicide/concern", "ok")] == 1


async def test_overdose_replies_put_the_emergency_call_first(world):
    """Overdose replies (self and bystander) start with "Call 911" and mention naloxone."""
    fake = world.fake
    own = await fake.dispatch_message(world.general, fake.ids.user, OVERDOSE_SELF)
    friend = await fake.dispatch_message(world.second, new_member(fake, world.gid),
                                         OVERDOSE_OTHER)
    for msg in (own, friend):
        embed = (await wait_reply(fake, msg)).json["embeds"][0]
        assert embed["description"].startswith("**Call 911 now")
        assert "naloxone" in embed["description"].lower()
    bystander = (await wait_reply(fake, friend)).json["embeds"][0]["description"]
    assert "recovery position" in bystander and "Stay with them" in bystander
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "overdose/urgent", "ok")] == 2


async def test_worried_about_someone_else_gets_helper_wording(world):
    """A message about someone else's suicidal talk gets how-to-help-them wording."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, SUICIDE_OTHER)
    reply = await wait_reply(fake, msg)
    embed = reply.json["embeds"][0]
    assert embed["title"] == "How you can help them"
    steps = embed["description"].split("\n")
    # Urgent: the emergency step comes first, then staying with them and asking.
    assert steps[1].startswith("• If they are in immediate danger, call 911 now")
    assert "Stay with them" in embed["description"] and "988" in embed_text(reply)


async def test_country_follows_locale_and_region(world):
    """en-GB -> Samaritans 116 123 and 999; region AU -> 13 11 14 and 000; 'it' -> fallback."""
    fake = world.fake
    gb_guild, gb_chan, gb_member = await join_guild(world, "en-GB")
    msg = await fake.dispatch_message(gb_chan, gb_member, URGENT_SELF)
    text = embed_text(await wait_reply(fake, msg))
    assert "Samaritans" in text and "116 123" in text and "999" in text
    assert "988" not in text

    au_guild, au_chan, au_member = await join_guild(world, "en-GB")
    await world.bot.cache.update_guild(au_guild, region="AU")
    msg = await fake.dispatch_message(au_chan, au_member, URGENT_SELF)
    text = embed_text(await wait_reply(fake, msg))
    assert "13 11 14" in text and "000" in text
    assert "116 123" not in text

    it_guild, it_chan, it_member = await join_guild(world, "it")
    msg = await fake.dispatch_message(it_chan, it_member, URGENT_SELF)
    text = embed_text(await wait_reply(fake, msg))
    assert "your local emergency number" in text and "112" in text
    assert "findahelpline.com" in text and "/hotline" in text
    assert (await usage(world.bot, it_guild))[("crisis_country", "INTL", "ok")] == 1
    assert (await usage(world.bot, au_guild))[("crisis_country", "AU", "ok")] == 1
    assert (await usage(world.bot, gb_guild))[("crisis_country", "GB", "ok")] == 1


async def test_no_reply_to_figurative_talk_bots_webhooks_or_itself(world):
    """Figurative or news talk, other bots, webhooks and the bot's own messages get nothing."""
    fake = world.fake
    quiet = [await fake.dispatch_message(world.general, fake.ids.user, text)
             for text in FIGURATIVE]
    other_bot = make_user(username="otherbot", bot=True)
    quiet.append(await fake.dispatch_message(world.general, other_bot, URGENT_SELF))
    hook = fake.make_message(world.general, make_user(username="hook"), URGENT_SELF)
    hook["webhook_id"] = str(hook["author"]["id"])
    await fake.dispatch("MESSAGE_CREATE", hook)
    quiet.append(hook)
    quiet.append(await fake.dispatch_message(world.general, fake.ids.bot, URGENT_SELF))
    await barrier(world)
    for msg in quiet:
        assert replies_to(fake, msg) == [], msg["content"]
    assert len(sent_to(fake, world.general)) == 1  # the barrier's reply only


async def test_no_reply_in_ignored_channels_and_their_threads(world):
    """An ignored channel, and a thread whose parent is ignored, get no replies."""
    fake, bot = world.fake, world.bot
    await bot.cache.change_set(world.gid, "ignored_channels", world.general, add=True)
    in_channel = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    in_thread = await fake.dispatch_message(fake.ids.thread, new_member(fake, world.gid),
                                            URGENT_SELF)
    await barrier(world, world.second)
    assert replies_to(fake, in_channel) == [] and replies_to(fake, in_thread) == []
    assert sent_to(fake, world.general) == [] and sent_to(fake, fake.ids.thread) == []


async def test_thread_of_a_watched_channel_gets_a_reply(world):
    """A thread whose parent is not ignored is watched (the ignore check is not too broad)."""
    fake = world.fake
    await world.bot.cache.change_set(world.gid, "ignored_channels", world.second, add=True)
    msg = await fake.dispatch_message(fake.ids.thread, fake.ids.user, URGENT_SELF)
    reply = await wait_reply(fake, msg)
    assert reply.path == f"/channels/{fake.ids.thread}/messages"


async def test_no_reply_to_bypass_roles_opted_out_or_disabled_server(world):
    """Bypass-role members, opted-out members and a server with replies off get nothing."""
    fake, bot = world.fake, world.bot
    await bot.cache.change_set(world.gid, "bypass_roles", fake.ids.mod_role, add=True)
    by_mod = await fake.dispatch_message(world.general, fake.ids.moderator, URGENT_SELF)

    sent = await fake.invoke_slash("crisis-replies", {"enabled": False})
    callback = await fake.wait_for_callback(sent)
    assert callback.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
    by_opted_out = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await barrier(world)
    assert replies_to(fake, by_mod) == [] and replies_to(fake, by_opted_out) == []

    await bot.cache.update_guild(world.gid, crisis_replies=False)
    off = await fake.dispatch_message(world.second, new_member(fake, world.gid), URGENT_SELF)
    _, gb_chan, gb_member = await join_guild(world, "en-GB")
    other_server = await fake.dispatch_message(gb_chan, gb_member, URGENT_SELF)
    await wait_reply(fake, other_server)  # other servers are unaffected
    await asyncio.sleep(0.1)
    assert replies_to(fake, off) == []


async def test_opting_back_in_restores_replies(world):
    """After `/crisis-replies enabled:true` the member is answered again."""
    fake = world.fake
    for enabled in (False, True):
        await fake.wait_for_callback(await fake.invoke_slash("crisis-replies",
                                                             {"enabled": enabled}))
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg)


async def test_edit_that_newly_triggers_gets_a_reply(world):
    """An edit that turns an ordinary message into a crisis message gets a reply."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, "rough day, see you later")
    await barrier(world)
    assert replies_to(fake, msg) == []
    edited = fake.make_message(world.general, fake.ids.user, URGENT_SELF,
                               message_id=int(msg["id"]))
    edited["edited_timestamp"] = dt.datetime.now(dt.UTC).isoformat()
    await fake.dispatch("MESSAGE_UPDATE", edited)
    reply = await wait_reply(fake, msg)
    assert "988" in embed_text(reply)


async def test_edit_of_an_answered_message_gets_no_second_reply(world):
    """Editing an answered message at the same severity sends nothing and is no cooldown hit."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg)
    edited = fake.make_message(world.general, fake.ids.user, URGENT_SELF + " please",
                               message_id=int(msg["id"]))
    edited["edited_timestamp"] = dt.datetime.now(dt.UTC).isoformat()
    await fake.dispatch("MESSAGE_UPDATE", edited)
    await barrier(world, world.second)
    assert len(replies_to(fake, msg)) == 1
    counts = await usage(world.bot, world.gid)
    # Stopped by the answered-message check, not by the member cooldown.
    assert not any(k[2] == "cooldown" for k in counts)


async def test_link_preview_update_is_not_an_edit(world):
    """A MESSAGE_UPDATE without edited_timestamp (a link preview) is not looked at again."""
    fake = world.fake
    first = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, first)
    second = await fake.dispatch_message(world.general, fake.ids.user,
                                         URGENT_SELF + " https://example.org")
    await barrier(world, world.second)
    unfurled = fake.make_message(world.general, fake.ids.user, second["content"],
                                 message_id=int(second["id"]))
    unfurled["embeds"] = [{"type": "link", "url": "https://example.org", "title": "Example"}]
    await fake.dispatch("MESSAGE_UPDATE", unfurled)
    await barrier(world, world.second)
    assert replies_to(fake, second) == []
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "cooldown")] == 1  # not counted twice


async def test_dm_crisis_gets_international_lines_then_my_country(world):
    """A crisis DM is answered in the DM with the fallback, then with `/my-country` GB."""
    fake = world.fake
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    msg = await fake.dispatch_message(dm, fake.ids.user, URGENT_SELF)
    reply = await wait_reply(fake, msg)
    assert reply.path == f"/channels/{dm}/messages"
    text = embed_text(reply)
    assert "your local emergency number" in text and "findahelpline.com" in text

    sent = await fake.invoke_slash("my-country", {"country": "GB"}, channel_id=dm)
    assert "United Kingdom" in (await fake.wait_for_callback(sent)).json["data"]["content"]
    # A second member, so the first one's cooldown does not apply.
    other = new_member(fake, world.gid)
    other_dm = int(fake.dm_channel(other)["id"])
    sent = await fake.invoke_slash("my-country", {"country": "AU"}, user=other,
                                   channel_id=other_dm)
    await fake.wait_for_callback(sent)
    msg = await fake.dispatch_message(other_dm, other, OVERDOSE_SELF)
    text = embed_text(await wait_reply(fake, msg))
    assert "13 11 14" in text and "Call 000" in text
    counts = await usage(world.bot, None)
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 1
    assert counts[("crisis_reply", "overdose/urgent", "ok")] == 1


async def test_member_cooldown_and_escalation(world):
    """Within the window: no second reply, one more for concern -> urgent, others unaffected."""
    fake = world.fake
    user = fake.ids.user
    first = await fake.dispatch_message(world.general, user, CONCERN_SELF)
    await wait_reply(fake, first)
    again = await fake.dispatch_message(world.general, user, CONCERN_SELF)
    await barrier(world, world.second)
    assert replies_to(fake, again) == []
    escalated = await fake.dispatch_message(world.general, user, URGENT_SELF)
    await wait_reply(fake, escalated)
    after = await fake.dispatch_message(world.second, user, URGENT_SELF)
    someone_else = await fake.dispatch_message(world.second, new_member(fake, world.gid),
                                               CONCERN_SELF)
    await wait_reply(fake, someone_else)
    await asyncio.sleep(0.1)
    assert replies_to(fake, after) == []
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/concern", "cooldown")] == 1
    assert counts[("crisis_reply", "suicide/urgent", "cooldown")] == 1
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 2  # escalation + barrier


async def test_channel_cap_sends_the_rest_by_dm_with_one_burst_alert(world):
    """Five crisis messages in one channel: 3 public replies, 2 DMs, exactly 1 burst alert."""
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, alert_channel_id=world.alerts)
    members = [new_member(fake, world.gid) for _ in range(5)]

    def public_replies():
        return [r for r in sent_to(fake, world.general) if _ref_id(r)]

    msgs = [await fake.dispatch_message(world.general, m, URGENT_SELF) for m in members]
    await wait_until(lambda: len(fake.requests_to("POST", r"/users/@me/channels")) == 2)
    await wait_until(lambda: len(public_replies()) == 3)
    public = public_replies()
    answered = {_ref_id(r) for r in public}
    capped = [m for m, msg in zip(members, msgs, strict=True) if int(msg["id"]) not in answered]
    assert len(capped) == 2
    for member in capped:
        dm = int(fake.dm_channel(member)["id"])
        dm_msg = (await wait_until(lambda dm=dm: sent_to(fake, dm)))[0]
        assert "988" in embed_text(dm_msg)
    await wait_until(lambda: len(sent_to(fake, world.alerts)) >= 6)
    await asyncio.sleep(0.1)
    titles = [r.json["embeds"][0]["title"] for r in sent_to(fake, world.alerts)]
    assert titles.count("Many crisis replies in one channel") == 1
    # The member is helped first: the first capped member's DM goes out before the alert.
    burst = next(i for i, r in enumerate(fake.requests) if r.path.endswith(
        f"/{world.alerts}/messages") and r.json["embeds"][0]["title"].startswith("Many"))
    first_dm = min(i for i, r in enumerate(fake.requests) if r.method == "POST" and any(
        r.path == f"/channels/{fake.dm_channel(m)['id']}/messages" for m in capped))
    assert first_dm < burst
    assert len(titles) == 6  # one alert per message (5 allowed per minute) + the burst
    counts = await usage(bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 3
    assert counts[("crisis_reply", "suicide/urgent", "channel_capped")] == 2


async def test_channel_403_falls_back_to_dm(world):
    """When the bot may not post in the channel (403 50013) the member gets a DM."""
    fake = world.fake
    fake.fail("POST", rf"/channels/{world.general}/messages", 403, code=50013,
              message="Missing Permissions")
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    dm_msg = (await wait_until(lambda: sent_to(fake, dm)))[0]
    assert "988" in embed_text(dm_msg)
    assert replies_to(fake, msg) == []
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "dm_fallback")] == 1


async def test_channel_and_dm_refused_alerts_moderators(world):
    """Channel 403 and DMs closed (50007): the alert channel hears the bot could not reach them."""
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, alert_channel_id=world.alerts,
                                 alert_role_id=fake.ids.mod_role)
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    fake.fail("POST", rf"/channels/{world.general}/messages", 403, code=50013,
              message="Missing Permissions")
    fake.fail("POST", rf"/channels/{dm}/messages", 403, code=50007,
              message="Cannot send messages to this user")
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    alert = (await wait_until(lambda: sent_to(fake, world.alerts)))[0]
    await asyncio.sleep(0.1)
    assert len(sent_to(fake, world.alerts)) == 1  # no second, "we replied" alert
    text = embed_text(alert)
    assert "could not reach them" in text
    assert f"<@{fake.ids.user}>" in text and f"<#{world.general}>" in text
    assert f"/channels/{world.gid}/{world.general}/{msg['id']}" in text
    assert alert.json["content"] == f"<@&{fake.ids.mod_role}>"
    counts = await usage(bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "alert_fallback")] == 1


async def test_reply_mode_dm_and_both(world):
    """Mode `dm` sends only a DM; mode `both` replies in the channel and sends a DM."""
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, reply_mode="dm")
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    assert "988" in embed_text((await wait_until(lambda: sent_to(fake, dm)))[0])
    await asyncio.sleep(0.1)
    assert replies_to(fake, msg) == [] and sent_to(fake, world.general) == []

    await bot.cache.update_guild(world.gid, reply_mode="both")
    other = new_member(fake, world.gid)
    msg = await fake.dispatch_message(world.general, other, OVERDOSE_OTHER)
    await wait_reply(fake, msg)
    other_dm = int(fake.dm_channel(other)["id"])
    dm_msg = (await wait_until(lambda: sent_to(fake, other_dm)))[0]
    assert "naloxone" in embed_text(dm_msg).lower()
    counts = await usage(bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 1
    assert counts[("crisis_reply", "overdose/urgent", "ok")] == 1


async def test_moderator_alert_has_who_where_and_never_the_text(world, caplog):
    """The alert names category, severity, channel, member and jump link, pings only the
    alert role, and no request or log line the bot produced contains the message text."""
    caplog.set_level(logging.DEBUG, logger="bot")
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, alert_channel_id=world.alerts,
                                 alert_role_id=fake.ids.mod_role)
    marker = MARKER
    msg = await fake.dispatch_message(world.general, fake.ids.user,
                                      f"{URGENT_SELF} {marker}")
    await wait_reply(fake, msg)
    alert = (await wait_until(lambda: sent_to(fake, world.alerts)))[0]
    embed = alert.json["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Category"] == "suicide" and fields["Severity"] == "urgent"
    text = embed_text(alert)
    assert f"<#{world.general}>" in text and f"<@{fake.ids.user}>" in text
    assert f"https://discord.com/channels/{world.gid}/{world.general}/{msg['id']}" in text
    assert alert.json["content"] == f"<@&{fake.ids.mod_role}>"
    mentions = alert.json["allowed_mentions"]
    assert mentions["parse"] == [] and [int(r) for r in mentions["roles"]] == [fake.ids.mod_role]
    assert not mentions.get("users")
    assert "moderators have been told" in embed_text(await wait_reply(fake, msg))
    await usage(bot, world.gid)  # a flush, so the usage write is covered too
    assert marker not in bot_bodies(fake)
    # discord.* DEBUG records carry raw payloads; bot.logs redacts those at the handler.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert not any(marker in line for line in ours)
    counts = await usage(bot, world.gid)
    assert counts[("crisis_alert", "suicide/urgent", "ok")] == 1


async def test_reply_goes_out_when_the_database_is_closed(world):
    """With the store's connection closed, the reply still goes out and nothing raises."""
    fake, bot = world.fake, world.bot
    await bot.store._db.close()
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg, timeout=2)
    await idle()
    assert await bot.usage.flush() is False  # and the usage write reports the failure


async def test_reply_goes_out_while_the_database_hangs(world, monkeypatch):
    """With every store method stalled (reads too), crisis replies still go out."""
    fake, bot = world.fake, world.bot
    release = asyncio.Event()

    async def stalled(*args, **kwargs):
        await release.wait()

    for name in Store.__abstractmethods__:
        monkeypatch.setattr(bot.store, name, stalled)
    bot.usage.record(world.gid, "topic", "ptsd")
    flushing = asyncio.create_task(bot.usage.flush())  # holds the store while we send
    try:
        await asyncio.sleep(0.05)
        assert not flushing.done()
        msgs = [await fake.dispatch_message(world.general, m, URGENT_SELF)
                for m in (fake.ids.user, new_member(fake, world.gid))]
        for msg in msgs:
            await wait_reply(fake, msg, timeout=2)
    finally:
        release.set()
        await flushing


async def test_other_country_button_and_select(world):
    """The reply's button answers privately with a country select; choosing GB shows its lines."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg)
    reply = await wait_until(lambda: [m for m in fake.sent_messages(world.general)
                                      if (m.get("message_reference") or {}).get("message_id")
                                      == msg["id"]])
    button = fake.make_interaction(
        INTERACTION_COMPONENT, {"custom_id": "crisis:other-country", "component_type": 2},
        message=reply[0], channel_id=world.general)
    await fake.dispatch_interaction(button)
    callback = await fake.wait_for_callback(button)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
    select = callback.json["data"]["components"][0]["components"][0]
    assert select["type"] == 3
    values = [o["value"] for o in select["options"]]
    assert {"GB", "US", "AU"} <= set(values) and len(values) <= 25

    chosen = fake.make_interaction(
        INTERACTION_COMPONENT,
        {"custom_id": select["custom_id"], "component_type": 3, "values": ["GB"]},
        message=fake.original_response(button), channel_id=world.general)
    await fake.dispatch_interaction(chosen)
    callback = await fake.wait_for_callback(chosen)
    assert callback.json["type"] == 7
    text = embed_text(callback.json["data"])
    assert "United Kingdom" in text and "116 123" in text and "999" in text
    counts = await usage(world.bot, world.gid)
    assert counts[("hotline", "GB", "button")] == 1


async def test_button_works_on_a_reply_sent_before_a_restart(world, start_bot):
    """The button is persistent: a bot started afresh still answers it (by custom_id)."""
    fake = world.fake
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg)
    reply = next(m for m in fake.sent_messages(world.general)
                 if (m.get("message_reference") or {}).get("message_id") == msg["id"])
    await world.run.runner.stop()
    await start_bot()
    button = fake.make_interaction(
        INTERACTION_COMPONENT, {"custom_id": "crisis:other-country", "component_type": 2},
        message=reply, channel_id=world.general)
    await fake.dispatch_interaction(button)
    callback = await fake.wait_for_callback(button)
    assert callback.json["data"]["components"][0]["components"][0]["type"] == 3



async def test_replies_do_not_pile_up_views_in_memory(world):
    """Each reply's button is served by the one persistent view, so none is kept per reply."""
    fake, bot = world.fake, world.bot
    assert len(bot.persistent_views) == 1
    msgs = [await fake.dispatch_message(channel, new_member(fake, world.gid), URGENT_SELF)
            for channel in (world.general, world.second, fake.ids.thread)]
    for msg in msgs:
        reply = await wait_reply(fake, msg)
        assert reply.json["components"][0]["components"][0]["custom_id"] == \
            "crisis:other-country"
    await idle()
    assert len(bot.persistent_views) == 1
