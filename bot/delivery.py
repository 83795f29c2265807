"""Where a crisis reply goes: the routes to try, in order, and what the delivery counts as.

Pure logic, no Discord: the crisis cog asks `plan` for the steps and runs them through
`follow`, which only needs a way to try one step. Nobody who needs help is skipped
silently: every mode ends, when nothing else reached the member, with an alert to the
moderators (if the server has an alert channel).

| mode            | steps, in order                                                   |
| --------------- | ----------------------------------------------------------------- |
| channel         | channel reply; DM; moderator alert                                 |
| both            | channel reply; DM (sent even after the reply); moderator alert     |
| channel or both, channel cap reached | DM; moderator alert                       |
| dm              | DM; channel reply (if the channel cap allows); moderator alert     |
| a DM to the bot | the reply in that DM                                               |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.store.base import Outcome


class ReplyMode(StrEnum):
    """Where a server wants crisis replies to go (`/settings reply-mode`)."""

    CHANNEL = "channel"
    DM = "dm"
    BOTH = "both"


class Route(StrEnum):
    """One way to reach the member, or the moderators on their behalf."""

    CHANNEL = "channel"  # a reply to the message, where it was posted
    DM = "dm"
    ALERT = "alert"  # nothing reached the member: tell the moderators someone needs a person


class Sent(StrEnum):
    """How one delivery step ended."""

    OK = "ok"
    FAILED = "failed"  # refused, never left, or not allowed: it did not arrive
    UNCERTAIN = "uncertain"  # cut off after sending: it may or may not have arrived


@dataclass(frozen=True)
class Step:
    """Try `route`; if it is the first step that arrives, the delivery counts as `counts_as`."""

    route: Route
    counts_as: Outcome
    # "both" mode: the DM goes out even when the channel reply arrived.
    even_if_delivered: bool = False
    # DM mode: the channel cap is only consulted (and a slot taken) when this step is reached.
    if_cap_allows: bool = False


def plan(mode: ReplyMode | str, *, in_guild: bool, cap_reached: bool,
         alert_configured: bool) -> tuple[Step, ...]:
    """The steps for one crisis reply.

    `cap_reached` is the channel cap as checked before the first step; DM mode does not
    check it up front (its channel step carries `if_cap_allows`).
    """
    if not in_guild:
        return (Step(Route.CHANNEL, Outcome.OK),)
    mode = ReplyMode(mode)
    alert = (Step(Route.ALERT, Outcome.ALERT_FALLBACK),) if alert_configured else ()
    if mode is ReplyMode.DM:
        return (Step(Route.DM, Outcome.OK),
                Step(Route.CHANNEL, Outcome.CHANNEL_FALLBACK, if_cap_allows=True), *alert)
    if cap_reached:
        return (Step(Route.DM, Outcome.CHANNEL_CAPPED), *alert)
    return (Step(Route.CHANNEL, Outcome.OK),
            Step(Route.DM, Outcome.DM_FALLBACK, even_if_delivered=mode is ReplyMode.BOTH),
            *alert)


async def follow(steps: tuple[Step, ...], attempt: Callable[[Step], Awaitable[Sent]]
                 ) -> Outcome:
    """Try the steps in order until one arrives (plus any that go out regardless).

    Only `Sent.OK` counts as arrived: a step that may or may not have arrived is followed
    by the next, since a second copy is better than none.
    """
    delivered: Outcome | None = None
    for step in steps:
        if delivered is not None and not step.even_if_delivered:
            break
        if await attempt(step) is Sent.OK and delivered is None:
            delivered = step.counts_as
    return delivered or Outcome.FAILED
