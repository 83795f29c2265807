"""How the demo turns a typed slash command into the interaction data Discord would send."""

from __future__ import annotations

import pytest

from bot.demo.commands import CommandLineError, Resolver, parse

# Shaped like the commands the bot syncs (GET /applications/{id}/commands).
TOPIC = {"id": "1", "name": "topic", "options": [
    {"type": 3, "name": "name", "required": True, "autocomplete": True},
    {"type": 5, "name": "share"}]}
SETTINGS = {"id": "2", "name": "settings", "options": [
    {"type": 1, "name": "alert-channel", "options": [{"type": 7, "name": "channel"}]},
    {"type": 1, "name": "reply-mode", "options": [
        {"type": 3, "name": "mode", "required": True,
         "choices": [{"name": "channel", "value": "channel"}, {"name": "dm", "value": "dm"}]}]},
    {"type": 1, "name": "cooldown", "options": [
        {"type": 4, "name": "minutes", "required": True, "min_value": 1, "max_value": 1440}]}]}
GENERAL = {"id": "10", "name": "general", "type": 0, "guild_id": "9"}
RESOLVER = Resolver({"general": GENERAL}, {"Moderator": {"id": "11", "name": "Moderator"}})


def test_values_may_hold_spaces_and_a_bare_value_fills_the_required_option():
    parsed = parse(TOPIC, "post traumatic stress share:yes", RESOLVER)
    assert parsed.options == [{"name": "name", "type": 3, "value": "post traumatic stress"},
                              {"name": "share", "type": 5, "value": True}]


def test_subcommand_with_a_channel_is_resolved_like_discord_does():
    parsed = parse(SETTINGS, "alert-channel channel:#General", RESOLVER)
    data = parsed.data(SETTINGS)
    assert data["options"] == [{"name": "alert-channel", "type": 1, "options": [
        {"name": "channel", "type": 7, "value": "10"}]}]
    assert data["resolved"]["channels"]["10"]["name"] == "general"


@pytest.mark.parametrize(("rest", "message"), [
    ("", "needs one of: alert-channel, reply-mode, cooldown"),
    ("reply-mode mode:sometimes", "mode: must be one of channel, dm"),
    ("reply-mode", "missing mode: /settings reply-mode mode:channel|dm"),
    ("cooldown minutes:0", "minutes: must be between 1 and 1440"),
    ("cooldown minutes:soon", "minutes: must be a number"),
    ("alert-channel channel:lobby", "no channel called 'lobby'; channels: general"),
])
def test_mistakes_are_explained(rest, message):
    with pytest.raises(CommandLineError, match=message.replace("|", r"\|")):
        parse(SETTINGS, rest, RESOLVER)


async def test_tab_completion_uses_the_synced_commands_and_the_bots_autocomplete(content):
    """Names and fixed choices come from the synced commands; values from the bot itself."""
    from bot.demo.session import DemoSession
    from bot.demo.terminal import static_completions

    session = await DemoSession.start(content)
    try:
        def texts(line):
            return [c.text for c in static_completions(session, line)]

        assert texts("/to") == ["/topic", "/topics"]
        assert texts("/settings re") == ["region", "reply-mode"]
        assert texts("/settings region ") == ["country:"]
        assert texts("/settings reply-mode mode:") == ["channel", "dm", "both"]
        assert texts("/settings alert-channel channel:m") == ["mod-alerts"]
        assert texts("/topic name:x ") == ["share:"]
        assert await session.autocomplete("/hotline country:jap") == [("JP", "Japan (JP)")]
        assert await session.autocomplete("/settings region country:austr") == [
            ("AU", "Australia (AU)")]
        assert await session.autocomplete("/topic share:") == []  # no autocomplete there
    finally:
        await session.stop()
