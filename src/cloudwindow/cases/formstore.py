"""Stored application forms: reading versions, publishing a new one, the form a new case
is filed with (docs/cases.md §Forms).

Versions are append-only: publishing inserts ``version = current + 1`` and nothing ever
updates a ``form_versions`` row, so a case keeps the exact form it was filed with.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases import forms
from cloudwindow.cases.models import FormVersion
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.crud import get_or_404
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError, NotFound
from cloudwindow.services import Services

SERVICE_ITEM = ("Service item", "事项")
GENERATED_NOTE = "generated default"


class FormVersionConflict(CloudWindowError):
    """Someone published a version since the editor loaded the one it started from."""

    error_id = "form-version-conflict"
    status_code = 409
    message_zh = "表单已被他人更新为第 {current} 版，请刷新后在最新版本上修改"
    message_en = "The form was meanwhile published as version {current}; reload and edit that"

    def __init__(self, current: int) -> None:
        super().__init__({"current_version": current}, current=current)


async def get_current_version(session: AsyncSession, item_code: str) -> FormVersion | None:
    """The item's highest stored version, or None if it never had one."""
    return (
        await session.scalars(
            select(FormVersion)
            .where(FormVersion.service_item_code == item_code)
            .order_by(FormVersion.version.desc())
            .limit(1)
        )
    ).first()


async def get_versions(session: AsyncSession, item_code: str) -> list[FormVersion]:
    """Every stored version of the item's form, newest first."""
    rows = await session.scalars(
        select(FormVersion)
        .where(FormVersion.service_item_code == item_code)
        .order_by(FormVersion.version.desc())
    )
    return list(rows)


async def get_version(session: AsyncSession, item_code: str, version: int) -> FormVersion:
    row = (
        await session.scalars(
            select(FormVersion).where(
                FormVersion.service_item_code == item_code, FormVersion.version == version
            )
        )
    ).first()
    if row is None:
        raise NotFound("Form version", "表单版本", f"{item_code} v{version}")
    return row


async def count_versions(session: AsyncSession, item_code: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(FormVersion)
            .where(FormVersion.service_item_code == item_code)
        )
        or 0
    )


async def ensure_current_form(session: AsyncSession, item: ServiceItem) -> FormVersion:
    """The form a new case of ``item`` is filed with, inside the caller's transaction:
    the highest version, or the generated default stored now as version 1 (two cases
    opened at once for a form-less item both end up on the same row)."""
    row = await get_current_version(session, item.code)
    if row is not None:
        return row
    schema, layout = forms.default_form(item)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING: if another transaction stores version 1 at the same
    # moment, ours waits for it and inserts nothing; either way we then read the row.
    await session.execute(
        insert(FormVersion)
        .values(
            service_item_code=item.code,
            version=1,
            schema=schema,
            layout=layout,
            note=GENERATED_NOTE,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["service_item_code", "version"])
    )
    row = await get_current_version(session, item.code)
    assert row is not None  # just inserted, or inserted by the transaction we waited for
    return row


async def do_publish_form(
    services: Services,
    actor: Principal,
    item_code: str,
    schema: dict[str, Any],
    layout: dict[str, Any],
    note: str = "",
    base_version: int | None = None,
) -> tuple[FormVersion, list[forms.FormChange]]:
    """Check an edited form and store it as the item's next version, in one transaction.

    ``base_version`` is the version the editor started from (0 for the generated
    default): if another version was published since, :class:`FormVersionConflict` and
    nothing is stored. Returns the new row and what changed from the previous form.
    """
    forms.check_schema(schema, layout)
    async with services.db.transaction() as session:
        item = await get_or_404(session, ServiceItem, item_code, *SERVICE_ITEM)
        current = await get_current_version(session, item.code)
        current_no = current.version if current else 0
        if base_version is not None and base_version != current_no:
            raise FormVersionConflict(current_no)
        previous = current.schema if current else forms.default_form(item)[0]
        changes = forms.form_changes(previous, schema)
        row = FormVersion(
            service_item_code=item.code,
            version=current_no + 1,
            schema=schema,
            layout=layout,
            note=note,
            created_by=actor.id if actor.kind == "user" else None,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:
            # Two administrators published at the same moment: the other one won.
            raise FormVersionConflict(current_no + 1) from None
        record(
            session,
            actor,
            "form.publish",
            "service_item",
            item.code,
            {"version": row.version, "changes": [c.as_dict() for c in changes]},
        )
    return row, changes
