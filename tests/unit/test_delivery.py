"""Crisis reply routing: every reply mode against every outcome of every step."""

from __future__ import annotations

import itertools

import pytest

from bot.delivery import ReplyMode, Route, Sent, Step, follow, plan
from bot.store.base import Outcome

ANY = frozenset(Sent)
NOT_OK = frozenset({Sent.FAILED, Sent.UNCERTAIN})
OK = frozenset({Sent.OK})
BOTH_CAP = (False, True)

# (modes, cap reached, channel reply, DM, alert channel configured, alert) ->
# (routes actually sent, in order; what the delivery counts as). The channel cap applies
# to the channel reply only; in DM mode it is consulted when the channel is the fallback.
TABLE: list[tuple[tuple, tuple[tuple[Route, ...], Outcome]]] = [
    # Channel mode, cap not reached: channel, then DM, then the moderators.
    ((("channel",), (False,), OK, ANY, BOTH_CAP, ANY), ((Route.CHANNEL,), Outcome.OK)),
    ((("channel",), (False,), NOT_OK, OK, BOTH_CAP, ANY),
     ((Route.CHANNEL, Route.DM), Outcome.DM_FALLBACK)),
    ((("channel", "both"), (False,), NOT_OK, NOT_OK, (False,), ANY),
     ((Route.CHANNEL, Route.DM), Outcome.FAILED)),
    ((("channel", "both"), (False,), NOT_OK, NOT_OK, (True,), OK),
     ((Route.CHANNEL, Route.DM, Route.ALERT), Outcome.ALERT_FALLBACK)),
    ((("channel", "both"), (False,), NOT_OK, NOT_OK, (True,), NOT_OK),
     ((Route.CHANNEL, Route.DM, Route.ALERT), Outcome.FAILED)),
    # Both: the DM goes out even after the channel reply arrived.
    ((("both",), (False,), OK, ANY, BOTH_CAP, ANY),
     ((Route.CHANNEL, Route.DM), Outcome.OK)),
    ((("both",), (False,), NOT_OK, OK, BOTH_CAP, ANY),
     ((Route.CHANNEL, Route.DM), Outcome.DM_FALLBACK)),
    # Channel cap reached: no channel reply; DM, then the moderators.
    ((("channel", "both"), (True,), ANY, OK, BOTH_CAP, ANY),
     ((Route.DM,), Outcome.CHANNEL_CAPPED)),
    ((("channel", "both"), (True,), ANY, NOT_OK, (False,), ANY),
     ((Route.DM,), Outcome.FAILED)),
    ((("channel", "both"), (True,), ANY, NOT_OK, (True,), OK),
     ((Route.DM, Route.ALERT), Outcome.ALERT_FALLBACK)),
    ((("channel", "both"), (True,), ANY, NOT_OK, (True,), NOT_OK),
     ((Route.DM, Route.ALERT), Outcome.FAILED)),
    # DM mode: DM, then the channel if the cap allows, then the moderators.
    ((("dm",), BOTH_CAP, ANY, OK, BOTH_CAP, ANY), ((Route.DM,), Outcome.OK)),
    ((("dm",), (False,), OK, NOT_OK, BOTH_CAP, ANY),
     ((Route.DM, Route.CHANNEL), Outcome.CHANNEL_FALLBACK)),
    ((("dm",), (False,), NOT_OK, NOT_OK, (False,), ANY),
     ((Route.DM, Route.CHANNEL), Outcome.FAILED)),
    ((("dm",), (False,), NOT_OK, NOT_OK, (True,), OK),
     ((Route.DM, Route.CHANNEL, Route.ALERT), Outcome.ALERT_FALLBACK)),
    ((("dm",), (False,), NOT_OK, NOT_OK, (True,), NOT_OK),
     ((Route.DM, Route.CHANNEL, Route.ALERT), Outcome.FAILED)),
    ((("dm",), (True,), ANY, NOT_OK, (False,), ANY), ((Route.DM,), Outcome.FAILED)),
    ((("dm",), (True,), ANY, NOT_OK, (True,), OK),
     ((Route.DM, Route.ALERT), Outcome.ALERT_FALLBACK)),
    ((("dm",), (True,), ANY, NOT_OK, (True,), NOT_OK),
     ((Route.DM, Route.ALERT), Outcome.FAILED)),
]

CASES = list(itertools.product(ReplyMode, BOTH_CAP, Sent, Sent, BOTH_CAP, Sent))


def expected(case: tuple) -> tuple[tuple[Route, ...], Outcome]:
    rows = [result for conditions, result in TABLE
            if all(value in allowed for value, allowed in zip(case, conditions, strict=True))]
    assert len(rows) == 1, f"{case} matches {len(rows)} rows of the table"
    return rows[0]


async def run(mode: ReplyMode, cap_reached: bool, channel: Sent, dm: Sent,
              alert_configured: bool, alert: Sent) -> tuple[tuple[Route, ...], Outcome]:
    """Plan and follow one delivery the way the crisis cog does, with the step results
    given; returns the routes that were sent and the outcome."""
    # The cap is checked before the first step, except in DM mode.
    checked_first = cap_reached and mode is not ReplyMode.DM
    results = {Route.CHANNEL: channel, Route.DM: dm, Route.ALERT: alert}
    sent: list[Route] = []

    async def attempt(step: Step) -> Sent:
        if step.if_cap_allows and cap_reached:
            return Sent.FAILED
        sent.append(step.route)
        return results[step.route]

    steps = plan(mode, in_guild=True, cap_reached=checked_first,
                 alert_configured=alert_configured)
    outcome = await follow(steps, attempt)
    return tuple(sent), outcome


def test_the_table_covers_every_case_exactly_once() -> None:
    """Each combination of mode and conditions has one expected route list and outcome."""
    assert len(CASES) == 3 * 2 * 3 * 3 * 2 * 3
    for case in CASES:
        expected(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
async def test_routes_and_outcome_for_every_mode_and_condition(case: tuple) -> None:
    assert await run(*case) == expected(case)


@pytest.mark.parametrize("mode", list(ReplyMode))
async def test_a_dm_to_the_bot_is_answered_in_that_dm_whatever_the_server_mode(
        mode: ReplyMode) -> None:
    steps = plan(mode, in_guild=False, cap_reached=False, alert_configured=True)
    assert [s.route for s in steps] == [Route.CHANNEL]
    for result, outcome in ((Sent.OK, Outcome.OK), (Sent.FAILED, Outcome.FAILED),
                            (Sent.UNCERTAIN, Outcome.FAILED)):
        async def attempt(step: Step, result: Sent = result) -> Sent:
            return result
        assert await follow(steps, attempt) is outcome


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="sideways"):
        plan("sideways", in_guild=True, cap_reached=False, alert_configured=False)
