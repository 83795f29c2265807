"""Shared pytest fixtures."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the whole run (see tests/pgserver.py).

    Skipped where none can be started, except in CI (CI=true, or REQUIRE_POSTGRES_TESTS=1
    as .ci/run sets), where that is a failure: the PostgreSQL backend must be tested
    against a real server there.
    """
    from tests.pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        required = (os.environ.get("CI", "").lower() in ("1", "true", "yes")
                    or os.environ.get("REQUIRE_POSTGRES_TESTS") == "1")
        if required:
            pytest.fail(f"CI must run the PostgreSQL tests, but no server started: {exc}")
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    yield server
    server.stop()
