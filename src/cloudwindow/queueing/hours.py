"""Service hours per skill group on the official working-day calendar (pure, no I/O).

A skill group's hours are a list of daily intervals ("08:30"–"12:00", "13:30"–"17:30")
that apply on working days as the State Council's holiday notices define them: public
holidays are closed and make-up working days (调休) are open, per ``chinese_calendar``.
A group can add days it serves anyway (周末不打烊) and days it is closed
(``group_workday``). No hours at all means always open.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, timezone

from cloudwindow.cases.deadlines import is_working_day

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
Interval = tuple[time, time]


def parse_hours(raw: list[list[str]] | None) -> list[Interval]:
    """[["08:30", "12:00"], ...] → sorted intervals; raises ValueError if malformed."""
    out = []
    for start, end in raw or []:
        a, b = time.fromisoformat(start), time.fromisoformat(end)
        if not a < b:
            raise ValueError(f"interval {start}–{end} must start before it ends")
        out.append((a, b))
    out.sort()
    for (_, end1), (start2, _) in itertools.pairwise(out):
        if start2 < end1:
            raise ValueError("intervals overlap")
    return out


def official_workday(day: date) -> bool:
    """Working day per the official calendar (the package's years and those an
    administrator entered from the notice, cases/deadlines.py); outside them, Monday to
    Friday."""
    return is_working_day(day, estimate=True)


def group_workday(
    open_days: Iterable[str] | None, closed_days: Iterable[str] | None
) -> Callable[[date], bool]:
    """A skill group's working days: the official calendar, plus the group's extra open
    days (周末不打烊), minus its closed days (ISO dates; a day in both is closed)."""
    opened = {date.fromisoformat(d) for d in open_days or ()}
    closed = {date.fromisoformat(d) for d in closed_days or ()}
    if not opened and not closed:
        return official_workday

    def workday(day: date) -> bool:
        if day in closed:
            return False
        return day in opened or official_workday(day)

    return workday


def is_open(
    at: datetime, hours: list[Interval], workday: Callable[[date], bool] = official_workday
) -> bool:
    if not hours:
        return True
    local = at.astimezone(CHINA)
    if not workday(local.date()):
        return False
    now = local.time()
    return any(start <= now < end for start, end in hours)


def next_opening(
    at: datetime,
    hours: list[Interval],
    workday: Callable[[date], bool] = official_workday,
    horizon_days: int = 60,
) -> datetime | None:
    """The next moment the group opens (``at`` itself if open), or None if it stays closed
    for ``horizon_days`` (no hours would mean always open: returns ``at``)."""
    if is_open(at, hours, workday):
        return at
    local = at.astimezone(CHINA)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        if not workday(day):
            continue
        for start, _ in hours:
            candidate = datetime.combine(day, start, tzinfo=CHINA)
            if candidate > local:
                return candidate
    return None
