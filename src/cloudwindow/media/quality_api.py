"""HTTP transport of video quality and the site budget: the supervisor's live board and
past quality per site and per call (media/quality_queries.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.db import utcnow
from cloudwindow.errors import RuleViolation
from cloudwindow.media import quality_queries
from cloudwindow.media.quality_schemas import QualityHistory, QualityLive
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api/media/quality", tags=["media-quality"])

WINDOWS = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
}
MAX_SPAN = timedelta(days=31)


@router.get("/live", response_model=QualityLive, operation_id="media_quality_live")
async def quality_live(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
) -> QualityLive:
    """Sites with live calls (and saturated sites): link capacity, calls, per-call caps,
    whether routing holds new calls there; live calls with the last minute's quality at
    both ends; quality alerts (open first)."""
    async with services.db.read() as session:
        return await quality_queries.live(session, services.settings)


@router.get("/history", response_model=QualityHistory, operation_id="media_quality_history")
async def quality_history(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.QUEUE_MONITOR))],
    window: Literal["15m", "1h", "24h", "7d"] = "24h",
    since: datetime | None = None,
    until: datetime | None = None,
    site_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> QualityHistory:
    """Past quality per site and per call: freeze ratio, share of seconds under 15 fps,
    p10 fps and mean jitter-buffer delay. ``since``/``until`` (ISO 8601 with a time zone)
    override ``window``; at most 31 days."""
    end = until or utcnow()
    start = since or end - WINDOWS[window]
    if start.tzinfo is None or end.tzinfo is None:
        raise RuleViolation(
            "validation-failed",
            "时间须带时区（如 2026-01-01T08:00:00+08:00）",
            "Times need a time zone (e.g. 2026-01-01T08:00:00+08:00)",
        )
    if not start < end or end - start > MAX_SPAN:
        raise RuleViolation(
            "quality-window-invalid",
            "查询时段无效：开始须早于结束，且不超过 31 天",
            "Invalid period: the start must be before the end, at most 31 days apart",
            {"since": start.isoformat(), "until": end.isoformat()},
        )
    async with services.db.read() as session:
        return await quality_queries.history(session, start, end, site_id)
