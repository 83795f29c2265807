"""`python -m bot demo`: the real bot, in a terminal chat, against a local stand-in for Discord.

No token and no network: the bot (same BotRunner, cogs, detector, store and usage log as
`python -m bot run`) talks to `bot.devserver` on 127.0.0.1. The database is a throwaway
file in a temporary folder unless DATABASE_PATH is set in the environment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from bot.problems import Problem


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def main() -> int:
    """Start the demo; interactive on a terminal, line-by-line plain text otherwise."""
    from bot.config import ConfigError, load_config
    from bot.content.bundle import load_configured
    from bot.logs import setup_logging

    try:
        settings = load_config()
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 1
    # The bot's INFO lines would interleave with the chat; LOG_LEVEL still turns them on.
    if os.environ.get("LOG_LEVEL"):
        setup_logging(settings.log_level)
    else:
        setup_logging("WARNING")
        # "PyNaCl is not installed, voice will NOT be supported": true, and irrelevant here.
        logging.getLogger("discord.client").setLevel(logging.ERROR)
    content, problems = load_configured(settings)
    _print_problems(problems)
    if content is None:
        print("not starting: fix the errors above (run `python -m bot check`)", file=sys.stderr)
        return 1
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    from bot.demo.terminal import run

    return asyncio.run(run(content, interactive=interactive))
