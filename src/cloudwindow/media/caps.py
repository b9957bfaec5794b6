"""Site bandwidth budget at run time: live calls per site, caps pushed to both ends, and
the sites routing must hold tickets for (docs/protocol.md §Media caps).

The pure arithmetic is in budget.py; this module reads the live calls and the sites'
capacities and emits ``media.cap`` events. ``recompute_site_caps`` is called whenever a
call starts or ends; ``held_sites`` by the matcher before it offers tickets.

A live call is an open media session (media/models.py): its citizen end is at the
ticket's site (a kiosk's; none for a citizen at home), its agent end at the site of the
agent's seat (or the agent's home site).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.fleet.models import Seat, Site
from cloudwindow.logs import get_logger
from cloudwindow.media.budget import (
    BudgetPolicy,
    CallCaps,
    SiteLink,
    SiteShare,
    call_caps,
    max_calls,
    seconds_until_free,
    site_share,
)
from cloudwindow.media.models import MediaSession, MediaState
from cloudwindow.queueing.models import AgentStatus, Ticket
from cloudwindow.queueing.queries import mean_handle_seconds
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services

log = get_logger(__name__)


def budget_policy(settings: Settings) -> BudgetPolicy:
    return BudgetPolicy(
        headroom=settings.media_budget_headroom,
        audio_kbps=settings.media_audio_kbps,
        floor_kbps=settings.media_video_floor_kbps,
        ceiling_kbps=settings.media_video_ceiling_kbps,
    )


@dataclass(frozen=True)
class LiveCall:
    """An open media session and the sites of its two ends."""

    ticket_id: int
    session_id: int
    kiosk: str  # the citizen end's recipient key ("device:3"), the session's callee
    agent: str  # the agent end's recipient key ("user:7"), the session's caller
    kiosk_site_id: int | None  # None: a citizen at home
    agent_site_id: int | None
    skill_group_code: str
    started_at: datetime

    @property
    def sites(self) -> set[int]:
        return {s for s in (self.kiosk_site_id, self.agent_site_id) if s is not None}


def _agent_id(key: str) -> int | None:
    kind, _, raw = key.partition(":")
    return int(raw) if kind == "user" and raw.isdigit() else None


async def live_calls(session: AsyncSession) -> list[LiveCall]:
    """Every open media session. Bounded by the number of agents, so read whole: the
    caps at one site depend on the calls at the other ends' sites too."""
    rows = (
        await session.execute(
            select(
                MediaSession.id,
                MediaSession.ticket_id,
                MediaSession.caller,
                MediaSession.callee,
                MediaSession.started_at,
                Ticket.site_id,
                Ticket.skill_group_code,
            )
            .join(Ticket, Ticket.id == MediaSession.ticket_id)
            .where(MediaSession.state == MediaState.OPEN.value)
            .order_by(MediaSession.id)
        )
    ).all()
    agent_sites = await agent_site_ids(session, {_agent_id(r.caller) for r in rows} - {None})
    calls = []
    for sid, tid, caller, callee, started, kiosk_site, group in rows:
        agent = _agent_id(caller)
        calls.append(
            LiveCall(
                ticket_id=tid,
                session_id=sid,
                kiosk=callee,
                agent=caller,
                kiosk_site_id=kiosk_site,
                agent_site_id=agent_sites.get(agent) if agent is not None else None,
                skill_group_code=group,
                started_at=started,
            )
        )
    return calls


async def agent_site_ids(session: AsyncSession, user_ids: Collection[int | None]) -> dict[int, int]:
    """Where agents sit: their seat's site, or else their home site."""
    ids = [u for u in user_ids if u is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, Seat.site_id, User.home_site_id)
        .outerjoin(AgentStatus, AgentStatus.user_id == User.id)
        .outerjoin(Seat, Seat.id == AgentStatus.seat_id)
        .where(User.id.in_(ids))
    )
    out: dict[int, int] = {}
    for uid, seat, home in rows:
        site = seat or home
        if site is not None:
            out[uid] = site
    return out


async def site_shares(
    session: AsyncSession, calls: Iterable[LiveCall], policy: BudgetPolicy
) -> dict[int, SiteShare]:
    """Each site with live calls: its calls and each call's share of its links."""
    counts: Counter[int] = Counter()
    for call in calls:
        counts.update(call.sites)  # a call with both ends at one site counts once there
    if not counts:
        return {}
    sites = await session.execute(
        select(Site.id, Site.uplink_kbps, Site.downlink_kbps).where(Site.id.in_(counts))
    )
    return {
        sid: site_share(SiteLink(sid, up, down, counts[sid]), policy) for sid, up, down in sites
    }


async def call_caps_now(
    session: AsyncSession, policy: BudgetPolicy
) -> list[tuple[LiveCall, CallCaps]]:
    """Every live call with the caps of its two video streams."""
    calls = await live_calls(session)
    shares = await site_shares(session, calls, policy)
    return [
        (
            call,
            call_caps(
                shares.get(call.kiosk_site_id) if call.kiosk_site_id else None,
                shares.get(call.agent_site_id) if call.agent_site_id else None,
                policy,
            ),
        )
        for call in calls
    ]


def cap_messages(call: LiveCall, caps: CallCaps) -> list[tuple[str, dict[str, Any]]]:
    """``media.cap`` for each end: the cap of the video *it sends*."""
    return [
        (
            recipient,
            {
                "session_id": call.session_id,
                "ticket_id": call.ticket_id,
                "max_bitrate_kbps": cap.kbps,
                "reason": cap.limit.value,
                "site_id": cap.site_id,
            },
        )
        for recipient, cap in ((call.kiosk, caps.kiosk_sends), (call.agent, caps.agent_sends))
    ]


async def recompute_site_caps(services: Services, site_ids: Collection[int]) -> int:
    """Recompute the video caps of every live call with an end at one of ``site_ids`` and
    push ``media.cap`` to both ends; returns the number of calls capped.

    Call it after the transaction that started or ended a call has committed, with that
    call's sites (kiosk site and agent site). Each end receives the cap of the video *it
    sends*: the kiosk the kiosk→agent stream's, the agent the agent→kiosk stream's."""
    wanted = {s for s in site_ids if s is not None}
    if not wanted:
        return 0
    policy = budget_policy(services.settings)
    async with unit_of_work(services) as (session, out):
        touched = [c for c in await call_caps_now(session, policy) if c[0].sites & wanted]
        for call, caps in touched:
            for recipient, data in cap_messages(call, caps):
                # Durable: a client that reconnects mid-call gets its latest cap replayed.
                out.emit(recipient, "media.cap", data)
    return len(touched)


async def recompute_caps_for_ticket(services: Services, ticket_id: int) -> int:
    """``recompute_site_caps`` for the sites of a ticket's call: its kiosk's site and the
    site of its agent. For the code that opens or closes a call, after the commit."""
    async with services.db.read() as session:
        row = (
            await session.execute(
                select(Ticket.site_id, Ticket.agent_id).where(Ticket.id == ticket_id)
            )
        ).first()
        if row is None:
            return 0
        kiosk_site, agent_id = row
        agent_site = (await agent_site_ids(session, [agent_id])).get(agent_id or 0)
    return await recompute_site_caps(services, [s for s in (kiosk_site, agent_site) if s])


@dataclass(frozen=True)
class HoldInfo:
    """A saturated site: one more call there would push its calls below the floor."""

    site_id: int
    calls: int
    max_calls: int
    expected_seconds: float  # until one of its calls is expected to end


async def held_sites(session: AsyncSession, settings: Settings) -> dict[int, HoldInfo]:
    """Sites where routing must not start another call now (kiosk sites: their tickets
    wait; agent offices: their agents are not offered), with when room is expected."""
    policy = budget_policy(settings)
    calls = await live_calls(session)
    return await site_holds(session, policy, calls, await site_shares(session, calls, policy))


async def site_holds(
    session: AsyncSession,
    policy: BudgetPolicy,
    calls: list[LiveCall],
    shares: dict[int, SiteShare],
) -> dict[int, HoldInfo]:
    """``held_sites`` from live calls and shares already read."""
    # A site with no live call never holds: a link too thin even for one call at the
    # floor still gets its one call (at what the link gives) rather than none at all.
    saturated = {sid for sid, share in shares.items() if share.saturated and share.calls > 0}
    if not saturated:
        return {}
    links = {
        sid: SiteLink(sid, up, down)
        for sid, up, down in await session.execute(
            select(Site.id, Site.uplink_kbps, Site.downlink_kbps).where(Site.id.in_(saturated))
        )
    }
    now = utcnow()
    means: dict[str, float] = {}
    out: dict[int, HoldInfo] = {}
    for sid in sorted(saturated):
        here = [c for c in calls if sid in c.sites]
        ends = []
        for c in here:
            if c.skill_group_code not in means:
                means[c.skill_group_code] = await mean_handle_seconds(session, c.skill_group_code)
            ends.append(((now - c.started_at).total_seconds(), means[c.skill_group_code]))
        out[sid] = HoldInfo(
            site_id=sid,
            calls=len(here),
            max_calls=max_calls(links[sid], policy),
            expected_seconds=round(seconds_until_free(ends)),
        )
    return out


class CapsPusher:
    """Each node keeps the calls whose ends are connected to it at their current caps.

    Every tick it recomputes all live calls' caps from the database and sends
    ``media.cap`` (ephemeral) to its own sockets whose cap changed, or that have not had
    one from this node yet (a new call, a reconnect). So caps follow calls starting and
    ending anywhere within a tick, without ``recompute_site_caps`` being called, and
    without one node's work multiplying over the bus: like queue positions."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._sent: dict[tuple[str, int], int] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.queue_tick_seconds)
            try:
                await self.push()
            except Exception:  # a failed round is retried next tick
                log.exception("caps-push-failed")

    async def push(self) -> int:
        hub = self.services.hub
        policy = budget_policy(self.services.settings)
        async with self.services.db.read() as session:
            live = await call_caps_now(session, policy)
        sent: dict[tuple[str, int], int] = {}
        pushed = 0
        for call, caps in live:
            for recipient, data in cap_messages(call, caps):
                if not hub.has_local(recipient):
                    continue
                key = (recipient, call.session_id)
                sent[key] = data["max_bitrate_kbps"]
                if self._sent.get(key) != sent[key]:
                    envelope = {"id": None, "type": "media.cap", "data": data, "at": utcnow()}
                    await hub.send_local(recipient, jsonable_encoder(envelope))
                    pushed += 1
        self._sent = sent  # ended calls and gone sockets drop out
        return pushed
