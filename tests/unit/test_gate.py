"""The reply gate: member cooldowns, the concern-to-urgent exception, channel caps, bounds."""

from bot.crisis import Severity
from bot.crisis.gate import ReplyGate


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_gate(**kw):
    clock = Clock()
    return ReplyGate(clock=clock, **kw), clock


def test_one_reply_per_member_per_window():
    """A second detection inside the cooldown gets no reply; after it, one more."""
    gate, clock = make_gate()
    assert gate.member_allows(("g", 1), Severity.CONCERN, 1800)
    assert not gate.member_allows(("g", 1), Severity.CONCERN, 1800)
    clock.now += 1800
    assert gate.member_allows(("g", 1), Severity.CONCERN, 1800)


def test_concern_to_urgent_gets_exactly_one_more_reply():
    """Escalating from concern to urgent inside the window is answered once, not twice."""
    gate, _ = make_gate()
    assert gate.member_allows(("g", 1), Severity.CONCERN, 1800)
    assert gate.member_allows(("g", 1), Severity.URGENT, 1800)
    assert not gate.member_allows(("g", 1), Severity.URGENT, 1800)
    assert not gate.member_allows(("g", 1), Severity.CONCERN, 1800)


def test_urgent_then_concern_is_not_an_escalation():
    """Urgent first, then concern: the cooldown holds."""
    gate, _ = make_gate()
    assert gate.member_allows(("g", 2), Severity.URGENT, 60)
    assert not gate.member_allows(("g", 2), Severity.CONCERN, 60)


def test_members_are_independent():
    """One member's cooldown does not silence another member or another server."""
    gate, _ = make_gate()
    assert gate.member_allows(("g", 1), Severity.URGENT, 1800)
    assert gate.member_allows(("g", 2), Severity.URGENT, 1800)
    assert gate.member_allows(("h", 1), Severity.URGENT, 1800)


def test_channel_cap_and_recovery():
    """At most N public replies per channel per window; the window slides."""
    gate, clock = make_gate(channel_limit=3, channel_window=60)
    assert [gate.channel_allows(7) for _ in range(4)] == [True, True, True, False]
    clock.now += 61
    assert gate.channel_allows(7)


def test_burst_alert_once_per_window():
    """A capped channel triggers one burst alert per window, not one per message."""
    gate, clock = make_gate(channel_window=60)
    assert gate.burst_alert_due(7)
    assert not gate.burst_alert_due(7)
    clock.now += 60
    assert gate.burst_alert_due(7)


def test_alerts_rate_limited_per_server():
    """Moderator alerts are capped per server per window."""
    gate, _ = make_gate(alerts_per_window=2)
    assert [gate.alert_allows(1) for _ in range(3)] == [True, True, False]
    assert gate.alert_allows(2)


def test_state_is_bounded():
    """However many members trigger, the gate keeps at most its configured entries."""
    gate, _ = make_gate(max_entries=100)
    for member in range(10_000):
        gate.member_allows(("g", member), Severity.URGENT, 1800)
        gate.channel_allows(member)
    assert len(gate._members) == 100
    assert len(gate._channels) == 10
