"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.devserver.fake import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running FakeDiscord on a free 127.0.0.1 port with the default world; stopped after.

    Teardown fails if a route handler of the fake raised (see ``FakeDiscord.errors``).
    """
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    assert fake.errors == [], f"fake Discord route handlers raised: {fake.errors!r}"
