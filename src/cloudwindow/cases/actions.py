"""Every write of a case, one transaction each, events after commit — docs/cases.md.

Locking: every action that changes a case first locks its row (``FOR NO KEY UPDATE``
on PostgreSQL, re-read once locked); approval steps are locked after their case. So two
writers of one case — two approvers, the agent and the kiosk — run one after the other
and the second sees the first's result. SQLite (one node) serialises writers anyway.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases import assist, deadlines, forms, formstore, notify
from cloudwindow.cases.errors import (
    CaseInAnotherSession,
    CaseNotFound,
    FieldConflict,
    FormInvalid,
    MaterialsMissing,
    NotConfirmed,
    PhoneMissing,
    TicketNotServed,
)
from cloudwindow.cases.models import Case, CaseApproval, CaseEvent, CaseMaterial, FormVersion
from cloudwindow.cases.numbers import next_case_number
from cloudwindow.cases.queries import (
    DEFAULT_STEP_NAME,
    PHONE_INDEX,
    Readiness,
    case_view,
    chain_of,
    clear_data,
    mask_value,
    pii_purpose,
    readiness,
)
from cloudwindow.cases.schemas import CaseAttach, CaseDataPatch, CaseOpen, CaseView
from cloudwindow.cases.states import CASE_EDITABLE, CaseState, StepState, check_case_move
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.errors import NotFound
from cloudwindow.privacy import keyring_for, normalize_phone
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.queries import active_ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services
from cloudwindow.trust.documents import issue_acceptance_receipt

SYSTEM = "system"


# Helpers (also used by approvals.py, and by C's assist/materials over WebSocket) ------------
async def lock_case(session: AsyncSession, case_id: int) -> Case | None:
    return await session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def may_work(principal: Principal, case: Case, ticket: Ticket | None) -> bool:
    """The working agent (serving the case's ticket while it is in session, else the agent
    who opened it), or the kiosk of the ticket while it is in session."""
    in_session = ticket is not None and ticket.state == TicketState.IN_SESSION
    if principal.kind == "device":
        return in_session and ticket is not None and ticket.owner == principal.ident
    if in_session and ticket is not None:
        return ticket.agent_id == principal.id
    return case.agent_id == principal.id


async def load_case_for_work(session: AsyncSession, principal: Principal, case_id: int) -> Case:
    """The case, locked, if ``principal`` may work on it; else ``case-not-found``."""
    case = await lock_case(session, case_id)
    ticket = await session.get(Ticket, case.ticket_id) if case and case.ticket_id else None
    if case is None or not may_work(principal, case, ticket):
        raise CaseNotFound({"case_id": case_id})
    return case


def add_event(
    session: AsyncSession,
    case: Case,
    kind: str,
    actor: Principal | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    to_state: CaseState | None = None,
) -> None:
    """A line of the case's history (``to_state``: a state move, else an act in place)."""
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=kind,
            from_state=case.state,
            to_state=to_state.value if to_state else case.state,
            actor=actor.ident if actor else SYSTEM,
            actor_name=actor.name if actor else "",
            reason=reason,
            details=details or {},
            at=utcnow(),
        )
    )


def move_case(
    session: AsyncSession,
    case: Case,
    target: CaseState,
    actor: Principal | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """One legal state move, recorded with who, when and why."""
    check_case_move(case.state, target)
    add_event(session, case, "transition", actor, reason, details, target)
    case.state = target.value
    touch(case)


def notify_citizen(
    session: AsyncSession, case: Case, kind: str, text: str, actor: Principal | None
) -> None:
    """Queue an SMS to the applicant (sent after the commit) and note it in the history."""
    notify.queue_sms(session, case, kind, text)
    add_event(
        session, case, "notified", actor, kind, {"channel": "sms", "phone": case.phone_masked}
    )


def touch(case: Case) -> None:
    case.version += 1
    case.updated_at = utcnow()


async def ticket_owner(session: AsyncSession, case: Case) -> str | None:
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    return ticket.owner if ticket else None


async def emit_case_updated(session: AsyncSession, out: Outbox, case: Case) -> None:
    """``case.updated`` to the agent and the kiosk (ids and revisions only: no personal
    data in stored events); ``cases.changed`` to the lists of supervisors and approvers."""
    data = {
        "case_id": case.id,
        "number": case.number,
        "state": case.state,
        "rev": case.rev,
        "confirmed_rev": case.confirmed_rev,
        "version": case.version,
    }
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    agents = {case.agent_id}
    if ticket is not None and ticket.agent_id is not None:
        agents.add(ticket.agent_id)
    for agent in sorted(agents):
        out.emit(f"user:{agent}", "case.updated", data)
    if ticket is not None:
        out.emit(ticket.owner, "case.updated", data)
    lists = {"case_id": case.id, "state": case.state, "department_code": case.department_code}
    for role in ("role:supervisor", "role:approver"):
        out.emit(role, "cases.changed", lists, durable=False)


async def clear_view(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    case: Case,
    purpose: str,
    *,
    with_recordings: bool = False,
) -> CaseView:
    """The case with personal data in clear, and the audit row of that read (same
    transaction: no audit, no data)."""
    record(
        session,
        principal,
        "case.data.read",
        "case",
        case.id,
        {"number": case.number, "purpose": purpose},
    )
    return await case_view(session, settings, case, clear=True, with_recordings=with_recordings)


# Approval rounds -------------------------------------------------------------------------------
async def start_round(session: AsyncSession, case: Case) -> None:
    """A new round of the item's chain; the case moves on into ``under_approval``."""
    item = await session.get(ServiceItem, case.service_item_code)
    chain = await chain_of(session, item) if item else [(case.department_code, DEFAULT_STEP_NAME)]
    case.round += 1
    now = utcnow()
    for n, (dept, name) in enumerate(chain, start=1):
        session.add(
            CaseApproval(
                case_id=case.id,
                round=case.round,
                step=n,
                department_code=dept,
                name=name,
                state=(StepState.PENDING if n == 1 else StepState.WAITING).value,
                missing=[],
                created_at=now,
            )
        )
    case.current_step = 1
    move_case(
        session, case, CaseState.UNDER_APPROVAL, None, chain[0][1],
        {"round": case.round, "step": 1, "department_code": chain[0][0]},
    )  # fmt: skip


# Forms ---------------------------------------------------------------------------------------
def required_of(item: ServiceItem) -> list[dict[str, Any]]:
    """The item's materials as the case keeps them: ``M01`` … by position."""
    return [
        {
            "code": f"M{n:02d}",
            "name": str(m.get("name", "")),
            "required": bool(m.get("required", True)),
            "note": str(m.get("note", "")),
        }
        for n, m in enumerate(item.materials or [], start=1)
    ]


def apply_edits(
    settings: Settings,
    case: Case,
    schema: Mapping[str, Any],
    values: Mapping[str, Any],
    base_revs: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Set form fields (all or none): personal data sealed and masked, ``rev`` +1 per
    changed field, the field's rev recorded, the citizen's confirmation cleared. Without
    ``base_revs`` an edit is based on the field's current revision (last writer wins).
    Returns the new revision of each changed field. Caller holds the row lock."""
    if case.state not in CASE_EDITABLE:
        raise assist.CaseNotEditable(case.state)
    for name, value in values.items():
        assist.check_edit(schema, name, value)
    current = clear_data(settings, case, values.keys())
    form = assist.SharedForm(
        values=current, field_revs=dict(case.field_revs), rev=case.rev,
        confirmed_rev=case.confirmed_rev,
    )  # fmt: skip
    changed: dict[str, int] = {}
    for name, value in values.items():
        base = (base_revs or {}).get(name, form.field_revs.get(name, 0))
        outcome = assist.decide_edit(form, name, value, base)
        if isinstance(outcome, assist.Conflict):
            raise FieldConflict(name, outcome.rev, base)
        if isinstance(outcome, assist.Applied):
            form = assist.apply_edit(form, outcome)
            changed[name] = outcome.rev
    if not changed:
        return {}
    store_values(settings, case, schema, {k: form.values[k] for k in changed})
    case.rev = form.rev
    case.field_revs = dict(form.field_revs)
    case.confirmed_rev = None
    case.confirmed_at = None
    case.confirmed_by = None
    touch(case)
    return changed


def store_values(
    settings: Settings, case: Case, schema: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Write values into ``data``/``pii`` (personal data: ciphertext + mask), and keep the
    case's applicant mask and phone (ciphertext, blind index, mask) in step."""
    keys = keyring_for(settings)
    kinds = forms.pii_fields(schema)
    data, pii = dict(case.data), dict(case.pii)
    for name, value in values.items():
        kind = kinds.get(name)
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank:
            data.pop(name, None)
            pii.pop(name, None)
        elif kind is not None and isinstance(value, str):
            pii[name] = keys.encrypt(value, pii_purpose(case.id, name))
            data[name] = mask_value(kind, value)
        else:
            data[name] = value
    case.data, case.pii = data, pii
    clear = clear_data(settings, case)
    names = [n for n, k in kinds.items() if k == "name" and clear.get(n)]
    case.applicant_masked = mask_value("name", str(clear[names[0]])) if names else ""
    phones = [
        normalize_phone(str(clear[n])) for n, k in kinds.items() if k == "phone" and clear.get(n)
    ]
    phone = next((p for p in phones if p), None)
    if phone is None:
        case.phone_cipher = case.phone_index = None
        case.phone_masked = ""
    else:
        case.phone_cipher = keys.encrypt(phone, notify.PHONE_PURPOSE)
        case.phone_index = keys.blind_index(phone, PHONE_INDEX)
        case.phone_masked = mask_value("phone", phone)


async def check_ready(session: AsyncSession, settings: Settings, case: Case) -> Readiness:
    """Raise the first reason the case can't go to approval: form, phone, materials,
    the citizen's confirmation (docs/cases.md §accept)."""
    form = await session.get(FormVersion, case.form_version_id)
    materials = list(
        await session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id))
    )
    ready = readiness(case, form.schema if form else {}, clear_data(settings, case), materials)
    if ready.errors:
        raise FormInvalid([e.as_dict() for e in ready.errors])
    if ready.phone_missing:
        raise PhoneMissing()
    if ready.missing_materials:
        raise MaterialsMissing(ready.missing_materials)
    if not ready.confirmed:
        raise NotConfirmed(case.rev, case.confirmed_rev)
    return ready


async def served_ticket(session: AsyncSession, principal: Principal, ticket_id: int) -> Ticket:
    """The ticket, if the caller is serving it right now; else ``case-ticket-not-served``."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.state != TicketState.IN_SESSION or ticket.agent_id != principal.id:
        raise TicketNotServed(ticket_id)
    return ticket


# Actions -------------------------------------------------------------------------------------
async def do_open_case(services: Services, principal: Principal, body: CaseOpen) -> CaseView:
    """开立办件: in a session the agent serves, for the ticket's item or another one."""
    async with unit_of_work(services) as (session, out):
        ticket = await served_ticket(session, principal, body.ticket_id)
        code = body.service_item_code or ticket.service_item_code
        item = await session.get(ServiceItem, code)
        if item is None or not item.active:
            raise NotFound("Service item", "事项", code)
        form = await formstore.ensure_current_form(session, item)
        now = utcnow()
        case = Case(
            number=await next_case_number(session, now),
            service_item_code=item.code,
            department_code=item.department_code,
            form_version_id=form.id,
            state=CaseState.DRAFT.value,
            data={},
            pii={},
            rev=0,
            field_revs={},
            ticket_id=ticket.id,
            agent_id=principal.id,
            required_materials=required_of(item),
            promised_days=item.promised_days,
            round=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        await session.flush()
        add_event(session, case, "opened", principal, item.name, {"ticket_id": ticket.id})
        record(session, principal, "case.open", "case", case.id, {"number": case.number})
        await emit_case_updated(session, out, case)
        return await clear_view(session, services.settings, principal, case, "work")


async def get_case_for_work(services: Services, principal: Principal, case_id: int) -> CaseView:
    """The working agent's (or the kiosk's) view: clear, audited."""
    async with services.db.transaction() as session:
        case = await load_case_for_work(session, principal, case_id)
        return await clear_view(session, services.settings, principal, case, "work")


async def get_kiosk_cases(services: Services, principal: Principal) -> list[CaseView]:
    """The cases of the kiosk's ticket in session, newest first (clear, audited: the
    citizen reviews what they are applying for); none outside a session."""
    async with services.db.transaction() as session:
        ticket = await active_ticket(session, principal.ident)
        if ticket is None or ticket.state != TicketState.IN_SESSION:
            return []
        cases = await session.scalars(
            select(Case).where(Case.ticket_id == ticket.id).order_by(Case.id.desc())
        )
        return [
            await clear_view(session, services.settings, principal, c, "citizen-review")
            for c in cases
        ]


async def get_case_for_reader(services: Services, principal: Principal, case_id: int) -> CaseView:
    """Supervision and audit: the case masked, the read itself recorded."""
    async with services.db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseNotFound({"case_id": case_id})
        record(session, principal, "case.read", "case", case.id, {"number": case.number})
        return await case_view(session, services.settings, case, clear=False, with_recordings=True)


async def do_update_data(
    services: Services, principal: Principal, case_id: int, body: CaseDataPatch
) -> CaseView:
    """Fill in form fields over HTTP (the WebSocket co-editing path is cases/assist)."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, principal, case_id)
        form = await session.get(FormVersion, case.form_version_id)
        changed = apply_edits(
            services.settings, case, form.schema if form else {}, body.values, body.base_revs
        )
        if changed:
            await emit_case_updated(session, out, case)
        return await clear_view(session, services.settings, principal, case, "work")


async def do_confirm(services: Services, principal: Principal, case_id: int, rev: int) -> Case:
    """The citizen confirms data revision ``rev`` on the kiosk (must be the current one)."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, principal, case_id)
        if case.state not in CASE_EDITABLE:
            raise assist.CaseNotEditable(case.state)
        shared = assist.decide_confirm(
            assist.SharedForm(rev=case.rev, confirmed_rev=case.confirmed_rev), rev
        )
        if case.confirmed_rev != shared.confirmed_rev:
            case.confirmed_rev = shared.confirmed_rev
            case.confirmed_at = utcnow()
            case.confirmed_by = principal.ident
            touch(case)
            add_event(session, case, "confirmed", principal, f"rev {rev}", {"rev": rev})
            await emit_case_updated(session, out, case)
        return case


async def do_accept(services: Services, principal: Principal, case_id: int) -> CaseView:
    """受理: form valid, phone given, required materials accepted, citizen confirmed →
    accepted (due date fixed), the approval round starts, the citizen gets an SMS."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, principal, case_id)
        check_case_move(case.state, CaseState.ACCEPTED)
        await check_ready(session, services.settings, case)
        now = utcnow()
        case.accepted_at = now
        case.due_date = deadlines.due_date(
            deadlines.china_date(now), case.promised_days, estimate=True
        )
        move_case(
            session, case, CaseState.ACCEPTED, principal, "受理",
            {"due_date": case.due_date.isoformat(), "rev": case.rev},
        )  # fmt: skip
        await start_round(session, case)
        item = await session.get(ServiceItem, case.service_item_code)
        name = item.name if item else case.service_item_code
        text = notify.accepted_text(services.settings, case, name)
        notify_citizen(session, case, "accepted", text, principal)
        await issue_acceptance_receipt(services, session, case)  # 受理回执, sealed (trust/)
        await emit_case_updated(session, out, case)
        view = await clear_view(session, services.settings, principal, case, "work")
    return await notify.send_queued(services, view)


async def do_withdraw(
    services: Services, principal: Principal, case_id: int, reason: str
) -> CaseView:
    """撤回: a draft or a case returned for correction is abandoned."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, principal, case_id)
        move_case(session, case, CaseState.WITHDRAWN, principal, reason)
        await emit_case_updated(session, out, case)
        return await clear_view(session, services.settings, principal, case, "work")


async def do_resubmit(
    services: Services, principal: Principal, case_id: int, note: str
) -> CaseView:
    """补正后重新提交: the same checks as acceptance, then a new approval round."""
    async with unit_of_work(services) as (session, out):
        case = await load_case_for_work(session, principal, case_id)
        check_case_move(case.state, CaseState.RESUBMITTED)
        await check_ready(session, services.settings, case)
        move_case(session, case, CaseState.RESUBMITTED, principal, note or "补正后重新提交")
        case.correction = None
        await start_round(session, case)
        await emit_case_updated(session, out, case)
        return await clear_view(session, services.settings, principal, case, "work")


async def do_attach(
    services: Services, principal: Principal, case_id: int, body: CaseAttach
) -> CaseView:
    """续办: the citizen is back (a new session) for a case returned for correction, or a
    draft whose session ended; the case moves to the new session so its kiosk can review,
    confirm and capture again. Proof that it is theirs: the applicant's phone number
    (compared by blind index), unless the caller is the agent who had the case."""
    async with unit_of_work(services) as (session, out):
        case = await lock_case(session, case_id)
        if case is None:
            raise CaseNotFound({"case_id": case_id})
        ticket = await served_ticket(session, principal, body.ticket_id)
        keys = keyring_for(services.settings)
        phone = normalize_phone(body.phone or "") or (body.phone or "")
        given = keys.blind_indexes(phone, PHONE_INDEX)
        owns = case.agent_id == principal.id or (
            case.phone_index is not None
            and any(hmac.compare_digest(case.phone_index.encode(), g.encode()) for g in given)
        )
        if not owns:
            raise CaseNotFound({"case_id": case_id})
        if case.state not in CASE_EDITABLE:
            raise assist.CaseNotEditable(case.state)
        old = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
        if old is not None and old.id != ticket.id and old.state == TicketState.IN_SESSION:
            raise CaseInAnotherSession(case.id)
        previous = {"ticket_id": case.ticket_id, "agent_id": case.agent_id}
        case.ticket_id, case.agent_id = ticket.id, principal.id
        touch(case)
        add_event(
            session, case, "attached", principal, "续办", {**previous, "to_ticket": ticket.id}
        )
        await emit_case_updated(session, out, case)
        return await clear_view(session, services.settings, principal, case, "work")
