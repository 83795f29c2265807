"""Start-up and shutdown, shared by `python -m bot run` and the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.config import Config
from bot.content.bundle import Content

log = logging.getLogger(__name__)


def apply_endpoints(settings: Config) -> tuple[str, yarl.URL]:
    """Route REST and gateway traffic through DISCORD_API_BASE / DISCORD_GATEWAY_URL.

    discord.py keeps both as class attributes; the previous values are returned so a
    caller (the tests) can restore them.
    """
    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    return previous


class StartupError(Exception):
    """The bot cannot start (or go on); the message says why and what to do."""


# Gateway close codes after which discord.py gives up, and what the operator should do.
CLOSE_CODES = {
    4004: "Discord closed the connection: the bot token is no longer valid (close code "
          "4004; it was reset or revoked). Reset the token in the Developer Portal (your "
          "app -> Bot -> Reset Token), update DISCORD_TOKEN and start the bot again",
    4010: "Discord closed the connection: invalid shard (close code 4010). Remove any "
          "shard settings and start the bot again",
    4011: "Discord closed the connection: the bot is in too many servers to run without "
          "sharding (close code 4011)",
    4012: "Discord closed the connection: invalid gateway API version (close code 4012). "
          "Check DISCORD_GATEWAY_URL, or update discord.py",
    4013: "Discord closed the connection: invalid intents (close code 4013). This is a bug "
          "in the bot's intents; please report it",
    4014: "Discord refused the Message Content intent (close code 4014). Enable it in the "
          "Developer Portal (your app -> Bot -> Privileged Gateway Intents -> Message "
          "Content)",
}


class BotRunner:
    """Owns the store, the bot and its connection task."""

    def __init__(self, settings: Config, content: Content, *, guild_ready_timeout: float = 2.0):
        self.settings = settings
        self.content = content
        self.guild_ready_timeout = guild_ready_timeout
        self.bot = None
        self._connect_task: asyncio.Task | None = None
        self._previous_endpoints = None

    async def start(self) -> None:
        """Open the store, log in and start the gateway connection in the background."""
        from bot.bot import RecoveryBot
        from bot.store import StoreError, open_store

        try:
            key = self.settings.pseudonym_key
            store, pseudonyms = await open_store(self.settings.database,
                                                 key.get_secret_value() if key else None)
        except StoreError as exc:
            raise StartupError(str(exc)) from None
        self._previous_endpoints = apply_endpoints(self.settings)
        self.bot = RecoveryBot(self.settings, self.content, store, pseudonyms,
                               guild_ready_timeout=self.guild_ready_timeout)
        if self.settings.discord_token is None:  # load_config refuses this for `run`
            raise StartupError("DISCORD_TOKEN is not set. Fix: set it to the bot's token")
        token = self.settings.discord_token.get_secret_value()
        try:
            await self.bot.login(token)
        except discord.LoginFailure:
            await self.bot.close()
            raise StartupError(
                "Discord rejected DISCORD_TOKEN (HTTP 401 Unauthorized). Reset the token in "
                "the Developer Portal (your app -> Bot -> Reset Token) and update .env") from None
        except discord.HTTPException as exc:
            await self.bot.close()
            raise StartupError(f"could not log in to Discord (HTTP {exc.status}); "
                               "check DISCORD_API_BASE and your network") from None
        except (aiohttp.ClientError, OSError) as exc:
            await self.bot.close()
            raise StartupError(f"could not reach Discord at {discord.http.Route.BASE} "
                               f"({type(exc).__name__}); check your network, or "
                               "DISCORD_API_BASE if you use a proxy") from None
        self._connect_task = asyncio.create_task(self.bot.connect(reconnect=True),
                                                 name="discord-connect")

    async def wait(self) -> None:
        """Wait until the connection ends (bot closed or a fatal gateway error)."""
        if self._connect_task is None:
            return
        try:
            await self._connect_task
        except discord.PrivilegedIntentsRequired:
            raise StartupError(CLOSE_CODES[4014]) from None
        except discord.ConnectionClosed as exc:
            raise StartupError(CLOSE_CODES.get(exc.code) or (
                f"Discord closed the connection (close code {exc.code}) and the bot "
                "cannot reconnect. Start it again; if this repeats, check Discord's status"
            )) from None

    async def stop(self) -> None:
        """Close the bot (which flushes usage counts and closes the store)."""
        if self.bot is not None and not self.bot.is_closed():
            await self.bot.close()
        if self._connect_task is not None:
            # The connection is being torn down; its error is not ours to report.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._connect_task, timeout=10)
        if self._previous_endpoints is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._previous_endpoints)
            self._previous_endpoints = None


async def run_until_stopped(settings: Config, content: Content) -> int:
    """Run the bot until SIGINT or SIGTERM; then flush and exit cleanly."""
    runner = BotRunner(settings, content)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.start()
        waiter = asyncio.create_task(runner.wait())
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if waiter in done:
            waiter.result()
        log.info("shutting down")
        return 0
    except StartupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        await runner.stop()
