"""Presence of this node's sockets, written to the database in batches.

A socket that opens or closes only records +1 / -1 in memory; one task writes what
piled up in a single transaction a few milliseconds later. After a restart, when
thousands of kiosks come back at once, that is a handful of transactions instead of
two per socket (docs/benchmarks.md, ``reconnect``). The domains' connect/disconnect
hooks (``Dispatcher.on_connect`` / ``on_disconnect``) run inside that transaction with
the whole batch, so a kiosk's ticket stops its abandonment countdown in the same write
that records the kiosk as present.

Sockets opened from a fresh page (not a resume) go to the ``on_fresh_page`` hooks in
that transaction too: devices/ws.py ends the device commands sent to a kiosk's page
before it (the new page never heard of them; the agent would wait for their time limit).

Who counts as gone: a principal whose last socket on this node closed and who has no
fresh presence row on any other node (a kiosk that moved to another node is not gone).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from cloudwindow.accounts.principal import Principal
from cloudwindow.db import utcnow
from cloudwindow.logs import get_logger
from cloudwindow.realtime.dispatch import Dispatcher, FreshPageHook, Hook
from cloudwindow.realtime.models import Presence
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services

log = get_logger(__name__)

SUPERVISORS = "role:supervisor"
CHUNK = 500  # principals per IN (...) list


@dataclass
class _Change:
    principal: Principal
    delta: int = 0
    opened: int = 0
    closed: int = 0
    fresh_since: datetime | None = None  # the newest socket opened from a fresh page


class PresenceWriter:
    """Collects connects/disconnects and writes them every ``delay`` seconds at most."""

    def __init__(self, services: Services, dispatchers: list[Dispatcher]) -> None:
        self.services = services
        self.delay = services.settings.presence_flush_seconds
        self.on_connect: list[Hook] = [h for d in dispatchers for h in d.on_connect]
        self.on_disconnect: list[Hook] = [h for d in dispatchers for h in d.on_disconnect]
        self.on_fresh_page: list[FreshPageHook] = [h for d in dispatchers for h in d.on_fresh_page]
        self._pending: dict[str, _Change] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    # Called by the gateway (no await: a socket never waits for the database here).
    def opened(self, principal: Principal, fresh_since: datetime | None = None) -> None:
        """``fresh_since``: when the socket was registered, if its client is a fresh page
        (``hello`` without ``last_event_id``) rather than one resuming."""
        change = self._change(principal)
        change.delta += 1
        change.opened += 1
        change.fresh_since = _newest(change.fresh_since, fresh_since)

    def closed(self, principal: Principal) -> None:
        change = self._change(principal)
        change.delta -= 1
        change.closed += 1

    def _change(self, principal: Principal) -> _Change:
        change = self._pending.get(principal.ident)
        if change is None:
            change = self._pending[principal.ident] = _Change(principal)
        self._idle.clear()
        self._wake.set()
        return change

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Write what is pending, then stop (graceful shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending:
            batch, self._pending = self._pending, {}
            await self._write(batch)
        self._idle.set()

    async def drained(self) -> None:
        """Wait until everything recorded so far is written (tests, shutdown)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.delay)  # let a burst pile up
            self._wake.clear()
            batch, self._pending = self._pending, {}
            try:
                await self._write(batch)
            except Exception:
                log.exception("presence-write-failed", principals=len(batch))
                # Keep the changes: merge them back under anything newer and retry.
                for ident, old in batch.items():
                    new = self._pending.get(ident)
                    if new is not None:
                        old.delta += new.delta
                        old.opened += new.opened
                        old.closed += new.closed
                        old.fresh_since = _newest(old.fresh_since, new.fresh_since)
                    self._pending[ident] = old
                await asyncio.sleep(1.0)
                self._wake.set()
                continue
            if not self._pending:
                self._idle.set()

    async def _write(self, batch: dict[str, _Change]) -> None:
        services = self.services
        node = services.settings.node_name
        now = utcnow()
        idents = list(batch)
        async with unit_of_work(services) as (session, out):
            rows: dict[str, Presence] = {}
            for start in range(0, len(idents), CHUNK):
                for locked in await session.scalars(
                    select(Presence)
                    .where(
                        Presence.node == node,
                        Presence.principal.in_(idents[start : start + CHUNK]),
                    )
                    .with_for_update(key_share=True)
                ):
                    rows[locked.principal] = locked
            came: list[Principal] = []
            left: list[str] = []
            for ident, change in batch.items():
                row = rows.get(ident)
                count = max(0, (row.connections if row else 0) + change.delta)
                if row is None and count > 0:
                    session.add(
                        Presence(
                            principal=ident,
                            node=node,
                            kind=change.principal.kind,
                            connections=count,
                        )
                    )
                elif row is not None and count == 0:
                    await session.delete(row)
                elif row is not None:
                    row.connections, row.last_seen = count, now
                if count > 0 and change.opened:
                    came.append(change.principal)
                elif count == 0 and change.closed:
                    left.append(ident)
            await session.flush()
            elsewhere: set[str] = set()
            cutoff = now - timedelta(seconds=services.settings.presence_timeout_seconds)
            for start in range(0, len(left), CHUNK):
                elsewhere.update(
                    await session.scalars(
                        select(Presence.principal).where(
                            Presence.principal.in_(left[start : start + CHUNK]),
                            Presence.last_seen >= cutoff,
                        )
                    )
                )
            gone = [batch[i].principal for i in left if i not in elsewhere]
            for hook in self.on_connect:
                if came:
                    await hook(services, session, came)
            for hook in self.on_disconnect:
                if gone:
                    await hook(services, session, gone)
            fresh = {c.principal: c.fresh_since for c in batch.values() if c.fresh_since}
            for fresh_hook in self.on_fresh_page:
                if fresh:
                    await fresh_hook(session, out, fresh)
            for principal, online in [(p, True) for p in came] + [(p, False) for p in gone]:
                out.emit(
                    SUPERVISORS,
                    "presence",
                    {
                        "principal": principal.ident,
                        "kind": principal.kind,
                        "name": principal.name,
                        "online": online,
                    },
                    durable=False,
                )


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
