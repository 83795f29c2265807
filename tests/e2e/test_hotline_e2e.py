"""/hotline and /my-country end to end, through the real bot and the fake Discord."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.devserver.fake import INTERACTION_COMPONENT, MESSAGE_FLAG_EPHEMERAL

_HANDLER_TASKS = ("discord.py: ", "discord-ui-view-dispatch", "CommandTree-invoker")


def embed_text(data: dict) -> str:
    """Title, description, fields and footer of the first embed of a message body."""
    embed = data["embeds"][0]
    parts = [embed.get("title") or "", embed.get("description") or ""]
    for fld in embed.get("fields") or []:
        parts += [fld["name"], fld["value"]]
    parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


async def hotline(fake, options=None, **kwargs) -> dict:
    """Invoke /hotline and return the callback's message data (checked to be ephemeral)."""
    sent = await fake.invoke_slash("hotline", options, **kwargs)
    callback = await fake.wait_for_callback(sent)
    assert callback.json["type"] == 4
    data = callback.json["data"]
    assert data["flags"] & MESSAGE_FLAG_EPHEMERAL
    return data


async def usage(bot, guild_id):
    """Usage counts of a guild once the bot is idle: (kind, key, outcome) -> n."""
    me = asyncio.current_task()
    async with asyncio.timeout(3):
        while [t for t in asyncio.all_tasks()
               if t is not me and t.get_name().startswith(_HANDLER_TASKS)]:
            await asyncio.sleep(0.01)
    assert await bot.usage.flush()
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    return {(r.kind, r.key, r.outcome): r.count
            for r in await bot.store.usage_summary(guild_id, since)}


async def test_hotline_for_a_named_country(running):
    """`/hotline country:GB` lists Samaritans 116 123 and 999, with the other-country button."""
    data = await hotline(running.fake, {"country": "GB"})
    text = embed_text(data)
    assert data["embeds"][0]["title"] == "Crisis lines: United Kingdom"
    assert "Samaritans" in text and "116 123" in text and "call 999" in text
    assert "Numbers last checked" in text
    assert data["components"][0]["components"][0]["custom_id"] == "crisis:other-country"
    assert (await usage(running.bot, running.fake.ids.guild))[("hotline", "GB", "ok")] == 1


async def test_hotline_by_country_name(running):
    """A country name ("australia") works as well as a code."""
    data = await hotline(running.fake, {"country": "australia"})
    text = embed_text(data)
    assert data["embeds"][0]["title"] == "Crisis lines: Australia"
    assert "13 11 14" in text and "000" in text


async def test_hotline_defaults_to_the_server_country(running):
    """Without a country, an en-US server gets the US lines; a configured region wins."""
    fake = running.fake
    text = embed_text(await hotline(fake))
    assert "988" in text and "call 911" in text
    await running.bot.cache.update_guild(fake.ids.guild, region="NZ")
    data = await hotline(fake)
    assert data["embeds"][0]["title"] == "Crisis lines: New Zealand"


async def test_hotline_in_a_dm_uses_the_members_country(running):
    """In a DM: international lines first, then the `/my-country` choice."""
    fake = running.fake
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    data = await hotline(fake, channel_id=dm)
    assert data["embeds"][0]["title"] == "Crisis lines worldwide"
    assert "findahelpline.com" in embed_text(data)
    sent = await fake.invoke_slash("my-country", {"country": "Germany"}, channel_id=dm)
    answer = (await fake.wait_for_callback(sent)).json["data"]
    assert "Germany" in answer["content"] and answer["flags"] & MESSAGE_FLAG_EPHEMERAL
    data = await hotline(fake, channel_id=dm)
    assert data["embeds"][0]["title"] == "Crisis lines: Germany"
    assert "112" in embed_text(data)
    sent = await fake.invoke_slash("my-country", channel_id=dm)
    assert "Cleared" in (await fake.wait_for_callback(sent)).json["data"]["content"]
    data = await hotline(fake, channel_id=dm)
    assert data["embeds"][0]["title"] == "Crisis lines worldwide"
    counts = await usage(running.bot, None)
    assert counts[("hotline", "INTL", "ok")] == 2 and counts[("hotline", "DE", "ok")] == 1


async def test_my_country_refuses_unknown_countries(running):
    """`/my-country` with an unknown name asks to pick from the list and changes nothing."""
    fake = running.fake
    dm = int(fake.dm_channel(fake.ids.user)["id"])
    sent = await fake.invoke_slash("my-country", {"country": "Atlantis"}, channel_id=dm)
    answer = (await fake.wait_for_callback(sent)).json["data"]
    assert "pick a country" in answer["content"] and "Atlantis" not in answer["content"]
    data = await hotline(fake, channel_id=dm)
    assert data["embeds"][0]["title"] == "Crisis lines worldwide"


async def test_autocomplete_offers_germany_for_germ(running):
    """Autocomplete for "germ" offers DE first; an empty box lists countries (at most 25)."""
    fake = running.fake
    sent = await fake.invoke_autocomplete("hotline", "country", {"country": "germ"})
    callback = await fake.wait_for_callback(sent)
    assert callback.json["type"] == 8
    choices = callback.json["data"]["choices"]
    assert choices[0] == {"name": "Germany (DE)", "value": "DE"}
    sent = await fake.invoke_autocomplete("hotline", "country", {"country": ""})
    choices = (await fake.wait_for_callback(sent)).json["data"]["choices"]
    assert 10 <= len(choices) <= 25
    assert {"US", "GB", "INTL"} <= {c["value"] for c in choices}


async def test_unknown_country_answers_with_the_fallback(running):
    """An unknown country gets the international lines and never repeats what was typed."""
    typed = "Atlantis-zq"
    data = await hotline(running.fake, {"country": typed})
    assert "don't have lines for that country" in data["content"]
    assert typed not in data["content"] and typed not in embed_text(data)
    assert data["embeds"][0]["title"] == "Crisis lines worldwide"
    counts = await usage(running.bot, running.fake.ids.guild)
    assert counts[("hotline", "", "not_found")] == 1


async def test_button_on_a_hotline_answer_offers_other_countries(running):
    """The button under a /hotline answer opens the country select; "JP" gives Japan."""
    fake = running.fake
    sent = await fake.invoke_slash("hotline", {"country": "US"})
    await fake.wait_for_callback(sent)
    button = fake.make_interaction(
        INTERACTION_COMPONENT, {"custom_id": "crisis:other-country", "component_type": 2},
        message=fake.original_response(sent))
    await fake.dispatch_interaction(button)
    select = (await fake.wait_for_callback(button)).json["data"]["components"][0][
        "components"][0]
    chosen = fake.make_interaction(
        INTERACTION_COMPONENT,
        {"custom_id": select["custom_id"], "component_type": 3, "values": ["JP"]},
        message=fake.original_response(button))
    await fake.dispatch_interaction(chosen)
    callback = await fake.wait_for_callback(chosen)
    assert callback.json["type"] == 7
    assert callback.json["data"]["embeds"][0]["title"] == "Crisis lines: Japan"
    assert callback.json["data"]["components"] == []



async def _picker(fake, running_bot_fake=None):
    """Press "Lines for another country" under a /hotline answer; return the select menus
    and the interaction that opened them."""
    sent = await fake.invoke_slash("hotline", {"country": "GB"})
    await fake.wait_for_callback(sent)
    button = fake.make_interaction(
        INTERACTION_COMPONENT, {"custom_id": "crisis:other-country", "component_type": 2},
        message=fake.original_response(sent))
    await fake.dispatch_interaction(button)
    rows = (await fake.wait_for_callback(button)).json["data"]["components"]
    return [row["components"][0] for row in rows], button


async def _choose(fake, select: dict, code: str, opened) -> dict:
    chosen = fake.make_interaction(
        INTERACTION_COMPONENT,
        {"custom_id": select["custom_id"], "component_type": 3, "values": [code]},
        message=fake.original_response(opened))
    await fake.dispatch_interaction(chosen)
    return (await fake.wait_for_callback(chosen)).json["data"]


async def test_country_picker_offers_every_shipped_country(running):
    """With the shipped directory, the picker's menus together list every country."""
    fake = running.fake
    selects, _ = await _picker(fake)
    offered = [o["value"] for s in selects for o in s["options"]]
    assert offered == [c.code for c in running.bot.content.hotlines.countries()]
    assert all(len(s["options"]) <= 25 for s in selects)


async def test_country_picker_reaches_the_us_among_forty_countries(fake_discord, start_bot,
                                                                   content):
    """With more than 25 countries the picker splits them into several menus; the United
    States, which sorts late, is offered and its lines open."""
    import dataclasses

    from bot.content.hotlines import HotlineDirectory
    real = content.hotlines.countries()
    gb = next(c for c in real if c.code == "GB")
    extra = [gb.model_copy(update={"code": f"Q{chr(65 + i)}", "name": f"Atlantis {i:02d}",
                                   "aliases": []}) for i in range(40 - len(real))]
    big = HotlineDirectory([*real, *extra], {"en-US": "US"})
    assert len(big) == 40
    running = await start_bot(content=dataclasses.replace(content, hotlines=big))
    fake = running.fake
    selects, opened = await _picker(fake)
    assert len(selects) == 2 and all(len(s["options"]) <= 25 for s in selects)
    offered = [o["value"] for s in selects for o in s["options"]]
    assert sorted(offered) == sorted(c.code for c in big.countries())
    holding_us = next(s for s in selects if any(o["value"] == "US" for o in s["options"]))
    data = await _choose(fake, holding_us, "US", opened)
    assert data["embeds"][0]["title"] == "Crisis lines: United States"
