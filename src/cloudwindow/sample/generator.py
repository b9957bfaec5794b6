"""Scaling the hand-written catalogue to a full district catalogue (1,900+ items).

Real district catalogues grow the same way: most items handled at town level are
implemented once by *each* town's or street's service centre (便民服务中心), under the
same name with that centre as the handling department. The generator does exactly that
for every item marked ``town_replicable``, deterministically, so load tests and
benchmarks see a realistic catalogue of the real size.
"""

from __future__ import annotations

from typing import Any


def town_code_suffix(region_code: str) -> str:
    return region_code[6:9]


def replicate_for_towns(
    items: list[dict[str, Any]],
    towns: list[dict[str, Any]],
    town_departments: dict[str, str],
) -> list[dict[str, Any]]:
    """Town-level copies of every replicable item, one per town with a service centre."""
    out: list[dict[str, Any]] = []
    for town in towns:
        dept = town_departments.get(town["code"])
        if dept is None:
            continue
        for item in items:
            if not item.get("town_replicable"):
                continue
            copy = {k: v for k, v in item.items() if k != "town_replicable"}
            copy["code"] = f"{item['code']}-T{town_code_suffix(town['code'])}"
            copy["name"] = f"{item['name']}（{town['name']}）"
            copy["department_code"] = dept
            copy["level"] = "town"
            copy["legal_days"] = item["legal_days"]
            copy["promised_days"] = item["promised_days"]
            out.append(copy)
    return out


def full_catalog(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The hand-written items plus their town-level implementations."""
    towns = [r for r in data["regions"] if r["level"] == "town"]
    town_departments: dict[str, str] = {}
    for dept in data["departments"]:
        if dept["region_code"] in {t["code"] for t in towns}:
            town_departments.setdefault(dept["region_code"], dept["code"])
    base = [{k: v for k, v in i.items() if k != "town_replicable"} for i in data["service_items"]]
    return base + replicate_for_towns(data["service_items"], towns, town_departments)
