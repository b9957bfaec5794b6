"""Event bus: one interface, two backends (in-process default, Redis for several nodes).

Actions publish typed events *after* their transaction commits; each node subscribes and
delivers to the sockets it holds. This issue only wires the bus and its health check; the
realtime gateway (issue 3) is its first real consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from cloudwindow.logs import get_logger

log = get_logger(__name__)
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...
    def subscribe(self, handler: Handler) -> None: ...
    async def ping(self) -> None: ...


class MemoryBus:
    """In-process fan-out for a single node."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        for handler in list(self._handlers):
            await handler(channel, event)

    async def ping(self) -> None:
        return None


class RedisBus:
    """Cross-node fan-out over Redis pub/sub on channels prefixed ``cw:``."""

    PREFIX = "cw:"

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True)
        self._handlers: list[Handler] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Subscribing happens in the background and is retried: a node whose Redis is
        # down still starts, reports "not ready" on /readyz, and recovers by itself.
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.psubscribe(f"{self.PREFIX}*")
                delay = 0.2
                await self._pump(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or refused: back off and retry
                log.warning("redis-bus-retry", error=type(exc).__name__, delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _pump(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "pmessage":
                continue
            channel = str(message["channel"])[len(self.PREFIX) :]
            event = json.loads(message["data"])
            for handler in list(self._handlers):
                await handler(channel, event)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self.PREFIX + channel, json.dumps(event, ensure_ascii=False))

    async def ping(self) -> None:
        await self._redis.ping()


def make_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else MemoryBus()
