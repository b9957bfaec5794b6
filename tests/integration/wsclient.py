"""A small synchronous WebSocket client for tests (the `websockets` library)."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect


class WsClient:
    def __init__(self, base_url: str, token: str, last_event_id: int | None = None) -> None:
        self.url = base_url.replace("http://", "ws://") + "/ws"
        self.conn: ClientConnection = connect(
            self.url, max_size=None, compression=None, legacy=True
        )
        self.seen: list[dict[str, Any]] = []
        self.send("hello", {"token": token, "last_event_id": last_event_id})
        self.welcome = self.wait("welcome")
        self._ref = 0

    def send(self, type: str, data: dict[str, Any] | None = None, ref: str | None = None) -> None:
        self.conn.send(json.dumps({"type": type, "data": data or {}, "ref": ref}))

    def send_raw(self, raw: str) -> None:
        self.conn.send(raw)

    def request(
        self, type: str, data: dict[str, Any] | None = None, timeout: float = 10
    ) -> dict[str, Any]:
        """Send and wait for the reply (or error) carrying the same ref."""
        self._ref += 1
        ref = f"r{self._ref}"
        self.send(type, data, ref)
        return self.wait(lambda e: e.get("ref") == ref, timeout)

    def wait(self, match: Any, timeout: float = 10) -> dict[str, Any]:
        """The next event matching a type name or predicate (earlier ones are kept)."""
        pred = match if callable(match) else (lambda e: e.get("type") == match)
        for event in self.seen:
            if pred(event):
                self.seen.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no event matching {match!r}; saw {self.seen[-5:]}")
            try:
                event = json.loads(self.conn.recv(timeout=left))
            except TimeoutError:
                continue
            if pred(event):
                return event
            self.seen.append(event)

    @property
    def last_event_id(self) -> int:
        ids = [e["id"] for e in self.seen if e.get("id")]
        return max(ids, default=0)

    def close(self) -> None:
        self.conn.close()
