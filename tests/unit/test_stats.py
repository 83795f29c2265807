"""Folding usage rows into the /stats report, with small crisis counts masked."""

import datetime as dt

from bot.stats import shown, sparkline, summarize
from bot.store import UsageRow

TODAY = dt.date(2026, 11, 21)


def row(day: dt.date, kind: str, key: str = "", outcome: str = "ok", count: int = 1) -> UsageRow:
    """A row as the store returns it from usage_summary()."""
    return UsageRow(day=day, kind=kind, key=key, outcome=outcome, count=count)


def test_small_crisis_counts_are_masked():
    """Crisis counts 1-4 read 'fewer than 5'; 0 and 5+ are exact; other counts never masked."""
    assert [shown(n, True) for n in (0, 1, 4, 5, 12)] == [
        "0", "fewer than 5", "fewer than 5", "5", "12"]
    assert shown(3, False) == "3"


def test_summarize_groups_by_kind_and_window():
    """Rows are grouped per topic, crisis key, fallback and country; old rows are dropped."""
    rows = [
        row(TODAY, "topic", "ptsd", count=3),
        row(TODAY - dt.timedelta(days=1), "topic", "ptsd", count=2),
        row(TODAY, "topic", "", "not_found", count=9),
        row(TODAY, "crisis_reply", "suicide/urgent", "ok", 2),
        row(TODAY, "crisis_reply", "suicide/urgent", "dm_fallback", 1),
        row(TODAY, "crisis_reply", "suicide/urgent", "cooldown", 5),
        row(TODAY, "crisis_alert", "suicide/urgent", "ok", 2),
        row(TODAY, "hotline", "GB", count=4),
        row(TODAY - dt.timedelta(days=40), "topic", "kratom", count=100),
    ]
    report = summarize(rows, 30, TODAY)
    assert report.topics == {"ptsd": 5}
    assert report.crisis == {"suicide/urgent": 3}
    assert report.fallbacks == {"dm_fallback": 1}
    assert report.alerts == 2
    assert report.hotlines == {"GB": 4}
    assert report.daily[-1] == 3 + 9 + 2 + 1 + 5 + 2 + 4
    assert report.daily[-2] == 2
    assert len(report.daily) == 30


def test_sparkline_scales_to_peak():
    """The peak day gets the tallest block, an empty day the lowest."""
    line = sparkline([0, 5, 10])
    assert line[0] == "▁" and line[-1] == "█" and len(line) == 3
    assert sparkline([0, 0]) == "▁▁"


def test_crisis_model_counts_by_what_decided():
    """The model's part shows as what decided when it answered in time, else why not."""
    today = dt.date(2026, 12, 1)
    rows = [row(today, "crisis_model", "model", "scored", 3),
            row(today, "crisis_model", "model_veto", "scored", 2),
            row(today, "crisis_model", "rules", "late", 4),
            row(today, "crisis_model", "nobody", "overloaded", 1)]
    report = summarize(rows, 7, today)
    assert report.model == {"model": 3, "model_veto": 2, "late": 4, "overloaded": 1}
