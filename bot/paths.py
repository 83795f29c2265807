"""Where the bundled content lives, for editable checkouts and installed wheels alike."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_content_dir() -> Path:
    """The content directory shipped with the bot.

    A wheel carries it as ``bot/_content``; a source checkout (or editable install)
    has it beside the package as ``content/``.
    """
    packaged = _PACKAGE / "_content"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "content"
