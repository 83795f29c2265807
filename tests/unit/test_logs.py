"""Log redaction: discord.py payloads never reach the log output, at any level."""

import io
import logging
from collections.abc import Callable

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


def _raise_chained() -> None:
    try:
        {}[MARKER]
    except KeyError as exc:
        raise ValueError(f"could not parse {MARKER}") from exc


def _logged_exception(raise_it: Callable[[], None], *, cached_first: bool = False) -> str:
    """What the bot's handler writes for log.exception() while `raise_it` fails; with
    `cached_first`, a plain handler formats (and caches) the traceback before ours."""
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    if cached_first:
        logging.getLogger().handlers.insert(0, logging.StreamHandler(io.StringIO()))
    try:
        try:
            raise_it()
        except Exception:
            logging.getLogger("bot.cogs.crisis").exception("crisis handling failed")
    finally:
        logging.getLogger().handlers.clear()
    return stream.getvalue()


def test_tracebacks_show_frames_and_classes_but_never_exception_text():
    """log.exception prints where it failed and what failed, never the exception's text,
    which can quote a member's message; chained causes included."""
    out = _logged_exception(_raise_chained)
    assert MARKER not in out
    assert "crisis handling failed" in out
    assert "Traceback (most recent call last)" in out
    assert "_raise_chained" in out
    assert "KeyError (message not logged)" in out
    assert "ValueError (message not logged)" in out
    assert "direct cause" in out


def test_a_traceback_cached_by_another_formatter_is_not_reused():
    """A plain Formatter caches the full traceback on the record; ours formats it again."""
    out = _logged_exception(_raise_chained, cached_first=True)
    assert "ValueError (message not logged)" in out
    assert MARKER not in out
