"""Reads of the live queue: ticket and agent views, positions, handle times."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow import refcache
from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.catalog.models import ServiceItem, SkillGroup
from cloudwindow.db import UTCDateTime, utcnow
from cloudwindow.fleet.models import Site
from cloudwindow.queueing.models import AgentStatus, Ticket
from cloudwindow.queueing.rules import expected_wait_seconds
from cloudwindow.queueing.schemas import (
    AgentBoard,
    AgentRef,
    AgentStateView,
    GroupBoard,
    MetricsReport,
    QueueMetrics,
    QueueOverview,
    TicketBoard,
    TicketView,
)
from cloudwindow.queueing.states import AgentState, TicketState

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
# Until a skill group has finished sessions today, assume this mean handle time.
DEFAULT_HANDLE_SECONDS = 300.0
SERVING = [
    AgentState.READY.value,
    AgentState.OFFERED.value,
    AgentState.IN_SESSION.value,
    AgentState.WRAP_UP.value,
]


_AHEAD = (
    select(func.count())
    .select_from(Ticket)
    .where(
        Ticket.skill_group_code == bindparam("group"),
        Ticket.state == TicketState.QUEUED.value,
        or_(
            Ticket.rank < bindparam("rank"),
            and_(
                Ticket.rank == bindparam("rank"),
                or_(
                    Ticket.enqueued_at < bindparam("at", type_=UTCDateTime),
                    and_(
                        Ticket.enqueued_at == bindparam("at", type_=UTCDateTime),
                        Ticket.id < bindparam("id"),
                    ),
                ),
            ),
        ),
    )
)  # built once: it runs on every view of a waiting ticket


async def position_of(session: AsyncSession, ticket: Ticket) -> int:
    """1-based place among queued tickets of the same skill group (priority, then time)."""
    ahead = await session.scalar(
        _AHEAD,
        {
            "group": ticket.skill_group_code,
            "rank": ticket.rank,
            "at": ticket.enqueued_at,
            "id": ticket.id,
        },
    )
    return int(ahead or 0) + 1


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


@dataclass(frozen=True)
class GroupStats:
    serving: int  # agents of the group ready, ringing, in session or wrapping up
    free: int  # of those, ready right now
    handle_seconds: float
    wrap_up_seconds: float

    def wait(self, position: int) -> float:
        return expected_wait_seconds(
            position,
            self.serving,
            self.handle_seconds,
            free_agents=self.free,
            wrap_up_seconds=self.wrap_up_seconds,
        )


_stats: dict[str, tuple[float, GroupStats]] = {}
STATS_TTL = 1.0  # seconds; estimates, not decisions


async def group_stats(session: AsyncSession, skill_group: str) -> GroupStats:
    """What the wait estimate needs about a group, at most ``STATS_TTL`` seconds old."""
    now = time.monotonic()
    hit = _stats.get(skill_group)
    # A cached "nobody serves the group" is never reused: agents who just came on would
    # be shown to waiting citizens as "no agent available" for up to STATS_TTL.
    if hit is not None and hit[0] > now and hit[1].serving > 0:
        return hit[1]
    by_state = dict(
        (
            await session.execute(
                select(AgentStatus.state, func.count())
                .join(AgentSkill, AgentSkill.user_id == AgentStatus.user_id)
                .where(AgentSkill.skill_group_code == skill_group, AgentStatus.state.in_(SERVING))
                .group_by(AgentStatus.state)
            )
        ).all()
    )
    group = await refcache.group(session, skill_group)
    stats = GroupStats(
        serving=int(sum(by_state.values())),
        free=int(by_state.get(AgentState.READY.value, 0)),
        handle_seconds=await mean_handle_seconds(session, skill_group),
        wrap_up_seconds=float(group.wrap_up_seconds) if group else 0.0,
    )
    _stats[skill_group] = (now + STATS_TTL, stats)
    return stats


async def wait_estimate(session: AsyncSession, skill_group: str, position: int) -> float | None:
    seconds = (await group_stats(session, skill_group)).wait(position)
    return None if math.isinf(seconds) else round(seconds)


async def ticket_view(session: AsyncSession, ticket: Ticket) -> TicketView:
    item = await refcache.item(session, ticket.service_item_code)
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
        agent = await refcache.agent(session, ticket.agent_id)
        if agent is not None:
            view.agent = AgentRef(id=agent.user_id, display_name=agent.display_name)
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


async def agent_view_of(session: AsyncSession, user_id: int) -> AgentStateView | None:
    status = await session.get(AgentStatus, user_id)
    return await agent_view(session, status) if status is not None else None


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


async def queued_in_group(
    session: AsyncSession, skill_group: str
) -> list[tuple[int, str, int | None]]:
    """(ticket id, owner, kiosk site) of the group's queue in order: three columns, not
    whole rows, because the position push reads every queued ticket each time the line
    moves."""
    rows = await session.execute(
        select(Ticket.id, Ticket.owner, Ticket.site_id)
        .where(Ticket.skill_group_code == skill_group, Ticket.state == TicketState.QUEUED.value)
        .order_by(Ticket.rank, Ticket.enqueued_at, Ticket.id)
    )
    return [(ticket_id, owner, site) for ticket_id, owner, site in rows]


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


def _window_stats(key: str, name: str, tickets: list[Ticket], target: int) -> QueueMetrics:
    answered = [t for t in tickets if t.answered_at is not None]
    abandoned = [
        t for t in tickets if t.state in (TicketState.CANCELLED.value, TicketState.ABANDONED.value)
    ]
    waits = [
        (t.answered_at - t.enqueued_at).total_seconds()
        for t in answered
        if t.answered_at is not None
    ]
    handles = [
        (t.ended_at - t.answered_at).total_seconds()
        for t in answered
        if t.ended_at is not None
        and t.answered_at is not None
        and t.state == TicketState.COMPLETED.value
    ]
    within = sum(1 for w in waits if w <= target)
    settled = len(answered) + len(abandoned)
    return QueueMetrics(
        key=key,
        name=name,
        waiting=0,
        longest_wait_seconds=0,
        agents={},
        offered=len(tickets),
        answered=len(answered),
        answered_within_target=within,
        service_level=round(within / settled, 4) if settled else None,
        average_speed_of_answer_seconds=round(sum(waits) / len(waits), 1) if waits else None,
        abandoned=len(abandoned),
        abandonment_rate=round(len(abandoned) / settled, 4) if settled else None,
        average_handle_seconds=round(sum(handles) / len(handles), 1) if handles else None,
    )


async def metrics(session: AsyncSession, window: str, target_answer_seconds: int) -> MetricsReport:
    """Service level, speed of answer, abandonment and handle time per skill group and per
    site, over today (since local midnight, China Standard Time) or the last 15 minutes;
    plus the live waiting counts and agents by state from ``overview``."""
    now = utcnow()
    if window == "15m":
        since = now - timedelta(minutes=15)
    else:
        local = now.astimezone(CHINA)
        since = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    tickets = list(await session.scalars(select(Ticket).where(Ticket.enqueued_at >= since)))
    board = await overview(session, ticket_limit=0)
    by_group: dict[str, list[Ticket]] = {}
    by_site: dict[int, list[Ticket]] = {}
    for t in tickets:
        by_group.setdefault(t.skill_group_code, []).append(t)
        if t.site_id is not None:
            by_site.setdefault(t.site_id, []).append(t)
    groups = []
    for g in board.groups:
        m = _window_stats(
            g.skill_group_code, g.name, by_group.get(g.skill_group_code, []), target_answer_seconds
        )
        m.waiting, m.longest_wait_seconds, m.agents = g.waiting, g.longest_wait_seconds, g.agents
        groups.append(m)
    site_names = (
        {
            s.id: s.name
            for s in await session.scalars(select(Site).where(Site.id.in_(by_site.keys())))
        }
        if by_site
        else {}
    )
    sites = []
    for site_id, site_tickets in sorted(by_site.items()):
        m = _window_stats(
            str(site_id), site_names.get(site_id, ""), site_tickets, target_answer_seconds
        )
        queued = [t for t in site_tickets if t.state == TicketState.QUEUED.value]
        m.waiting = len(queued)
        if queued:
            m.longest_wait_seconds = round(
                (now - min(t.enqueued_at for t in queued)).total_seconds(), 1
            )
        sites.append(m)
    return MetricsReport(
        window=window,
        since=since,
        target_answer_seconds=target_answer_seconds,
        skill_groups=groups,
        sites=sites,
    )
