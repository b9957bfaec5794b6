"""Reads of the live queue: ticket and agent views, positions, handle times."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.catalog.models import ServiceItem, SkillGroup
from cloudwindow.db import utcnow
from cloudwindow.queueing.models import AgentStatus, Ticket
from cloudwindow.queueing.rules import expected_wait_seconds
from cloudwindow.queueing.schemas import (
    AgentBoard,
    AgentRef,
    AgentStateView,
    GroupBoard,
    QueueOverview,
    TicketBoard,
    TicketView,
)
from cloudwindow.queueing.states import AgentState, TicketState

# Until a skill group has finished sessions today, assume this mean handle time.
DEFAULT_HANDLE_SECONDS = 300.0
SERVING = [
    AgentState.READY.value,
    AgentState.OFFERED.value,
    AgentState.IN_SESSION.value,
    AgentState.WRAP_UP.value,
]


async def position_of(session: AsyncSession, ticket: Ticket) -> int:
    """1-based place among queued tickets of the same skill group (priority, then time)."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.skill_group_code == ticket.skill_group_code,
            Ticket.state == TicketState.QUEUED.value,
            or_(
                Ticket.rank < ticket.rank,
                and_(
                    Ticket.rank == ticket.rank,
                    or_(
                        Ticket.enqueued_at < ticket.enqueued_at,
                        and_(Ticket.enqueued_at == ticket.enqueued_at, Ticket.id < ticket.id),
                    ),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


async def agents_serving(session: AsyncSession, skill_group: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AgentStatus)
        .join(AgentSkill, AgentSkill.user_id == AgentStatus.user_id)
        .where(AgentSkill.skill_group_code == skill_group, AgentStatus.state.in_(SERVING))
    )
    return int(count or 0)


async def mean_handle_seconds(session: AsyncSession, skill_group: str) -> float:
    """Mean of the last 50 finished sessions of the group in the past day."""
    since = utcnow() - timedelta(days=1)
    recent = (
        select(Ticket.answered_at, Ticket.ended_at)
        .where(
            Ticket.skill_group_code == skill_group,
            Ticket.state == TicketState.COMPLETED.value,
            Ticket.answered_at.is_not(None),
            Ticket.ended_at >= since,
        )
        .order_by(Ticket.ended_at.desc())
        .limit(50)
    )
    rows = (await session.execute(recent)).all()
    if not rows:
        return DEFAULT_HANDLE_SECONDS
    durations = [(end - start).total_seconds() for start, end in rows if start and end]
    return sum(durations) / len(durations) if durations else DEFAULT_HANDLE_SECONDS


async def wait_estimate(session: AsyncSession, skill_group: str, position: int) -> float | None:
    seconds = expected_wait_seconds(
        position,
        await agents_serving(session, skill_group),
        await mean_handle_seconds(session, skill_group),
    )
    return None if math.isinf(seconds) else round(seconds)


async def ticket_view(session: AsyncSession, ticket: Ticket) -> TicketView:
    item = await session.get(ServiceItem, ticket.service_item_code)
    view = TicketView(
        id=ticket.id,
        number=ticket.number,
        state=ticket.state,
        service_item_code=ticket.service_item_code,
        service_item_name=item.name if item else ticket.service_item_code,
        skill_group_code=ticket.skill_group_code,
        priority=ticket.priority,
        enqueued_at=ticket.enqueued_at,
        offer_expires_at=ticket.offer_expires_at,
    )
    if ticket.state == TicketState.QUEUED:
        view.position = await position_of(session, ticket)
        view.expected_wait_seconds = await wait_estimate(
            session, ticket.skill_group_code, view.position
        )
    if ticket.agent_id is not None and ticket.state == TicketState.IN_SESSION:
        agent = await session.get(User, ticket.agent_id)
        if agent is not None:
            view.agent = AgentRef(id=agent.id, display_name=agent.display_name)
    return view


async def agent_view(session: AsyncSession, status: AgentStatus) -> AgentStateView:
    ticket = await session.get(Ticket, status.ticket_id) if status.ticket_id else None
    return AgentStateView(
        state=status.state,
        reason=status.reason,
        since=status.since,
        ticket=await ticket_view(session, ticket) if ticket else None,
        wrap_up_until=status.wrap_up_until,
        seat_id=status.seat_id,
    )


async def active_ticket(session: AsyncSession, owner: str) -> Ticket | None:
    return await session.scalar(
        select(Ticket)
        .where(
            Ticket.owner == owner,
            Ticket.state.in_(
                [TicketState.QUEUED.value, TicketState.OFFERED.value, TicketState.IN_SESSION.value]
            ),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )


async def queued_in_group(session: AsyncSession, skill_group: str) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.skill_group_code == skill_group, Ticket.state == TicketState.QUEUED.value)
        .order_by(Ticket.rank, Ticket.enqueued_at, Ticket.id)
    )
    return list(rows)


async def overview(session: AsyncSession, ticket_limit: int = 200) -> QueueOverview:
    """The supervisor's boards: per skill group, every agent, the active tickets."""
    now = utcnow()
    names = {g.code: g.name for g in await session.scalars(select(SkillGroup))}
    users = {
        u.id: u.display_name
        for u in await session.scalars(
            select(User).join(AgentStatus, AgentStatus.user_id == User.id)
        )
    }
    statuses = list(await session.scalars(select(AgentStatus).order_by(AgentStatus.user_id)))
    active = list(
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.state.in_(
                    [
                        TicketState.QUEUED.value,
                        TicketState.OFFERED.value,
                        TicketState.IN_SESSION.value,
                    ]
                )
            )
            .order_by(Ticket.rank, Ticket.enqueued_at, Ticket.id)
            .limit(ticket_limit)
        )
    )
    waiting = (
        await session.execute(
            select(Ticket.skill_group_code, func.count(), func.min(Ticket.enqueued_at))
            .where(Ticket.state == TicketState.QUEUED.value)
            .group_by(Ticket.skill_group_code)
        )
    ).all()
    skills = (await session.execute(select(AgentSkill.skill_group_code, AgentSkill.user_id))).all()
    state_of = {s.user_id: s.state for s in statuses}
    groups: dict[str, GroupBoard] = {}
    for code, name in names.items():
        groups[code] = GroupBoard(
            skill_group_code=code, name=name, waiting=0, longest_wait_seconds=0, agents={}
        )
    for code, count, oldest in waiting:
        groups[code].waiting = int(count)
        groups[code].longest_wait_seconds = round((now - oldest).total_seconds(), 1)
    for code, user_id in skills:
        state = state_of.get(user_id)
        if state and code in groups:
            groups[code].agents[state] = groups[code].agents.get(state, 0) + 1
    numbers = {t.id: t.number for t in active}
    items = {
        i.code: i.name
        for i in await session.scalars(
            select(ServiceItem).where(ServiceItem.code.in_({t.service_item_code for t in active}))
        )
    }
    return QueueOverview(
        groups=sorted(groups.values(), key=lambda g: (-g.waiting, g.skill_group_code)),
        agents=[
            AgentBoard(
                user_id=s.user_id,
                display_name=users.get(s.user_id, ""),
                state=s.state,
                reason=s.reason,
                since=s.since,
                ticket_number=numbers.get(s.ticket_id) if s.ticket_id else None,
            )
            for s in statuses
        ],
        tickets=[
            TicketBoard(
                id=t.id,
                number=t.number,
                state=t.state,
                skill_group_code=t.skill_group_code,
                service_item_name=items.get(t.service_item_code, ""),
                priority=t.priority,
                enqueued_at=t.enqueued_at,
                agent_name=users.get(t.agent_id) if t.agent_id else None,
            )
            for t in active
        ],
    )
