"""Every write of the catalogue, one transaction each."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.catalog import rules
from cloudwindow.catalog.errors import item_inconsistent, region_hierarchy_error
from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.catalog.schemas import (
    DepartmentCreate,
    DepartmentUpdate,
    RegionCreate,
    RegionUpdate,
    ServiceItemCreate,
    ServiceItemUpdate,
    SkillGroupCreate,
    SkillGroupUpdate,
    check_item_consistency,
    days_json,
)
from cloudwindow.crud import apply, changed_fields, check_ref, get_or_404
from cloudwindow.errors import AlreadyExists
from cloudwindow.services import Services

REGION = ("Region", "区划")
DEPARTMENT = ("Department", "部门")
SKILL_GROUP = ("Skill group", "技能组")
SERVICE_ITEM = ("Service item", "事项")


def _no_nulls(values: dict[str, Any]) -> dict[str, Any]:
    """PATCH: an explicit null on a required field means "leave it"."""
    return {k: v for k, v in values.items() if v is not None}


# Regions -------------------------------------------------------------------------------
async def _check_region_parent(
    session: AsyncSession, code: str, level: str, parent_code: str | None
) -> None:
    parent = None
    if parent_code is not None:
        parent = await check_ref(session, Region, parent_code, "parent_code", *REGION)
    problem = rules.region_parent_problem(level, parent.level if parent else None)
    if (
        problem is None
        and parent is not None
        and not rules.region_code_matches_parent(code, parent.code, level)
    ):
        problem = f"code {code} does not nest under {parent.code}"
    if problem:
        raise region_hierarchy_error(problem, code)


async def do_create_region(services: Services, actor: Principal, body: RegionCreate) -> None:
    async with services.db.transaction() as session:
        if await session.get(Region, body.code):
            raise AlreadyExists(*REGION, body.code)
        await _check_region_parent(session, body.code, body.level, body.parent_code)
        session.add(Region(**body.model_dump(mode="json")))
        record(session, actor, "region.create", "region", body.code)


async def do_update_region(
    services: Services, actor: Principal, code: str, body: RegionUpdate
) -> None:
    async with services.db.transaction() as session:
        region = await get_or_404(session, Region, code, *REGION)
        values = changed_fields(body)
        if "parent_code" in values:
            await _check_region_parent(session, code, region.level, values["parent_code"])
        diff = apply(region, _no_nulls({k: v for k, v in values.items() if k != "parent_code"}))
        if "parent_code" in values:
            diff |= apply(region, {"parent_code": values["parent_code"]})
        record(session, actor, "region.update", "region", code, diff)


# Departments ---------------------------------------------------------------------------
async def do_create_department(
    services: Services, actor: Principal, body: DepartmentCreate
) -> None:
    async with services.db.transaction() as session:
        if await session.get(Department, body.code):
            raise AlreadyExists(*DEPARTMENT, body.code)
        await check_ref(session, Region, body.region_code, "region_code", *REGION)
        session.add(Department(**body.model_dump(mode="json")))
        record(session, actor, "department.create", "department", body.code)


async def do_update_department(
    services: Services, actor: Principal, code: str, body: DepartmentUpdate
) -> None:
    async with services.db.transaction() as session:
        dept = await get_or_404(session, Department, code, *DEPARTMENT)
        values = _no_nulls(changed_fields(body))
        if "region_code" in values:
            await check_ref(session, Region, values["region_code"], "region_code", *REGION)
        record(session, actor, "department.update", "department", code, apply(dept, values))


# Skill groups --------------------------------------------------------------------------
async def do_create_skill_group(
    services: Services, actor: Principal, body: SkillGroupCreate
) -> None:
    async with services.db.transaction() as session:
        if await session.get(SkillGroup, body.code):
            raise AlreadyExists(*SKILL_GROUP, body.code)
        values = body.model_dump(mode="json", exclude={"open_days", "closed_days"})
        values["open_days"] = days_json(body.open_days)
        values["closed_days"] = days_json(body.closed_days)
        session.add(SkillGroup(**values))
        record(session, actor, "skill_group.create", "skill_group", body.code)


async def do_update_skill_group(
    services: Services, actor: Principal, code: str, body: SkillGroupUpdate
) -> None:
    async with services.db.transaction() as session:
        group = await get_or_404(session, SkillGroup, code, *SKILL_GROUP)
        values = changed_fields(body)
        hours = values.pop("business_hours", "absent")
        days = {k: values.pop(k) for k in ("open_days", "closed_days") if k in values}
        diff = apply(group, _no_nulls(values))
        if hours != "absent":  # an explicit null means "always open"
            diff |= apply(group, {"business_hours": [list(p) for p in hours] if hours else None})
        diff |= apply(group, {k: days_json(v) for k, v in days.items()})
        record(session, actor, "skill_group.update", "skill_group", code, diff)


# Service items -------------------------------------------------------------------------
def item_values(body: ServiceItemCreate) -> dict[str, Any]:
    """Column values of an item from its validated shape (the importer uses it too)."""
    values = body.model_dump(mode="python")
    values["audience"] = [str(a) for a in body.audience]
    values["level"] = str(body.level)
    values["type"] = str(body.type)
    values["materials"] = [m.model_dump(mode="json") for m in body.materials]
    values["search_key"] = rules.search_key(body.code, body.name, body.keywords)
    return values


async def check_item_refs(
    session: AsyncSession, department_code: str, skill_group_code: str
) -> None:
    await check_ref(session, Department, department_code, "department_code", *DEPARTMENT)
    await check_ref(session, SkillGroup, skill_group_code, "skill_group_code", *SKILL_GROUP)


async def do_create_item(services: Services, actor: Principal, body: ServiceItemCreate) -> None:
    async with services.db.transaction() as session:
        if await session.get(ServiceItem, body.code):
            raise AlreadyExists(*SERVICE_ITEM, body.code)
        await check_item_refs(session, body.department_code, body.skill_group_code)
        session.add(ServiceItem(**item_values(body)))
        record(session, actor, "service_item.create", "service_item", body.code)


async def do_update_item(
    services: Services, actor: Principal, code: str, body: ServiceItemUpdate
) -> None:
    async with services.db.transaction() as session:
        item = await get_or_404(session, ServiceItem, code, *SERVICE_ITEM)
        values = _no_nulls(changed_fields(body))
        current = {
            "legal_days": item.legal_days,
            "promised_days": item.promised_days,
            "cloud_capable": item.cloud_capable,
            "cloud_enabled": item.cloud_enabled,
        } | {
            k: values[k]
            for k in ("legal_days", "promised_days", "cloud_capable", "cloud_enabled")
            if k in values
        }
        try:
            check_item_consistency(
                current["legal_days"],
                current["promised_days"],
                current["cloud_capable"],
                current["cloud_enabled"],
            )
        except ValueError as exc:
            raise item_inconsistent(str(exc)) from exc
        await check_item_refs(
            session,
            values.get("department_code", item.department_code),
            values.get("skill_group_code", item.skill_group_code),
        )
        if "materials" in values:
            values["materials"] = [
                body_m.model_dump(mode="json") for body_m in body.materials or []
            ]
        for enum_field in ("level", "type"):
            if enum_field in values:
                values[enum_field] = str(values[enum_field])
        if "audience" in values:
            values["audience"] = [str(a) for a in values["audience"]]
        diff = apply(item, values)
        item.search_key = rules.search_key(item.code, item.name, item.keywords)
        record(
            session,
            actor,
            "service_item.update",
            "service_item",
            code,
            {k: v for k, v in diff.items() if k != "materials"}
            | ({"materials": "changed"} if "materials" in diff else {}),
        )
