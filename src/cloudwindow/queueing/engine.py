"""The node's background loops: matching, timers, position pushes, presence heartbeat.

Every node runs them; correctness never depends on which node does the work, because
each loop decides from the database inside a transaction (with row locks on
PostgreSQL). The loops wake on local signals and also run on a timer, so a change made
on another node is picked up within one tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from cloudwindow.logs import get_logger
from cloudwindow.media.caps import HoldInfo, held_sites
from cloudwindow.media.telemetry import do_purge_quality
from cloudwindow.queueing import actions, appointments, consult, queries
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.actions import do_node_heartbeat, do_node_start, do_purge_events
from cloudwindow.realtime.outbox import Event
from cloudwindow.services import Services

log = get_logger(__name__)


class QueueEngine:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._tasks: list[asyncio.Task[None]] = []
        self._sent: dict[int, tuple[int, float | None, bool]] = {}
        self._last_push = 0.0
        self._last_full = 0.0

    async def start_node(self) -> None:
        await do_node_start(self.services)

    def start(self) -> None:
        tick = self.services.settings.queue_tick_seconds
        self._tasks = [
            asyncio.create_task(self._match_loop(tick)),
            asyncio.create_task(self._every(tick, actions.do_sweep)),
            asyncio.create_task(self._every(tick, consult.do_sweep_consults)),
            asyncio.create_task(self._every(60, appointments.do_mark_no_shows)),
            asyncio.create_task(self._positions_loop(tick)),
            asyncio.create_task(self._every(15, do_node_heartbeat)),
            asyncio.create_task(self._every(3600, do_purge_events)),
            asyncio.create_task(self._every(3600, do_purge_quality)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _every(self, seconds: float, fn: Callable[[Services], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn(self.services)
            except Exception:  # a failed round is retried next tick; never kill the loop
                log.exception("queue-loop-failed", loop=fn.__name__)

    async def _match_loop(self, tick: float) -> None:
        signal = self.services.signals.match
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=tick)
            signal.clear()
            try:
                await actions.do_match(self.services)
            except Exception:
                log.exception("match-failed")

    async def _positions_loop(self, tick: float) -> None:
        while True:
            await asyncio.sleep(tick / 2)
            try:
                await self.push_positions()
            except Exception:
                log.exception("positions-failed")

    async def push_positions(self) -> None:
        """Tell this node's waiting citizens whose place or expected wait changed.

        Every node does this for the kiosks connected to it, reading the database, on a
        timer (sooner when a local change marks the queue dirty, but at most every
        ``position_min_interval_seconds``). Pushing through the bus instead would send N
        events to every node each time a queue of N moves up by one.
        """
        settings, hub = self.services.settings, self.services.hub
        all_dirty, dirty = self.services.signals.take_dirty()
        now = time.monotonic()
        due = now - self._last_full >= settings.position_refresh_seconds
        if not (due or all_dirty or dirty):
            return
        if now - self._last_push < settings.position_min_interval_seconds:
            self.services.signals.dirty_groups |= dirty  # keep them for the next turn
            self.services.signals.all_dirty |= all_dirty
            return
        self._last_push = now
        if due or all_dirty:
            self._last_full = now
        started = time.perf_counter()
        events: list[Event] = []
        held: dict[int, HoldInfo] | None = None  # read once, when a local kiosk waits
        async with self.services.db.read() as session:
            groups = set(dirty)
            if due or all_dirty:
                groups |= set(
                    await session.scalars(
                        select(Ticket.skill_group_code)
                        .where(Ticket.state == TicketState.QUEUED.value)
                        .distinct()
                    )
                )
            for group in sorted(groups):
                tickets = await queries.queued_in_group(session, group)
                if not any(hub.has_local(owner) for _, owner, _ in tickets):
                    continue
                if held is None:
                    held = (
                        await held_sites(session, settings)
                        if settings.media_admission_enabled
                        else {}
                    )
                stats = await queries.group_stats(session, group)
                for position, (ticket_id, owner, site) in enumerate(tickets, start=1):
                    if not hub.has_local(owner):
                        continue  # another node holds that kiosk's socket
                    wait = stats.wait(position)
                    shown = None if wait == float("inf") else float(round(wait))
                    hold = held.get(site) if site is not None else None
                    if hold is not None and shown is not None:
                        shown = max(shown, float(hold.expected_seconds))
                    sent = (position, shown, hold is not None)
                    if self._sent.get(ticket_id) == sent:
                        continue
                    self._sent[ticket_id] = sent
                    events.append(
                        Event(
                            owner,
                            "queue.position",
                            {
                                "ticket_id": ticket_id,
                                "position": position,
                                "expected_wait_seconds": shown,
                                # Admission: this kiosk's site has no bandwidth for one
                                # more call right now; the ticket keeps its place.
                                "held": None
                                if hold is None
                                else {
                                    "reason": "site-saturated",
                                    "expected_seconds": hold.expected_seconds,
                                },
                            },
                        )
                    )
        if len(self._sent) > 100_000:
            self._sent.clear()
        for event in events:
            await hub.send_local(event.recipient, event.envelope())
        if events:
            log.debug(
                "positions-pushed",
                count=len(events),
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
