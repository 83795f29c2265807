"""Aggregated usage statistics for `/stats`: pure, so the masking rules are easy to test."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.store.base import Kind, Outcome, UsageRow

SPARKS = "▁▂▃▄▅▆▇█"
# Small crisis counts could point at one person in a small server.
SMALL_COUNT_LIMIT = 5
FALLBACK_OUTCOMES = frozenset({Outcome.DM_FALLBACK, Outcome.CHANNEL_FALLBACK,
                               Outcome.CHANNEL_CAPPED, Outcome.ALERT_FALLBACK, Outcome.FAILED})


@dataclass
class StatsReport:
    days: int
    topics: Counter = field(default_factory=Counter)
    crisis: Counter = field(default_factory=Counter)       # "category/severity" -> n
    alerts: int = 0
    fallbacks: Counter = field(default_factory=Counter)    # outcome -> n
    hotlines: Counter = field(default_factory=Counter)     # country code -> n
    # The learned model's part: "model" (it alone found a crisis), "model_veto" (it overruled
    # a rule), "late" / "overloaded" / "failed" (the rules decided alone).
    model: Counter = field(default_factory=Counter)
    daily: list[int] = field(default_factory=list)         # all events per day, oldest first

    def sparkline(self) -> str:
        return sparkline(self.daily)


def shown(count: int, crisis: bool) -> str:
    """A count as displayed: crisis counts from 1 to 4 become 'fewer than 5'."""
    if crisis and 0 < count < SMALL_COUNT_LIMIT:
        return "fewer than 5"
    return str(count)


def sparkline(values: list[int]) -> str:
    """One block character per value, scaled to the largest."""
    top = max(values, default=0)
    if top == 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))]
                   for v in values)


def summarize(rows: Iterable[UsageRow], days: int, today: dt.date) -> StatsReport:
    """Fold usage rows (day, kind, key, outcome, count) of the last `days` days."""
    first = today - dt.timedelta(days=days - 1)
    report = StatsReport(days=days, daily=[0] * days)
    for row in rows:
        day = row.day if isinstance(row.day, dt.date) else dt.date.fromisoformat(row.day)
        if not first <= day <= today:
            continue
        report.daily[(day - first).days] += row.count
        if row.kind == Kind.TOPIC and row.key:
            report.topics[row.key] += row.count
        elif row.kind == Kind.CRISIS_REPLY:
            if row.outcome != Outcome.COOLDOWN:
                report.crisis[row.key] += row.count
            if row.outcome in FALLBACK_OUTCOMES:
                report.fallbacks[row.outcome] += row.count
        elif row.kind == Kind.CRISIS_ALERT:
            report.alerts += row.count
        elif row.kind == Kind.HOTLINE and row.key:
            report.hotlines[row.key] += row.count
        elif row.kind == Kind.CRISIS_MODEL:
            label = row.key if row.outcome == Outcome.SCORED else row.outcome
            report.model[label] += row.count
    return report
