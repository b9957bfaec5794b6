"""HTTP transport of the queue: the supervisor's live boards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.queueing import queries
from cloudwindow.queueing.schemas import QueueOverview
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["queue"])


@router.get("/queue/overview", response_model=QueueOverview, operation_id="queue_overview")
async def queue_overview(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
) -> QueueOverview:
    """Waiting tickets and agents per skill group, every agent's state, active tickets."""
    async with services.db.read() as session:
        return await queries.overview(session)
