"""Service hours on the official calendar, including 2026 holidays and make-up days."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cloudwindow.queueing.hours import CHINA, group_workday, is_open, next_opening, parse_hours

HOURS = parse_hours([["08:30", "12:00"], ["13:30", "17:30"]])


def cn(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (cn(2026, 11, 26, 9), True),  # a Thursday morning
        (cn(2026, 11, 26, 12, 30), False),  # lunch break
        (cn(2026, 11, 26, 17, 30), False),  # closing time is closed
        (cn(2026, 11, 28, 10), False),  # Saturday
        (cn(2026, 10, 1, 10), False),  # National Day
        (cn(2026, 10, 8, 10), True),  # back to work after the holiday
        (cn(2026, 2, 17, 10), False),  # Spring Festival
    ],
)
def test_is_open(at: datetime, open_: bool) -> None:
    assert is_open(at, HOURS) is open_


def test_no_hours_means_always_open() -> None:
    assert is_open(cn(2026, 10, 1, 3), [])


def test_next_opening_skips_lunch_weekends_and_holidays() -> None:
    assert next_opening(cn(2026, 11, 26, 12, 15), HOURS) == cn(2026, 11, 26, 13, 30)
    assert next_opening(cn(2026, 11, 27, 18), HOURS) == cn(2026, 11, 30, 8, 30)
    reopening = next_opening(cn(2026, 10, 1, 9), HOURS)
    assert reopening is not None and reopening.date() > date(2026, 10, 1)
    assert is_open(reopening, HOURS)


def test_a_make_up_working_day_is_open() -> None:
    """A weekend day the calendar marks as a working day opens as usual."""

    def workday(day: date) -> bool:
        return day == date(2026, 11, 28) or day.weekday() < 5

    assert is_open(cn(2026, 11, 28, 9), HOURS, workday)


@pytest.mark.parametrize(
    "raw", [[["12:00", "08:00"]], [["08:00", "12:00"], ["11:00", "13:00"]], [["8h", "12:00"]]]
)
def test_bad_hours_are_refused(raw: list[list[str]]) -> None:
    with pytest.raises(ValueError):
        parse_hours(raw)


def test_a_group_serves_on_its_open_days_and_not_on_its_closed_days() -> None:
    # 周末不打烊 on Saturday 28 November; the centre closes on Thursday 26 November.
    workday = group_workday(["2026-11-28"], ["2026-11-26"])
    assert is_open(cn(2026, 11, 28, 10), HOURS, workday)
    assert not is_open(cn(2026, 11, 29, 10), HOURS, workday)  # Sunday stays closed
    assert not is_open(cn(2026, 11, 26, 9), HOURS, workday)
    assert is_open(cn(2026, 11, 27, 9), HOURS, workday)  # Friday, as the calendar says
    # Closed on Thursday afternoon: the next opening is Friday morning.
    assert next_opening(cn(2026, 11, 25, 18), HOURS, workday) == cn(2026, 11, 27, 8, 30)
    # A day in both lists is closed; no lists is the official calendar itself.
    assert not group_workday(["2026-11-28"], ["2026-11-28"])(date(2026, 11, 28))
    assert group_workday(None, []) is group_workday([], None)
