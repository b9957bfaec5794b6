"""HTTP transport of the audit log: search for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.queries import audit_query
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


@router.get("/audit-events", response_model=Page[AuditEventOut], operation_id="list_audit_events")
async def list_audit_events(
    services: Annotated[Services, Depends(get_services)],
    _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    params: Annotated[PageParams, Depends(page_params)],
    actor_id: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[AuditEventOut]:
    """Newest first. Filters match exactly."""
    stmt = audit_query(actor_id, action, entity_type, entity_id)
    async with services.db.read() as s:
        rows, total = await fetch_page(s, stmt, params)
    return Page(
        items=[AuditEventOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )
