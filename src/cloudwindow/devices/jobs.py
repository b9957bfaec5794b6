"""The node's device-command sweeper: ends pending commands that can no longer get a
result (``actions.do_sweep_commands``). Every node runs it; rows are taken with
``SKIP LOCKED`` on PostgreSQL, so two nodes never end one command twice."""

from __future__ import annotations

import asyncio
import contextlib

from cloudwindow.devices.actions import do_sweep_commands
from cloudwindow.logs import get_logger
from cloudwindow.services import Services

log = get_logger(__name__)


class CommandSweeper:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._run(max(0.2, self.services.settings.queue_tick_seconds))
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await do_sweep_commands(self.services)
            except Exception:  # retried next tick; never kill the loop
                log.exception("device-sweep-failed")
