"""Small helpers every domain's actions share: fetch-or-404, reference checks, patching."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.db import Base
from cloudwindow.errors import InvalidReference, NotFound
from cloudwindow.services import Services

M = TypeVar("M", bound=Base)


async def get_or_404(
    session: AsyncSession, model: type[M], key: object, kind_en: str, kind_zh: str
) -> M:
    row = await session.get(model, key)
    if row is None:
        raise NotFound(kind_en, kind_zh, key)
    return row


async def check_ref(
    session: AsyncSession,
    model: type[M],
    key: object,
    field: str,
    kind_en: str,
    kind_zh: str,
) -> M:
    """The referenced row, which must exist and be active; else ``invalid-reference``."""
    row = await session.get(model, key)
    if row is None or not getattr(row, "active", True):
        raise InvalidReference(field, kind_en, kind_zh, key)
    return row


def changed_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body actually set (absent ≠ null)."""
    return body.model_dump(exclude_unset=True, mode="python")


def apply(row: Base, values: dict[str, Any]) -> dict[str, Any]:
    """Set ``values`` on ``row``; return {field: [old, new]} for the audit log."""
    diff: dict[str, Any] = {}
    for name, value in values.items():
        old = getattr(row, name)
        if old != value:
            diff[name] = [old, value]
            setattr(row, name, value)
    return diff


async def do_set_active(
    services: Services,
    actor: Principal,
    model: type[M],
    key: object,
    active: bool,
    kind: tuple[str, str],
) -> None:
    """Deactivate (or reactivate) a row; nothing is ever deleted, history stays valid."""
    kind_en, kind_zh = kind
    async with services.db.transaction() as session:
        row = await get_or_404(session, model, key, kind_en, kind_zh)
        if getattr(row, "active") != active:  # noqa: B009 - every caller's model has it
            setattr(row, "active", active)  # noqa: B010
            entity = kind_en.lower().replace(" ", "_")
            record(
                session, actor, f"{entity}.{'activate' if active else 'deactivate'}", entity, key
            )
