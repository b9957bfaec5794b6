"""HTTP transport of the catalogue: regions, departments, skill groups, service items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.catalog import actions, calendar, queries, transfer
from cloudwindow.catalog.enums import ItemType, RegionLevel
from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.catalog.schemas import (
    CategoryOut,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    ImportReport,
    RegionCreate,
    RegionOut,
    RegionUpdate,
    ServiceItemCreate,
    ServiceItemOut,
    ServiceItemUpdate,
    SkillGroupCreate,
    SkillGroupOut,
    SkillGroupUpdate,
)
from cloudwindow.crud import do_set_active, get_or_404
from cloudwindow.pagination import Page, PageParams, fetch_page, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["catalog"])
Svc = Annotated[Services, Depends(get_services)]
Reader = Annotated[Principal, Depends(require(Permission.CATALOG_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))]
Paging = Annotated[PageParams, Depends(page_params)]
Q = Annotated[str | None, Query(max_length=100, description="Text search")]
RegionKey = Annotated[str, Path(max_length=12)]
DeptKey = Annotated[str, Path(max_length=20)]
GroupKey = Annotated[str, Path(max_length=40)]
ItemKey = Annotated[str, Path(max_length=40)]


# Regions -------------------------------------------------------------------------------
async def _region(services: Services, code: str) -> RegionOut:
    async with services.db.read() as s:
        return RegionOut.model_validate(await get_or_404(s, Region, code, *actions.REGION))


@router.get("/regions", response_model=Page[RegionOut], operation_id="list_regions")
async def list_regions(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Q = None,
    level: RegionLevel | None = None,
    parent_code: Annotated[str | None, Query(max_length=12)] = None,
    active: bool | None = None,
) -> Page[RegionOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(
            s, queries.regions_query(q, level, parent_code, active), params
        )
    return Page(
        items=[RegionOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@router.post("/regions", response_model=RegionOut, status_code=201, operation_id="create_region")
async def create_region(body: RegionCreate, services: Svc, actor: Writer) -> RegionOut:
    await actions.do_create_region(services, actor, body)
    return await _region(services, body.code)


@router.get("/regions/{code}", response_model=RegionOut, operation_id="get_region")
async def get_region(code: RegionKey, services: Svc, _: Reader) -> RegionOut:
    return await _region(services, code)


@router.patch("/regions/{code}", response_model=RegionOut, operation_id="update_region")
async def update_region(
    code: RegionKey, body: RegionUpdate, services: Svc, actor: Writer
) -> RegionOut:
    await actions.do_update_region(services, actor, code, body)
    return await _region(services, code)


@router.post(
    "/regions/{code}/deactivate", response_model=RegionOut, operation_id="deactivate_region"
)
async def deactivate_region(code: RegionKey, services: Svc, actor: Writer) -> RegionOut:
    await do_set_active(services, actor, Region, code, False, actions.REGION)
    return await _region(services, code)


@router.post("/regions/{code}/activate", response_model=RegionOut, operation_id="activate_region")
async def activate_region(code: RegionKey, services: Svc, actor: Writer) -> RegionOut:
    await do_set_active(services, actor, Region, code, True, actions.REGION)
    return await _region(services, code)


# Departments ---------------------------------------------------------------------------
async def _department(services: Services, code: str) -> DepartmentOut:
    async with services.db.read() as s:
        return DepartmentOut.model_validate(
            await get_or_404(s, Department, code, *actions.DEPARTMENT)
        )


@router.get("/departments", response_model=Page[DepartmentOut], operation_id="list_departments")
async def list_departments(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Q = None,
    region_code: Annotated[str | None, Query(max_length=12)] = None,
    active: bool | None = None,
) -> Page[DepartmentOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(s, queries.departments_query(q, region_code, active), params)
    return Page(
        items=[DepartmentOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@router.post(
    "/departments", response_model=DepartmentOut, status_code=201, operation_id="create_department"
)
async def create_department(body: DepartmentCreate, services: Svc, actor: Writer) -> DepartmentOut:
    await actions.do_create_department(services, actor, body)
    return await _department(services, body.code)


@router.get("/departments/{code}", response_model=DepartmentOut, operation_id="get_department")
async def get_department(code: DeptKey, services: Svc, _: Reader) -> DepartmentOut:
    return await _department(services, code)


@router.patch("/departments/{code}", response_model=DepartmentOut, operation_id="update_department")
async def update_department(
    code: DeptKey, body: DepartmentUpdate, services: Svc, actor: Writer
) -> DepartmentOut:
    await actions.do_update_department(services, actor, code, body)
    return await _department(services, code)


@router.post(
    "/departments/{code}/deactivate",
    response_model=DepartmentOut,
    operation_id="deactivate_department",
)
async def deactivate_department(code: DeptKey, services: Svc, actor: Writer) -> DepartmentOut:
    await do_set_active(services, actor, Department, code, False, actions.DEPARTMENT)
    return await _department(services, code)


@router.post(
    "/departments/{code}/activate", response_model=DepartmentOut, operation_id="activate_department"
)
async def activate_department(code: DeptKey, services: Svc, actor: Writer) -> DepartmentOut:
    await do_set_active(services, actor, Department, code, True, actions.DEPARTMENT)
    return await _department(services, code)


# Skill groups --------------------------------------------------------------------------
async def _group(services: Services, code: str) -> SkillGroupOut:
    async with services.db.read() as s:
        return SkillGroupOut.model_validate(
            await get_or_404(s, SkillGroup, code, *actions.SKILL_GROUP)
        )


@router.get("/skill-groups", response_model=Page[SkillGroupOut], operation_id="list_skill_groups")
async def list_skill_groups(
    services: Svc, _: Reader, params: Paging, q: Q = None, active: bool | None = None
) -> Page[SkillGroupOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(s, queries.skill_groups_query(q, active), params)
    return Page(
        items=[SkillGroupOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@router.post(
    "/skill-groups",
    response_model=SkillGroupOut,
    status_code=201,
    operation_id="create_skill_group",
)
async def create_skill_group(body: SkillGroupCreate, services: Svc, actor: Writer) -> SkillGroupOut:
    await actions.do_create_skill_group(services, actor, body)
    return await _group(services, body.code)


@router.get("/skill-groups/{code}", response_model=SkillGroupOut, operation_id="get_skill_group")
async def get_skill_group(code: GroupKey, services: Svc, _: Reader) -> SkillGroupOut:
    return await _group(services, code)


@router.patch(
    "/skill-groups/{code}", response_model=SkillGroupOut, operation_id="update_skill_group"
)
async def update_skill_group(
    code: GroupKey, body: SkillGroupUpdate, services: Svc, actor: Writer
) -> SkillGroupOut:
    await actions.do_update_skill_group(services, actor, code, body)
    return await _group(services, code)


@router.post(
    "/skill-groups/{code}/deactivate",
    response_model=SkillGroupOut,
    operation_id="deactivate_skill_group",
)
async def deactivate_skill_group(code: GroupKey, services: Svc, actor: Writer) -> SkillGroupOut:
    await do_set_active(services, actor, SkillGroup, code, False, actions.SKILL_GROUP)
    return await _group(services, code)


@router.post(
    "/skill-groups/{code}/activate",
    response_model=SkillGroupOut,
    operation_id="activate_skill_group",
)
async def activate_skill_group(code: GroupKey, services: Svc, actor: Writer) -> SkillGroupOut:
    await do_set_active(services, actor, SkillGroup, code, True, actions.SKILL_GROUP)
    return await _group(services, code)


# Service items -------------------------------------------------------------------------
async def _item(services: Services, code: str) -> ServiceItemOut:
    async with services.db.read() as s:
        item = await get_or_404(s, ServiceItem, code, *actions.SERVICE_ITEM)
        (out,) = queries.items_out([item])
    return out


@router.get(
    "/service-items", response_model=Page[ServiceItemOut], operation_id="list_service_items"
)
async def list_service_items(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Code, name, keyword or pinyin initials (sbk)"),
    ] = None,
    department_code: Annotated[str | None, Query(max_length=20)] = None,
    level: RegionLevel | None = None,
    type: ItemType | None = None,
    skill_group_code: Annotated[str | None, Query(max_length=40)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    cloud_enabled: bool | None = None,
    active: bool | None = None,
) -> Page[ServiceItemOut]:
    stmt = queries.items_query(
        q=q,
        department_code=department_code,
        level=level,
        type=type,
        skill_group_code=skill_group_code,
        category=category,
        cloud_enabled=cloud_enabled,
        active=active,
    )
    async with services.db.read() as s:
        rows, total = await fetch_page(s, stmt, params)
        items = queries.items_out(rows)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.get(
    "/service-categories", response_model=list[CategoryOut], operation_id="list_service_categories"
)
async def list_service_categories(services: Svc, _: Reader) -> list[CategoryOut]:
    """Categories of the items offered on the cloud window, most items first (kiosk)."""
    async with services.db.read() as s:
        return [CategoryOut(category=c, count=n) for c, n in await queries.categories(s)]


@router.post(
    "/service-items",
    response_model=ServiceItemOut,
    status_code=201,
    operation_id="create_service_item",
)
async def create_service_item(
    body: ServiceItemCreate, services: Svc, actor: Writer
) -> ServiceItemOut:
    await actions.do_create_item(services, actor, body)
    return await _item(services, body.code)


@router.get(
    "/service-items/export",
    operation_id="export_service_items",
    response_class=Response,
    responses={200: {"content": {transfer.XLSX_MIME: {}, "text/csv": {}}}},
)
async def export_service_items(
    services: Svc,
    _: Reader,
    format: Annotated[transfer.ExportFormat, Query()] = transfer.ExportFormat.XLSX,
) -> Response:
    """The whole catalogue as a file that ``import`` reads back unchanged."""
    data = await transfer.export_catalog(services, format)
    return Response(
        data,
        media_type=transfer.XLSX_MIME if format == "xlsx" else "text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="service-items.{format}"'},
    )


@router.post(
    "/service-items/import",
    response_model=ImportReport,
    operation_id="import_service_items",
    responses={422: {"description": "Report with every problem; nothing imported"}},
)
async def import_service_items(
    services: Svc,
    actor: Writer,
    file: Annotated[UploadFile, File(description="An .xlsx or .csv catalogue file")],
    dry_run: bool = False,
) -> ImportReport | JSONResponse:
    """Validate every row, then import all or nothing (created or updated by item code)."""
    data = await file.read(services.settings.import_max_bytes + 1)
    report = await transfer.import_catalog(
        services, actor, data, file.filename or "", dry_run=dry_run
    )
    if not report.ok:
        return JSONResponse(transfer.failed_body(report), status_code=422)
    return report


@router.get("/service-items/{code}", response_model=ServiceItemOut, operation_id="get_service_item")
async def get_service_item(code: ItemKey, services: Svc, _: Reader) -> ServiceItemOut:
    return await _item(services, code)


@router.patch(
    "/service-items/{code}", response_model=ServiceItemOut, operation_id="update_service_item"
)
async def update_service_item(
    code: ItemKey, body: ServiceItemUpdate, services: Svc, actor: Writer
) -> ServiceItemOut:
    await actions.do_update_item(services, actor, code, body)
    return await _item(services, code)


@router.post(
    "/service-items/{code}/deactivate",
    response_model=ServiceItemOut,
    operation_id="deactivate_service_item",
)
async def deactivate_service_item(code: ItemKey, services: Svc, actor: Writer) -> ServiceItemOut:
    await do_set_active(services, actor, ServiceItem, code, False, actions.SERVICE_ITEM)
    return await _item(services, code)


@router.post(
    "/service-items/{code}/activate",
    response_model=ServiceItemOut,
    operation_id="activate_service_item",
)
async def activate_service_item(code: ItemKey, services: Svc, actor: Writer) -> ServiceItemOut:
    await do_set_active(services, actor, ServiceItem, code, True, actions.SERVICE_ITEM)
    return await _item(services, code)


# Holiday calendars (节假日安排 of years the package does not know: catalog/calendar.py) ------
CalendarYearKey = Annotated[int, Path(ge=2000, le=2100)]


@router.get(
    "/holiday-calendars", response_model=calendar.CalendarYears, operation_id="holiday_calendars"
)
async def holiday_calendars(services: Svc, _: Reader) -> calendar.CalendarYears:
    return await calendar.get_years(services)


@router.put(
    "/holiday-calendars/{year}",
    response_model=calendar.CalendarYearOut,
    operation_id="put_holiday_calendar",
)
async def put_holiday_calendar(
    year: CalendarYearKey, body: calendar.CalendarYearIn, services: Svc, actor: Writer
) -> calendar.CalendarYearOut:
    return await calendar.do_put_year(services, actor, year, body)


@router.delete("/holiday-calendars/{year}", status_code=204, operation_id="delete_holiday_calendar")
async def delete_holiday_calendar(year: CalendarYearKey, services: Svc, actor: Writer) -> Response:
    await calendar.do_delete_year(services, actor, year)
    return Response(status_code=204)
