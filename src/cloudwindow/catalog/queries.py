"""Reads of the catalogue: filtered, paged lists and the item search."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.catalog.schemas import ServiceItemOut
from cloudwindow.pagination import like_pattern


def _text_filter(stmt: Select[Any], q: str | None, *columns: Any) -> Select[Any]:
    if not q:
        return stmt
    pattern = like_pattern(q.strip())
    return stmt.where(or_(*(c.ilike(pattern, escape="\\") for c in columns)))


def regions_query(
    q: str | None, level: str | None, parent_code: str | None, active: bool | None
) -> Select[Any]:
    stmt = _text_filter(select(Region).order_by(Region.code), q, Region.code, Region.name)
    if level:
        stmt = stmt.where(Region.level == level)
    if parent_code:
        stmt = stmt.where(Region.parent_code == parent_code)
    if active is not None:
        stmt = stmt.where(Region.active.is_(active))
    return stmt


def departments_query(q: str | None, region_code: str | None, active: bool | None) -> Select[Any]:
    stmt = _text_filter(
        select(Department).order_by(Department.code),
        q,
        Department.code,
        Department.name,
        Department.short_name,
    )
    if region_code:
        stmt = stmt.where(Department.region_code == region_code)
    if active is not None:
        stmt = stmt.where(Department.active.is_(active))
    return stmt


def skill_groups_query(q: str | None, active: bool | None) -> Select[Any]:
    stmt = _text_filter(
        select(SkillGroup).order_by(SkillGroup.code),
        q,
        SkillGroup.code,
        SkillGroup.name,
        SkillGroup.name_en,
    )
    if active is not None:
        stmt = stmt.where(SkillGroup.active.is_(active))
    return stmt


def items_query(
    *,
    q: str | None = None,
    department_code: str | None = None,
    level: str | None = None,
    type: str | None = None,
    skill_group_code: str | None = None,
    category: str | None = None,
    cloud_enabled: bool | None = None,
    active: bool | None = None,
) -> Select[Any]:
    """Items matching every given filter; ``q`` matches code, name, keywords and their
    pinyin or pinyin initials (``sbk`` → 社保卡)."""
    stmt = select(ServiceItem).order_by(ServiceItem.code)
    if q and q.strip():
        stmt = stmt.where(ServiceItem.search_key.like(like_pattern(q.strip()), escape="\\"))
    for column, value in (
        (ServiceItem.department_code, department_code),
        (ServiceItem.level, level),
        (ServiceItem.type, type),
        (ServiceItem.skill_group_code, skill_group_code),
        (ServiceItem.category, category),
    ):
        if value:
            stmt = stmt.where(column == value)
    if cloud_enabled is not None:
        stmt = stmt.where(ServiceItem.cloud_enabled.is_(cloud_enabled))
    if active is not None:
        stmt = stmt.where(ServiceItem.active.is_(active))
    return stmt


def items_out(items: list[ServiceItem]) -> list[ServiceItemOut]:
    out = []
    for item in items:
        view = ServiceItemOut.model_validate(item)
        view.department_name = item.department.name
        view.department_short_name = item.department.short_name or item.department.name
        out.append(view)
    return out


async def categories(session: AsyncSession) -> list[tuple[str, int]]:
    """Citizen-facing categories of the items offered on the cloud, with their counts."""
    rows = await session.execute(
        select(ServiceItem.category, func.count())
        .where(ServiceItem.active.is_(True), ServiceItem.cloud_enabled.is_(True))
        .group_by(ServiceItem.category)
        .order_by(func.count().desc(), ServiceItem.category)
    )
    return [(category, int(n)) for category, n in rows]
