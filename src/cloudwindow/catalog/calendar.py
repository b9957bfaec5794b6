"""节假日安排 of years the holiday package does not know yet (docs/cases.md §Deadlines).

``chinese_calendar`` ships the State Council's notices up to its release; next year's
notice is published in the autumn, and until a new package is installed the platform
would count Monday to Friday for that year (due dates ignoring the Spring Festival).
An administrator enters the notice here: the days off and the make-up working days.

- ``PUT /api/holiday-calendars/{year}`` stores the year (checked whole: every date in
  that year, make-up days on weekends, no day in both lists), hands it to the deadline
  module on this node at once, and corrects the due dates of running cases whose
  working-day count reached into that year (each correction is in the case history,
  and the citizen gets an SMS with the new date, sent by the SMS retry job).
- Every node reloads the entered years at start and every ``CalendarSync.EVERY``
  seconds, so the others follow within a minute.
- A year the package knows is refused: its tables are the published notice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases import deadlines, notify
from cloudwindow.cases.actions import add_event
from cloudwindow.cases.models import Case
from cloudwindow.cases.states import CASE_RUNNING
from cloudwindow.catalog.models import HolidayCalendar
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.errors import NotFound, RuleViolation
from cloudwindow.jobs import PeriodicJob
from cloudwindow.logs import get_logger
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services

log = get_logger(__name__)
YEAR = ("Holiday calendar", "节假日安排")


class CalendarYearIn(InputModel):
    holidays: Annotated[list[date], Field(min_length=1, max_length=80)]
    workdays: Annotated[list[date], Field(default_factory=list, max_length=30)]
    notice: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class CalendarYearOut(BaseModel):
    year: int
    source: str  # package (chinese_calendar) | entered
    holidays: list[date]
    workdays: list[date]
    notice: str = ""
    updated_by: str = ""
    updated_at: datetime | None = None
    corrected_cases: int = 0  # on a PUT: running cases whose due date moved


class CalendarYears(BaseModel):
    package_years: list[int]  # the years the installed package knows
    entered: list[CalendarYearOut]


def _invalid(reason_zh: str, reason_en: str, details: dict[str, object]) -> RuleViolation:
    return RuleViolation(
        "holiday-calendar-invalid",
        f"节假日安排有误：{reason_zh}",
        f"Invalid holiday calendar: {reason_en}",
        details,
    )


def check_year(year: int, body: CalendarYearIn) -> None:
    """The whole notice is checked before anything is stored."""
    if year in deadlines.KNOWN_YEARS:
        raise RuleViolation(
            "holiday-calendar-published",
            f"{year} 年的节假日安排已由日历软件包提供，不能修改",
            f"{year} is in the holiday package already (the published notice); "
            "it cannot be changed here",
            {"year": year},
        )
    if not 2000 <= year <= 2100:
        raise _invalid("年份须在 2000–2100 之间", "the year must be 2000–2100", {"year": year})
    for field, days in (("holidays", body.holidays), ("workdays", body.workdays)):
        wrong = sorted({d.isoformat() for d in days if d.year != year})
        if wrong:
            raise _invalid(
                f"日期不在 {year} 年内", f"dates outside {year}", {"field": field, "dates": wrong}
            )
    weekdays = sorted({d.isoformat() for d in body.workdays if d.weekday() < 5})
    if weekdays:
        raise _invalid(
            "调休上班日应为周六或周日",
            "make-up working days must be Saturdays or Sundays",
            {"field": "workdays", "dates": weekdays},
        )
    both = sorted({d.isoformat() for d in set(body.holidays) & set(body.workdays)})
    if both:
        raise _invalid(
            "同一天不能既放假又上班",
            "a day cannot be both a holiday and a working day",
            {"dates": both},
        )


def _entered(row: HolidayCalendar) -> deadlines.EnteredYear:
    return deadlines.EnteredYear(
        row.year,
        frozenset(date.fromisoformat(d) for d in row.holidays),
        frozenset(date.fromisoformat(d) for d in row.workdays),
    )


def _out(row: HolidayCalendar, corrected: int = 0) -> CalendarYearOut:
    return CalendarYearOut(
        year=row.year,
        source="entered",
        holidays=[date.fromisoformat(d) for d in row.holidays],
        workdays=[date.fromisoformat(d) for d in row.workdays],
        notice=row.notice,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        corrected_cases=corrected,
    )


async def load_entered(services: Services) -> None:
    """This node's deadline module gets the entered years from the database."""
    async with services.db.read() as session:
        rows = list(await session.scalars(select(HolidayCalendar)))
    deadlines.set_entered_years(_entered(r) for r in rows)


async def _correct_due_dates(
    session: AsyncSession, settings: Settings, actor: Principal, year: int, reason: str
) -> int:
    """Running cases whose count reached into ``year`` get the due date the calendar now
    gives (accepted before the year ended, due on or after its first day), and their
    applicant an SMS with it. The messages are queued in this transaction and sent by
    the retry job, not by this request: a notice may move hundreds of cases."""
    cases = await session.scalars(
        select(Case)
        .where(
            Case.state.in_([s.value for s in CASE_RUNNING]),
            Case.accepted_at.is_not(None),
            Case.accepted_at < datetime(year + 1, 1, 1, tzinfo=deadlines.CHINA),
            Case.due_date >= date(year - 1, 12, 1),
        )
        .with_for_update()
    )
    moved = 0
    for case in cases:
        assert case.accepted_at is not None
        due = deadlines.due_date(
            deadlines.china_date(case.accepted_at), case.promised_days, estimate=True
        )
        if due != case.due_date:
            add_event(
                session, case, "due_date", actor, reason,
                {"from": case.due_date.isoformat() if case.due_date else None,
                 "to": due.isoformat()},
            )  # fmt: skip
            case.due_date = due
            moved += 1
            if case.phone_cipher:
                notify.queue_sms(session, case, "due_date", notify.due_date_text(settings, case),
                                 by_job=True)  # fmt: skip
                add_event(session, case, "notified", actor, "due_date",
                          {"channel": "sms", "phone": case.phone_masked})  # fmt: skip
    return moved


async def get_years(services: Services) -> CalendarYears:
    async with services.db.read() as session:
        rows = list(await session.scalars(select(HolidayCalendar).order_by(HolidayCalendar.year)))
    return CalendarYears(package_years=list(deadlines.KNOWN_YEARS), entered=[_out(r) for r in rows])


async def do_put_year(
    services: Services, actor: Principal, year: int, body: CalendarYearIn
) -> CalendarYearOut:
    check_year(year, body)
    holidays = sorted({d.isoformat() for d in body.holidays})
    workdays = sorted({d.isoformat() for d in body.workdays})
    try:
        try:
            return await _put_year(services, actor, year, body, holidays, workdays)
        except IntegrityError:
            # Two first entries of the same year at once: the other inserted the row first;
            # this one now finds it, locks it and updates it (the later write wins, as for
            # any two edits of an existing year).
            return await _put_year(services, actor, year, body, holidays, workdays)
    except BaseException:
        await load_entered(services)  # the change did not commit: back to what is stored
        raise


async def _put_year(
    services: Services,
    actor: Principal,
    year: int,
    body: CalendarYearIn,
    holidays: list[str],
    workdays: list[str],
) -> CalendarYearOut:
    async with services.db.transaction() as session:
        row = await session.get(HolidayCalendar, year, with_for_update=True)
        if row is None:
            row = HolidayCalendar(year=year)
            session.add(row)
        row.holidays, row.workdays, row.notice = holidays, workdays, body.notice
        row.updated_by, row.updated_at = actor.ident, utcnow()
        await session.flush()
        # The deadline module counts with the new year from here on (this node at once).
        others = [_entered(r) for r in await session.scalars(select(HolidayCalendar))]
        deadlines.set_entered_years(others)
        reason = f"{year} 年节假日安排录入" + (f"（{body.notice}）" if body.notice else "")
        corrected = await _correct_due_dates(session, services.settings, actor, year, reason)
        record(session, actor, "holiday_calendar.put", "holiday_calendar", str(year),
               {"holidays": len(holidays), "workdays": len(workdays), "notice": body.notice,
                "corrected_cases": corrected})  # fmt: skip
        return _out(row, corrected)


async def do_delete_year(services: Services, actor: Principal, year: int) -> None:
    try:
        await _delete_year(services, actor, year)
    except BaseException:
        await load_entered(services)
        raise


async def _delete_year(services: Services, actor: Principal, year: int) -> None:
    async with services.db.transaction() as session:
        row = await session.get(HolidayCalendar, year, with_for_update=True)
        if row is None:
            raise NotFound(*YEAR, year)
        await session.delete(row)
        await session.flush()
        deadlines.set_entered_years(
            _entered(r) for r in await session.scalars(select(HolidayCalendar))
        )
        corrected = await _correct_due_dates(
            session, services.settings, actor, year, f"{year} 年节假日安排删除"
        )
        record(session, actor, "holiday_calendar.delete", "holiday_calendar", str(year),
               {"corrected_cases": corrected})  # fmt: skip


class CalendarSync:
    """Every node: the entered years at start, and again every ``EVERY`` seconds."""

    EVERY = 60.0

    def __init__(self, services: Services) -> None:
        self.services = services
        self.job = PeriodicJob("holiday-calendar-sync", self.EVERY, lambda: load_entered(services))

    async def start(self) -> None:
        try:
            await load_entered(self.services)
        except Exception:  # an old database (before 0017) or a blip: the job retries
            log.exception("holiday-calendar-load-failed")
        self.job.start()

    async def stop(self) -> None:
        await self.job.stop()
