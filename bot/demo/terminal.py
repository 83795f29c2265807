"""The chat loop: prompt_toolkit + rich on a terminal, plain lines through pipes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING

from bot.app import StartupError
from bot.config import ConfigError
from bot.content.bundle import Content
from bot.demo import render
from bot.demo.session import DEMO_COMMANDS, DemoSession
from bot.demo.world import BOT_NAME, GUILD_NAME

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document

BANNER = (f"{BOT_NAME} demo: the real bot, running against a local stand-in for Discord "
          f"(no token, no network). You are a member of {GUILD_NAME!r}, in #general.\n"
          "Type a message, or a slash command such as /topic name:naloxone. /help lists "
          "everything; /quit or Ctrl-D ends the demo.")


async def run(content: Content, *, interactive: bool) -> int:
    """Start the bot and the fake, chat until the input ends, then shut both down."""
    try:
        session = await DemoSession.start(content)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    try:
        if interactive:
            await _interactive(session)
        else:
            await _plain(session)
    finally:
        await session.stop()
    return 0


# --- scripted ------------------------------------------------------------------------------


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line.rstrip("\n")


async def _plain(session: DemoSession) -> None:
    print(f"{BOT_NAME} demo: reading lines from standard input "
          f"({GUILD_NAME}, #general, as a member).", file=sys.stderr)
    async for line in _stdin_lines():
        if not line.strip():
            continue
        outputs = await session.handle(line)
        blocks = [f"> {line.strip()}", *(render.plain(o) for o in outputs)]
        print("\n\n".join(blocks) + "\n", flush=True)
        if session.finished:
            return


# --- interactive ---------------------------------------------------------------------------


async def _interactive(session: DemoSession) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory
    from rich.console import Console

    console = Console(highlight=False)
    console.print(BANNER, style="green")
    prompt = PromptSession(history=InMemoryHistory(), completer=_completer(session),
                           complete_while_typing=False)
    while not session.finished:
        try:
            line = await prompt.prompt_async(session.prompt)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        render.print_rich(console, await session.handle(line))


def _completer(session: DemoSession) -> Completer:
    from prompt_toolkit.completion import Completer, Completion

    class DemoCompleter(Completer):
        """Command and option names from the synced commands; values from the bot."""

        def get_completions(self, document: Document,
                            complete_event: CompleteEvent) -> Iterable[Completion]:
            yield from static_completions(session, document.text_before_cursor)

        async def get_completions_async(self, document: Document, complete_event: CompleteEvent
                                        ) -> AsyncGenerator[Completion, None]:
            text = document.text_before_cursor
            found = False
            for completion in static_completions(session, text):
                found = True
                yield completion
            if found or not text.startswith("/"):
                return
            current = text.rsplit(":", 1)[-1] if ":" in text else ""
            for value, label in await session.autocomplete(text):
                yield Completion(value, start_position=-len(current), display_meta=label)

    return DemoCompleter()


def static_completions(session: DemoSession, text: str) -> Iterator[Completion]:
    """Command names, subcommands, option names and fixed choices for `text`."""
    from prompt_toolkit.completion import Completion

    from bot.demo import commands as cmdline

    if not text.startswith("/"):
        return
    if " " not in text:
        synced = [c["name"] for c in session.fake.commands.get(None, [])]
        for name in sorted({*synced, *DEMO_COMMANDS}):
            if name.startswith(text[1:].casefold()):
                yield Completion(f"/{name}", start_position=-len(text))
        return
    name, _ = cmdline.split_command(text)
    rest = text.partition(" ")[2].lstrip()  # a trailing space means "next word"
    command = session.fake.command(name)
    if command is None:
        return
    word = rest.rsplit(" ", 1)[-1] if rest and not rest.endswith(" ") else ""
    node, consumed = command, []
    for part in rest.split(" ")[:-1]:
        sub = next((s for s in cmdline.subcommands(node) if s["name"] == part), None)
        if sub is None:
            break
        node, consumed = sub, [*consumed, part]
    if cmdline.subcommands(node):
        for sub in cmdline.subcommands(node):
            if sub["name"].startswith(word):
                yield Completion(sub["name"], start_position=-len(word),
                                 display_meta=sub.get("description", ""))
        return
    if ":" in word:
        opt_name, _, partial = word.partition(":")
        option = next((o for o in node.get("options") or [] if o["name"] == opt_name), None)
        if option is None:
            return
        values = [str(c["value"]) for c in option.get("choices") or []]
        if option["type"] == cmdline.OptionType.BOOLEAN:
            values = ["True", "False"]
        elif option["type"] == cmdline.OptionType.CHANNEL:
            values = list(session.world.channels)
        elif option["type"] == cmdline.OptionType.ROLE:
            values = list(session.world.role_names())
        for value in values:
            if value.casefold().startswith(partial.casefold()):
                yield Completion(value, start_position=-len(partial))
        return
    for option in node.get("options") or []:
        if option["name"].startswith(word) and f"{option['name']}:" not in rest:
            yield Completion(f"{option['name']}:", start_position=-len(word),
                             display_meta=option.get("description", ""))
