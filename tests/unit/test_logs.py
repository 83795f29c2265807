"""Log redaction: discord.py payloads never reach the log output, at any level."""

import io
import logging

from bot.logs import setup_logging

MARKER = "zq-marker-7f3a-never-log-me"


def test_discord_debug_payloads_are_redacted():
    """A gateway event logged by discord.py at DEBUG shows its type, never its text."""
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    try:
        payload = {"op": 0, "t": "MESSAGE_CREATE", "d": {"content": MARKER}}
        logging.getLogger("discord.gateway").debug("For Shard ID %s: WebSocket Event: %s",
                                                   None, payload)
        logging.getLogger("discord.http").debug("%s %s with %s has returned %s", "POST",
                                                "/x", f'{{"content": "{MARKER}"}}', 200)
    finally:
        logging.getLogger().handlers.clear()
    out = stream.getvalue()
    assert MARKER not in out
    assert "MESSAGE_CREATE" in out
    assert "has returned 200" in out


def test_non_discord_records_pass_unchanged():
    """Our own log lines are not altered (they never carry message text by design)."""
    stream = io.StringIO()
    setup_logging("INFO", stream)
    try:
        logging.getLogger("bot.cogs.crisis").warning("reply failed: HTTP %s", 403)
    finally:
        logging.getLogger().handlers.clear()
    assert "reply failed: HTTP 403" in stream.getvalue()
