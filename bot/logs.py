"""Logging set-up that keeps message text out of every log line.

discord.py logs whole gateway payloads (message text included) and REST request
bodies at DEBUG level. The filter below replaces any mapping or JSON-looking argument
of a discord.* record with its event type, so even DEBUG logs carry no member text.
Interaction and webhook tokens in URLs (discord.py logs each request's URL) are replaced
too: a token lets anyone answer, or edit the answer to, that interaction for 15 minutes.
"""

from __future__ import annotations

import logging
import re
import sys

import yarl

_REDACTED = "<payload redacted>"
# /interactions/{id}/{token}/callback and /webhooks/{id}/{token}[/messages/...]
_TOKEN_IN_URL = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/?#\s'\"]+")


class PayloadRedactor(logging.Filter):
    """Strips payload arguments from discord.py records; our own code never logs text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("discord"):
            return True
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_redact(a) for a in args)
        return True


def redact_tokens(text: str) -> str:
    """`text` with interaction and webhook tokens in URLs replaced by <token>."""
    return _TOKEN_IN_URL.sub(r"\1<token>", text)


def _redact(arg: object) -> object:
    if isinstance(arg, yarl.URL):
        arg = str(arg)
    if isinstance(arg, dict):
        event = arg.get("t") if isinstance(arg.get("t"), str) else None
        return f"<payload op={arg.get('op')} t={event} redacted>" if "op" in arg else _REDACTED
    if isinstance(arg, (list, bytes, bytearray)):
        return _REDACTED
    if isinstance(arg, str):
        if arg.lstrip().startswith(("{", "[")) or len(arg) > 200:
            return _REDACTED
        return redact_tokens(arg)
    return arg


def setup_logging(level: str, stream=None) -> logging.Handler:
    """Log to stderr (or `stream`) at `level`, with payload redaction on the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PayloadRedactor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters at DEBUG (pseudonyms, usage keys);
    # nothing there helps a maintainer that our own store log lines don't say.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLevelName(level)))
    return handler
