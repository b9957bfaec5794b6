"""Consult transfer (咨询转接), agent to agent first — docs/protocol.md §Consult.

Agent A, serving a citizen, asks a ready colleague B. B's desk rings (``consult.offer``,
``settings.offer_ring_seconds``); B accepts or declines. A declined consult leaves B
ready (no fault of B's); one that rang out sets B not-ready (missed_offer), as a missed
offer does. Once B accepted, both are in the consult — B in the agent state
``consulting``, the citizen still in session with A — and A either completes it (the
ticket is now in session with B, A wraps up) or cancels it (B is ready again, A goes on).
The media of a three-party consult arrive with the video issue; this is the queue part
plus A's note to B.

Locks, as everywhere in the queue (queueing/actions.py): agent rows before the ticket
row, and of two agents the lower id first; the consult row comes last.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.accounts.principal import Principal
from cloudwindow.catalog.models import SkillGroup
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError, RuleViolation
from cloudwindow.media import actions as media
from cloudwindow.queueing import actions as qa
from cloudwindow.queueing.errors import TicketNotFound, not_an_agent
from cloudwindow.queueing.models import AgentStatus, Consult, Ticket, TicketLog
from cloudwindow.queueing.queries import agent_view, ticket_view
from cloudwindow.queueing.schemas import AgentRef, AgentStateView, TicketId, TicketView
from cloudwindow.queueing.states import (
    AGENT_IN_CONSULT,
    CONSULT_OPEN,
    AgentState,
    ConsultState,
    NotReadyReason,
    TicketState,
    check_consult_move,
)
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services

UserId = Annotated[int, Field(ge=1, le=2_147_483_647)]


# Shapes ----------------------------------------------------------------------------------
class ConsultStart(BaseModel):
    ticket_id: TicketId
    agent_id: UserId
    note: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] = ""


class ConsultRef(BaseModel):
    consult_id: UserId


class ConsultView(BaseModel):
    id: int
    state: str
    note: str
    ticket: TicketView
    from_agent: AgentRef
    to_agent: AgentRef
    created_at: datetime
    expires_at: datetime
    ring_seconds: int
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""


class ConsultCandidate(BaseModel):
    id: int
    display_name: str
    skill_groups: list[str]


# Errors ----------------------------------------------------------------------------------
class ConsultNotFound(CloudWindowError):
    """Also what an agent gets for a consult that is not theirs: nothing is revealed."""

    error_id = "consult-not-found"
    status_code = 404
    message_zh = "该咨询不存在或已结束"
    message_en = "No such consult, or it has ended"


def consult_target_unavailable(agent_id: int) -> RuleViolation:
    return RuleViolation(
        "consult-target-unavailable",
        "对方坐席当前不在就绪状态，无法发起咨询",
        "That agent is not ready to take a consult",
        {"agent_id": agent_id},
    )


def consult_already_open(consult_id: int) -> RuleViolation:
    return RuleViolation(
        "consult-already-open",
        "本次服务已有进行中的咨询，请先完成或取消",
        "This session already has a consult open; complete or cancel it first",
        {"consult_id": consult_id},
    )


def agent_in_consult(state: str) -> RuleViolation:
    return RuleViolation(
        "agent-in-consult",
        "正在咨询中，请先接听、拒绝或结束咨询",
        "You are in a consult; answer, decline or leave it first",
        {"state": state},
    )


# Hooks for queueing/actions.py -----------------------------------------------------------
def refuse_while_in_consult(status: AgentStatus) -> None:
    """An agent whose desk rings for a consult, or who is in one, leaves it only through
    the consult's own moves (so A is always told)."""
    if status.state in AGENT_IN_CONSULT:
        raise agent_in_consult(status.state)


async def lock_partner_first(session: AsyncSession, agent_id: int, ticket_id: int) -> None:
    """Before an action on ``ticket_id`` locks ``agent_id``: if a consult is open on the
    ticket, lock both agents now, the lower id first (the lock order of consult actions),
    so releasing the consulted agent later cannot deadlock with them."""
    partner = await session.scalar(
        select(Consult.to_agent_id).where(
            Consult.ticket_id == ticket_id,
            Consult.from_agent_id == agent_id,
            Consult.state.in_([s.value for s in CONSULT_OPEN]),
        )
    )
    if partner is not None:
        await _lock_agents(session, agent_id, partner)


async def end_with_ticket(
    session: AsyncSession, out: Outbox, ticket_id: int, actor: str, reason: str
) -> None:
    """The session the consult is about ended (completed, transferred, abandoned): any
    open consult on it is cancelled and the consulted agent is ready again."""
    rows = list(
        await session.scalars(
            select(Consult)
            .where(
                Consult.ticket_id == ticket_id,
                Consult.state.in_([s.value for s in CONSULT_OPEN]),
            )
            .with_for_update(key_share=True)
        )
    )
    now = utcnow()
    for consult in rows:
        # Normally locked already by lock_partner_first (a consult started between that
        # peek and now is locked here, out of order; PostgreSQL may then abort one of two
        # such transactions as a deadlock, and nothing is half-written).
        target = await qa.lock_agent(session, consult.to_agent_id)
        await _close(session, out, consult, ConsultState.CANCELLED, target, now, reason)
        await _publish(session, out, consult, actor)


# Actions ---------------------------------------------------------------------------------
async def _lock_agents(session: AsyncSession, *ids: int) -> dict[int, AgentStatus | None]:
    """Lock agent rows, the lowest id first (the house order for two agents)."""
    return {i: await qa.lock_agent(session, i) for i in sorted(set(ids))}


async def _consult_view(session: AsyncSession, c: Consult) -> ConsultView:
    ticket = await session.get(Ticket, c.ticket_id)
    assert ticket is not None  # tickets are never deleted
    ids = [c.from_agent_id, c.to_agent_id]
    names = {
        user_id: name
        for user_id, name in await session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids))
        )
    }
    return ConsultView(
        id=c.id,
        state=c.state,
        note=c.note,
        ticket=await ticket_view(session, ticket),
        from_agent=AgentRef(id=c.from_agent_id, display_name=names.get(c.from_agent_id, "")),
        to_agent=AgentRef(id=c.to_agent_id, display_name=names.get(c.to_agent_id, "")),
        created_at=c.created_at,
        expires_at=c.expires_at,
        ring_seconds=round((c.expires_at - c.created_at).total_seconds()),
        answered_at=c.answered_at,
        ended_at=c.ended_at,
        end_reason=c.end_reason,
    )


async def _publish(session: AsyncSession, out: Outbox, consult: Consult, actor: str) -> ConsultView:
    """Record the consult's move in the ticket's log and tell both agents
    (``consult.updated``, durable: replayed after a reconnect)."""
    ticket = await session.get(Ticket, consult.ticket_id)
    if ticket is not None:
        session.add(
            TicketLog(
                ticket_id=ticket.id,
                from_state=ticket.state,
                to_state=ticket.state,
                actor=actor,
                note=f"consult {consult.id} with agent {consult.to_agent_id}: {consult.state}",
            )
        )
    view = await _consult_view(session, consult)
    data = {"consult": view.model_dump(mode="json")}
    for user_id in (consult.from_agent_id, consult.to_agent_id):
        out.emit(f"user:{user_id}", "consult.updated", data)
    return view


async def _close(
    session: AsyncSession,
    out: Outbox,
    consult: Consult,
    target: ConsultState,
    status: AgentStatus | None,
    now: datetime,
    reason: str,
) -> None:
    """End a consult and settle the consulted agent: ready again (keeping their place in
    the idle order when they never answered), or not-ready when it rang out."""
    check_consult_move(consult.state, target)
    was_ringing = consult.state == ConsultState.RINGING
    consult.state, consult.ended_at, consult.end_reason = target.value, now, reason[:40]
    if status is None or status.state not in AGENT_IN_CONSULT:
        return
    if target == ConsultState.RANG_OUT:
        qa.move_agent(session, status, AgentState.NOT_READY, NotReadyReason.MISSED_OFFER.value, now)
    else:
        idle = status.idle_since
        qa.move_agent(session, status, AgentState.READY, now=now)
        if was_ringing:
            status.idle_since = idle
    await qa._notify_agent(session, out, status)


async def _open_consult(session: AsyncSession, principal: Principal, consult_id: int) -> Consult:
    """The caller's open consult (as A or B), its agents and then its row locked."""
    if "agent" not in principal.roles:
        raise not_an_agent()
    peek = await session.get(Consult, consult_id)
    if peek is None or principal.id not in (peek.from_agent_id, peek.to_agent_id):
        raise ConsultNotFound({"consult_id": consult_id})
    await _lock_agents(session, peek.from_agent_id, peek.to_agent_id)
    consult = await session.scalar(
        select(Consult)
        .where(Consult.id == consult_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    assert consult is not None  # consults are never deleted
    return consult


async def do_start_consult(
    services: Services, principal: Principal, body: ConsultStart
) -> ConsultView:
    """A asks B: B's desk rings with A's note; the citizen stays with A."""
    if "agent" not in principal.roles:
        raise not_an_agent()
    if body.agent_id == principal.id:
        raise consult_target_unavailable(body.agent_id)
    async with unit_of_work(services) as (session, out):
        locked = await _lock_agents(session, principal.id, body.agent_id)
        me, target = locked[principal.id], locked[body.agent_id]
        if me is None or me.state != AgentState.IN_SESSION or me.ticket_id != body.ticket_id:
            raise TicketNotFound({"ticket_id": body.ticket_id})
        if target is None or target.state != AgentState.READY:
            raise consult_target_unavailable(body.agent_id)
        ticket = await qa.lock_ticket(session, body.ticket_id)
        if (
            ticket is None
            or ticket.state != TicketState.IN_SESSION
            or ticket.agent_id != me.user_id
        ):
            raise TicketNotFound({"ticket_id": body.ticket_id})
        open_id = await session.scalar(
            select(Consult.id).where(
                Consult.ticket_id == ticket.id,
                Consult.state.in_([s.value for s in CONSULT_OPEN]),
            )
        )
        if open_id is not None:
            raise consult_already_open(open_id)
        now = utcnow()
        consult = Consult(
            ticket_id=ticket.id,
            from_agent_id=principal.id,
            to_agent_id=target.user_id,
            state=ConsultState.RINGING.value,
            note=body.note,
            created_at=now,
            expires_at=now + timedelta(seconds=services.settings.offer_ring_seconds),
        )
        session.add(consult)
        await session.flush()
        qa.move_agent(session, target, AgentState.CONSULT_OFFERED, now=now)
        target.ticket_id = ticket.id
        view = await _publish(session, out, consult, principal.ident)
        out.emit(
            f"user:{target.user_id}", "consult.offer", {"consult": view.model_dump(mode="json")}
        )
        await qa._notify_agent(session, out, target)
    return view


async def do_accept_consult(
    services: Services, principal: Principal, consult_id: int
) -> ConsultView:
    async with unit_of_work(services) as (session, out):
        consult = await _open_consult(session, principal, consult_id)
        status = await session.get(AgentStatus, principal.id)
        now = utcnow()
        if (
            consult.to_agent_id != principal.id
            or consult.state != ConsultState.RINGING
            or consult.expires_at < now
            or status is None
            or status.state != AgentState.CONSULT_OFFERED
        ):
            raise ConsultNotFound({"consult_id": consult_id, "state": consult.state})
        check_consult_move(consult.state, ConsultState.ACCEPTED)
        consult.state, consult.answered_at = ConsultState.ACCEPTED.value, now
        qa.move_agent(session, status, AgentState.CONSULTING, now=now)
        await qa._notify_agent(session, out, status)
        return await _publish(session, out, consult, principal.ident)


async def do_decline_consult(
    services: Services, principal: Principal, consult_id: int
) -> ConsultView:
    async with unit_of_work(services) as (session, out):
        consult = await _open_consult(session, principal, consult_id)
        if consult.to_agent_id != principal.id or consult.state != ConsultState.RINGING:
            raise ConsultNotFound({"consult_id": consult_id, "state": consult.state})
        status = await session.get(AgentStatus, principal.id)
        await _close(session, out, consult, ConsultState.DECLINED, status, utcnow(), "declined")
        return await _publish(session, out, consult, principal.ident)


async def do_cancel_consult(
    services: Services, principal: Principal, consult_id: int
) -> ConsultView:
    """A withdraws the request or ends the consult; B may leave a consult it accepted
    (a ringing one B declines instead)."""
    async with unit_of_work(services) as (session, out):
        consult = await _open_consult(session, principal, consult_id)
        by_target = principal.id == consult.to_agent_id
        if consult.state not in CONSULT_OPEN or (
            by_target and consult.state != ConsultState.ACCEPTED
        ):
            raise ConsultNotFound({"consult_id": consult_id, "state": consult.state})
        status = await session.get(AgentStatus, consult.to_agent_id)
        reason = "left by consulted agent" if by_target else "cancelled"
        await _close(session, out, consult, ConsultState.CANCELLED, status, utcnow(), reason)
        return await _publish(session, out, consult, principal.ident)


async def do_complete_consult(
    services: Services, principal: Principal, consult_id: int
) -> AgentStateView:
    """A hands the citizen to B: the ticket stays in session, now with B; A wraps up."""
    async with unit_of_work(services) as (session, out):
        consult = await _open_consult(session, principal, consult_id)
        if consult.from_agent_id != principal.id or consult.state != ConsultState.ACCEPTED:
            raise ConsultNotFound({"consult_id": consult_id, "state": consult.state})
        me = await session.get(AgentStatus, consult.from_agent_id)
        target = await session.get(AgentStatus, consult.to_agent_id)
        ticket = await qa.lock_ticket(session, consult.ticket_id)
        if (
            me is None
            or target is None
            or ticket is None
            or ticket.state != TicketState.IN_SESSION
            or ticket.agent_id != principal.id
            or target.state != AgentState.CONSULTING
        ):
            raise ConsultNotFound({"consult_id": consult_id})
        now = utcnow()
        check_consult_move(consult.state, ConsultState.COMPLETED)
        consult.state, consult.ended_at, consult.end_reason = (
            ConsultState.COMPLETED.value,
            now,
            "transferred",
        )
        qa.move_ticket(
            session,
            ticket,
            TicketState.IN_SESSION,
            principal.ident,
            f"consult {consult.id}: handed to agent {target.user_id}",
        )
        ticket.agent_id = target.user_id
        # The call moves with the citizen: A's media session closes, one with B opens
        # (both ends are told; the kiosk's page joins the new call).
        await media.open_for_ticket(
            services, session, out, ticket, Principal("user", target.user_id, "")
        )
        qa.move_agent(session, target, AgentState.IN_SESSION, now=now)
        target.ticket_id = ticket.id
        group = await session.get(SkillGroup, ticket.skill_group_code)
        qa.move_agent(session, me, AgentState.WRAP_UP, now=now)
        me.ticket_id = ticket.id
        me.wrap_up_until = now + timedelta(seconds=group.wrap_up_seconds if group else 30)
        await qa._notify_ticket(session, out, ticket)
        await qa._notify_agent(session, out, target)
        await qa._notify_agent(session, out, me)
        await _publish(session, out, consult, principal.ident)
        view = await agent_view(session, me)
    services.signals.queue_changed([ticket.skill_group_code])
    return view


async def do_sweep_consults(services: Services) -> None:
    """Consults that rang out: A is told, B goes not-ready (missed), each in its own
    transaction, skipping rows another transaction holds (the next tick decides)."""
    now = utcnow()
    async with services.db.read() as session:
        due = (
            await session.execute(
                select(Consult.id, Consult.from_agent_id, Consult.to_agent_id).where(
                    Consult.state == ConsultState.RINGING.value, Consult.expires_at < now
                )
            )
        ).all()
    changed = False
    for consult_id, from_id, to_id in due:
        async with unit_of_work(services) as (session, out):
            locked = {}
            for user_id in sorted({from_id, to_id}):
                locked[user_id] = await qa.lock_agent(session, user_id, skip_locked=True)
                if locked[user_id] is None:
                    break
            else:
                consult = await session.scalar(
                    select(Consult)
                    .where(Consult.id == consult_id)
                    .with_for_update(key_share=True, skip_locked=True)
                    .execution_options(populate_existing=True)
                )
                if consult is None or consult.state != ConsultState.RINGING:
                    continue
                if consult.expires_at >= now:
                    continue
                await _close(
                    session, out, consult, ConsultState.RANG_OUT, locked[to_id], now, "rang out"
                )
                await _publish(session, out, consult, "system")
                changed = True
    if changed:
        services.signals.queue_changed()


# Reads -----------------------------------------------------------------------------------
async def get_open_consult(services: Services, principal: Principal) -> ConsultView | None:
    """The consult the caller is in (as A or B), to rebuild the desk after a reload."""
    async with services.db.read() as session:
        consult = await session.scalar(
            select(Consult)
            .where(
                (Consult.from_agent_id == principal.id) | (Consult.to_agent_id == principal.id),
                Consult.state.in_([s.value for s in CONSULT_OPEN]),
            )
            .order_by(Consult.id.desc())
            .limit(1)
        )
        return await _consult_view(session, consult) if consult else None


async def get_candidates(services: Services, principal: Principal) -> list[ConsultCandidate]:
    """Ready colleagues the caller may consult, with their skill groups."""
    async with services.db.read() as session:
        rows = (
            await session.execute(
                select(User.id, User.display_name)
                .join(AgentStatus, AgentStatus.user_id == User.id)
                .where(AgentStatus.state == AgentState.READY.value, User.id != principal.id)
                .order_by(User.display_name, User.id)
                .limit(200)
            )
        ).all()
        skills: dict[int, list[str]] = {user_id: [] for user_id, _ in rows}
        for user_id, group in await session.execute(
            select(AgentSkill.user_id, AgentSkill.skill_group_code)
            .where(AgentSkill.user_id.in_(list(skills)))
            .order_by(AgentSkill.skill_group_code)
        ):
            skills[user_id].append(group)
    return [ConsultCandidate(id=i, display_name=n, skill_groups=skills[i]) for i, n in rows]
