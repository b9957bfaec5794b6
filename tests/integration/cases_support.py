"""Helpers for case tests: a kiosk in session with an agent, valid form values, a real
image for materials, a case brought to a given state through the real interfaces."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from typing import Any

import httpx
from integration.wsclient import WsClient
from PIL import Image

from cloudwindow.cases.forms import resident_id_check_char
from cloudwindow.queueing.models import Ticket
from cloudwindow.sample.cases import sample_values
from cloudwindow.services import Services
from conftest import LiveServer, run_async, unique

ITEM, GROUP = "440118-GG-0002", "social-security"  # 社会保障卡补领, 区社保局 (ZC-SBJ)
PASSWORD = "Approve#2026"


def user_id(live: LiveServer, username: str) -> int:
    with live.as_user(username) as c:
        return int(c.get("/api/auth/me").json()["user"]["id"])


def new_kiosk(live: LiveServer) -> tuple[str, str]:
    """A freshly enrolled kiosk: (device credential, recipient key ``device:<id>``)."""
    with live.as_user("admin") as a:
        site = a.get("/api/sites", params={"type": "mall"}).json()["items"][0]["id"]
        r = a.post(
            "/api/terminals",
            json={"serial_number": unique("CK-"), "name": "办件测试机", "model": "extended",
                  "site_id": site},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        tid = int(r.json()["id"])
        code = a.post(f"/api/terminals/{tid}/enrollment-code").json()["code"]
    with live.client() as c:
        r = c.post("/api/devices/enroll", json={"code": code})
        assert r.status_code == 201, r.text
        return str(r.json()["credential"]), f"device:{tid}"


def new_approver(live: LiveServer, department: str = "ZC-SBJ") -> str:
    """Another approver of ``department``; returns the username (password PASSWORD)."""
    name = unique("appr").lower()
    with live.as_user("admin") as a:
        r = a.post(
            "/api/users",
            json={"username": name, "display_name": f"审批员{name[-4:]}", "password": PASSWORD,
                  "roles": ["approver"], "department_code": department},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    live.login(name, PASSWORD)
    return name


def session_ticket(
    live: LiveServer, owner: str, username: str = "agent01", item: str = ITEM
) -> int:
    """A ticket of ``owner`` (a kiosk) in session with ``username``, written straight to
    the database: the queue flow that leads here is tested in test_queue_ws.py."""
    agent = user_id(live, username)

    async def go() -> int:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                ticket = Ticket(
                    number=unique("C")[:8], service_item_code=item, skill_group_code=GROUP,
                    owner=owner, source="kiosk", rank=2, priority="normal",
                    state="in_session", agent_id=agent, answered_at=datetime.now(UTC),
                )  # fmt: skip
                session.add(ticket)
                await session.flush()
                return ticket.id
        finally:
            await services.db.dispose()

    return run_async(go)


def end_session(live: LiveServer, ticket_id: int) -> None:
    async def go() -> None:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                ticket = await session.get(Ticket, ticket_id)
                assert ticket is not None
                ticket.state = "completed"
        finally:
            await services.db.dispose()

    run_async(go)


def resident_id() -> str:
    first = f"440183{random.randint(1950, 2005)}0{random.randint(1, 9)}1{random.randint(0, 9)}"
    first += f"{random.randint(100, 999)}"
    return first + resident_id_check_char(first)


def mobile() -> str:
    return f"139{random.randint(10_000_000, 99_999_999)}"


def valid_values(schema: dict[str, Any], phone: str | None = None) -> dict[str, Any]:
    """Values for every field a form requires (its conditions included), valid for it,
    with a fresh ID number each time."""
    values = sample_values(schema, random.randint(0, 40), phone or mobile())
    for name, prop in schema["properties"].items():
        if name in values and prop.get("x-pii") == "id_number":
            values[name] = resident_id()
    return values


_JPEG: list[bytes] = []


def jpeg() -> bytes:
    """A real photo-sized JPEG (a document camera still)."""
    if not _JPEG:
        img = Image.new("RGB", (1600, 1200), (240, 240, 230))
        for x in range(0, 1600, 40):
            for y in range(0, 1200, 40):
                img.putpixel((x, y), (20, 20, 20))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        _JPEG.append(buf.getvalue())
    return _JPEG[0]


class Desk:
    """One agent, one kiosk, one session: the case is driven through the real APIs."""

    def __init__(self, live: LiveServer, username: str = "agent01") -> None:
        self.live = live
        self.kiosk_token, self.kiosk_key = new_kiosk(live)
        self.ticket = session_ticket(live, self.kiosk_key, username)
        self.agent = live.as_user(username)
        self.kiosk = live.client(self.kiosk_token)

    def close(self) -> None:
        self.agent.close()
        self.kiosk.close()

    def open(self, item: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"ticket_id": self.ticket}
        if item:
            body["service_item_code"] = item
        r = self.agent.post("/api/desk/cases", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def get(self, case_id: int) -> dict[str, Any]:
        r = self.agent.get(f"/api/desk/cases/{case_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def fill(self, case: dict[str, Any], phone: str | None = None) -> dict[str, Any]:
        values = valid_values(case["form"]["schema"], phone)
        r = self.agent.patch(f"/api/desk/cases/{case['id']}/data", json={"values": values})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def add_materials(self, case: dict[str, Any]) -> None:
        """Upload and accept a file for every required material."""
        for m in case["required_materials"]:
            if not m["required"]:
                continue
            up = self.agent.post(
                f"/api/desk/cases/{case['id']}/materials",
                params={"material_code": m["code"]},
                content=jpeg(),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert up.status_code == 201, up.text
            ok = self.agent.post(
                f"/api/desk/cases/{case['id']}/materials/{up.json()['id']}/decision",
                json={"status": "accepted"},
            )
            assert ok.status_code == 200, ok.text

    def confirm(self, case_id: int) -> dict[str, Any]:
        """The citizen confirms, on the kiosk, the revision the kiosk shows."""
        shown = self.kiosk.get("/api/kiosk/cases").json()["cases"]
        rev = next(c["rev"] for c in shown if c["id"] == case_id)
        ws = WsClient(self.live.url, self.kiosk_token)
        try:
            reply = ws.request("case.confirm", {"case_id": case_id, "rev": rev})
        finally:
            ws.close()
        return dict(reply)

    def ready(self, phone: str | None = None, item: str | None = None) -> dict[str, Any]:
        """A draft case that can be accepted: filled, materials accepted, confirmed."""
        case = self.fill(self.open(item), phone)
        self.add_materials(case)
        reply = self.confirm(case["id"])
        assert reply["type"] == "case.confirmed", reply
        return self.get(case["id"])

    def accept(self, case_id: int) -> httpx.Response:
        return self.agent.post(f"/api/desk/cases/{case_id}/accept")


def decide(
    client: httpx.Client, case_id: int, approval_id: int, decision: str, **extra: Any
) -> httpx.Response:
    return client.post(
        f"/api/approvals/{case_id}/decision",
        json={"approval_id": approval_id, "decision": decision, **extra},
    )


def pending_step(case: dict[str, Any]) -> int:
    return int(next(a["id"] for a in case["approvals"] if a["state"] == "pending"))
