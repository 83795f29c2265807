"""Answering slash commands whose work waits on the database, within Discord's 3 seconds.

Discord forgets an interaction that gets no first answer within 3 seconds (10062 Unknown
interaction). `answer_when_done` answers directly when the work is quick; otherwise it
defers ("thinking...", which buys 15 minutes) and edits that answer with the result. A
change is never reported as failed while it may still be applied: when a write outlasts
WRITE_SECONDS the member is told it is not saved yet, and gets a followup with the
outcome when the database answers.

The work's errors are logged here, once, with their traceback (never their message);
the `reply` callbacks only choose what the member reads. A ValueError is the member's
input refused (its message is written for them) and is not logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

log = logging.getLogger(__name__)

T = TypeVar("T")

# Answer directly if the work is done this long after the interaction was created.
FAST_SECONDS = 2.0
# After deferring: a read is given up, a write reported as pending, after this long.
WRITE_SECONDS = 8.0
# Followups are accepted for 15 minutes after the interaction.
LATE_SECONDS = 14 * 60.0

# What the member sees: message keyword arguments built from (result, error).
Reply = Callable[[Any, BaseException | None], dict[str, Any]]


def _budget(interaction: discord.Interaction) -> float:
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return min(FAST_SECONDS, max(0.0, FAST_SECONDS - age))


def _outcome(task: asyncio.Future, what: str) -> tuple[Any, BaseException | None]:
    exc = task.exception()
    if exc is None:
        return task.result(), None
    if not isinstance(exc, ValueError):
        log.error("%s failed", what, exc_info=exc)
    return None, exc


STORAGE_PROBLEM = ("I couldn't save that just now (storage problem). Nothing was changed; "
                   "please try again later.")


async def answer_when_done(interaction: discord.Interaction, work: Awaitable[T],
                           reply: Reply, *, pending: str | None = None,
                           what: str = "command") -> tuple[Any, BaseException | None]:
    """Run `work`, answer the member privately with `reply(result, error)`, and return
    (result, error) once known.

    `pending` is for writes: the message shown when the write outlasts WRITE_SECONDS (it may
    still be applied, so it must not say "failed"). Without it (reads), the work is given
    up after WRITE_SECONDS and `reply` gets a TimeoutError.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=_budget(interaction))
    if done:
        result, error = _outcome(task, what)
        await interaction.response.send_message(ephemeral=True, **reply(result, error))
        return result, error
    log.info("%s: the database is slow; deferring the answer", what)
    await interaction.response.defer(ephemeral=True, thinking=True)
    done, _ = await asyncio.wait({task}, timeout=WRITE_SECONDS)
    if done:
        result, error = _outcome(task, what)
        await interaction.edit_original_response(**_edit(reply(result, error)))
        return result, error
    if pending is None:
        task.cancel()
        error = TimeoutError()
        await interaction.edit_original_response(**_edit(reply(None, error)))
        return None, error
    log.warning("%s: the database has not answered in %.0f s; the member was told the "
                "change is not saved yet", what, FAST_SECONDS + WRITE_SECONDS)
    await interaction.edit_original_response(content=pending)
    done, _ = await asyncio.wait({task}, timeout=LATE_SECONDS)
    if not done:
        log.error("%s: the database never answered; the member was not told the outcome",
                  what)
        return None, TimeoutError()
    result, error = _outcome(task, what)
    await interaction.followup.send(ephemeral=True, **reply(result, error))
    return result, error


def _edit(message: dict[str, Any]) -> dict[str, Any]:
    # An edit keeps what it is not given; the deferred answer has no content or embed yet.
    return {"content": message.get("content"), "embed": message.get("embed")}


NOT_SAVED_YET = ("The database is slow right now, so this is **not saved yet**. I'll tell "
                 "you here as soon as it is, or if it fails.")
