"""HTTP transport of application forms (表单配置): read an item's form and its versions,
publish a new version, preview sample data against a draft (docs/cases.md §Forms)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.models import User
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases import forms, formstore
from cloudwindow.cases.models import FormVersion
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.crud import get_or_404
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["forms"])
Svc = Annotated[Services, Depends(get_services)]
Reader = Annotated[Principal, Depends(require(Permission.CATALOG_READ))]
Writer = Annotated[Principal, Depends(require(Permission.FORMS_WRITE))]
ItemKey = Annotated[str, Path(max_length=40)]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000)]
JsonObject = dict[str, Any]


class FormOut(BaseModel):
    """A form of a service item. ``version`` 0 and ``generated`` mean the default form
    made from the catalogue, not stored yet (it is stored as version 1 when the first
    case uses it)."""

    model_config = ConfigDict(populate_by_name=True)
    service_item_code: str
    id: int | None
    version: int
    generated: bool
    form_schema: JsonObject = Field(alias="schema")
    layout: JsonObject
    note: str = ""
    created_by: int | None = None
    created_by_name: str = ""
    created_at: datetime | None = None
    pii_fields: dict[str, str]


class FormVersionRow(BaseModel):
    id: int
    version: int
    note: str
    created_by: int | None
    created_by_name: str
    created_at: datetime
    field_count: int


class FormVersionList(BaseModel):
    service_item_code: str
    items: list[FormVersionRow]


class Problem(BaseModel):
    path: str
    error_id: str
    message: dict[str, str]


class FieldProblem(BaseModel):
    field: str
    error_id: str
    message: dict[str, str]


class Change(BaseModel):
    field: str
    change: str


class PublishIn(InputModel):
    model_config = ConfigDict(populate_by_name=True)
    form_schema: JsonObject = Field(alias="schema")
    layout: JsonObject = Field(default_factory=dict)
    note: str = Field(default="", max_length=200)
    base_version: int | None = Field(
        default=None,
        ge=0,
        description="The version the edit started from (0: the generated default); "
        "publishing fails with form-version-conflict if another version came since.",
    )


class PublishOut(BaseModel):
    form: FormOut
    changes: list[Change]


class PreviewIn(InputModel):
    model_config = ConfigDict(populate_by_name=True)
    form_schema: JsonObject = Field(alias="schema")
    layout: JsonObject | None = None
    data: JsonObject = Field(default_factory=dict)


class PreviewOut(BaseModel):
    problems: list[Problem]  # what keeps the draft from being published
    errors: list[FieldProblem]  # what is wrong with the sample data (if the draft is sound)
    normalized: JsonObject
    pii_fields: dict[str, str]


def _out(
    item_code: str, row: FormVersion | None, schema: JsonObject, layout: JsonObject, name: str
) -> FormOut:
    return FormOut(
        service_item_code=item_code,
        id=row.id if row else None,
        version=row.version if row else 0,
        generated=row is None,
        form_schema=schema,
        layout=layout,
        note=row.note if row else "",
        created_by=row.created_by if row else None,
        created_by_name=name,
        created_at=row.created_at if row else None,
        pii_fields=forms.pii_fields(schema),
    )


async def _names(services: Services, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    async with services.db.read() as s:
        rows = await s.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
        return {uid: name for uid, name in rows}


def _row_out(item_code: str, row: FormVersion, names: dict[int, str]) -> FormOut:
    name = names.get(row.created_by, "") if row.created_by else ""
    return _out(item_code, row, row.schema, row.layout, name)


@router.get(
    "/service-items/{code}/form", response_model=FormOut, operation_id="get_service_item_form"
)
async def get_service_item_form(code: ItemKey, services: Svc, _: Reader) -> FormOut:
    """The form new cases of the item are filed with: its highest version, or the
    generated default if it has none."""
    async with services.db.read() as s:
        item = await get_or_404(s, ServiceItem, code, *formstore.SERVICE_ITEM)
        row = await formstore.get_current_version(s, code)
        if row is None:
            schema, layout = forms.default_form(item)
            return _out(code, None, schema, layout, "")
    return _row_out(code, row, await _names(services, {row.created_by or 0}))


@router.get(
    "/service-items/{code}/form/default",
    response_model=FormOut,
    operation_id="get_service_item_default_form",
)
async def get_service_item_default_form(code: ItemKey, services: Svc, _: Reader) -> FormOut:
    """The form the catalogue would generate for the item (to start an edit afresh)."""
    async with services.db.read() as s:
        item = await get_or_404(s, ServiceItem, code, *formstore.SERVICE_ITEM)
        schema, layout = forms.default_form(item)
    return _out(code, None, schema, layout, "")


@router.get(
    "/service-items/{code}/form/versions",
    response_model=FormVersionList,
    operation_id="list_service_item_form_versions",
)
async def list_service_item_form_versions(
    code: ItemKey, services: Svc, _: Reader
) -> FormVersionList:
    """Every published version of the item's form, newest first."""
    async with services.db.read() as s:
        await get_or_404(s, ServiceItem, code, *formstore.SERVICE_ITEM)
        rows = await formstore.get_versions(s, code)
    names = await _names(services, {r.created_by for r in rows if r.created_by})
    return FormVersionList(
        service_item_code=code,
        items=[
            FormVersionRow(
                id=r.id,
                version=r.version,
                note=r.note,
                created_by=r.created_by,
                created_by_name=names.get(r.created_by, "") if r.created_by else "",
                created_at=r.created_at,
                field_count=len(forms.field_names(r.schema)),
            )
            for r in rows
        ],
    )


@router.get(
    "/service-items/{code}/form/versions/{version}",
    response_model=FormOut,
    operation_id="get_service_item_form_version",
)
async def get_service_item_form_version(
    code: ItemKey, version: VersionNo, services: Svc, _: Reader
) -> FormOut:
    """One version exactly as it was published (cases filed with it still use it)."""
    async with services.db.read() as s:
        await get_or_404(s, ServiceItem, code, *formstore.SERVICE_ITEM)
        row = await formstore.get_version(s, code, version)
    return _row_out(code, row, await _names(services, {row.created_by or 0}))


@router.post(
    "/service-items/{code}/form/versions",
    response_model=PublishOut,
    status_code=201,
    operation_id="publish_service_item_form",
)
async def publish_service_item_form(
    code: ItemKey, body: PublishIn, services: Svc, actor: Writer
) -> PublishOut:
    """Check the edited form and publish it as the item's next version. Cases already
    filed keep the version they were filed with; new cases get this one."""
    row, changes = await formstore.do_publish_form(
        services, actor, code, body.form_schema, body.layout, body.note, body.base_version
    )
    return PublishOut(
        form=_row_out(code, row, await _names(services, {row.created_by or 0})),
        changes=[Change(**c.as_dict()) for c in changes],
    )


@router.post("/forms/preview", response_model=PreviewOut, operation_id="preview_form")
async def preview_form(body: PreviewIn, _: Writer) -> PreviewOut:
    """Check a draft form (as publishing would) and validate sample data against it,
    without storing anything."""
    problems = forms.schema_problems(body.form_schema)
    if not problems and body.layout is not None:
        problems = forms.layout_problems(body.layout, body.form_schema)
    if problems:
        return PreviewOut(
            problems=[Problem(**p.as_dict()) for p in problems],
            errors=[],
            normalized={},
            pii_fields={},
        )
    clean = forms.normalize(body.form_schema, body.data)
    return PreviewOut(
        problems=[],
        errors=[FieldProblem(**e.as_dict()) for e in forms.validate(body.form_schema, clean)],
        normalized=clean,
        pii_fields=forms.pii_fields(body.form_schema),
    )
