"""The callback list (回拨) — docs/protocol.md §Callbacks.

A citizen at a kiosk — while waiting, or when the skill group is closed — leaves a phone
number (and maybe a preferred time window) to be called back. Agents of the group and
supervisors see the list, one of them claims a request (one claimer only: the row is
locked and its state checked), dials, and records the outcome: done, or no answer (tried
again later, until ``settings.callback_max_attempts``, then unreachable).

Privacy (PIPL): the number is stored encrypted (privacy.py) with a blind index and its
mask; lists show only the mask. The clear number is given only to the agent who claimed
the request, on an explicit click, and every such read is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints, model_validator
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.catalog.models import ServiceItem, SkillGroup
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError, RuleViolation
from cloudwindow.fleet.models import Terminal
from cloudwindow.pagination import Page, PageParams, fetch_page
from cloudwindow.privacy import keyring_for, mask_phone, normalize_phone
from cloudwindow.queueing import actions as qa
from cloudwindow.queueing.errors import TicketNotFound, item_not_on_cloud
from cloudwindow.queueing.models import Callback, Ticket
from cloudwindow.queueing.schemas import AgentRef, ItemCode, TicketId, TicketView
from cloudwindow.queueing.states import CallbackState, TicketState, check_callback_move
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services

PHONE = "phone"  # purpose of the ciphertext and blind index
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
PhoneText = Annotated[str, StringConstraints(max_length=24)]
OPEN_STATES = (CallbackState.REQUESTED, CallbackState.NO_ANSWER, CallbackState.CLAIMED)


# Shapes ----------------------------------------------------------------------------------
class CallbackRequest(InputModel):
    """From the kiosk: for a waiting ticket (it leaves the queue), or for a service item
    (the group is closed, or the citizen prefers not to wait)."""

    ticket_id: TicketId | None = None
    service_item_code: ItemCode | None = None
    phone: PhoneText
    preferred_start: datetime | None = None
    preferred_end: datetime | None = None
    request_id: RequestId | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> CallbackRequest:
        if (self.ticket_id is None) == (self.service_item_code is None):
            raise ValueError("give exactly one of ticket_id or service_item_code")
        if (self.preferred_start is None) != (self.preferred_end is None):
            raise ValueError("give both ends of the preferred window, or neither")
        for at in (self.preferred_start, self.preferred_end):
            if at is not None and at.tzinfo is None:
                raise ValueError("times need a time zone (ISO 8601 with offset)")
        return self


class CallbackOutcome(InputModel):
    outcome: Literal["done", "no_answer"]
    note: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] = ""


class CallbackView(BaseModel):
    id: int
    state: str
    skill_group_code: str
    skill_group_name: str
    service_item_code: str
    service_item_name: str
    ticket_number: str | None = None
    phone_masked: str
    preferred_start: datetime | None = None
    preferred_end: datetime | None = None
    attempts: int
    max_attempts: int
    claimed_by: AgentRef | None = None
    claimed_at: datetime | None = None
    last_attempt_at: datetime | None = None
    note: str
    created_at: datetime
    closed_at: datetime | None = None


class CallbackPhone(BaseModel):
    id: int
    phone: str


class CallbackFilter(BaseModel):
    state: CallbackState | None = None
    open_only: bool = True
    skill_group_code: str | None = None


# Errors ----------------------------------------------------------------------------------
class CallbackNotFound(CloudWindowError):
    """Also for a callback of a skill group the agent does not hold: nothing revealed."""

    error_id = "callback-not-found"
    status_code = 404
    message_zh = "回拨记录不存在"
    message_en = "No such callback request"


class CallbackAlreadyClaimed(CloudWindowError):
    error_id = "callback-already-claimed"
    status_code = 409
    message_zh = "该回拨已由{name}认领"
    message_en = "This callback was already claimed by {name}"

    def __init__(self, callback_id: int, name: str) -> None:
        super().__init__({"callback_id": callback_id, "claimed_by": name}, name=name)


def phone_invalid() -> RuleViolation:
    return RuleViolation(
        "phone-invalid",
        "手机号码格式不正确，请输入 11 位手机号或带区号的固定电话",
        "Invalid phone number: enter an 11-digit mobile or a landline with its area code",
    )


def window_invalid() -> RuleViolation:
    return RuleViolation(
        "callback-window-invalid",
        "期望回电时段无效（需在未来 14 天内，且开始早于结束）",
        "Invalid preferred window (must be within the next 14 days and start before it ends)",
    )


def not_claimer() -> RuleViolation:
    return RuleViolation(
        "callback-not-claimed-by-you",
        "请先认领该回拨，再查看号码或登记结果",
        "Claim this callback first to see the number or record an outcome",
    )


# Helpers ---------------------------------------------------------------------------------
def check_phone(raw: str) -> str:
    phone = normalize_phone(raw)
    if phone is None:
        raise phone_invalid()
    return phone


def sealed_phone(services: Services, phone: str) -> tuple[str, str, str]:
    """(ciphertext, blind index, mask) of a normalised phone number."""
    keys = keyring_for(services.settings)
    return keys.encrypt(phone, PHONE), keys.blind_index(phone, PHONE), mask_phone(phone)


def _is_supervisor(principal: Principal) -> bool:
    return Permission.QUEUE_MONITOR in principal.permissions


async def _groups_of(session: AsyncSession, principal: Principal) -> set[str] | None:
    """Skill groups whose callbacks the caller works; None = all (supervisors)."""
    if _is_supervisor(principal):
        return None
    rows = await session.scalars(
        select(AgentSkill.skill_group_code).where(AgentSkill.user_id == principal.id)
    )
    return set(rows)


def _changed(out: Outbox, callback: Callback) -> None:
    """Lists on agents' and supervisors' desks refresh (ephemeral: a list is re-read)."""
    data = {"callback_id": callback.id, "skill_group_code": callback.skill_group_code}
    for recipient in ("role:agent", "role:supervisor"):
        out.emit(recipient, "callback.changed", data, durable=False)


async def _view(session: AsyncSession, services: Services, cb: Callback) -> CallbackView:
    item = await session.get(ServiceItem, cb.service_item_code)
    group = await session.get(SkillGroup, cb.skill_group_code)
    ticket = await session.get(Ticket, cb.ticket_id) if cb.ticket_id else None
    claimer = await session.get(User, cb.claimed_by) if cb.claimed_by else None
    return CallbackView(
        id=cb.id,
        state=cb.state,
        skill_group_code=cb.skill_group_code,
        skill_group_name=group.name if group else cb.skill_group_code,
        service_item_code=cb.service_item_code,
        service_item_name=item.name if item else cb.service_item_code,
        ticket_number=ticket.number if ticket else None,
        phone_masked=cb.phone_masked,
        preferred_start=cb.preferred_start,
        preferred_end=cb.preferred_end,
        attempts=cb.attempts,
        max_attempts=services.settings.callback_max_attempts,
        claimed_by=AgentRef(id=claimer.id, display_name=claimer.display_name) if claimer else None,
        claimed_at=cb.claimed_at,
        last_attempt_at=cb.last_attempt_at,
        note=cb.note,
        created_at=cb.created_at,
        closed_at=cb.closed_at,
    )


def _move(cb: Callback, target: CallbackState, now: datetime) -> None:
    check_callback_move(cb.state, target)
    cb.state = target.value
    if target in (CallbackState.DONE, CallbackState.UNREACHABLE, CallbackState.CANCELLED):
        cb.closed_at = now


# Actions ---------------------------------------------------------------------------------
async def do_request_callback(
    services: Services, principal: Principal, body: CallbackRequest
) -> tuple[CallbackView, TicketView | None]:
    """回拨申请: store the request (number encrypted); a waiting ticket leaves the queue
    in state ``callback_requested``. Idempotent with ``request_id``."""
    phone = check_phone(body.phone)
    now = utcnow()
    start, end = body.preferred_start, body.preferred_end
    if start and end and not (now - timedelta(hours=1) < start < end <= now + timedelta(days=14)):
        raise window_invalid()
    cipher, index, masked = sealed_phone(services, phone)
    ticket_view = None
    async with unit_of_work(services) as (session, out):
        if body.request_id is not None:
            again = await session.scalar(
                select(Callback).where(
                    Callback.owner == principal.ident, Callback.client_request_id == body.request_id
                )
            )
            if again is not None:
                return await _view(session, services, again), None
        ticket = None
        if body.ticket_id is not None:
            ticket = await qa._own_ticket(session, principal, body.ticket_id)
            if ticket.state == TicketState.OFFERED:
                await qa._release_agent(session, out, ticket, now)
            qa.move_ticket(session, ticket, TicketState.CALLBACK_REQUESTED, principal.ident)
            ticket.ended_at = now
            ticket_view = await qa._notify_ticket(session, out, ticket)
            item_code, group_code = ticket.service_item_code, ticket.skill_group_code
        else:
            assert body.service_item_code is not None  # the validator saw to it
            item = await session.get(ServiceItem, body.service_item_code)
            if item is None:
                raise TicketNotFound({"service_item_code": body.service_item_code})
            if not item.active or not item.cloud_enabled:
                raise item_not_on_cloud(item.code)
            item_code, group_code = item.code, item.skill_group_code
        terminal = await session.get(Terminal, principal.id) if principal.kind == "device" else None
        cb = Callback(
            skill_group_code=group_code,
            service_item_code=item_code,
            ticket_id=ticket.id if ticket else None,
            owner=principal.ident,
            client_request_id=body.request_id,
            terminal_id=terminal.id if terminal else None,
            site_id=terminal.site_id if terminal else None,
            phone_cipher=cipher,
            phone_index=index,
            phone_masked=masked,
            preferred_start=body.preferred_start,
            preferred_end=body.preferred_end,
            state=CallbackState.REQUESTED.value,
            attempts=0,
            note="",
            created_at=now,
        )
        session.add(cb)
        await session.flush()
        record(session, principal, "callback.request", "callback", cb.id, {"phone": masked})
        _changed(out, cb)
        view = await _view(session, services, cb)
    if ticket is not None:
        services.signals.queue_changed([ticket.skill_group_code])
    return view, ticket_view


async def _locked(session: AsyncSession, principal: Principal, callback_id: int) -> Callback:
    cb = await session.scalar(
        select(Callback)
        .where(Callback.id == callback_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    groups = await _groups_of(session, principal)
    if cb is None or (groups is not None and cb.skill_group_code not in groups):
        raise CallbackNotFound({"callback_id": callback_id})
    return cb


async def do_claim(services: Services, principal: Principal, callback_id: int) -> CallbackView:
    """One claimer only: the row is locked, and a claimed request refuses a second."""
    async with unit_of_work(services) as (session, out):
        cb = await _locked(session, principal, callback_id)
        if cb.state == CallbackState.CLAIMED and cb.claimed_by != principal.id:
            claimer = await session.get(User, cb.claimed_by) if cb.claimed_by else None
            raise CallbackAlreadyClaimed(cb.id, claimer.display_name if claimer else "?")
        if cb.state == CallbackState.CLAIMED:
            return await _view(session, services, cb)  # a repeated click: still yours
        now = utcnow()
        _move(cb, CallbackState.CLAIMED, now)
        cb.claimed_by, cb.claimed_at = principal.id, now
        record(session, principal, "callback.claim", "callback", cb.id)
        _changed(out, cb)
        return await _view(session, services, cb)


async def do_reveal_phone(
    services: Services, principal: Principal, callback_id: int
) -> CallbackPhone:
    """The clear number, to dial — only to the claimer (or a supervisor), and audited in
    the same transaction (no audit row, no number)."""
    async with unit_of_work(services) as (session, _):
        cb = await _locked(session, principal, callback_id)
        mine = cb.state == CallbackState.CLAIMED and cb.claimed_by == principal.id
        if not (mine or _is_supervisor(principal)):
            raise not_claimer()
        phone = keyring_for(services.settings).decrypt(cb.phone_cipher, PHONE)
        record(
            session,
            principal,
            "callback.phone.read",
            "callback",
            cb.id,
            {"phone": cb.phone_masked, "purpose": "dial"},
        )
        return CallbackPhone(id=cb.id, phone=phone)


async def do_record_outcome(
    services: Services, principal: Principal, callback_id: int, body: CallbackOutcome
) -> CallbackView:
    async with unit_of_work(services) as (session, out):
        cb = await _locked(session, principal, callback_id)
        if cb.state != CallbackState.CLAIMED or (
            cb.claimed_by != principal.id and not _is_supervisor(principal)
        ):
            raise not_claimer()
        now = utcnow()
        cb.attempts += 1
        cb.last_attempt_at, cb.note = now, body.note
        if body.outcome == "done":
            target = CallbackState.DONE
        elif cb.attempts >= services.settings.callback_max_attempts:
            target = CallbackState.UNREACHABLE
        else:
            target = CallbackState.NO_ANSWER
        _move(cb, target, now)
        record(
            session,
            principal,
            "callback.outcome",
            "callback",
            cb.id,
            {"outcome": target.value, "attempt": cb.attempts},
        )
        _changed(out, cb)
        return await _view(session, services, cb)


async def do_release(services: Services, principal: Principal, callback_id: int) -> CallbackView:
    """Give a claimed request back to the list without a call attempt."""
    async with unit_of_work(services) as (session, out):
        cb = await _locked(session, principal, callback_id)
        if cb.state != CallbackState.CLAIMED or (
            cb.claimed_by != principal.id and not _is_supervisor(principal)
        ):
            raise not_claimer()
        _move(cb, CallbackState.REQUESTED, utcnow())
        cb.claimed_by = cb.claimed_at = None
        record(session, principal, "callback.release", "callback", cb.id)
        _changed(out, cb)
        return await _view(session, services, cb)


async def do_cancel(services: Services, principal: Principal, callback_id: int) -> CallbackView:
    """No longer needed (the citizen came in person, a duplicate): closed as cancelled."""
    async with unit_of_work(services) as (session, out):
        cb = await _locked(session, principal, callback_id)
        claimed_by_other = cb.state == CallbackState.CLAIMED and cb.claimed_by != principal.id
        if claimed_by_other and not _is_supervisor(principal):
            raise not_claimer()
        _move(cb, CallbackState.CANCELLED, utcnow())
        record(session, principal, "callback.cancel", "callback", cb.id)
        _changed(out, cb)
        return await _view(session, services, cb)


# Reads -----------------------------------------------------------------------------------
async def get_callbacks(
    services: Services, principal: Principal, flt: CallbackFilter, params: PageParams
) -> Page[CallbackView]:
    """Open requests first (unclaimed, then retries, then claimed), oldest first."""
    async with services.db.read() as session:
        groups = await _groups_of(session, principal)
        stmt = select(Callback)
        if groups is not None:
            stmt = stmt.where(Callback.skill_group_code.in_(sorted(groups)))
        if flt.skill_group_code:
            stmt = stmt.where(Callback.skill_group_code == flt.skill_group_code)
        if flt.state is not None:
            stmt = stmt.where(Callback.state == flt.state.value)
        elif flt.open_only:
            stmt = stmt.where(Callback.state.in_([s.value for s in OPEN_STATES]))
        order = case(
            {
                CallbackState.REQUESTED.value: 0,
                CallbackState.NO_ANSWER.value: 1,
                CallbackState.CLAIMED.value: 2,
            },
            value=Callback.state,
            else_=3,
        )
        stmt = stmt.order_by(order, Callback.created_at, Callback.id)
        rows, total = await fetch_page(session, stmt, params)
        items = [await _view(session, services, cb) for cb in rows]
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


async def get_callback(services: Services, principal: Principal, callback_id: int) -> CallbackView:
    async with services.db.read() as session:
        cb = await session.get(Callback, callback_id)
        groups = await _groups_of(session, principal)
        if cb is None or (groups is not None and cb.skill_group_code not in groups):
            raise CallbackNotFound({"callback_id": callback_id})
        return await _view(session, services, cb)
