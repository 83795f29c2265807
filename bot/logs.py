"""Logging set-up that keeps message text out of every log line.

discord.py logs whole gateway payloads (message text included) and REST request
bodies at DEBUG level. The filter below replaces any mapping or JSON-looking argument
of a discord.* record with its event type, so even DEBUG logs carry no member text.
Interaction and webhook tokens in URLs (discord.py logs each request's URL) are replaced
too: a token lets anyone answer, or edit the answer to, that interaction for 15 minutes.

Tracebacks are printed by `SafeFormatter`: every frame and the exception class, never the
exception's text or arguments, which can quote what a member wrote.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType
from typing import TextIO

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


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class SafeFormatter(logging.Formatter):
    """Formats tracebacks as frames and exception classes only.

    `str(exc)` is left out everywhere, chained causes included: a KeyError, a ValueError
    from a parser or an HTTP error body can carry the text a member typed.
    """

    def format(self, record: logging.LogRecord) -> str:
        # Another handler's formatter may have cached a traceback with the message in it.
        record.exc_text = None
        return super().format(record)

    def formatException(self, ei: ExcInfo) -> str:
        return safe_traceback(ei[1])


def safe_traceback(exc: BaseException) -> str:
    """The traceback of `exc` (and of its causes) without any exception message."""
    te = traceback.TracebackException.from_exception(exc, capture_locals=False)
    lines: list[str] = []
    _format(te, lines, seen=set())
    return "".join(lines).rstrip("\n")


def _format(te: traceback.TracebackException, lines: list[str], seen: set[int]) -> None:
    seen.add(id(te))
    if te.__cause__ is not None and id(te.__cause__) not in seen:
        _format(te.__cause__, lines, seen)
        lines.append("\nThe above exception was the direct cause of the following "
                     "exception:\n\n")
    elif (te.__context__ is not None and not te.__suppress_context__
          and id(te.__context__) not in seen):
        _format(te.__context__, lines, seen)
        lines.append("\nDuring handling of the above exception, another exception "
                     "occurred:\n\n")
    lines.append("Traceback (most recent call last):\n")
    lines.extend(te.stack.format())
    name = te.exc_type.__qualname__ if te.exc_type is not None else "?"
    module = te.exc_type.__module__ if te.exc_type is not None else ""
    qualified = name if module in ("builtins", "__main__", "") else f"{module}.{name}"
    lines.append(f"{qualified} (message not logged)\n")


def setup_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Log to stderr (or `stream`) at `level`, with payload redaction on the handler and
    tracebacks without exception messages."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PayloadRedactor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters at DEBUG (pseudonyms, usage keys);
    # nothing there helps a maintainer that our own store log lines don't say.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLevelName(level)))
    return handler
