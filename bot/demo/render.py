"""What the bot sent, as plain text (scripts, pipes) or as rich terminal output."""

from __future__ import annotations

import textwrap
from typing import Any

from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from bot.demo.session import Choice, Note, Output, Shown
from bot.demo.world import BOT_NAME

ONLY_YOU = "(only you can see this)"
DEFAULT_COLOUR = 0x202225
EMBED_WIDTH = 100  # about as wide as Discord draws an embed


def header(shown: Shown) -> str:
    """'[#general] RecoveryBot replied to you (only you can see this)'."""
    if shown.alert:
        who = f"MODERATOR ALERT from {BOT_NAME}"
    elif shown.edited:
        who = f"{BOT_NAME} updated its message"
    elif shown.reply:
        who = f"{BOT_NAME} replied to you"
    else:
        who = BOT_NAME
    return f"[{shown.place}] {who}" + (f" {ONLY_YOU}" if shown.ephemeral else "")


def choice_lines(shown: Shown) -> list[str]:
    if not shown.choices:
        return []
    buttons = [c for c in shown.choices if c.component_type == 2]
    options = [c for c in shown.choices if c.component_type != 2]
    lines = []
    if buttons:
        lines.append("Buttons: " + "  ".join(_choice(c) for c in buttons))
    if options:
        lines.append(f"Menu ({shown.placeholder or 'choose one'}): "
                     + "  ".join(_choice(c) for c in options))
    lines.append("(press one with /press N)")
    return lines


def _choice(choice: Choice) -> str:
    return f"[{choice.number}] {choice.label}" + (" (disabled)" if choice.disabled else "")


# --- plain text ------------------------------------------------------------------------


def plain(output: Output) -> str:
    """One block of plain text, no colour codes."""
    if isinstance(output, Note):
        return output.text
    lines = [header(output) + ":"]
    if output.content:
        lines += _indent(output.content)
    for embed in output.embeds:
        lines += _plain_embed(embed)
    lines += ["  " + line for line in choice_lines(output)]
    return "\n".join(lines)


def _indent(text: str, prefix: str = "  ") -> list[str]:
    return [prefix + line if line else "" for line in text.splitlines()]


def _plain_embed(embed: dict[str, Any]) -> list[str]:
    lines = []
    if embed.get("title"):
        lines.append(f"  == {embed['title']} ==")
    if embed.get("description"):
        lines += _indent(embed["description"])
    for fld in embed.get("fields") or []:
        lines.append(f"  * {fld['name']}")
        lines += _indent(fld["value"], "      ")
    if (embed.get("footer") or {}).get("text"):
        lines += _indent(textwrap.fill(embed["footer"]["text"], 96), "  -- ")
    return lines


# --- rich ------------------------------------------------------------------------------


def rich(output: Output, width: int = EMBED_WIDTH) -> RenderableType:
    """A renderable for a rich Console: embeds as panels in their colour."""
    if isinstance(output, Note):
        return Text(output.text, style="dim italic")
    style = "bold red" if output.alert else "bold cyan"
    parts: list[RenderableType] = [Text(header(output), style=style)]
    if output.content:
        parts.append(_markdown(output.content))
    for embed in output.embeds:
        parts.append(_rich_embed(embed, width))
    if output.choices:
        # One cell per choice, so a label is never split across lines.
        buttons = [c for c in output.choices if c.component_type == 2]
        if len(buttons) < len(output.choices):
            parts.append(Text(f"Menu ({output.placeholder or 'choose one'}):", style="magenta"))
        parts.append(Columns([Text(_choice(c), style="bold magenta") for c in output.choices],
                             padding=(0, 3)))
        parts.append(Text("(press one with /press N)", style="magenta"))
    return Group(*parts)


def _markdown(text: str) -> Markdown:
    # Discord keeps single line breaks; Markdown would join the lines into one paragraph.
    return Markdown(text.replace("\n", "  \n"))


def _rich_embed(embed: dict[str, Any], width: int) -> Panel:
    colour = f"#{int(embed.get('color') or DEFAULT_COLOUR):06x}"
    body: list[RenderableType] = []
    if embed.get("description"):
        body.append(_markdown(embed["description"]))
    for fld in embed.get("fields") or []:
        body.append(Text(fld["name"], style="bold"))
        body.append(_markdown(fld["value"]))
    if (embed.get("footer") or {}).get("text"):
        body.append(Text(embed["footer"]["text"], style="dim"))
    return Panel(Group(*body), title=Text(embed.get("title") or "", style="bold"),
                 title_align="left", border_style=colour, width=width)


def print_rich(console: Console, outputs: list[Output]) -> None:
    for output in outputs:
        console.print(rich(output, min(EMBED_WIDTH, console.width)))
