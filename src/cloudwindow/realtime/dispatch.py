"""Client→server message handlers, registered by each domain's ``ws.py``.

A handler receives the services, the caller and the message's ``data``; it validates the
data with a pydantic model, calls one action, and returns the reply's data (or None).
Domain errors become ``error`` events for that message; the connection stays open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.realtime.outbox import Outbox
from cloudwindow.services import Services

Handler = Callable[[Services, Principal, dict[str, Any]], Awaitable[dict[str, Any] | None]]
# Presence hooks run inside the presence writer's transaction (realtime/presence.py) with
# a batch: the principals that came online on this node, or went offline everywhere.
Hook = Callable[[Services, AsyncSession, list[Principal]], Awaitable[None]]
# In the same transaction: the principals whose socket came from a freshly loaded page
# (``hello`` without ``last_event_id``), each with when that socket was registered. Such
# a page never heard what was sent before it (non-durable events are not replayed).
FreshPageHook = Callable[[AsyncSession, Outbox, dict[Principal, datetime]], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    permission: Permission
    reply: str  # event type of the reply


class Dispatcher:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.on_connect: list[Hook] = []
        self.on_disconnect: list[Hook] = []
        self.on_fresh_page: list[FreshPageHook] = []

    def handles(
        self, type: str, permission: Permission, reply: str
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if type in self.routes:
                raise ValueError(f"message type registered twice: {type}")
            self.routes[type] = Route(fn, permission, reply)
            return fn

        return register
