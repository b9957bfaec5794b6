"""The node's connection registry and its link to the event bus.

Every node subscribes to the bus channel ``rt``; an event published by any node reaches
every node, and each delivers it to the sockets it holds for the recipient. With the
in-process bus (one node) this is a direct call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from cloudwindow.bus import EventBus
from cloudwindow.logs import get_logger
from cloudwindow.realtime.outbox import Event

log = get_logger(__name__)
CHANNEL = "rt"


class Client(Protocol):
    keys: tuple[str, ...]

    def push(self, envelope: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self, bus: EventBus, node: str) -> None:
        self.bus = bus
        self.node = node
        self._clients: dict[str, set[Client]] = defaultdict(set)

    def start(self) -> None:
        self.bus.subscribe(self._on_bus)

    def register(self, client: Client) -> None:
        for key in client.keys:
            self._clients[key].add(client)

    def unregister(self, client: Client) -> None:
        for key in client.keys:
            clients = self._clients.get(key)
            if clients is not None:
                clients.discard(client)
                if not clients:
                    del self._clients[key]

    async def publish(self, events: Iterable[Event]) -> None:
        """One bus message per call, however many events: a transaction's events travel
        together, and Redis sees one PUBLISH instead of one per event."""
        batch = [{"recipient": e.recipient, "event": e.envelope()} for e in events]
        if batch:
            await self.bus.publish(CHANNEL, {"batch": batch})

    def has_local(self, recipient: str) -> bool:
        return bool(self._clients.get(recipient))

    async def send_local(self, recipient: str, envelope: dict[str, Any]) -> None:
        """Deliver to this node's sockets only (replies, replays)."""
        for client in list(self._clients.get(recipient, ())):
            client.push(envelope)

    async def _on_bus(self, channel: str, message: dict[str, Any]) -> None:
        if channel != CHANNEL:
            return
        for item in message["batch"]:
            for client in list(self._clients.get(item["recipient"], ())):
                client.push(item["event"])
