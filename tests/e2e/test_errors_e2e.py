"""Unexpected errors: logged with a traceback that never carries message text, and a
member whose command failed still gets an answer."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging
from tests.e2e.conftest import Running

MARKER = "zq-error-marker-41c7"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG while the test runs, through the bot's own handler."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def _wait_for_text(stream: io.StringIO, text: str, timeout: float = 10.0) -> str:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while text not in stream.getvalue() and loop.time() < end:
        await asyncio.sleep(0.02)
    return stream.getvalue()


async def test_a_bug_in_the_crisis_path_logs_a_traceback_without_the_message(
        running: Running, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure shows where it happened and its class; the message text, which the
    exception here also quotes, appears nowhere in the log."""
    fake, bot = running.fake, running.bot

    def broken(pseudonym: str) -> bool:
        raise KeyError(f"no entry for {MARKER}")

    monkeypatch.setattr(bot.cache, "opted_out", broken)
    await fake.dispatch_message(fake.ids.text_channel, fake.ids.user,
                                f"I'm going to kill myself tonight {MARKER}")
    out = await _wait_for_text(log_stream, "KeyError (message not logged)")
    assert "crisis handling failed" in out
    assert "Traceback (most recent call last)" in out
    assert "_consider" in out  # the frame where it failed
    assert "KeyError (message not logged)" in out
    assert MARKER not in out


async def test_a_failing_command_is_answered_and_logged_once_with_its_traceback(
        running: Running, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that raises reaches the tree's error handler: the member is told
    something went wrong; the log has the traceback and not what they typed."""
    fake, bot = running.fake, running.bot

    def broken(name: str) -> None:
        raise LookupError(f"bad topic {name}")

    monkeypatch.setattr(bot.content.topics, "get", broken)
    sent = await fake.invoke_slash("topic", {"name": f"ptsd {MARKER}"}, user=fake.ids.user)
    data = (await fake.wait_for_callback(sent)).json["data"]
    assert "Something went wrong on my side" in data["content"]
    out = await _wait_for_text(log_stream, "LookupError (message not logged)")
    assert "command /topic failed" in out
    assert out.count("LookupError (message not logged)") == 1
    assert "in topic" in out  # the command's own frame
    assert MARKER not in out
