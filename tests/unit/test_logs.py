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


TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmZha2UtcGxhbnRlZC10b2tlbg"


def test_interaction_and_webhook_tokens_in_urls_are_redacted():
    """discord.py logs request URLs at DEBUG; interaction tokens in them never reach the log."""
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    base = "https://discord.com/api/v10"
    try:
        logging.getLogger("discord.http").debug(
            "%s %s with %s has returned %s", "POST",
            f"{base}/interactions/123456789/{TOKEN}/callback?with_response=1", None, 200)
        logging.getLogger("discord.webhook.async_").debug(
            "Webhook ID %s with %s %s has returned status code %s", 42, "PATCH",
            f"{base}/webhooks/42/{TOKEN}/messages/@original", 200)
        logging.getLogger("discord.webhook.async_").warning(
            f"unexpected {base}/webhooks/42/{TOKEN}")
    finally:
        logging.getLogger().handlers.clear()
    out = stream.getvalue()
    assert TOKEN not in out
    assert "/interactions/123456789/<token>/callback" in out
    assert out.count("/webhooks/42/<token>") == 2
