"""HTTP transport of the queue: the supervisor's live boards."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.errors import RuleViolation
from cloudwindow.queueing import queries, staffing
from cloudwindow.queueing.schemas import MetricsReport, QueueOverview, StaffingPlan
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


@router.get("/queue/metrics", response_model=MetricsReport, operation_id="queue_metrics")
async def queue_metrics(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
    window: Annotated[str, Query(pattern="^(today|15m)$")] = "today",
    target_answer_seconds: Annotated[int, Query(ge=1, le=3600)] = 60,
) -> MetricsReport:
    """Per skill group and per site: waiting, longest wait, agents by state, service level
    (answered within the target), average speed of answer, abandonment, handle time."""
    async with services.db.read() as session:
        return await queries.metrics(session, window, target_answer_seconds)


@router.get("/staffing/erlang", response_model=StaffingPlan, operation_id="staffing_erlang")
async def staffing_erlang(
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
    arrivals_per_hour: Annotated[float, Query(ge=0, le=2_000)],
    mean_handle_seconds: Annotated[float, Query(ge=10, le=3_600)],
    target_answer_seconds: Annotated[float, Query(ge=0, le=600)] = 60,
    target_level: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    mean_patience_seconds: Annotated[float | None, Query(ge=10, le=1_800)] = None,
) -> StaffingPlan:
    """Erlang C (and, with a mean patience, Erlang A) staffing for planners: agents needed
    for the service-level target and the measures around that number."""
    try:
        # CPU-bound: off the event loop and bounded in time, so one odd request cannot
        # stall the node (the inputs are capped too, and so are the agents considered).
        return await asyncio.wait_for(
            asyncio.to_thread(
                staffing.plan,
                arrivals_per_hour,
                mean_handle_seconds,
                target_answer_seconds,
                target_level,
                mean_patience_seconds,
            ),
            timeout=5,
        )
    except TimeoutError as exc:
        raise RuleViolation(
            "staffing-too-complex",
            "计算量过大，请调整参数",
            "Too much computation for these figures",
        ) from exc
    except ValueError as exc:
        raise RuleViolation(
            "staffing-infeasible",
            "按此参数无法给出排班建议",
            f"No staffing answer for these figures: {exc}",
        ) from exc
