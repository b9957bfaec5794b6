"""The node's recording jobs: flag stale recordings, purge expired ones.

Every node runs them; each round decides from the database, so two nodes doing it at
once do no harm (a recording closed twice is assembled twice into the same bytes; the
purge skips rows another node has locked).
"""

from __future__ import annotations

import asyncio
import contextlib

from cloudwindow.logs import get_logger
from cloudwindow.recording.actions import (
    do_flag_missing_recordings,
    do_purge_expired_recordings,
    do_sweep_stale_recordings,
)
from cloudwindow.services import Services

log = get_logger(__name__)


class RecordingJobs:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run_once(self) -> tuple[int, int]:
        flagged = await do_sweep_stale_recordings(self.services)
        flagged += await do_flag_missing_recordings(self.services)
        purged = await do_purge_expired_recordings(self.services)
        if flagged or purged:
            log.info("recording-jobs", flagged=flagged, purged=purged)
        return flagged, purged

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.recording_job_seconds)
            try:
                await self.run_once()
            except Exception:  # retried next round; never kill the loop
                log.exception("recording-jobs-failed")
