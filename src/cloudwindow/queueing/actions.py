"""Every write of the live queue, one transaction each, events after commit.

Decisions come from ``rules`` (routing) and ``states`` (allowed moves); this module
loads rows with row locks, applies the decision and records it. On PostgreSQL the
matcher locks candidate rows with ``FOR UPDATE SKIP LOCKED``, so two nodes matching at
the same moment never hand one agent two tickets or one ticket to two agents; on SQLite
(one node) the database serialises writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    column,
    func,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow import refcache
from cloudwindow.accounts.principal import Principal
from cloudwindow.catalog.models import SkillGroup
from cloudwindow.crud import check_ref
from cloudwindow.db import utcnow
from cloudwindow.media import actions as media
from cloudwindow.media.budget import split_held
from cloudwindow.media.caps import held_sites
from cloudwindow.queueing import appointments, consult, policy, rules
from cloudwindow.queueing.errors import (
    OfferNotFound,
    TicketAlreadyActive,
    TicketNotFound,
    item_not_on_cloud,
    not_an_agent,
    outside_hours,
    transfer_target_unavailable,
)
from cloudwindow.queueing.hours import (
    group_workday,
    is_open,
    next_opening,
    official_workday,
    parse_hours,
)
from cloudwindow.queueing.models import AgentStateLog, AgentStatus, Ticket, TicketLog
from cloudwindow.queueing.queries import agent_view, ticket_view
from cloudwindow.queueing.schemas import (
    AgentStateView,
    SetAgentState,
    TakeTicket,
    TicketView,
    Transfer,
)
from cloudwindow.queueing.states import (
    TICKET_WAITING,
    AgentState,
    NotReadyReason,
    TicketState,
    check_agent_move,
    check_ticket_move,
)
from cloudwindow.realtime.models import Presence
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services

SUPERVISORS = "role:supervisor"

# The hot actions' row changes (ticket, agents, the call) and history rows are written
# with their events in one batch at the end of the transaction (db.DeferredWrites): one
# round trip on PostgreSQL instead of one per row. These actions lock every row they
# change before changing it and read nothing back through SQL that they changed.
HOT = (
    frozenset({"tickets", "agent_status", "media_sessions"}),
    frozenset({"ticket_log", "agent_state_log"}),
)


def _epoch(at: datetime) -> float:
    return at.timestamp()


def move_ticket(
    session: AsyncSession, ticket: Ticket, target: TicketState, actor: str, note: str = ""
) -> None:
    check_ticket_move(ticket.state, target)
    session.add(
        TicketLog(
            ticket_id=ticket.id,
            from_state=ticket.state,
            to_state=target.value,
            actor=actor,
            note=note[:200],
        )
    )
    ticket.state = target.value


def move_agent(
    session: AsyncSession,
    status: AgentStatus,
    target: AgentState,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    """Change an agent's state, closing the previous state's log row (time in state)."""
    check_agent_move(status.state, target)
    now = now or utcnow()
    session.add(
        AgentStateLog(
            user_id=status.user_id,
            state=status.state,
            reason=status.reason,
            started_at=status.since,
            ended_at=now,
        )
    )
    if target == AgentState.READY and status.state != AgentState.READY:
        status.idle_since = now
    status.state, status.reason, status.since = target.value, reason, now
    if target in (AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE):
        status.ticket_id = None
        status.wrap_up_until = None


# Locking (PostgreSQL; SQLite serialises writers and ignores these clauses):
# - always the agent's row before the ticket's row, in every action, so two transactions
#   never wait on each other in opposite orders (no deadlocks);
# - FOR NO KEY UPDATE, not FOR UPDATE: we never change keys, and the weaker lock does not
#   conflict with the KEY SHARE locks that inserting ticket_log / agent_state_log rows
#   takes on the rows they reference;
# - populate_existing, so a row read earlier in the transaction is re-read once locked.
# Built once (with named parameters): building a statement and its cache key anew on every
# call costs more CPU than the round trip.
def _lock_one(entity: type[AgentStatus] | type[Ticket], key: str) -> dict[bool, Any]:
    """``SELECT … WHERE <key> = :<key> FOR NO KEY UPDATE [SKIP LOCKED]``, by skip_locked."""
    return {
        skip: select(entity)
        .where(getattr(entity, key) == bindparam(key))
        .with_for_update(key_share=True, skip_locked=skip)
        .execution_options(populate_existing=True)
        for skip in (False, True)
    }


_LOCK_AGENT = _lock_one(AgentStatus, "user_id")
_LOCK_TICKET = _lock_one(Ticket, "id")
_LOCK_DESK = (
    select(AgentStatus, Ticket)
    .join_from(AgentStatus, Ticket, Ticket.agent_id == AgentStatus.user_id)
    .where(AgentStatus.user_id == bindparam("user_id"), Ticket.id == bindparam("ticket_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


async def lock_agent(
    session: AsyncSession, user_id: int, *, skip_locked: bool = False
) -> AgentStatus | None:
    return cast(
        AgentStatus | None,
        await session.scalar(_LOCK_AGENT[skip_locked], {"user_id": user_id}),
    )


async def lock_ticket(
    session: AsyncSession, ticket_id: int, *, skip_locked: bool = False
) -> Ticket | None:
    return cast(Ticket | None, await session.scalar(_LOCK_TICKET[skip_locked], {"id": ticket_id}))


async def _notify_ticket(session: AsyncSession, out: Outbox, ticket: Ticket) -> TicketView:
    view = await ticket_view(session, ticket)
    out.emit(ticket.owner, "ticket.updated", {"ticket": view.model_dump(mode="json")})
    return view


async def _notify_agent(session: AsyncSession, out: Outbox, status: AgentStatus) -> None:
    view = await agent_view(session, status)
    out.emit(f"user:{status.user_id}", "agent.state", view.model_dump(mode="json"))
    out.emit(
        SUPERVISORS,
        "agent.state",
        {"user_id": status.user_id, **view.model_dump(mode="json", exclude={"ticket"})},
        durable=False,
    )


# Tickets ---------------------------------------------------------------------------------
async def do_take_ticket(services: Services, principal: Principal, body: TakeTicket) -> TicketView:
    """取号: a kiosk (or a signed-in citizen) joins the queue for one service item."""
    async with unit_of_work(services, deferred=HOT) as (session, out):
        # One read for both checks: a resend of the same request (idempotency key), or
        # another ticket this kiosk is still waiting on or being served for.
        mine: ColumnElement[bool] = Ticket.state.in_(
            [s.value for s in TICKET_WAITING | {TicketState.IN_SESSION}]
        )
        if body.request_id is not None:
            mine = or_(mine, Ticket.client_request_id == body.request_id)
        found = list(
            await session.scalars(
                select(Ticket).where(Ticket.owner == principal.ident, mine).limit(2)
            )
        )
        for again in found:
            if body.request_id is not None and again.client_request_id == body.request_id:
                return await ticket_view(session, again)
        if found:
            raise TicketAlreadyActive(found[0].id, found[0].number)
        appointment = await appointments.check_for_ticket(session, services.settings, body)
        item = await refcache.item(session, body.service_item_code)
        if item is None or not item.active:
            raise TicketNotFound() if item is None else item_not_on_cloud(item.code)
        if not item.cloud_enabled:
            raise item_not_on_cloud(item.code)
        group = await refcache.group(session, item.skill_group_code)
        hours = parse_hours(group.business_hours if group else None)
        workday = group_workday(group.open_days, group.closed_days) if group else official_workday
        now = utcnow()
        if not is_open(now, hours, workday):
            opening = next_opening(now, hours, workday)
            raise outside_hours(item.skill_group_code, opening.isoformat() if opening else None)
        terminal = (
            await refcache.terminal(session, principal.id) if principal.kind == "device" else None
        )
        rank = policy.RANK[body.priority]
        rings = policy.build_rings(
            await refcache.home_centres(session, item.department_code),
            services.settings.routing_overflow_seconds,
        )
        ticket = Ticket(
            number="",
            service_item_code=item.code,
            skill_group_code=item.skill_group_code,
            owner=principal.ident,
            client_request_id=body.request_id,
            source="kiosk" if terminal else "web",
            terminal_id=terminal.id if terminal else None,
            site_id=terminal.site_id if terminal else None,
            rank=rank,
            priority=body.priority.value,
            state=TicketState.QUEUED.value,
            rings=policy.rings_to_json(rings),
            excluded_agents=[],
        )
        session.add(ticket)
        await session.flush()
        ticket.number = policy.ticket_number(rank, ticket.id)
        appointments.redeemed(appointment, ticket)
        session.add(
            TicketLog(ticket_id=ticket.id, from_state="", to_state="queued", actor=principal.ident)
        )
        view = await _notify_ticket(session, out, ticket)
    services.signals.queue_changed([ticket.skill_group_code])
    return view


async def _own_ticket(session: AsyncSession, principal: Principal, ticket_id: int) -> Ticket:
    """The caller's ticket, locked (after its agent's row, if one is ringing)."""
    peek = await session.get(Ticket, ticket_id)
    if peek is None or peek.owner != principal.ident:
        raise TicketNotFound({"ticket_id": ticket_id})
    if peek.agent_id is not None:
        await lock_agent(session, peek.agent_id)
    ticket = await lock_ticket(session, ticket_id)
    assert ticket is not None  # tickets are never deleted
    if ticket.agent_id not in (None, peek.agent_id):
        # Offered to someone else between the peek and the lock (rare): lock that agent
        # too. Out of order, so PostgreSQL may abort one of two such transactions as a
        # deadlock; the caller then gets an error and nothing is half-written.
        await lock_agent(session, ticket.agent_id)
    return ticket


async def _release_agent(session: AsyncSession, out: Outbox, ticket: Ticket, now: datetime) -> None:
    """The offered ticket went away: the ringing agent is ready again, keeping its place
    (its idle time is not reset, it did nothing wrong)."""
    if ticket.agent_id is None:
        return
    status = await session.get(AgentStatus, ticket.agent_id)  # locked by the caller
    if status is not None and status.state == AgentState.OFFERED and status.ticket_id == ticket.id:
        idle = status.idle_since
        move_agent(session, status, AgentState.READY, now=now)
        status.idle_since = idle
        await _notify_agent(session, out, status)
        out.emit(f"user:{status.user_id}", "offer.withdrawn", {"ticket_id": ticket.id})


async def do_cancel_ticket(services: Services, principal: Principal, ticket_id: int) -> TicketView:
    async with unit_of_work(services, deferred=HOT) as (session, out):
        ticket = await _own_ticket(session, principal, ticket_id)
        now = utcnow()
        if ticket.state == TicketState.OFFERED:
            await _release_agent(session, out, ticket, now)
        move_ticket(session, ticket, TicketState.CANCELLED, principal.ident)
        await media.close_for_ticket(session, out, ticket.id, "cancelled", principal.ident)
        ticket.ended_at = now
        view = await _notify_ticket(session, out, ticket)
    services.signals.queue_changed([ticket.skill_group_code])
    return view


async def mark_kiosks(session: AsyncSession, owners: list[str], *, connected: bool) -> None:
    """Kiosks whose last socket closed (or that came back): start (or stop) the grace
    period after which their waiting tickets count as abandoned. Runs in the presence
    writer's transaction (realtime/presence.py), one UPDATE per batch of kiosks."""
    waiting = [s.value for s in TICKET_WAITING]
    for start in range(0, len(owners), 1000):
        stmt = update(Ticket).where(
            Ticket.owner.in_(owners[start : start + 1000]), Ticket.state.in_(waiting)
        )
        if connected:
            stmt = stmt.where(Ticket.disconnected_at.is_not(None)).values(disconnected_at=None)
        else:
            stmt = stmt.values(disconnected_at=utcnow())
        await session.execute(stmt)


# Agents ----------------------------------------------------------------------------------
async def _status_for(session: AsyncSession, principal: Principal) -> AgentStatus:
    if "agent" not in principal.roles:
        raise not_an_agent()
    status = await lock_agent(session, principal.id)
    if status is None:
        status = AgentStatus(
            user_id=principal.id,
            state=AgentState.OFFLINE.value,
            reason="",
            since=utcnow(),
            idle_since=utcnow(),
        )
        session.add(status)
        await session.flush()
    return status


async def do_set_agent_state(
    services: Services, principal: Principal, body: SetAgentState
) -> AgentStateView:
    """Ready / not ready (with a reason) / offline, from the agent console."""
    target = AgentState(body.state)
    async with unit_of_work(services, deferred=HOT) as (session, out):
        status = await _status_for(session, principal)
        consult.refuse_while_in_consult(status)
        reason = (
            (body.reason or NotReadyReason.BREAK).value if target == AgentState.NOT_READY else ""
        )
        if status.state == target and status.reason == reason:
            return await agent_view(session, status)
        if status.state == AgentState.OFFERED and status.ticket_id is not None:
            # Leaving while a ticket rings (break, sign-off): the ticket goes back to its
            # place at once rather than waiting for the ring to time out.
            ringing = await lock_ticket(session, status.ticket_id)
            if (
                ringing is not None
                and ringing.state == TicketState.OFFERED
                and ringing.agent_id == principal.id
            ):
                await _return_to_queue(session, out, ringing, principal.ident, "agent left")
                out.emit(f"user:{principal.id}", "offer.withdrawn", {"ticket_id": ringing.id})
        move_agent(session, status, target, reason)
        if body.seat_id is not None:
            status.seat_id = body.seat_id
        await _notify_agent(session, out, status)
        view = await agent_view(session, status)
    services.signals.queue_changed()
    return view


async def _lock_desk(
    session: AsyncSession, principal: Principal, ticket_id: int
) -> tuple[AgentStatus, Ticket | None]:
    """The agent's row, then the ticket's, locked in one statement (one round trip) when
    the ticket is this agent's. The row locks are taken in the order of the FROM list,
    agent before ticket: the house order. Otherwise (a missing agent row, someone else's
    ticket) the two steps one by one, as before (``_status_for`` creates a missing agent
    row; the caller decides what a foreign ticket means)."""
    if "agent" not in principal.roles:
        raise not_an_agent()
    pair = (
        await session.execute(_LOCK_DESK, {"user_id": principal.id, "ticket_id": ticket_id})
    ).first()
    if pair is not None:
        return pair[0], pair[1]
    return await _status_for(session, principal), await lock_ticket(session, ticket_id)


async def _offered_ticket(
    session: AsyncSession, principal: Principal, ticket_id: int
) -> tuple[AgentStatus, Ticket]:
    status, ticket = await _lock_desk(session, principal, ticket_id)
    if (
        ticket is None
        or ticket.state != TicketState.OFFERED
        or ticket.agent_id != principal.id
        or status.state != AgentState.OFFERED
        or status.ticket_id != ticket_id
    ):
        raise OfferNotFound({"ticket_id": ticket_id})
    return status, ticket


async def do_accept_offer(
    services: Services, principal: Principal, ticket_id: int
) -> AgentStateView:
    async with unit_of_work(services, deferred=HOT) as (session, out):
        status, ticket = await _offered_ticket(session, principal, ticket_id)
        now = utcnow()
        if ticket.offer_expires_at is not None and ticket.offer_expires_at < now:
            raise OfferNotFound({"ticket_id": ticket_id, "reason": "expired"})
        move_ticket(session, ticket, TicketState.IN_SESSION, principal.ident)
        ticket.answered_at = now
        move_agent(session, status, AgentState.IN_SESSION, now=now)
        status.ticket_id = ticket.id
        await _notify_ticket(session, out, ticket)
        await _notify_agent(session, out, status)
        await media.open_for_ticket(services, session, out, ticket, principal)
        view = await agent_view(session, status)
    services.signals.queue_changed([ticket.skill_group_code], match=False)
    return view


async def _return_to_queue(
    session: AsyncSession, out: Outbox, ticket: Ticket, actor: str, note: str
) -> None:
    """Back in line at its original place, never again offered to the same agent."""
    if ticket.agent_id is not None and ticket.agent_id not in ticket.excluded_agents:
        ticket.excluded_agents = [*ticket.excluded_agents, ticket.agent_id]
    move_ticket(session, ticket, TicketState.QUEUED, actor, note)
    ticket.agent_id = None
    ticket.offered_at = ticket.offer_expires_at = None
    await _notify_ticket(session, out, ticket)


async def do_decline_offer(
    services: Services, principal: Principal, ticket_id: int
) -> AgentStateView:
    async with unit_of_work(services, deferred=HOT) as (session, out):
        status, ticket = await _offered_ticket(session, principal, ticket_id)
        await _return_to_queue(session, out, ticket, principal.ident, "declined")
        move_agent(session, status, AgentState.NOT_READY, NotReadyReason.DECLINED_OFFER.value)
        await _notify_agent(session, out, status)
        view = await agent_view(session, status)
    services.signals.queue_changed([ticket.skill_group_code])
    return view


async def do_end_session(
    services: Services, principal: Principal, ticket_id: int
) -> AgentStateView:
    """The agent ends the session: the ticket is completed, the agent wraps up."""
    async with unit_of_work(services, deferred=HOT) as (session, out):
        await consult.lock_partner_first(session, principal.id, ticket_id)
        status, ticket = await _lock_desk(session, principal, ticket_id)
        if ticket is None or ticket.agent_id != principal.id:
            raise TicketNotFound({"ticket_id": ticket_id})
        now = utcnow()
        move_ticket(session, ticket, TicketState.COMPLETED, principal.ident)
        ticket.ended_at = now  # before the next query autoflushes: one UPDATE, not two
        await consult.end_with_ticket(session, out, ticket.id, principal.ident, "session ended")
        await media.close_for_ticket(session, out, ticket.id, "ended", principal.ident)
        group = await refcache.group(session, ticket.skill_group_code)
        wrap_up = group.wrap_up_seconds if group else 30
        move_agent(session, status, AgentState.WRAP_UP, now=now)
        status.ticket_id = ticket.id
        status.wrap_up_until = now + timedelta(seconds=wrap_up)
        if wrap_up <= 0:
            # No wrap-up in this group: ready at once, in the same transaction (the
            # zero-length wrap-up is still logged), so the next ticket can be offered
            # without another round trip.
            move_agent(session, status, AgentState.READY, now=now)
        await _notify_ticket(session, out, ticket)
        await _notify_agent(session, out, status)
        view = await agent_view(session, status)
    services.signals.queue_changed([ticket.skill_group_code])
    return view


async def do_transfer(services: Services, principal: Principal, body: Transfer) -> AgentStateView:
    """Blind transfer (转接): the citizen goes back in line at their original place for
    another skill group, or straight to one ready agent; the transferring agent wraps up.
    """
    async with unit_of_work(services) as (session, out):
        await consult.lock_partner_first(session, principal.id, body.ticket_id)
        status = await _status_for(session, principal)
        target = None
        if body.agent_id is not None:
            if body.agent_id == principal.id:
                raise transfer_target_unavailable(body.agent_id)
            # A second agent row: locked before the ticket, as everywhere.
            target = await lock_agent(session, body.agent_id)
            if target is None or target.state != AgentState.READY:
                raise transfer_target_unavailable(body.agent_id)
        ticket = await lock_ticket(session, body.ticket_id)
        if ticket is None or ticket.agent_id != principal.id or status.ticket_id != ticket.id:
            raise TicketNotFound({"ticket_id": body.ticket_id})
        old_group = ticket.skill_group_code
        now = utcnow()
        if body.skill_group_code is not None:
            await check_ref(
                session,
                SkillGroup,
                body.skill_group_code,
                "skill_group_code",
                "Skill group",
                "技能组",
            )
            ticket.skill_group_code = body.skill_group_code
            ticket.rings = policy.rings_to_json([rules.RingStep(0.0, None)])
        move_ticket(
            session,
            ticket,
            TicketState.QUEUED,
            principal.ident,
            f"transfer to {body.skill_group_code or f'agent {body.agent_id}'}",
        )
        ticket.excluded_agents = [*ticket.excluded_agents, principal.id]
        await consult.end_with_ticket(session, out, ticket.id, principal.ident, "transferred")
        await media.close_for_ticket(session, out, ticket.id, "transferred", principal.ident)
        ticket.agent_id, ticket.answered_at = None, None
        if target is not None:
            expires = now + timedelta(seconds=services.settings.offer_ring_seconds)
            move_ticket(session, ticket, TicketState.OFFERED, principal.ident, "transfer")
            ticket.agent_id, ticket.offered_at, ticket.offer_expires_at = (
                target.user_id,
                now,
                expires,
            )
            move_agent(session, target, AgentState.OFFERED, now=now)
            target.ticket_id = ticket.id
        view = await _notify_ticket(session, out, ticket)
        if target is not None:
            out.emit(
                f"user:{target.user_id}",
                "offer",
                {
                    "ticket": view.model_dump(mode="json"),
                    "expires_at": ticket.offer_expires_at.isoformat()
                    if ticket.offer_expires_at
                    else None,
                    "ring_seconds": services.settings.offer_ring_seconds,
                    "transferred_by": principal.name,
                },
            )
            await _notify_agent(session, out, target)
        group = await refcache.group(session, old_group)
        move_agent(session, status, AgentState.WRAP_UP, now=now)
        status.ticket_id = ticket.id
        status.wrap_up_until = now + timedelta(seconds=group.wrap_up_seconds if group else 30)
        await _notify_agent(session, out, status)
        result = await agent_view(session, status)
    services.signals.queue_changed({old_group, ticket.skill_group_code})
    return result


async def do_finish_wrap_up(services: Services, principal: Principal) -> AgentStateView:
    async with unit_of_work(services, deferred=HOT) as (session, out):
        status = await _status_for(session, principal)
        if status.state != AgentState.WRAP_UP:
            # The wrap-up timer already made the agent ready (and maybe an offer is
            # ringing): a late click must not cancel that offer.
            return await agent_view(session, status)
        move_agent(session, status, AgentState.READY)
        await _notify_agent(session, out, status)
        view = await agent_view(session, status)
    services.signals.queue_changed()
    return view


# Matching and timers ---------------------------------------------------------------------
async def do_match(services: Services, max_tickets: int = 2000) -> int:
    """Offer waiting tickets to ready agents (rules.route); returns offers made."""
    async with unit_of_work(services, deferred=HOT) as (session, out):
        now = utcnow()
        statuses = list(
            await session.scalars(
                select(AgentStatus).where(AgentStatus.state == AgentState.READY.value)
            )
        )
        if not statuses:
            return 0
        agents = await refcache.agents(session, [s.user_id for s in statuses])
        statuses = [s for s in statuses if s.user_id in agents]
        groups = set().union(*(a.skills for a in agents.values()))
        if not groups:
            return 0
        # Only the head of each group's queue can be matched this round: as many
        # tickets as there are ready agents, plus slack for tickets that some agents are
        # excluded from or whose rings are not open yet.
        per_group = len(statuses) + 20
        head = (
            select(
                Ticket.id,
                func.row_number()
                .over(
                    partition_by=Ticket.skill_group_code,
                    order_by=(Ticket.rank, Ticket.enqueued_at, Ticket.id),
                )
                .label("place"),
            )
            .where(Ticket.state == TicketState.QUEUED.value, Ticket.skill_group_code.in_(groups))
            .subquery()
        )
        tickets = list(
            await session.scalars(
                select(Ticket)
                .join(head, head.c.id == Ticket.id)
                .where(head.c.place <= per_group)
                .order_by(Ticket.rank, Ticket.enqueued_at, Ticket.id)
                .limit(max_tickets)
            )
        )
        if services.settings.media_admission_enabled:
            # Admission (site bandwidth budget): a call more at a saturated site would push
            # every call there below the quality floor, so its tickets wait (their kiosks
            # are told why, see engine.push_positions) and its agents are not offered.
            held = await held_sites(session, services.settings)
            if held:
                tickets, _ = split_held(tickets, lambda t: t.site_id, held)
                statuses, _ = split_held(statuses, lambda s: agents[s.user_id].home_site_id, held)
        if not tickets or not statuses:
            return 0
        by_id = {t.id: t for t in tickets}
        decisions = rules.route(
            [
                rules.WaitingTicket(
                    t.id,
                    t.skill_group_code,
                    t.rank,
                    _epoch(t.enqueued_at),
                    policy.rings_from_json(t.rings),
                    frozenset(t.excluded_agents),
                )
                for t in tickets
            ],
            [
                rules.ReadyAgent(
                    s.user_id,
                    agents[s.user_id].skills,
                    agents[s.user_id].home_site_id,
                    _epoch(s.idle_since),
                )
                for s in statuses
            ],
            _epoch(now),
        )
        if not decisions:
            return 0
        # Candidates were read unlocked, so the chosen pairs are now locked (one
        # statement; SKIP LOCKED never waits, so it cannot deadlock) and re-checked. A
        # pair another node holds or has just changed is left for the next round.
        locked_agents, locked_tickets = await _lock_pairs(session, decisions)
        expires = now + timedelta(seconds=services.settings.offer_ring_seconds)
        made = 0
        for decision in decisions:
            status = locked_agents.get(decision.agent_id)
            ticket = locked_tickets.get(decision.ticket_id)
            if (
                status is None
                or status.state != AgentState.READY
                or ticket is None
                or ticket.state != TicketState.QUEUED
            ):
                continue
            made += 1
            move_ticket(session, ticket, TicketState.OFFERED, "router")
            ticket.agent_id, ticket.offered_at, ticket.offer_expires_at = (
                status.user_id,
                now,
                expires,
            )
            move_agent(session, status, AgentState.OFFERED, now=now)
            status.ticket_id = ticket.id
            view = await _notify_ticket(session, out, ticket)
            out.emit(
                f"user:{status.user_id}",
                "offer",
                {
                    "ticket": view.model_dump(mode="json"),
                    "expires_at": expires.isoformat(),
                    "ring_seconds": services.settings.offer_ring_seconds,
                },
            )
            await _notify_agent(session, out, status)
    if made:
        services.signals.queue_changed(
            {by_id[d.ticket_id].skill_group_code for d in decisions}, match=False
        )
    return made


async def _lock_pairs(
    session: AsyncSession, decisions: list[rules.Assignment]
) -> tuple[dict[int, AgentStatus], dict[int, Ticket]]:
    """The matcher's chosen (agent, ticket) pairs, locked skipping rows held elsewhere.
    PostgreSQL: one statement over the pairs (a VALUES list), each pair's agent row
    locked before its ticket row (the order of ``OF``). SQLite serialises writers and has
    no row locks: the rows are just read."""
    agent_ids = [d.agent_id for d in decisions]
    ticket_ids = [d.ticket_id for d in decisions]
    if session.get_bind().dialect.name != "postgresql":
        agents = await session.scalars(
            select(AgentStatus)
            .where(AgentStatus.user_id.in_(agent_ids))
            .execution_options(populate_existing=True)
        )
        tickets = await session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(ticket_ids))
            .execution_options(populate_existing=True)
        )
        return {s.user_id: s for s in agents}, {t.id: t for t in tickets}
    pairs = values(column("agent_id", Integer), column("ticket_id", Integer), name="pairs").data(
        list(zip(agent_ids, ticket_ids, strict=True))
    )
    locked_agents: dict[int, AgentStatus] = {}
    locked_tickets: dict[int, Ticket] = {}
    for status, ticket in await session.execute(
        select(AgentStatus, Ticket)
        .select_from(pairs)
        .join(AgentStatus, AgentStatus.user_id == pairs.c.agent_id)
        .join(Ticket, Ticket.id == pairs.c.ticket_id)
        .with_for_update(of=[AgentStatus, Ticket], key_share=True, skip_locked=True)
        .execution_options(populate_existing=True)
    ):
        locked_agents[status.user_id] = status
        locked_tickets[ticket.id] = ticket
    return locked_agents, locked_tickets


async def do_sweep(services: Services) -> None:
    """Timers: offers that rang out, wrap-ups that ended, kiosks that never came back.

    Candidates are read first; each is then settled in its own short transaction with its
    own locks (agent before ticket, skipping rows another transaction holds), so the
    sweeper never holds many locks at once or blocks the people it is sweeping after."""
    now = utcnow()
    grace = now - timedelta(seconds=services.settings.disconnect_grace_seconds)
    async with services.db.read() as session:
        expired = (
            await session.execute(
                select(Ticket.id, Ticket.agent_id).where(
                    Ticket.state == TicketState.OFFERED.value, Ticket.offer_expires_at < now
                )
            )
        ).all()
        wrapped = list(
            await session.scalars(
                select(AgentStatus.user_id).where(
                    AgentStatus.state == AgentState.WRAP_UP.value, AgentStatus.wrap_up_until < now
                )
            )
        )
        gone = (
            await session.execute(
                select(Ticket.id, Ticket.agent_id).where(
                    Ticket.state.in_([s.value for s in TICKET_WAITING]),
                    Ticket.disconnected_at < grace,
                )
            )
        ).all()
    changed: set[str] = set()
    for ticket_id, agent_id in expired:
        changed |= await _expire_offer(services, ticket_id, agent_id, now)
    for user_id in wrapped:
        await _end_wrap_up(services, user_id, now)
    for ticket_id, agent_id in gone:
        changed |= await _abandon(services, ticket_id, agent_id, now, grace)
    if changed or wrapped:
        services.signals.queue_changed(changed)


async def _expire_offer(
    services: Services, ticket_id: int, agent_id: int | None, now: datetime
) -> set[str]:
    async with unit_of_work(services) as (session, out):
        status = None
        if agent_id is not None:
            status = await lock_agent(session, agent_id, skip_locked=True)
            if status is None:
                return set()  # busy (accepting right now?): the next tick decides
        ticket = await lock_ticket(session, ticket_id, skip_locked=True)
        if (
            ticket is None
            or ticket.state != TicketState.OFFERED
            or ticket.offer_expires_at is None
            or ticket.offer_expires_at >= now
        ):
            return set()
        await _return_to_queue(session, out, ticket, "system", "offer rang out")
        if (
            status is not None
            and status.state == AgentState.OFFERED
            and status.ticket_id == ticket.id
        ):
            move_agent(
                session, status, AgentState.NOT_READY, NotReadyReason.MISSED_OFFER.value, now
            )
            await _notify_agent(session, out, status)
        return {ticket.skill_group_code}


async def _end_wrap_up(services: Services, user_id: int, now: datetime) -> None:
    async with unit_of_work(services) as (session, out):
        status = await lock_agent(session, user_id, skip_locked=True)
        if (
            status is None
            or status.state != AgentState.WRAP_UP
            or status.wrap_up_until is None
            or status.wrap_up_until >= now
        ):
            return
        move_agent(session, status, AgentState.READY, now=now)
        await _notify_agent(session, out, status)


async def _abandon(
    services: Services, ticket_id: int, agent_id: int | None, now: datetime, grace: datetime
) -> set[str]:
    async with unit_of_work(services) as (session, out):
        if agent_id is not None and await lock_agent(session, agent_id, skip_locked=True) is None:
            return set()
        ticket = await lock_ticket(session, ticket_id, skip_locked=True)
        if (
            ticket is None
            or ticket.state not in TICKET_WAITING
            or ticket.disconnected_at is None
            or ticket.disconnected_at >= grace
        ):
            return set()
        cutoff = now - timedelta(seconds=services.settings.presence_timeout_seconds)
        if services.hub.has_local(ticket.owner) or await session.scalar(
            select(Presence.node)
            .where(Presence.principal == ticket.owner, Presence.last_seen >= cutoff)
            .limit(1)
        ):
            # Back already: a reconnect to another node can land before the old socket's
            # disconnect is recorded. Presence is the truth; the countdown stops.
            ticket.disconnected_at = None
            return set()
        if ticket.state == TicketState.OFFERED:
            await _release_agent(session, out, ticket, now)
        move_ticket(session, ticket, TicketState.ABANDONED, "system", "kiosk gone")
        await media.close_for_ticket(session, out, ticket.id, "abandoned", "system")
        ticket.ended_at = now
        await _notify_ticket(session, out, ticket)
        return {ticket.skill_group_code}
