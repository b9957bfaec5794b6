"""Validate the Zengcheng sample dataset (zengcheng.json) against the sample-data rules.

Standalone (standard library only):

    python src/cloudwindow/sample/check_sample.py [path/to/zengcheng.json]

Prints ``OK n_items=... ...`` and exits 0 when every rule holds; otherwise prints one line
per violation to stderr and exits 1.
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

TOP_KEYS = [
    "regions",
    "departments",
    "skill_groups",
    "service_items",
    "sites",
    "terminals",
    "seats",
    "users",
]

REGION_LEVELS = {"city", "district", "town", "village"}
PARENT_LEVEL = {"city": None, "district": "city", "town": "district", "village": "town"}
ITEM_TYPES = {
    "administrative_license",
    "administrative_confirmation",
    "administrative_payment",
    "administrative_ruling",
    "administrative_award",
    "other_administrative",
    "public_service",
}
AUDIENCES = {"individual", "legal_person"}
MATERIAL_FORMS = {"original", "copy", "electronic", "original_and_copy"}
CATEGORIES = {
    "社保医保",
    "户籍证件",
    "婚育收养",
    "民政救助",
    "残疾人服务",
    "市场准入",
    "食品药品",
    "住房公积金",
    "不动产",
    "卫生健康",
    "税务",
    "交通出行",
    "农业农村",
    "教育",
    "退役军人",
    "法律服务",
    "城市管理",
    "综合服务",
}
SITE_TYPES = {"service_hall", "village", "industrial_park", "mall", "metro_station", "agent_office"}
TERMINAL_MODELS = {"basic", "extended"}
PERIPHERALS = {
    "id_card_reader",
    "document_camera",
    "printer",
    "signature_pad",
    "fingerprint_reader",
    "face_camera",
    "receipt_printer",
    "card_issuer",
}
BASIC_PERIPHERALS = {"id_card_reader", "document_camera", "printer", "face_camera"}
EXTENDED_PERIPHERALS = BASIC_PERIPHERALS | {
    "signature_pad",
    "fingerprint_reader",
    "card_issuer",
    "receipt_printer",
}
SEAT_EQUIPMENT = {"pc", "monitor", "fill_light", "headset", "camera", "document_scanner"}
ROLES = {"administrator", "supervisor", "agent", "approver", "auditor"}
REQUIRED_USERS = {
    "admin": "administrator",
    "supervisor": "supervisor",
    "approver": "approver",
    "auditor": "auditor",
    **{f"agent{i:02d}": "agent" for i in range(1, 9)},
}

RE_REGION = re.compile(r"^[0-9]{12}$")
RE_DEPARTMENT = re.compile(r"^[0-9A-Z][0-9A-Z-]{1,19}$")
RE_SKILL = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
RE_ITEM = re.compile(r"^[0-9A-Z][0-9A-Z-]{3,39}$")
RE_SITE = re.compile(r"^[0-9A-Z][0-9A-Z-]{2,39}$")
RE_SERIAL = re.compile(r"^[0-9A-Z][0-9A-Z-]{2,39}$")
RE_SEAT = re.compile(r"^[0-9A-Z][0-9A-Z-]{2,39}$")
RE_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
RE_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
RE_FEE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")

# Generous bounding box around Zengcheng District (增城区).
LAT_RANGE = (23.05, 23.65)
LON_RANGE = (113.50, 114.05)

MIN_ITEMS = 150
MIN_SBK_ITEMS = 5
MIN_TERMINALS = 30
N_SEATS = 6


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    # -- small helpers -------------------------------------------------------------
    def is_int(self, v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def text(self, where: str, field: str, v: Any, max_len: int, allow_empty: bool = False) -> None:
        if not isinstance(v, str):
            self.err(where, f"{field} must be a string")
        elif not allow_empty and not v.strip():
            self.err(where, f"{field} must not be empty")
        elif len(v) > max_len:
            self.err(where, f"{field} longer than {max_len} characters")
        elif "\n" in v or "\r" in v:
            self.err(where, f"{field} contains a line break")

    def fields(self, where: str, row: Any, required: list[str]) -> bool:
        if not isinstance(row, dict):
            self.err(where, "must be an object")
            return False
        missing = [f for f in required if f not in row]
        extra = [f for f in row if f not in required]
        if missing:
            self.err(where, f"missing fields {missing}")
        if extra:
            self.err(where, f"unknown fields {extra}")
        return not missing

    def unique_codes(
        self, kind: str, rows: list[dict[str, Any]], key: str, pattern: re.Pattern[str]
    ) -> set[str]:
        seen: set[str] = set()
        for i, row in enumerate(rows):
            code = row.get(key) if isinstance(row, dict) else None
            where = f"{kind}[{i}]"
            if not isinstance(code, str) or not pattern.match(code):
                self.err(where, f"{key} {code!r} does not match {pattern.pattern}")
                continue
            if code in seen:
                self.err(where, f"duplicate {key} {code!r}")
            seen.add(code)
        return seen

    def str_list(
        self,
        where: str,
        field: str,
        v: Any,
        allowed: set[str] | None = None,
        non_empty: bool = True,
    ) -> list[str]:
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.err(where, f"{field} must be a list of strings")
            return []
        if non_empty and not v:
            self.err(where, f"{field} must not be empty")
        if len(set(v)) != len(v):
            self.err(where, f"{field} has duplicates")
        if allowed is not None:
            bad = [x for x in v if x not in allowed]
            if bad:
                self.err(where, f"{field} has invalid values {bad}")
        return v

    # -- kinds -----------------------------------------------------------------------
    def regions(self, rows: list[Any]) -> dict[str, str]:
        codes = self.unique_codes("regions", rows, "code", RE_REGION)
        levels: dict[str, str] = {
            r["code"]: str(r.get("level")) for r in rows if isinstance(r, dict) and "code" in r
        }
        for i, r in enumerate(rows):
            where = f"regions[{i}]"
            if not self.fields(where, r, ["code", "name", "level", "parent_code"]):
                continue
            self.text(where, "name", r["name"], 100)
            level = r["level"]
            if level not in REGION_LEVELS:
                self.err(where, f"level {level!r} invalid")
                continue
            parent = r["parent_code"]
            want = PARENT_LEVEL[level]
            if want is None:
                if parent is not None:
                    self.err(where, "a city has no parent_code")
                continue
            if parent not in codes:
                self.err(where, f"parent_code {parent!r} does not resolve")
            elif levels[parent] != want:
                self.err(where, f"parent of a {level} must be a {want}, got {levels[parent]}")
            else:
                code = r["code"]
                prefix = {"district": 4, "town": 6, "village": 9}[level]
                if code[:prefix] != parent[:prefix]:
                    self.err(where, f"code {code} does not lie under parent {parent}")
        if not any(lv == "district" for lv in levels.values()):
            self.err("regions", "no district")
        return levels

    def departments(self, rows: list[Any], regions: dict[str, str]) -> set[str]:
        codes = self.unique_codes("departments", rows, "code", RE_DEPARTMENT)
        for i, d in enumerate(rows):
            where = f"departments[{i}]"
            if not self.fields(where, d, ["code", "name", "short_name", "region_code"]):
                continue
            self.text(where, "name", d["name"], 100)
            self.text(where, "short_name", d["short_name"], 50, allow_empty=True)
            if d["region_code"] not in regions:
                self.err(where, f"region_code {d['region_code']!r} does not resolve")
        return codes

    def skill_groups(self, rows: list[Any]) -> set[str]:
        codes = self.unique_codes("skill_groups", rows, "code", RE_SKILL)
        for i, g in enumerate(rows):
            where = f"skill_groups[{i}]"
            if not self.fields(where, g, ["code", "name", "name_en", "description"]):
                continue
            self.text(where, "name", g["name"], 100)
            self.text(where, "name_en", g["name_en"], 100, allow_empty=True)
            if not isinstance(g["description"], str):
                self.err(where, "description must be a string")
        return codes

    def materials(self, where: str, mats: Any) -> None:
        if not isinstance(mats, list) or not 1 <= len(mats) <= 8:
            self.err(where, "materials must be a list of 1..8 entries")
            return
        names: set[str] = set()
        for j, m in enumerate(mats):
            mw = f"{where}.materials[{j}]"
            if not self.fields(mw, m, ["name", "form", "copies", "required", "note"]):
                continue
            self.text(mw, "name", m["name"], 200)
            if isinstance(m["name"], str) and "|" in m["name"]:
                self.err(mw, "name contains '|'")
            if m["name"] in names:
                self.err(mw, f"duplicate material {m['name']!r}")
            names.add(m["name"])
            if m["form"] not in MATERIAL_FORMS:
                self.err(mw, f"form {m['form']!r} invalid")
            if not self.is_int(m["copies"]) or not 1 <= m["copies"] <= 10:
                self.err(mw, "copies must be an integer 1..10")
            if not isinstance(m["required"], bool):
                self.err(mw, "required must be a boolean")
            self.text(mw, "note", m["note"], 200, allow_empty=True)

    def service_items(self, rows: list[Any], depts: set[str], skills: set[str]) -> None:
        self.unique_codes("service_items", rows, "code", RE_ITEM)
        names: set[str] = set()
        n_sbk = 0
        for i, it in enumerate(rows):
            where = f"service_items[{i}]"
            if isinstance(it, dict) and "code" in it:
                where += f" {it['code']}"
            if not self.fields(
                where,
                it,
                [
                    "code",
                    "name",
                    "keywords",
                    "category",
                    "department_code",
                    "level",
                    "type",
                    "audience",
                    "materials",
                    "legal_days",
                    "promised_days",
                    "fee",
                    "skill_group_code",
                    "cloud_capable",
                    "cloud_enabled",
                    "town_replicable",
                ],
            ):
                continue
            self.text(where, "name", it["name"], 200)
            if it["name"] in names:
                self.err(where, f"duplicate name {it['name']!r}")
            names.add(it["name"])
            kws = self.str_list(where, "keywords", it["keywords"])
            for kw in kws:
                self.text(where, "keyword", kw, 50)
            if "社保卡" in kws:
                n_sbk += 1
            elif isinstance(it["name"], str) and "社会保障卡" in it["name"]:
                self.err(where, "an item about the social security card must have keyword 社保卡")
            if it["category"] not in CATEGORIES:
                self.err(where, f"category {it['category']!r} invalid")
            if it["department_code"] not in depts:
                self.err(where, f"department_code {it['department_code']!r} does not resolve")
            if it["level"] not in REGION_LEVELS:
                self.err(where, f"level {it['level']!r} invalid")
            if it["type"] not in ITEM_TYPES:
                self.err(where, f"type {it['type']!r} invalid")
            self.str_list(where, "audience", it["audience"], AUDIENCES)
            self.materials(where, it["materials"])
            legal, promised = it["legal_days"], it["promised_days"]
            if not self.is_int(legal) or not 0 <= legal <= 365:
                self.err(where, "legal_days must be an integer 0..365")
            elif not self.is_int(promised) or not 0 <= promised <= legal:
                self.err(where, "promised_days must be an integer 0..legal_days")
            fee = it["fee"]
            try:
                if not isinstance(fee, str) or not RE_FEE.match(fee) or Decimal(fee) < 0:
                    raise InvalidOperation
            except InvalidOperation:
                self.err(
                    where, f"fee {fee!r} is not a non-negative decimal with at most 2 decimals"
                )
            if it["skill_group_code"] not in skills:
                self.err(where, f"skill_group_code {it['skill_group_code']!r} does not resolve")
            for b in ("cloud_capable", "cloud_enabled", "town_replicable"):
                if not isinstance(it[b], bool):
                    self.err(where, f"{b} must be a boolean")
            if it["cloud_enabled"] is True and it["cloud_capable"] is not True:
                self.err(where, "cloud_enabled requires cloud_capable")
        if len(rows) < MIN_ITEMS:
            self.err("service_items", f"only {len(rows)} items, need at least {MIN_ITEMS}")
        if n_sbk < MIN_SBK_ITEMS:
            self.err(
                "service_items",
                f"only {n_sbk} items with keyword 社保卡, need at least {MIN_SBK_ITEMS}",
            )

    def sites(self, rows: list[Any], regions: dict[str, str]) -> dict[str, str]:
        self.unique_codes("sites", rows, "code", RE_SITE)
        types: dict[str, str] = {}
        for i, s in enumerate(rows):
            where = f"sites[{i}]"
            if not self.fields(
                where,
                s,
                [
                    "code",
                    "name",
                    "type",
                    "region_code",
                    "address",
                    "latitude",
                    "longitude",
                    "uplink_kbps",
                    "downlink_kbps",
                ],
            ):
                continue
            types[s["code"]] = s["type"]
            self.text(where, "name", s["name"], 100)
            self.text(where, "address", s["address"], 200)
            if s["type"] not in SITE_TYPES:
                self.err(where, f"type {s['type']!r} invalid")
            if s["region_code"] not in regions:
                self.err(where, f"region_code {s['region_code']!r} does not resolve")
            for f, (lo, hi) in (("latitude", LAT_RANGE), ("longitude", LON_RANGE)):
                v = s[f]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                    self.err(where, f"{f} {v!r} outside Zengcheng ({lo}..{hi})")
            for f in ("uplink_kbps", "downlink_kbps"):
                if not self.is_int(s[f]) or not 64 <= s[f] <= 10_000_000:
                    self.err(where, f"{f} must be an integer 64..10000000")
        missing = SITE_TYPES - set(types.values())
        if missing:
            self.err("sites", f"site types not present: {sorted(missing)}")
        return types

    def terminals(self, rows: list[Any], site_types: dict[str, str]) -> None:
        self.unique_codes("terminals", rows, "serial_number", RE_SERIAL)
        covered: set[str] = set()
        for i, t in enumerate(rows):
            where = f"terminals[{i}]"
            if not self.fields(
                where, t, ["serial_number", "name", "model", "site_code", "peripherals"]
            ):
                continue
            self.text(where, "name", t["name"], 100)
            if t["model"] not in TERMINAL_MODELS:
                self.err(where, f"model {t['model']!r} invalid")
            st = site_types.get(t["site_code"])
            if st is None:
                self.err(where, f"site_code {t['site_code']!r} does not resolve")
            elif st == "agent_office":
                self.err(where, "kiosks do not stand in an agent_office")
            else:
                covered.add(st)
            per = set(self.str_list(where, "peripherals", t["peripherals"], PERIPHERALS))
            if t["model"] == "basic" and per != BASIC_PERIPHERALS:
                self.err(where, f"a basic kiosk has exactly {sorted(BASIC_PERIPHERALS)}")
            if t["model"] == "extended" and per != EXTENDED_PERIPHERALS:
                self.err(where, f"an extended kiosk has exactly {sorted(EXTENDED_PERIPHERALS)}")
        if len(rows) < MIN_TERMINALS:
            self.err("terminals", f"only {len(rows)} terminals, need at least {MIN_TERMINALS}")
        missing = (SITE_TYPES - {"agent_office"}) - covered
        if missing:
            self.err("terminals", f"no kiosk at site types {sorted(missing)}")

    def seats(self, rows: list[Any], site_types: dict[str, str]) -> None:
        self.unique_codes("seats", rows, "code", RE_SEAT)
        if len(rows) != N_SEATS:
            self.err("seats", f"need exactly {N_SEATS} seats, got {len(rows)}")
        for i, s in enumerate(rows):
            where = f"seats[{i}]"
            if not self.fields(where, s, ["code", "name", "site_code", "equipment"]):
                continue
            self.text(where, "name", s["name"], 100)
            if site_types.get(s["site_code"]) != "agent_office":
                self.err(where, f"site_code {s['site_code']!r} is not an agent_office site")
            self.str_list(where, "equipment", s["equipment"], SEAT_EQUIPMENT)

    def users(
        self, rows: list[Any], site_types: dict[str, str], depts: set[str], skills: set[str]
    ) -> None:
        names = self.unique_codes("users", rows, "username", RE_USERNAME)
        by_name = {u["username"]: u for u in rows if isinstance(u, dict) and "username" in u}
        covered: set[str] = set()
        for i, u in enumerate(rows):
            where = f"users[{i}]"
            if isinstance(u, dict) and "username" in u:
                where += f" {u['username']}"
            if not self.fields(
                where,
                u,
                [
                    "username",
                    "display_name",
                    "roles",
                    "home_site_code",
                    "languages",
                    "skills",
                    "department_code",
                ],
            ):
                continue
            self.text(where, "display_name", u["display_name"], 60)
            roles = self.str_list(where, "roles", u["roles"], ROLES)
            home = u["home_site_code"]
            if home is not None and site_types.get(home) != "agent_office":
                self.err(where, f"home_site_code {home!r} is not an agent_office site")
            langs = self.str_list(where, "languages", u["languages"])
            for lang in langs:
                if not RE_LANGUAGE.match(lang):
                    self.err(where, f"language {lang!r} invalid")
            sk = u["skills"]
            if not isinstance(sk, list):
                self.err(where, "skills must be a list")
                sk = []
            seen: set[str] = set()
            for s in sk:
                if not isinstance(s, dict) or set(s) != {"skill_group_code", "proficiency"}:
                    self.err(where, "a skill is {skill_group_code, proficiency}")
                    continue
                if s["skill_group_code"] not in skills:
                    self.err(where, f"skill {s['skill_group_code']!r} does not resolve")
                if s["skill_group_code"] in seen:
                    self.err(where, f"duplicate skill {s['skill_group_code']!r}")
                seen.add(s["skill_group_code"])
                if not self.is_int(s["proficiency"]) or not 1 <= s["proficiency"] <= 5:
                    self.err(where, "proficiency must be an integer 1..5")
            if "agent" in roles:
                covered |= seen
                if not 2 <= len(sk) <= 5:
                    self.err(where, "an agent has 2..5 skills")
                if home is None:
                    self.err(where, "an agent needs a home_site_code")
            elif sk:
                self.err(where, "only agents have skills")
            dept = u["department_code"]
            if "approver" in roles:
                if dept not in depts:
                    self.err(where, f"approver department_code {dept!r} does not resolve")
            elif dept is not None:
                self.err(where, "only approvers have a department_code")
        for name, role in REQUIRED_USERS.items():
            if name not in names:
                self.err("users", f"required user {name!r} missing")
            elif role not in by_name[name].get("roles", []):
                self.err("users", f"user {name!r} must have role {role!r}")
        missing = skills - covered
        if missing:
            self.err("users", f"skill groups no agent covers: {sorted(missing)}")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("zengcheng.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        return 1
    c = Checker()
    if not isinstance(doc, dict) or sorted(doc) != sorted(TOP_KEYS):
        print(f"top-level object must have exactly the keys {TOP_KEYS}", file=sys.stderr)
        return 1
    for k in TOP_KEYS:
        if not isinstance(doc[k], list):
            print(f"{k} must be a list", file=sys.stderr)
            return 1
    if "password" in json.dumps(doc["users"]):
        c.err("users", "passwords do not belong in the sample file")
    regions = c.regions(doc["regions"])
    depts = c.departments(doc["departments"], regions)
    skills = c.skill_groups(doc["skill_groups"])
    c.service_items(doc["service_items"], depts, skills)
    site_types = c.sites(doc["sites"], regions)
    c.terminals(doc["terminals"], site_types)
    c.seats(doc["seats"], site_types)
    c.users(doc["users"], site_types, depts, skills)
    if c.errors:
        for problem in c.errors:
            print(problem, file=sys.stderr)
        print(f"FAILED: {len(c.errors)} problem(s)", file=sys.stderr)
        return 1
    items = doc["service_items"]
    print(
        f"OK n_items={len(items)}"
        f" n_town_replicable={sum(1 for i in items if i['town_replicable'])}"
        f" n_regions={len(doc['regions'])} n_departments={len(doc['departments'])}"
        f" n_skill_groups={len(doc['skill_groups'])} n_sites={len(doc['sites'])}"
        f" n_terminals={len(doc['terminals'])} n_seats={len(doc['seats'])}"
        f" n_users={len(doc['users'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
