"""Helpers for licence tests: a case whose applicant is a sample person, in a session
with a kiosk; the citizen's consent given on the kiosk (identity's consent endpoint)."""

from __future__ import annotations

from typing import Any

import httpx
from integration.cases_support import Desk, valid_values

from cloudwindow.sample.people import person
from conftest import LiveServer


def consent(desk: Desk, granted: bool = True) -> None:
    """The citizen answers the licence consent on the kiosk (docs/identity.md)."""
    r = desk.kiosk.post(
        "/api/kiosk/identity/consents", json={"purpose": "licence_fetch", "granted": granted}
    )
    assert r.status_code in (200, 201), r.text


def applicant_case(desk: Desk, who: str, item: str | None = None) -> dict[str, Any]:
    """A draft case whose form names the sample person ``who`` as the applicant."""
    case = desk.open(item)
    values = valid_values(case["form"]["schema"])
    values["id_number"] = person(who).id_number
    r = desk.agent.patch(f"/api/desk/cases/{case['id']}/data", json={"values": values})
    assert r.status_code == 200, r.text
    return dict(r.json())


def licences(desk: Desk, case_id: int) -> httpx.Response:
    return desk.agent.get(f"/api/desk/cases/{case_id}/licences")


def use(desk: Desk, case_id: int, code: str, licence_id: str) -> httpx.Response:
    return desk.agent.post(
        f"/api/desk/cases/{case_id}/materials/{code}/licence", json={"licence_id": licence_id}
    )


def consented_case(live: LiveServer, who: str = "chen") -> tuple[Desk, dict[str, Any]]:
    desk = Desk(live)
    case = applicant_case(desk, who)
    consent(desk)
    return desk, case


def consented_case_id(live: LiveServer, who: str = "chen") -> int:
    """The id of a draft case of agent01 (applicant ``who``) whose citizen consented."""
    desk, case = consented_case(live, who)
    desk.close()
    return int(case["id"])
