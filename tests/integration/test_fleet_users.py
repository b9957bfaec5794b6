"""Sites, kiosks with enrollment, seats and user administration over HTTP."""

from __future__ import annotations

import httpx

from conftest import LiveServer, unique


def _site(admin: httpx.Client, type_: str) -> dict[str, object]:
    items = admin.get("/api/sites", params={"type": type_}).json()["items"]
    assert items, type_
    return dict(items[0])


def test_sample_fleet(admin: httpx.Client) -> None:
    terminals = admin.get("/api/terminals", params={"page_size": 200}).json()
    assert terminals["total"] >= 30
    assert {t["model"] for t in terminals["items"]} == {"basic", "extended"}
    seats = admin.get("/api/seats").json()
    assert seats["total"] == 6
    assert all(s["site_name"] for s in seats["items"])
    types = {s["type"] for s in admin.get("/api/sites", params={"page_size": 200}).json()["items"]}
    assert types == {
        "service_hall",
        "village",
        "industrial_park",
        "mall",
        "metro_station",
        "agent_office",
    }


def test_kiosk_enrollment_yields_a_device_credential(live: LiveServer, admin: httpx.Client) -> None:
    site = _site(admin, "metro_station")
    r = admin.post(
        "/api/terminals",
        json={
            "serial_number": unique("YCK-T-"),
            "name": "地铁站测试柜台",
            "model": "extended",
            "site_id": site["id"],
            "peripherals": ["id_card_reader", "document_camera", "printer"],
        },
    )
    assert r.status_code == 201, r.text
    terminal = r.json()
    assert terminal["status"] == "unenrolled" and terminal["site_name"] == site["name"]
    code = admin.post(f"/api/terminals/{terminal['id']}/enrollment-code").json()["code"]
    with live.client() as anon:
        # Installers type codes loosely: lower case, no dash.
        enrolled = anon.post("/api/devices/enroll", json={"code": code.replace("-", "").lower()})
        assert enrolled.status_code == 201, enrolled.text
        credential = enrolled.json()["credential"]
        again = anon.post("/api/devices/enroll", json={"code": code})
        assert again.status_code == 400
        assert again.json()["error_id"] == "enrollment-code-invalid"
    with live.client(credential) as kiosk:
        me = kiosk.get("/api/devices/me").json()
        assert me["terminal"]["serial_number"] == terminal["serial_number"]
        assert me["terminal"]["status"] == "active"
        assert me["site"]["type"] == "metro_station"
        assert kiosk.get("/api/service-items", params={"q": "sbk"}).json()["total"] >= 5
        assert kiosk.get("/api/users").status_code == 403
        # Retiring the kiosk revokes its credential at once.
        admin.patch(f"/api/terminals/{terminal['id']}", json={"status": "retired"})
        assert kiosk.get("/api/devices/me").status_code == 401
    r = admin.post(f"/api/terminals/{terminal['id']}/enrollment-code")
    assert r.status_code == 422 and r.json()["error_id"] == "terminal-retired"


def test_a_new_enrollment_code_voids_the_old_one(live: LiveServer, admin: httpx.Client) -> None:
    tid = admin.get("/api/terminals").json()["items"][0]["id"]
    first = admin.post(f"/api/terminals/{tid}/enrollment-code").json()["code"]
    second = admin.post(f"/api/terminals/{tid}/enrollment-code").json()["code"]
    with live.client() as anon:
        assert anon.post("/api/devices/enroll", json={"code": first}).status_code == 400
        assert anon.post("/api/devices/enroll", json={"code": second}).status_code == 201


def test_placement_rules(admin: httpx.Client) -> None:
    office, mall = _site(admin, "agent_office"), _site(admin, "mall")
    r = admin.post(
        "/api/seats", json={"code": unique("SEAT-"), "name": "错放坐席", "site_id": mall["id"]}
    )
    assert r.status_code == 422 and r.json()["error_id"] == "seat-site-not-agent-office"
    r = admin.post(
        "/api/terminals",
        json={
            "serial_number": unique("X-"),
            "name": "错放柜台",
            "model": "basic",
            "site_id": office["id"],
        },
    )
    assert r.status_code == 422 and r.json()["error_id"] == "terminal-site-is-agent-office"
    r = admin.post(
        "/api/terminals",
        json={
            "serial_number": unique("X-"),
            "name": "重复外设",
            "model": "basic",
            "site_id": mall["id"],
            "peripherals": ["printer", "printer"],
        },
    )
    assert r.status_code == 422 and r.json()["error_id"] == "validation-failed"
    r = admin.post(
        "/api/seats",
        json={
            "code": unique("SEAT-"),
            "name": "新坐席",
            "site_id": office["id"],
            "equipment": ["pc", "headset", "camera"],
        },
    )
    assert r.status_code == 201 and r.json()["site_name"] == office["name"]


def test_site_link_capacity_is_validated_and_updated(admin: httpx.Client) -> None:
    code = unique("S-")
    body = {
        "code": code,
        "name": "新村党群服务中心",
        "type": "village",
        "region_code": "440118105001",
        "address": "派潭镇某村",
        "latitude": 23.5,
        "longitude": 113.8,
        "uplink_kbps": 4000,
        "downlink_kbps": 20000,
    }
    r = admin.post("/api/sites", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert (
        admin.patch(f"/api/sites/{sid}", json={"uplink_kbps": 8000}).json()["uplink_kbps"] == 8000
    )
    for bad in ({"uplink_kbps": 0}, {"latitude": 123}, {"type": "castle"}):
        r = admin.patch(f"/api/sites/{sid}", json=bad)
        assert r.status_code == 422, bad
    r = admin.post("/api/sites", json=body)
    assert r.status_code == 409 and r.json()["error_id"] == "site-already-exists"


def test_agent_with_skills_languages_and_home_centre(live: LiveServer, admin: httpx.Client) -> None:
    office = _site(admin, "agent_office")
    name = unique("ag").lower()
    r = admin.post(
        "/api/users",
        json={
            "username": name,
            "display_name": "新坐席员",
            "password": "Agent#2026",
            "roles": ["agent"],
            "home_site_id": office["id"],
            "languages": ["zh-CN", "yue"],
            "skills": [
                {"skill_group_code": "social-security", "proficiency": 5},
                {"skill_group_code": "medical-insurance", "proficiency": 3},
            ],
        },
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert {s["skill_group_code"]: s["proficiency"] for s in user["skills"]} == {
        "social-security": 5,
        "medical-insurance": 3,
    }
    r = admin.patch(
        f"/api/users/{user['id']}", json={"skills": [{"skill_group_code": "tax", "proficiency": 2}]}
    )
    assert [s["skill_group_code"] for s in r.json()["skills"]] == ["tax"]
    agents = admin.get("/api/users", params={"role": "agent", "page_size": 100}).json()
    assert name in [u["username"] for u in agents["items"]]
    assert all("agent" in u["roles"] for u in agents["items"])
    # Bad skills, homes and duplicates get clear errors.
    for bad, error_id in (
        ({"skills": [{"skill_group_code": "nope", "proficiency": 2}]}, "invalid-reference"),
        ({"skills": [{"skill_group_code": "tax", "proficiency": 9}]}, "validation-failed"),
        ({"home_site_id": _site(admin, "mall")["id"]}, "home-site-not-agent-office"),
        ({"roles": ["king"]}, "validation-failed"),
    ):
        r = admin.patch(f"/api/users/{user['id']}", json=bad)
        assert r.status_code == 422 and r.json()["error_id"] == error_id, (bad, r.text)
    r = admin.post(
        "/api/users",
        json={
            "username": name,
            "display_name": "重名",
            "password": "Agent#2026",
            "roles": ["agent"],
        },
    )
    assert r.status_code == 409 and r.json()["error_id"] == "user-already-exists"


def test_password_reset_signs_the_user_out(live: LiveServer, admin: httpx.Client) -> None:
    name = unique("pw").lower()
    uid = admin.post(
        "/api/users",
        json={
            "username": name,
            "display_name": "改密测试",
            "password": "Before#2026",
            "roles": ["approver"],
        },
    ).json()["id"]
    token = live.login(name, "Before#2026")
    assert (
        admin.post(f"/api/users/{uid}/password", json={"password": "After#2026x"}).status_code
        == 204
    )
    with live.client(token) as old:
        assert old.get("/api/auth/me").status_code == 401
    with live.client() as c:
        assert (
            c.post(
                "/api/auth/login", json={"username": name, "password": "After#2026x"}
            ).status_code
            == 200
        )
    short = admin.post(f"/api/users/{uid}/password", json={"password": "short"})
    assert short.status_code == 422


def test_admin_cannot_deactivate_itself(admin: httpx.Client) -> None:
    me = admin.get("/api/auth/me").json()["user"]
    r = admin.post(f"/api/users/{me['id']}/deactivate")
    assert r.status_code == 422 and r.json()["error_id"] == "cannot-deactivate-self"


def test_every_change_is_audited(live: LiveServer, admin: httpx.Client) -> None:
    code = unique("D-")
    admin.post(
        "/api/departments", json={"code": code, "name": "审计测试局", "region_code": "440118000000"}
    )
    with live.as_user("auditor") as auditor:
        events = auditor.get("/api/audit-events", params={"entity_id": code}).json()["items"]
    assert [e["action"] for e in events] == ["department.create"]
    assert events[0]["actor_id"].startswith("user:")
