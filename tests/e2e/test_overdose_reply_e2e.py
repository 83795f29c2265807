"""An overdose message through the real bot: the lines fit the detection, in order."""

from __future__ import annotations

import asyncio

TOOK_TYLENOL = "took a whole bottle of tylenol an hour ago, feel fine tho"
TOOK_AND_WANTS_TO_DIE = "i took all my pills and i want to die"


async def _reply_embed(fake, msg: dict) -> dict:
    """The first embed of the bot's reply to `msg` in the server's text channel."""
    path = rf"/channels/{fake.ids.text_channel}/messages"
    async with asyncio.timeout(3):
        while True:
            for r in fake.requests_to("POST", path):
                ref = ((r.json or {}).get("message_reference") or {}).get("message_id")
                if r.status == 200 and ref is not None and int(ref) == int(msg["id"]):
                    return r.json["embeds"][0]
            await asyncio.sleep(0.01)


async def test_self_overdose_in_a_us_server_lists_poison_help_first(running):
    """"feel fine tho" after a bottle of medicine: call 911, get checked even if okay, and
    Poison Help before the crisis line; no use-alone or referral line first."""
    fake = running.fake
    msg = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, TOOK_TYLENOL)
    embed = await _reply_embed(fake, msg)
    names = [f["name"] for f in embed["fields"]]
    assert embed["description"].startswith("**Call 911 now")
    assert "Even if you feel okay" in embed["description"]
    assert names[0].startswith("Poison Help") and names[1].startswith("988")
    assert not any("Never Use Alone" in n for n in names)


async def test_overdose_with_suicidal_words_lists_988_then_poison_help(running):
    """When the suicide and overdose rules both fire, 988 comes first, Poison Help next,
    and the reply speaks to both."""
    fake = running.fake
    msg = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user,
                                      TOOK_AND_WANTS_TO_DIE)
    embed = await _reply_embed(fake, msg)
    names = [f["name"] for f in embed["fields"]]
    assert names[0].startswith("988") and names[1].startswith("Poison Help")
    assert "taken too much" in embed["description"]
    assert "ending your life" in embed["description"]
