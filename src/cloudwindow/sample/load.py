"""Loading the sample district (增城区) into an empty database, in one transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import User
from cloudwindow.accounts.schemas import UserCreate
from cloudwindow.catalog.actions import item_values
from cloudwindow.catalog.models import Department, Region, ServiceItem, SkillGroup
from cloudwindow.catalog.schemas import ServiceItemCreate
from cloudwindow.fleet.models import Seat, Site, Terminal
from cloudwindow.sample.cases import load_sample_cases
from cloudwindow.sample.generator import full_catalog
from cloudwindow.sample.licences import load_sample_licences
from cloudwindow.services import Services

SAMPLE = Path(__file__).parent / "zengcheng.json"
DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - printed by `demo`; demo data only


def sample_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def catalog_items(full: bool) -> list[dict[str, Any]]:
    data = sample_data()
    if full:
        return full_catalog(data)
    return [{k: v for k, v in i.items() if k != "town_replicable"} for i in data["service_items"]]


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(Region))


async def load_sample(
    services: Services,
    *,
    full_catalog: bool = False,
    with_items: bool = True,
    password: str = DEMO_PASSWORD,
) -> dict[str, int]:
    """Insert the sample district; returns counts. The database must be empty.
    ``with_items=False`` leaves the catalogue empty (the import benchmark fills it)."""
    from cloudwindow.accounts.actions import create_user_in

    data = sample_data()
    counts: dict[str, int] = {}
    async with services.db.transaction() as session:
        # Parents before children: regions are listed top-down in the file.
        for r in sorted(
            data["regions"], key=lambda r: ["city", "district", "town", "village"].index(r["level"])
        ):
            session.add(
                Region(
                    code=r["code"], name=r["name"], level=r["level"], parent_code=r["parent_code"]
                )
            )
        await session.flush()
        for d in data["departments"]:
            session.add(
                Department(
                    code=d["code"],
                    name=d["name"],
                    short_name=d["short_name"],
                    region_code=d["region_code"],
                )
            )
        for g in data["skill_groups"]:
            session.add(SkillGroup(**{k: g[k] for k in ("code", "name", "name_en", "description")}))
        await session.flush()
        items = catalog_items(full_catalog) if with_items else []
        for raw in items:
            session.add(ServiceItem(**item_values(ServiceItemCreate.model_validate(raw))))
        site_ids: dict[str, int] = {}
        for s in data["sites"]:
            site = Site(
                **{
                    k: s[k]
                    for k in (
                        "code",
                        "name",
                        "type",
                        "region_code",
                        "address",
                        "latitude",
                        "longitude",
                        "uplink_kbps",
                        "downlink_kbps",
                    )
                }
            )
            session.add(site)
            await session.flush()
            site_ids[s["code"]] = site.id
        for t in data["terminals"]:
            session.add(
                Terminal(
                    serial_number=t["serial_number"],
                    name=t["name"],
                    model=t["model"],
                    site_id=site_ids[t["site_code"]],
                    peripherals=t["peripherals"],
                    status="unenrolled",
                )
            )
        for seat in data["seats"]:
            session.add(
                Seat(
                    code=seat["code"],
                    name=seat["name"],
                    site_id=site_ids[seat["site_code"]],
                    equipment=seat["equipment"],
                )
            )
        await session.flush()
        for u in data["users"]:
            await create_user_in(
                session,
                None,
                UserCreate(
                    username=u["username"],
                    display_name=u["display_name"],
                    password=password,
                    roles=u["roles"],
                    home_site_id=site_ids[u["home_site_code"]] if u.get("home_site_code") else None,
                    languages=u.get("languages") or ["zh-CN"],
                    skills=u.get("skills") or [],
                    department_code=u.get("department_code"),
                ),
            )
        cases = await load_sample_cases(session, services) if with_items else 0
        licences = await load_sample_licences(session, services) if with_items else 0
        counts = {
            "regions": len(data["regions"]),
            "departments": len(data["departments"]),
            "skill_groups": len(data["skill_groups"]),
            "service_items": len(items),
            "sites": len(data["sites"]),
            "terminals": len(data["terminals"]),
            "seats": len(data["seats"]),
            "users": int(await session.scalar(select(func.count()).select_from(User)) or 0),
            "cases": cases,
            "licences": licences,
        }
    return counts
