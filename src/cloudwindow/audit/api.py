"""HTTP transport of the audit log: search for auditors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.queries import AuditFilter, audit_query
from cloudwindow.errors import CloudWindowError
from cloudwindow.pagination import Page, PageParams, fetch_page, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["audit"])


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any]
    client_ip: str


class AuditTimeRangeInvalid(CloudWindowError):
    error_id = "audit-time-range-invalid"
    status_code = 422
    message_zh = "查询时间范围无效：开始时间须早于结束时间，且须带时区"
    message_en = "Invalid time range: since must be before until, both with a time zone"


@router.get("/audit-events", response_model=Page[AuditEventOut], operation_id="list_audit_events")
async def list_audit_events(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    params: Annotated[PageParams, Depends(page_params)],
    actor_type: Annotated[
        str | None, Query(max_length=16, description="user, device, system")
    ] = None,
    actor_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[
        str | None, Query(max_length=60, description="exact, or a prefix ending in .* (case.*)")
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[datetime | None, Query(description="from (inclusive), ISO 8601")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive), ISO 8601")] = None,
    q: Annotated[
        str | None, Query(max_length=60, description="text in the details, e.g. a case number")
    ] = None,
) -> Page[AuditEventOut]:
    """The append-only audit log, newest first (auditors, administrators)."""
    for moment in (since, until):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise AuditTimeRangeInvalid({"naive": moment.isoformat()})
        try:
            moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
            raise AuditTimeRangeInvalid({"out_of_range": moment.isoformat()}) from None
    if since is not None and until is not None and since >= until:
        raise AuditTimeRangeInvalid({"since": since.isoformat(), "until": until.isoformat()})
    stmt = audit_query(
        AuditFilter(actor_type, actor_id, action, entity_type, entity_id, since, until, q)
    )
    async with services.db.read() as s:
        rows, total = await fetch_page(s, stmt, params)
    return Page(
        items=[AuditEventOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )
