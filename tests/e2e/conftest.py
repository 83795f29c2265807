"""Start the real bot, through the same BotRunner as `python -m bot run`, against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import BotRunner
from bot.config import Config, load_config
from bot.content.bundle import Content, load_content
from bot.devserver.fake import FakeDiscord
from bot.paths import bundled_content_dir

TEST_KEY = "e2e-test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="session")
def content() -> Content:
    """The bundled content, loaded once: loading runs every rule example."""
    loaded, problems = load_content(bundled_content_dir())
    assert loaded is not None, [str(p) for p in problems]
    return loaded


@dataclass
class Running:
    fake: FakeDiscord
    runner: BotRunner
    settings: Config
    db_path: Path

    @property
    def bot(self):
        return self.runner.bot


StartBot = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_bot(fake_discord: FakeDiscord, tmp_path: Path,
                    content: Content) -> AsyncIterator[StartBot]:
    """A factory: `await start_bot(**setting_overrides)` runs the bot until the test ends."""
    runners: list[BotRunner] = []

    async def start(**overrides) -> Running:
        db_path = tmp_path / "data" / "bot.sqlite3"
        values = dict(discord_token=fake_discord.token, database_path=db_path,
                      discord_api_base=fake_discord.api_base,
                      discord_gateway_url=fake_discord.gateway_url,
                      pseudonym_key=TEST_KEY, usage_flush_seconds=0.2)
        values.update(overrides)
        settings = load_config(None, **values)
        runner = BotRunner(settings, overrides.pop("content", None) or content,
                           guild_ready_timeout=0.1)
        runners.append(runner)
        await runner.start()
        await asyncio.wait_for(runner.bot.wait_until_ready(), timeout=10)
        return Running(fake_discord, runner, settings, db_path)

    yield start
    for runner in reversed(runners):
        await runner.stop()


@pytest.fixture
async def running(start_bot: StartBot) -> Running:
    """The bot with default settings, ready."""
    return await start_bot()
