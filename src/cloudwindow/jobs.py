"""A node's periodic background work: one asyncio task that runs a coroutine every so
many seconds, survives its failures (logged, tried again next time) and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from cloudwindow.logs import get_logger

log = get_logger(__name__)


class PeriodicJob:
    def __init__(self, name: str, every: float, run: Callable[[], Awaitable[object]]) -> None:
        self.name, self.every, self.run = name, every, run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.run()
            except Exception:  # tried again next time; never kill the loop
                log.exception("job-failed", job=self.name)
