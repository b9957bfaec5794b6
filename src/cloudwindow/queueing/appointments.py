"""Appointments (预约) — docs/protocol.md §Appointments.

Outside business hours (and on demand) the kiosk offers an appointment instead of a
queue. Slots come from the skill group's business hours on the official working-day
calendar (queueing/hours.py), ``days_ahead`` days ahead, each with a capacity (per skill
group, ``appointment_policies``; the settings hold the defaults). Booking takes a phone
number (encrypted, privacy.py) and returns a 6-digit code, shown big on screen. At the
appointment time the citizen types the code at any kiosk: ``ticket.take`` with
``appointment_code`` gives a ticket of priority ``appointment`` — verified here, never
self-declared. Slots that pass unredeemed become no-shows.

Concurrency: bookings of one skill group are serialised by a row lock on the group
(``FOR NO KEY UPDATE``), so the last place of a slot goes to exactly one booking; the
other gets ``appointment-slot-full``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.catalog.models import ServiceItem, SkillGroup
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError, NotFound, RuleViolation
from cloudwindow.fleet.models import Terminal
from cloudwindow.pagination import Page, PageParams, fetch_page
from cloudwindow.privacy import keyring_for
from cloudwindow.queueing.callbacks import PHONE, RequestId, check_phone, sealed_phone
from cloudwindow.queueing.errors import TicketNotFound, item_not_on_cloud
from cloudwindow.queueing.hours import (
    CHINA,
    Interval,
    group_workday,
    official_workday,
    parse_hours,
)
from cloudwindow.queueing.models import Appointment, AppointmentPolicy, Ticket
from cloudwindow.queueing.policy import Priority
from cloudwindow.queueing.schemas import ItemCode, TakeTicket
from cloudwindow.queueing.states import AppointmentState, check_appointment_move
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services

# A group without business hours is "always open" for the queue; appointments still need
# a working day's shape.
DEFAULT_DAY: list[Interval] = [(time(9, 0), time(12, 0)), (time(13, 30), time(17, 0))]
CODE_DIGITS = 6
Code = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
TAKEN = (AppointmentState.BOOKED.value, AppointmentState.REDEEMED.value)


# Pure ------------------------------------------------------------------------------------
def day_slots(day: date, hours: list[Interval], minutes: int) -> list[tuple[datetime, datetime]]:
    """The slots of one day: each opening interval cut into ``minutes``-long pieces (a
    piece that would run past the interval's end is left out)."""
    out = []
    step = timedelta(minutes=minutes)
    for start, end in hours or DEFAULT_DAY:
        at = datetime.combine(day, start, tzinfo=CHINA)
        close = datetime.combine(day, end, tzinfo=CHINA)
        while at + step <= close:
            out.append((at, at + step))
            at += step
    return out


def bookable_slots(
    now: datetime,
    hours: list[Interval],
    minutes: int,
    days_ahead: int,
    workday: Callable[[date], bool] = official_workday,
) -> list[tuple[datetime, datetime]]:
    """Every slot from now (starting later than ``now``) to ``days_ahead`` days ahead, on
    working days only (public holidays closed, make-up working days open)."""
    today = now.astimezone(CHINA).date()
    slots: list[tuple[datetime, datetime]] = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        if workday(day):
            slots.extend(s for s in day_slots(day, hours, minutes) if s[0] > now)
    return slots


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


# Shapes ----------------------------------------------------------------------------------
class SlotsQuery(InputModel):
    service_item_code: ItemCode


class BookAppointment(InputModel):
    service_item_code: ItemCode
    slot_start: datetime
    phone: Annotated[str, StringConstraints(max_length=24)]
    request_id: RequestId | None = None


class CodeRef(InputModel):
    code: Code


class CancelByCode(InputModel):
    code: Code
    phone: Annotated[str, StringConstraints(max_length=24)]


class Slot(BaseModel):
    start: datetime
    end: datetime
    capacity: int
    booked: int
    available: int


class SlotDay(BaseModel):
    date: date
    slots: list[Slot]


class AppointmentSlots(BaseModel):
    service_item_code: str
    service_item_name: str
    skill_group_code: str
    slot_minutes: int
    days: list[SlotDay]


class AppointmentView(BaseModel):
    id: int
    code: str
    state: str
    service_item_code: str
    service_item_name: str
    skill_group_code: str
    slot_start: datetime
    slot_end: datetime
    phone_masked: str
    ticket_id: int | None = None
    created_at: datetime


class PolicyView(BaseModel):
    skill_group_code: str
    slot_minutes: int
    capacity: int
    days_ahead: int
    default: bool


class PolicyUpdate(InputModel):
    slot_minutes: int = Field(ge=5, le=240)
    capacity: int = Field(ge=1, le=500)
    days_ahead: int = Field(ge=1, le=60)


class AppointmentFilter(BaseModel):
    day: date | None = None
    skill_group_code: str | None = None
    state: AppointmentState | None = None


# Errors ----------------------------------------------------------------------------------
class AppointmentCodeInvalid(CloudWindowError):
    error_id = "appointment-code-invalid"
    status_code = 404
    message_zh = "预约码无效：没有找到今天的这个预约（请核对号码，或预约已取消、已过期）"
    message_en = (
        "Invalid appointment code: no appointment for today has this code "
        "(check the digits; it may have been cancelled or have expired)"
    )


class SlotFull(CloudWindowError):
    error_id = "appointment-slot-full"
    status_code = 409
    message_zh = "该时段已约满，请选择其他时段"
    message_en = "This time slot is fully booked; please pick another"


def appointment_code_required() -> RuleViolation:
    return RuleViolation(
        "appointment-code-required",
        "预约优先需凭当日预约码取号，请输入预约码",
        "Appointment priority needs today's appointment code; please enter it",
    )


def slot_invalid() -> RuleViolation:
    return RuleViolation(
        "appointment-slot-invalid",
        "所选时段不可预约（已过去、不在服务时间或超出可预约天数）",
        "That time slot cannot be booked (past, outside service hours or too far ahead)",
    )


def already_booked(code_tail: str) -> RuleViolation:
    return RuleViolation(
        "appointment-already-booked",
        "该手机号当天已预约此类事项，无需重复预约",
        "This phone number already has an appointment for this service that day",
        {"code_hint": code_tail},
    )


def not_now(slot_start: datetime, slot_end: datetime) -> RuleViolation:
    return RuleViolation(
        "appointment-not-now",
        "未到预约时段或已过预约时段，请在预约时间前后到场取号",
        "Not within your appointment time; come shortly before your slot",
        {"slot_start": slot_start.isoformat(), "slot_end": slot_end.isoformat()},
    )


def item_mismatch(expected: str) -> RuleViolation:
    return RuleViolation(
        "appointment-item-mismatch",
        "预约码与所选事项不符",
        "This appointment code is for another service item",
        {"service_item_code": expected},
    )


# Policy ----------------------------------------------------------------------------------
async def policy_of(session: AsyncSession, settings: Settings, group: str) -> PolicyView:
    row = await session.get(AppointmentPolicy, group)
    if row is None:
        return PolicyView(
            skill_group_code=group,
            slot_minutes=settings.appointment_slot_minutes,
            capacity=settings.appointment_capacity,
            days_ahead=settings.appointment_days_ahead,
            default=True,
        )
    return PolicyView(
        skill_group_code=group,
        slot_minutes=row.slot_minutes,
        capacity=row.capacity,
        days_ahead=row.days_ahead,
        default=False,
    )


async def get_policy(services: Services, group: str) -> PolicyView:
    async with services.db.read() as session:
        if await session.get(SkillGroup, group) is None:
            raise NotFound("Skill group", "技能组", group)
        return await policy_of(session, services.settings, group)


async def do_set_policy(
    services: Services, principal: Principal, group: str, body: PolicyUpdate
) -> PolicyView:
    async with unit_of_work(services) as (session, _):
        if await session.get(SkillGroup, group) is None:
            raise NotFound("Skill group", "技能组", group)
        row = await session.get(AppointmentPolicy, group)
        if row is None:
            row = AppointmentPolicy(skill_group_code=group)
            session.add(row)
        row.slot_minutes, row.capacity, row.days_ahead = (
            body.slot_minutes,
            body.capacity,
            body.days_ahead,
        )
        row.updated_at = utcnow()
        record(
            session, principal, "appointment_policy.update", "skill_group", group, body.model_dump()
        )
        return await policy_of(session, services.settings, group)


# Reads -----------------------------------------------------------------------------------
async def _item_and_group(
    session: AsyncSession, code: str
) -> tuple[ServiceItem, SkillGroup | None]:
    item = await session.get(ServiceItem, code)
    if item is None:
        raise TicketNotFound({"service_item_code": code})
    if not item.active or not item.cloud_enabled:
        raise item_not_on_cloud(item.code)
    return item, await session.get(SkillGroup, item.skill_group_code)


def _workday(group: SkillGroup | None) -> Callable[[date], bool]:
    return group_workday(group.open_days, group.closed_days) if group else official_workday


async def _taken(session: AsyncSession, group: str, starts: list[datetime]) -> dict[datetime, int]:
    if not starts:
        return {}
    rows = await session.execute(
        select(Appointment.slot_start, func.count())
        .where(
            Appointment.skill_group_code == group,
            Appointment.slot_start >= min(starts),
            Appointment.slot_start <= max(starts),
            Appointment.state.in_(TAKEN),
        )
        .group_by(Appointment.slot_start)
    )
    return {start: int(n) for start, n in rows}


async def get_slots(services: Services, item_code: str) -> AppointmentSlots:
    async with services.db.read() as session:
        item, group = await _item_and_group(session, item_code)
        policy = await policy_of(session, services.settings, item.skill_group_code)
        hours = parse_hours(group.business_hours if group else None)
        slots = bookable_slots(
            utcnow(), hours, policy.slot_minutes, policy.days_ahead, _workday(group)
        )
        taken = await _taken(session, item.skill_group_code, [s for s, _ in slots])
    days: dict[date, list[Slot]] = {}
    for start, end in slots:
        booked = taken.get(start, 0)
        days.setdefault(start.date(), []).append(
            Slot(
                start=start,
                end=end,
                capacity=policy.capacity,
                booked=booked,
                available=max(0, policy.capacity - booked),
            )
        )
    return AppointmentSlots(
        service_item_code=item.code,
        service_item_name=item.name,
        skill_group_code=item.skill_group_code,
        slot_minutes=policy.slot_minutes,
        days=[SlotDay(date=d, slots=s) for d, s in days.items()],
    )


async def _view(session: AsyncSession, a: Appointment) -> AppointmentView:
    item = await session.get(ServiceItem, a.service_item_code)
    return AppointmentView(
        id=a.id,
        code=a.code,
        state=a.state,
        service_item_code=a.service_item_code,
        service_item_name=item.name if item else a.service_item_code,
        skill_group_code=a.skill_group_code,
        slot_start=a.slot_start,
        slot_end=a.slot_end,
        phone_masked=a.phone_masked,
        ticket_id=a.ticket_id,
        created_at=a.created_at,
    )


def _today(now: datetime) -> str:
    return now.astimezone(CHINA).date().isoformat()


async def get_by_code(services: Services, code: str) -> AppointmentView:
    """Today's booked appointment with this code (the kiosk's 我有预约 screen)."""
    async with services.db.read() as session:
        appt = await session.scalar(
            select(Appointment).where(
                Appointment.day == _today(utcnow()),
                Appointment.code == code,
                Appointment.state == AppointmentState.BOOKED.value,
            )
        )
        if appt is None:
            raise AppointmentCodeInvalid({"code": code})
        return await _view(session, appt)


async def get_appointments(
    services: Services, flt: AppointmentFilter, params: PageParams
) -> Page[AppointmentView]:
    async with services.db.read() as session:
        stmt = select(Appointment)
        if flt.day is not None:
            stmt = stmt.where(Appointment.day == flt.day.isoformat())
        if flt.skill_group_code:
            stmt = stmt.where(Appointment.skill_group_code == flt.skill_group_code)
        if flt.state is not None:
            stmt = stmt.where(Appointment.state == flt.state.value)
        stmt = stmt.order_by(Appointment.slot_start, Appointment.id)
        rows, total = await fetch_page(session, stmt, params)
        items = [await _view(session, a) for a in rows]
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


# Writes ----------------------------------------------------------------------------------
def _move(a: Appointment, target: AppointmentState, now: datetime) -> None:
    check_appointment_move(a.state, target)
    a.state = target.value
    if target == AppointmentState.CANCELLED:
        a.cancelled_at = now
    if target == AppointmentState.REDEEMED:
        a.redeemed_at = now


async def do_book(
    services: Services, principal: Principal, body: BookAppointment
) -> AppointmentView:
    """预约: one place in one slot; the code is unique among that day's appointments."""
    phone = check_phone(body.phone)
    cipher, index, masked = sealed_phone(services, phone)
    if body.slot_start.tzinfo is None:
        raise slot_invalid()
    async with unit_of_work(services) as (session, _):
        if body.request_id is not None:
            again = await session.scalar(
                select(Appointment).where(
                    Appointment.owner == principal.ident,
                    Appointment.client_request_id == body.request_id,
                )
            )
            if again is not None:
                return await _view(session, again)
        item, group = await _item_and_group(session, body.service_item_code)
        # Serialise this group's bookings: the count below cannot change under us.
        await session.scalar(
            select(SkillGroup.code)
            .where(SkillGroup.code == item.skill_group_code)
            .with_for_update(key_share=True)
        )
        policy = await policy_of(session, services.settings, item.skill_group_code)
        now = utcnow()
        hours = parse_hours(group.business_hours if group else None)
        slot = next(
            (
                s
                for s in bookable_slots(
                    now, hours, policy.slot_minutes, policy.days_ahead, _workday(group)
                )
                if s[0] == body.slot_start
            ),
            None,
        )
        if slot is None:
            raise slot_invalid()
        day = slot[0].astimezone(CHINA).date().isoformat()
        same = await session.scalar(
            select(Appointment.code).where(
                Appointment.day == day,
                Appointment.skill_group_code == item.skill_group_code,
                Appointment.phone_index == index,
                Appointment.state == AppointmentState.BOOKED.value,
            )
        )
        if same is not None:
            raise already_booked(same[-2:])
        taken = (await _taken(session, item.skill_group_code, [slot[0]])).get(slot[0], 0)
        if taken >= policy.capacity:
            raise SlotFull({"slot_start": slot[0].isoformat(), "capacity": policy.capacity})
        used = set(await session.scalars(select(Appointment.code).where(Appointment.day == day)))
        code = next(c for c in iter(new_code, None) if c not in used)
        terminal = await session.get(Terminal, principal.id) if principal.kind == "device" else None
        appt = Appointment(
            code=code,
            day=day,
            skill_group_code=item.skill_group_code,
            service_item_code=item.code,
            slot_start=slot[0],
            slot_end=slot[1],
            owner=principal.ident,
            client_request_id=body.request_id,
            terminal_id=terminal.id if terminal else None,
            phone_cipher=cipher,
            phone_index=index,
            phone_masked=masked,
            state=AppointmentState.BOOKED.value,
            created_at=now,
        )
        session.add(appt)
        await session.flush()
        record(session, principal, "appointment.book", "appointment", appt.id, {"phone": masked})
        return await _view(session, appt)


async def do_cancel_by_code(
    services: Services, principal: Principal, body: CancelByCode
) -> AppointmentView:
    """The citizen cancels at a kiosk with the code and the phone number it was booked
    with (both must match: a code alone does not cancel someone's booking)."""
    phone = check_phone(body.phone)
    indexes = keyring_for(services.settings).blind_indexes(phone, PHONE)
    async with unit_of_work(services) as (session, _):
        appt = await session.scalar(
            select(Appointment)
            .where(
                Appointment.day >= _today(utcnow()),
                Appointment.code == body.code,
                Appointment.phone_index.in_(indexes),
                Appointment.state == AppointmentState.BOOKED.value,
            )
            .with_for_update(key_share=True)
        )
        if appt is None:
            raise AppointmentCodeInvalid({"code": body.code})
        _move(appt, AppointmentState.CANCELLED, utcnow())
        record(session, principal, "appointment.cancel", "appointment", appt.id)
        return await _view(session, appt)


async def do_cancel(
    services: Services, principal: Principal, appointment_id: int
) -> AppointmentView:
    async with unit_of_work(services) as (session, _):
        appt = await session.scalar(
            select(Appointment)
            .where(Appointment.id == appointment_id)
            .with_for_update(key_share=True)
        )
        if appt is None:
            raise NotFound("Appointment", "预约", appointment_id)
        _move(appt, AppointmentState.CANCELLED, utcnow())
        record(session, principal, "appointment.cancel", "appointment", appt.id)
        return await _view(session, appt)


async def do_mark_no_shows(services: Services) -> int:
    """Booked appointments whose slot (plus the late grace) has passed: no-shows."""
    now = utcnow()
    late = timedelta(minutes=services.settings.appointment_late_minutes)
    async with services.db.transaction() as session:
        rows = list(
            await session.scalars(
                select(Appointment)
                .where(
                    Appointment.state == AppointmentState.BOOKED.value,
                    Appointment.slot_end < now - late,
                )
                .limit(500)
                .with_for_update(key_share=True, skip_locked=True)
            )
        )
        for appt in rows:
            _move(appt, AppointmentState.NO_SHOW, now)
    return len(rows)


# Hooks for queueing/actions.py (do_take_ticket) ------------------------------------------
async def check_for_ticket(
    session: AsyncSession, settings: Settings, body: TakeTicket
) -> Appointment | None:
    """A ticket of priority ``appointment`` needs a valid code for today's slot, for this
    service item, at about the slot's time; the appointment row stays locked until the
    ticket is made (two kiosks typing one code: one ticket)."""
    code = body.appointment_code
    if code is None:
        if body.priority == Priority.APPOINTMENT:
            raise appointment_code_required()
        return None
    now = utcnow()
    appt = await session.scalar(
        select(Appointment)
        .where(
            Appointment.day == _today(now),
            Appointment.code == code,
            Appointment.state == AppointmentState.BOOKED.value,
        )
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if appt is None:
        raise AppointmentCodeInvalid({"code": code})
    if appt.service_item_code != body.service_item_code:
        raise item_mismatch(appt.service_item_code)
    early = timedelta(minutes=settings.appointment_early_minutes)
    late = timedelta(minutes=settings.appointment_late_minutes)
    if not appt.slot_start - early <= now <= appt.slot_end + late:
        raise not_now(appt.slot_start, appt.slot_end)
    return appt


def redeemed(appt: Appointment | None, ticket: Ticket) -> None:
    if appt is not None:
        _move(appt, AppointmentState.REDEEMED, utcnow())
        appt.ticket_id = ticket.id
