"""Who may get an automatic crisis reply now: member cooldowns, channel caps, alert limits.

All state is in memory, expires, and is bounded, so a raid cannot grow it without
limit. Pure: no Discord imports; the clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot.crisis.schema import Severity

SEVERITY_RANK = {Severity.CONCERN: 0, Severity.URGENT: 1}


@dataclass(slots=True)
class _Last:
    at: float
    severity: Severity
    escalated: bool = False


class _Bounded(OrderedDict):
    """LRU map that drops its oldest entries past `limit`."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key: Hashable, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class ReplyGate:
    """Decides whether a detection gets a reply, a public reply, and a moderator alert."""

    def __init__(self, *, channel_limit: int = 3, channel_window: float = 60.0,
                 alerts_per_window: int = 5, alert_window: float = 60.0,
                 max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self.channel_limit = channel_limit
        self.channel_window = channel_window
        self.alerts_per_window = alerts_per_window
        self.alert_window = alert_window
        self.clock = clock
        self._members: _Bounded = _Bounded(max_entries)
        self._channels: _Bounded = _Bounded(max_entries // 10 or 1)
        self._alerts: _Bounded = _Bounded(max_entries // 10 or 1)
        self._bursts: _Bounded = _Bounded(max_entries // 10 or 1)

    def member_allows(self, key: Hashable, severity: Severity,
                      cooldown_seconds: float) -> bool:
        """One reply per member per window; a move from concern to urgent gets one more."""
        now = self.clock()
        last = self._members.get(key)
        if last is None or now - last.at >= cooldown_seconds:
            self._members.put(key, _Last(now, severity))
            return True
        if (SEVERITY_RANK[severity] > SEVERITY_RANK[last.severity] and not last.escalated):
            last.severity, last.escalated = severity, True
            self._members.move_to_end(key)
            return True
        return False

    def channel_allows(self, channel_id: Hashable) -> bool:
        """At most `channel_limit` public replies per channel per window."""
        return self._take(self._channels, channel_id, self.channel_limit, self.channel_window)

    def alert_allows(self, guild_id: Hashable) -> bool:
        """At most `alerts_per_window` moderator alerts per server per window."""
        return self._take(self._alerts, guild_id, self.alerts_per_window, self.alert_window)

    def burst_alert_due(self, channel_id: Hashable) -> bool:
        """True once per channel per window when the channel cap is hit."""
        return self._take(self._bursts, channel_id, 1, self.channel_window)

    def _take(self, table: _Bounded, key: Hashable, limit: int, window: float) -> bool:
        now = self.clock()
        times = table.get(key)
        if times is None:
            times = deque(maxlen=limit)
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= limit:
            table.move_to_end(key)
            return False
        times.append(now)
        table.put(key, times)
        return True

    def __len__(self) -> int:
        return len(self._members) + len(self._channels) + len(self._alerts) + len(self._bursts)
