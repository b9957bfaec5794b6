"""Working-day deadlines of cases (承诺时限, 工作日) on the official calendar (pure, no I/O).

A service item promises to finish a case within N working days (工作日). The day the
case is accepted (受理) does not count; the limit counts the working days after it.
Working days follow the State Council's yearly holiday notices as ``chinese_calendar``
records them: weekends and public holidays are off, make-up working days (调休上班,
a Saturday or Sunday worked to bridge a holiday) count as working days.

The calendar only knows the years whose notice has been published. The package ships
the years up to its release; a year whose notice came out after it (the State Council
publishes next year's in the autumn) is entered by an administrator from the notice
(``catalog/calendar.py``; its days reach this module through
:func:`set_entered_years`). A computation that needs a year neither knows raises
:class:`CalendarYearUnknown` (a clear, stable error) unless the caller asks for an
*estimate*, which counts Monday to Friday in unknown years; :func:`is_estimate` tells
whether a result depended on such a guess.

All dates here are dates in China (UTC+8): use :func:`china_date` to turn an aware
timestamp (``accepted_at``) into the day it fell on for the citizen.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache

import chinese_calendar

from cloudwindow.errors import CloudWindowError

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
ONE_DAY = timedelta(days=1)
# Items promise at most 365 working days (catalog.schemas.Days); a little more slack
# for sums a caller may make (legal days + correction time).
MAX_WORKING_DAYS = 1000
# A case is "due soon" when at most this many working days are left (docs/cases.md).
DEFAULT_WARN_WITHIN = 3


def _known_years() -> range:
    # The package lists the days that differ from the weekday rule per year; the
    # years present in those lists are the years whose notice it knows.
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return range(min(years), max(years) + 1)


KNOWN_YEARS = _known_years()


@dataclass(frozen=True)
class EnteredYear:
    """A year entered from the State Council's notice: its public holidays (days off that
    would be weekdays, and the weekend days inside a holiday run) and its make-up working
    days (weekend days worked, 调休上班)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


_ENTERED: dict[int, EnteredYear] = {}


def set_entered_years(years: Iterable[EnteredYear]) -> None:
    """Replace the administrator-entered years (years the package knows are ignored:
    its tables are the published notices)."""
    _ENTERED.clear()
    for y in years:
        if y.year not in KNOWN_YEARS:
            _ENTERED[y.year] = y


def entered_years() -> list[EnteredYear]:
    """The entered years in force (for a caller that must put them back)."""
    return [_ENTERED[y] for y in sorted(_ENTERED)]


class CalendarYearUnknown(CloudWindowError):
    """The holiday calendar has no data for a year the computation needs."""

    error_id = "calendar-year-unknown"
    status_code = 422
    message_zh = "节假日日历尚无 {year} 年的数据（支持 {first}–{last} 年），无法计算工作日"
    message_en = (
        "The holiday calendar has no data for {year} (it covers {first}–{last}); "
        "working days cannot be counted"
    )

    def __init__(self, year: int) -> None:
        first, last = KNOWN_YEARS.start, max([KNOWN_YEARS.stop - 1, *_ENTERED])
        super().__init__(
            {"year": year, "first_year": first, "last_year": last},
            year=year,
            first=first,
            last=last,
        )


class InvalidWorkingDays(CloudWindowError):
    error_id = "working-days-invalid"
    status_code = 422
    message_zh = "工作日数必须在 0 到 {limit} 之间，收到 {value}"
    message_en = "The number of working days must be between 0 and {limit}; got {value}"

    def __init__(self, value: int) -> None:
        super().__init__({"value": value}, value=value, limit=MAX_WORKING_DAYS)


class DeadlineStatus(StrEnum):
    """Where a case stands against its due date."""

    ON_TIME = "on_time"  # 正常
    DUE_SOON = "due_soon"  # 即将到期
    OVERDUE = "overdue"  # 已超期


def china_date(at: datetime) -> date:
    """The calendar day in China of an aware timestamp."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) timestamp")
    return at.astimezone(CHINA).date()


def calendar_knows(day: date) -> bool:
    return day.year in KNOWN_YEARS or day.year in _ENTERED


def _official_working_day(day: date) -> bool:
    """``chinese_calendar.is_workday``'s rule on its own tables, for a day of a known
    year: the package's function checks the year range against ``min``/``max`` of its
    whole holiday table on every call (≈ 40 µs a day; a list page counts hundreds).
    The same rule on an entered year's lists."""
    entered = _ENTERED.get(day.year)
    if entered is not None:
        return day in entered.workdays or (day.weekday() < 5 and day not in entered.holidays)
    return day in chinese_calendar.workdays or (
        day.weekday() < 5 and day not in chinese_calendar.holidays
    )


@cache
def _working_day_counts() -> tuple[date, list[int]]:
    """(first known day, counts): ``counts[i]`` = working days from the first known day
    up to and including the day ``i`` days after it, over every known year (≈ 8,400
    days, built once): a count between two known days is one subtraction."""
    first = date(KNOWN_YEARS.start, 1, 1)
    last = date(KNOWN_YEARS.stop - 1, 12, 31)
    counts: list[int] = []
    n = 0
    for i in range((last - first).days + 1):
        n += _official_working_day(first + timedelta(days=i))
        counts.append(n)
    return first, counts


def is_working_day(day: date, *, estimate: bool = False) -> bool:
    """Official working day (make-up days included, holidays excluded).

    Outside the known years: :class:`CalendarYearUnknown`, or with ``estimate=True``
    Monday to Friday.
    """
    if not calendar_knows(day):
        if estimate:
            return day.weekday() < 5
        raise CalendarYearUnknown(day.year)
    return _official_working_day(day)


def _days_after(start: date, last: date | None = None) -> Iterator[date]:
    """The days after ``start`` up to and including ``last`` (without end if None)."""
    day = start
    while last is None or day < last:
        day += ONE_DAY
        yield day


def due_date(accepted: date, working_days: int, *, estimate: bool = False) -> date:
    """The last day of a limit of ``working_days`` working days counted after ``accepted``.

    ``working_days == 0`` (即办件, handled at once) is due the day it is accepted.
    Otherwise the result is the ``working_days``-th working day after ``accepted``,
    so it is always a working day.

    >>> due_date(date(2026, 9, 30), 5)  # National Day 10-01..07 off, Sat 10-10 worked
    datetime.date(2026, 10, 13)
    """
    if not 0 <= working_days <= MAX_WORKING_DAYS:
        raise InvalidWorkingDays(working_days)
    if working_days == 0:
        return accepted
    days = (d for d in _days_after(accepted) if is_working_day(d, estimate=estimate))
    return next(itertools.islice(days, working_days - 1, None))


def working_days_between(start: date, end: date, *, estimate: bool = False) -> int:
    """How many working days lie in (start, end]: after ``start``, up to and including
    ``end``; 0 when ``end <= start``."""
    if end <= start:
        return 0
    if start.year in KNOWN_YEARS and end.year in KNOWN_YEARS:
        first, counts = _working_day_counts()
        return counts[(end - first).days] - counts[(start - first).days]
    return sum(1 for d in _days_after(start, end) if is_working_day(d, estimate=estimate))


def working_days_left(due: date, today: date, *, estimate: bool = False) -> int:
    """Working days left until ``due`` as seen on ``today``; negative when overdue.

    On the due day itself 0 are left (still on time). Before it, the number of working
    days after today up to and including the due day, so
    ``working_days_left(due_date(a, n), a) == n``. After it, minus the working days
    from the day after the due day up to today, and at least -1 as soon as the due
    day has passed (overdue on a Saturday is still overdue).
    """
    if today <= due:
        return working_days_between(today, due, estimate=estimate)
    return -max(1, working_days_between(due, today, estimate=estimate))


def deadline_status(
    due: date, today: date, warn_within: int = DEFAULT_WARN_WITHIN, *, estimate: bool = False
) -> DeadlineStatus:
    """Overdue once the due day has passed; due soon when at most ``warn_within``
    working days are left; on time otherwise."""
    if today > due:
        return DeadlineStatus.OVERDUE
    left = working_days_left(due, today, estimate=estimate)
    return DeadlineStatus.DUE_SOON if left <= warn_within else DeadlineStatus.ON_TIME


def due_soon_cutoff(
    today: date, warn_within: int = DEFAULT_WARN_WITHIN, *, estimate: bool = False
) -> date:
    """The latest due date that counts as "due within ``warn_within`` working days" on
    ``today``, for a query over many cases: a case is due soon exactly when
    ``today <= due <= due_soon_cutoff(today, n)`` (and overdue when ``due < today``).

    That is the day before the ``(n+1)``-th working day after today: holidays right
    after the n-th working day still have n working days left.
    """
    return due_date(today, warn_within + 1, estimate=estimate) - ONE_DAY


def is_estimate(start: date, end: date) -> bool:
    """Whether counting working days between these dates needed an unknown year."""
    low, high = min(start, end), max(start, end)
    return not (calendar_knows(low) and calendar_knows(high))
