"""Crisis replies under transport faults: dropped connections, stalls, long rate limits.

Every delivery step (channel, DM, moderator alert) has a deadline; a step that fails in
any way hands over to the next route, and the usage count is still kept.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e import test_crisis_e2e
from tests.e2e.test_crisis_e2e import (
    MESSAGES,
    URGENT_SELF,
    embed_text,
    new_member,
    replies_to,
    sent_to,
    usage,
    wait_until,
)

world = test_crisis_e2e.world  # the same world: an alert channel and a second channel

STEP = 0.4  # the per-step deadline in these tests, so stalls cost little


@pytest.fixture(autouse=True)
def short_steps(world):
    world.bot.get_cog("Crisis").step_seconds = STEP


def dm_of(fake, user: int) -> int:
    return int(fake.dm_channel(user)["id"])


async def test_reset_before_the_channel_reply_falls_back_to_dm(world):
    """A connection dropped on the channel reply: the DM still goes out, and is counted."""
    fake = world.fake
    fake.reset("POST", rf"/channels/{world.general}/messages")
    await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = (await wait_until(lambda: sent_to(fake, dm_of(fake, fake.ids.user))))[0]
    assert "988" in embed_text(dm)
    assert "In case my reply in the channel didn't reach you" in dm.json["content"]
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "dm_fallback")] == 1


async def test_reset_after_the_reply_was_posted_still_sends_the_dm(world):
    """The reply reached the channel but its answer was lost: the member also gets a DM
    saying so (a duplicate is better than silence)."""
    fake = world.fake
    fake.reset("POST", rf"/channels/{world.general}/messages", after=True)
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = (await wait_until(lambda: sent_to(fake, dm_of(fake, fake.ids.user))))[0]
    assert "didn't reach you" in dm.json["content"]
    posted = [m for m in fake.sent_messages(world.general)
              if (m.get("message_reference") or {}).get("message_id") == msg["id"]]
    assert len(posted) == 1  # it did arrive; the bot could not know
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "dm_fallback")] == 1


async def test_a_reply_that_never_returns_is_given_up_for_the_dm(world):
    """A channel reply that hangs is abandoned after the step deadline for a DM."""
    fake = world.fake
    fake.stall("POST", rf"/channels/{world.general}/messages")
    await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = (await wait_until(lambda: sent_to(fake, dm_of(fake, fake.ids.user)), 5))[0]
    assert "988" in embed_text(dm)
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "dm_fallback")] == 1


async def test_channel_and_dm_dropped_alerts_the_moderators(world):
    """Channel and DM both lose their connection: the moderators are told, and the
    alert channel's own failure would not stop the count either."""
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, alert_channel_id=world.alerts)
    fake.reset("POST", rf"/channels/{world.general}/messages")
    fake.reset("POST", rf"/channels/{dm_of(fake, fake.ids.user)}/messages")
    await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    alert = (await wait_until(lambda: sent_to(fake, world.alerts)))[0]
    assert "could not reach them" in embed_text(alert)
    counts = await usage(bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "alert_fallback")] == 1


async def test_a_dropped_moderator_alert_is_counted_as_failed(world):
    """The alert's connection drops after the member was answered: counted, nothing raised."""
    fake, bot = world.fake, world.bot
    await bot.cache.update_guild(world.gid, alert_channel_id=world.alerts)
    fake.reset("POST", rf"/channels/{world.alerts}/messages")
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_until(lambda: replies_to(fake, msg))
    counts = await usage(bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 1
    assert counts[("crisis_alert", "suicide/urgent", "failed")] == 1


async def test_a_long_rate_limit_does_not_hold_up_the_crisis_reply(world):
    """A 429 asking for 20 s on the channel: the member gets the DM within the deadline."""
    fake = world.fake
    fake.fail("POST", rf"/channels/{world.general}/messages", 429, retry_after=20)
    await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_until(lambda: sent_to(fake, dm_of(fake, fake.ids.user)), 5)
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "dm_fallback")] == 1


async def test_server_errors_are_not_retried_for_25_seconds(world):
    """Permanent 500s on the channel (discord.py retries 1+3+5+7+9 s): DM within the deadline."""
    fake = world.fake
    fake.fail("POST", rf"/channels/{world.general}/messages", 500)
    await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    dm = dm_of(fake, fake.ids.user)
    await wait_until(lambda: sent_to(fake, dm), 5)
    posts = [(i, r.path) for i, r in enumerate(fake.requests) if r.method == "POST"]
    dm_at = next(i for i, path in posts if path == f"/channels/{dm}/messages")
    channel_tries = [i for i, path in posts if path == f"/channels/{world.general}/messages"]
    assert [i for i in channel_tries if i < dm_at] == channel_tries[:1]  # no retry first


async def test_an_exhausted_rate_limit_bucket_falls_back_to_dm(world):
    """Discord says the channel's bucket is empty for 20 s: the next member gets a DM."""
    fake = world.fake
    fake.rate_limit_headers("POST", MESSAGES, remaining=0, reset_after=20, times=1)
    first = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    await wait_until(lambda: replies_to(fake, first))
    other = new_member(fake, world.gid)
    await fake.dispatch_message(world.general, other, URGENT_SELF)
    dm = (await wait_until(lambda: sent_to(fake, dm_of(fake, other)), 5))[0]
    assert "988" in embed_text(dm)
    await asyncio.sleep(0)


async def test_dm_mode_falls_back_to_the_channel_when_the_dm_drops(world):
    """Reply mode `dm`: a DM whose connection drops is followed by a channel reply."""
    fake = world.fake
    await world.bot.cache.update_guild(world.gid, reply_mode="dm")
    fake.reset("POST", rf"/channels/{dm_of(fake, fake.ids.user)}/messages")
    msg = await fake.dispatch_message(world.general, fake.ids.user, URGENT_SELF)
    reply = (await wait_until(lambda: replies_to(fake, msg)))[0]
    assert "988" in embed_text(reply)
    counts = await usage(world.bot, world.gid)
    assert counts[("crisis_reply", "suicide/urgent", "channel_fallback")] == 1
