"""Working-day deadlines against the State Council's holiday notices for 2025 and 2026.

The ground truth below is copied by hand from the notices, not from the calendar
package under test:

- 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）
- 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）

Each entry: the days off (放假) and the weekend days worked instead (调休上班).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudwindow.cases.deadlines import (
    CalendarYearUnknown,
    DeadlineStatus,
    EnteredYear,
    InvalidWorkingDays,
    china_date,
    deadline_status,
    due_date,
    due_soon_cutoff,
    entered_years,
    is_estimate,
    is_working_day,
    set_entered_years,
    working_days_between,
    working_days_left,
)


def _span(first: str, last: str) -> list[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


# (holiday, days off, make-up working days)
NOTICE_2025 = [
    ("元旦", _span("2025-01-01", "2025-01-01"), []),
    ("春节", _span("2025-01-28", "2025-02-04"), [date(2025, 1, 26), date(2025, 2, 8)]),
    ("清明节", _span("2025-04-04", "2025-04-06"), []),
    ("劳动节", _span("2025-05-01", "2025-05-05"), [date(2025, 4, 27)]),
    ("端午节", _span("2025-05-31", "2025-06-02"), []),
    (
        "国庆节、中秋节",
        _span("2025-10-01", "2025-10-08"),
        [date(2025, 9, 28), date(2025, 10, 11)],
    ),
]
NOTICE_2026 = [
    ("元旦", _span("2026-01-01", "2026-01-03"), [date(2026, 1, 4)]),
    ("春节", _span("2026-02-15", "2026-02-23"), [date(2026, 2, 14), date(2026, 2, 28)]),
    ("清明节", _span("2026-04-04", "2026-04-06"), []),
    ("劳动节", _span("2026-05-01", "2026-05-05"), [date(2026, 5, 9)]),
    ("端午节", _span("2026-06-19", "2026-06-21"), []),
    ("中秋节", _span("2026-09-25", "2026-09-27"), []),
    ("国庆节", _span("2026-10-01", "2026-10-07"), [date(2026, 9, 20), date(2026, 10, 10)]),
]


def _notice_working_day(day: date) -> bool:
    notice = NOTICE_2025 if day.year == 2025 else NOTICE_2026
    off = {d for _, days, _ in notice for d in days}
    worked = {d for _, _, days in notice for d in days}
    return day in worked or (day.weekday() < 5 and day not in off)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_the_year_matches_the_notice(year: int) -> None:
    days = _span(f"{year}-01-01", f"{year}-12-31")
    wrong = [d for d in days if is_working_day(d) != _notice_working_day(d)]
    assert wrong == []
    # The notices' make-up days are all weekend days, and all of them are worked.
    for _, off, worked in NOTICE_2025 + NOTICE_2026:
        assert all(d.weekday() >= 5 and is_working_day(d) for d in worked)
        assert not any(is_working_day(d) for d in off)


# accepted, limit in working days, due date — each worked out by hand on the notices.
DUE_DATES = [
    # National Day 2026: 10-01..07 off; 10-08 Thu (1), 10-09 Fri (2), Sat 10-10 worked
    # (3), Mon 10-12 (4), Tue 10-13 (5).
    ("2026-09-30", 5, "2026-10-13"),
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-09-30", 3, "2026-10-10"),
    ("2026-09-30", 0, "2026-09-30"),  # 即办: due the day it is accepted
    # The Sunday 09-20 worked before National Day, and Mid-Autumn Fri 09-25 off.
    ("2026-09-18", 1, "2026-09-20"),
    ("2026-09-24", 1, "2026-09-28"),
    # Sept 2026 from Tue 09-01: 2,3,4 | 7-11 | 14-18 | Sun 20 | 21-24 | 28, 29 → 20th on 29.
    ("2026-09-01", 20, "2026-09-29"),
    # National Day 2025 is eight days (10-01..08), Sat 10-11 worked.
    ("2025-09-30", 1, "2025-10-09"),
    ("2025-09-30", 3, "2025-10-11"),
    ("2025-09-26", 1, "2025-09-28"),  # Fri → the worked Sunday 09-28
    # Spring Festival 2025: Sun 01-26 worked, 01-28..02-04 off, Sat 02-08 worked.
    ("2025-01-24", 1, "2025-01-26"),
    ("2025-01-24", 2, "2025-01-27"),
    ("2025-01-24", 3, "2025-02-05"),
    ("2025-02-07", 1, "2025-02-08"),
    # Spring Festival 2026: Sat 02-14 worked, 02-15..23 off, Sat 02-28 worked.
    ("2026-02-13", 1, "2026-02-14"),
    ("2026-02-13", 2, "2026-02-24"),
    ("2026-02-27", 1, "2026-02-28"),
    # Labour Day: 2025 Sun 04-27 worked; 2026 05-01..05 off, Sat 05-09 worked.
    ("2025-04-25", 1, "2025-04-27"),
    ("2025-04-30", 1, "2025-05-06"),
    ("2026-04-30", 3, "2026-05-08"),
    ("2026-04-30", 4, "2026-05-09"),
    # New Year 2026 across the year end: 01-01..03 off, Sun 01-04 worked.
    ("2025-12-31", 1, "2026-01-04"),
    ("2025-12-31", 2, "2026-01-05"),
    # Dragon Boat: 2025 05-31..06-02 off; 2026 Fri 06-19 off.
    ("2025-05-30", 1, "2025-06-03"),
    ("2026-06-18", 1, "2026-06-22"),
    # Qingming 2026: Mon 04-06 off.
    ("2026-04-03", 1, "2026-04-07"),
    # Accepted on a holiday or a weekend: the next working day is the first.
    ("2026-10-03", 1, "2026-10-08"),
    ("2025-06-28", 1, "2025-06-30"),
]


@pytest.mark.parametrize(("accepted", "days", "due"), DUE_DATES)
def test_due_date_table(accepted: str, days: int, due: str) -> None:
    assert due_date(date.fromisoformat(accepted), days) == date.fromisoformat(due)


@pytest.mark.parametrize(("accepted", "days", "due"), DUE_DATES)
def test_on_acceptance_the_whole_limit_is_left(accepted: str, days: int, due: str) -> None:
    assert working_days_left(date.fromisoformat(due), date.fromisoformat(accepted)) == days


@pytest.mark.parametrize(
    ("due", "today", "left"),
    [
        ("2026-10-13", "2026-09-30", 5),
        ("2026-10-13", "2026-10-07", 5),  # the holiday days do not count down
        ("2026-10-13", "2026-10-09", 3),
        ("2026-10-13", "2026-10-13", 0),  # due today: still on time
        ("2026-10-13", "2026-10-14", -1),
        ("2026-10-13", "2026-10-20", -5),  # 14, 15, 16, 19, 20
        ("2026-09-30", "2026-10-03", -1),  # late over a holiday is still late
        ("2026-09-30", "2026-10-10", -3),  # 10-08, 10-09, the worked Saturday
        ("2026-10-09", "2026-10-01", 2),
    ],
)
def test_working_days_left(due: str, today: str, left: int) -> None:
    assert working_days_left(date.fromisoformat(due), date.fromisoformat(today)) == left


@pytest.mark.parametrize(
    ("due", "today", "status"),
    [
        ("2026-10-13", "2026-10-07", DeadlineStatus.ON_TIME),  # 5 left
        ("2026-10-13", "2026-10-08", DeadlineStatus.ON_TIME),  # 4 left
        ("2026-10-13", "2026-10-09", DeadlineStatus.DUE_SOON),  # 3 left
        ("2026-10-13", "2026-10-10", DeadlineStatus.DUE_SOON),  # 2 left
        ("2026-10-13", "2026-10-13", DeadlineStatus.DUE_SOON),
        ("2026-10-13", "2026-10-14", DeadlineStatus.OVERDUE),
        ("2026-10-02", "2026-10-03", DeadlineStatus.OVERDUE),  # due on a holiday, then late
    ],
)
def test_deadline_status_warns_three_working_days_ahead(
    due: str, today: str, status: DeadlineStatus
) -> None:
    assert deadline_status(date.fromisoformat(due), date.fromisoformat(today)) == status


@pytest.mark.parametrize(
    ("today", "within", "cutoff"),
    [
        # Tue 09-29: 09-30 (1), 10-08 (2), 10-09 (3), 10-10 (4) → due by 10-09 is soon.
        ("2026-09-29", 3, "2026-10-09"),
        # Mon 09-28: 09-29 (1), 09-30 (2), 10-08 (3) → the holiday days before are soon.
        ("2026-09-28", 2, "2026-10-07"),
        ("2026-09-28", 0, "2026-09-28"),
    ],
)
def test_due_soon_cutoff(today: str, within: int, cutoff: str) -> None:
    assert due_soon_cutoff(date.fromisoformat(today), within) == date.fromisoformat(cutoff)


def test_unknown_year_is_a_clear_error_unless_estimated() -> None:
    with pytest.raises(CalendarYearUnknown) as err:
        due_date(date(2026, 12, 1), 40)
    body = err.value.body()
    assert body["error_id"] == "calendar-year-unknown"
    assert body["details"]["year"] == 2027
    assert "2027" in body["message"]["zh-CN"] and "2027" in body["message"]["en"]
    with pytest.raises(CalendarYearUnknown):
        is_working_day(date(2003, 6, 2))
    # An estimate counts Monday to Friday in the unknown year.
    estimated = due_date(date(2026, 12, 1), 40, estimate=True)
    assert estimated.year == 2027 and estimated.weekday() < 5
    assert is_estimate(date(2026, 12, 1), estimated)
    assert not is_estimate(date(2026, 9, 30), date(2026, 10, 13))
    # Counting that stays inside the known years needs no estimate, even near the end.
    assert working_days_between(date(2026, 12, 1), date(2026, 12, 31)) == 22


def test_invalid_limits_and_naive_timestamps() -> None:
    with pytest.raises(InvalidWorkingDays):
        due_date(date(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="naive"):
        china_date(datetime(2026, 9, 30, 20, 0))  # noqa: DTZ001 (the point of the test)


def test_china_date_of_an_evening_utc_timestamp() -> None:
    # 2026-09-30 17:00 UTC is 10-01 01:00 in China: accepted on the holiday.
    assert china_date(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)
    assert china_date(datetime(2026, 9, 30, 15, 59, tzinfo=UTC)) == date(2026, 9, 30)


# Properties over the known years ---------------------------------------------------------
accepted_days = st.dates(min_value=date(2004, 1, 1), max_value=date(2025, 12, 31))
limits = st.integers(min_value=0, max_value=120)


@settings(deadline=None)
@given(accepted_days, st.integers(min_value=1, max_value=120))
def test_due_date_is_a_working_day_after_acceptance(accepted: date, n: int) -> None:
    due = due_date(accepted, n)
    assert due > accepted
    assert is_working_day(due)
    assert working_days_between(accepted, due) == n


@settings(deadline=None)
@given(accepted_days, limits)
def test_due_date_grows_with_the_limit(accepted: date, n: int) -> None:
    assert due_date(accepted, n) < due_date(accepted, n + 1)


@settings(deadline=None)
@given(accepted_days, st.integers(min_value=0, max_value=30), limits)
def test_due_date_is_monotone_in_the_acceptance_day(accepted: date, gap: int, n: int) -> None:
    assert due_date(accepted, n) <= due_date(accepted + timedelta(days=gap), n)


@settings(deadline=None)
@given(accepted_days, limits, limits)
def test_limits_add_up(accepted: date, m: int, n: int) -> None:
    assert due_date(due_date(accepted, m), n) == due_date(accepted, m + n)


@settings(deadline=None)
@given(accepted_days, limits)
def test_working_days_left_counts_down_to_zero(accepted: date, n: int) -> None:
    due = due_date(accepted, n)
    assert working_days_left(due, accepted) == n
    assert working_days_left(due, due) == 0


@settings(deadline=None)
@given(
    st.dates(min_value=date(2004, 3, 1), max_value=date(2026, 6, 30)),
    st.integers(min_value=-60, max_value=60),
    st.integers(min_value=0, max_value=5),
)
def test_status_agrees_with_left_and_cutoff(due: date, offset: int, within: int) -> None:
    today = due + timedelta(days=offset)
    left = working_days_left(due, today)
    status = deadline_status(due, today, within)
    assert (left < 0) == (today > due) == (status is DeadlineStatus.OVERDUE)
    soon = today <= due <= due_soon_cutoff(today, within)
    assert soon == (status is DeadlineStatus.DUE_SOON)


@settings(deadline=None)
@given(accepted_days, limits)
def test_estimate_changes_nothing_inside_the_known_years(accepted: date, n: int) -> None:
    assert due_date(accepted, n, estimate=True) == due_date(accepted, n)


# Years entered from a notice the package does not have yet (catalog/calendar.py). The
# 2027 days below are made up for the test, not the State Council's notice.
ENTERED_2027 = EnteredYear(
    2027,
    holidays=frozenset({date(2027, 1, 1), *(date(2027, 2, d) for d in range(6, 13))}),
    workdays=frozenset({date(2027, 2, 14)}),  # a Sunday worked
)


@pytest.fixture()
def entered_2027() -> Iterator[None]:
    in_force = entered_years()
    set_entered_years([ENTERED_2027])
    yield
    set_entered_years(in_force)


def test_an_unknown_year_is_refused_or_estimated_monday_to_friday() -> None:
    with pytest.raises(CalendarYearUnknown) as err:
        due_date(date(2026, 12, 28), 5)
    assert err.value.details["year"] == 2027
    assert due_date(date(2026, 12, 28), 5, estimate=True) == date(2027, 1, 4)


@pytest.mark.usefixtures("entered_2027")
def test_an_entered_year_counts_its_holidays_and_make_up_days() -> None:
    # Dec 29, 30, 31; New Year's Day off; Jan 4, 5.
    assert due_date(date(2026, 12, 28), 5) == date(2027, 1, 5)
    assert due_date(date(2026, 12, 28), 5, estimate=True) == date(2027, 1, 5)
    assert not is_working_day(date(2027, 2, 8))  # a Monday in the Spring Festival
    assert is_working_day(date(2027, 2, 14))  # the Sunday worked
    assert working_days_between(date(2027, 2, 5), date(2027, 2, 15)) == 2  # 14th, 15th
    assert not is_estimate(date(2026, 12, 1), date(2027, 3, 1))
    with pytest.raises(CalendarYearUnknown) as err:
        due_date(date(2027, 12, 28), 5)
    assert err.value.details == {"year": 2028, "first_year": 2004, "last_year": 2027}


def test_a_year_the_package_knows_cannot_be_overridden() -> None:
    fake = EnteredYear(2026, holidays=frozenset({date(2026, 11, 27)}), workdays=frozenset())
    in_force = entered_years()
    set_entered_years([fake])
    try:
        assert is_working_day(date(2026, 11, 27))  # the published calendar stands
    finally:
        set_entered_years(in_force)
