"""/topic and /topics end to end: sync, ephemeral embeds from YAML, autocomplete, bad input."""

from __future__ import annotations

EPHEMERAL = 64


def embed_of(callback) -> dict:
    embeds = callback.json["data"]["embeds"]
    assert len(embeds) == 1
    return embeds[0]


async def test_login_ready_and_command_sync(running):
    """The bot logs in, gets READY, and registers /topic (with autocomplete) and /topics."""
    fake = running.fake
    assert fake.requests_to("GET", "/users/@me")
    assert running.bot.is_ready()
    topic = fake.command("topic")
    assert topic is not None and fake.command("topics") is not None
    options = {o["name"]: o for o in topic["options"]}
    assert options["name"]["autocomplete"] is True and options["name"]["required"] is True
    assert options["share"]["type"] == 5 and not options["share"].get("required", False)
    for name in ("hotline", "settings", "stats", "privacy", "crisis-replies"):
        assert fake.command(name) is not None, name


async def test_topic_ptsd_is_an_ephemeral_embed_from_the_yaml(running, content):
    """`/topic ptsd` answers privately with the summary, key points, sources and footer."""
    fake = running.fake
    sent = await fake.invoke_slash("topic", {"name": "ptsd"})
    callback = await fake.wait_for_callback(sent)
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] & EPHEMERAL
    embed = embed_of(callback)
    topic = content.topics.get("ptsd")
    assert embed["title"] == topic.title
    assert embed["description"] == topic.summary
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert topic.key_points[0] in fields["Key points"]
    assert str(topic.sources[0].url) in fields["Sources"]
    assert topic.reviewed.date.isoformat() in fields["Reviewed"]
    assert "not medical advice" in embed["footer"]["text"]
    assert "emergency" in embed["footer"]["text"]


async def test_share_posts_publicly(running):
    """`share:true` makes the answer visible to the channel (no ephemeral flag)."""
    sent = await running.fake.invoke_slash("topic", {"name": "naloxone", "share": True})
    callback = await running.fake.wait_for_callback(sent)
    assert not (callback.json["data"].get("flags") or 0) & EPHEMERAL
    assert embed_of(callback)["title"].lower().startswith("overdose")


async def test_autocomplete_tolerates_typos(running):
    """Autocomplete for "ptds" offers the PTSD topic first; "bupe" reaches medications."""
    fake = running.fake
    for typed, expected in (("ptds", "ptsd"), ("bupe", "moud"), ("narcan", "overdose")):
        sent = await fake.invoke_autocomplete("topic", "name", {"name": typed})
        callback = await fake.wait_for_callback(sent)
        assert callback.json["type"] == 8
        choices = callback.json["data"]["choices"]
        assert choices and choices[0]["value"] == expected, (typed, choices[:3])


async def test_unknown_topic_gets_suggestions_without_echo(running):
    """An unknown name answers privately with close topics and never repeats the input."""
    typed = "ptsd-zq-unknown-thing"
    sent = await running.fake.invoke_slash("topic", {"name": typed})
    callback = await running.fake.wait_for_callback(sent)
    data = callback.json["data"]
    assert data["flags"] & EPHEMERAL
    assert "don't have a topic" in data["content"]
    assert "`ptsd`" in data["content"]
    assert typed not in data["content"]


async def test_too_long_or_odd_input_gets_a_polite_answer(running):
    """A 500-character name or control/format characters get a polite private answer."""
    fake = running.fake
    for typed in ("x" * 500, "\u200b\u202e\x07", "🙂" * 60):
        sent = await fake.invoke_slash("topic", {"name": typed})
        callback = await fake.wait_for_callback(sent)
        assert callback.json["type"] == 4
        assert callback.json["data"]["flags"] & EPHEMERAL
        assert "Traceback" not in callback.json["data"].get("content", "")


async def test_topics_lists_every_topic(running, content):
    """`/topics` lists each topic id privately."""
    sent = await running.fake.invoke_slash("topics")
    callback = await running.fake.wait_for_callback(sent)
    assert callback.json["data"]["flags"] & EPHEMERAL
    text = embed_of(callback)["description"]
    for topic in content.topics.topics:
        assert f"`{topic.id}`" in text
