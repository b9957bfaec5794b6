"""Application forms over HTTP: the generated default, publishing versions (checked,
conflict-safe, append-only), previews, and cases keeping the version they were filed
with. Runs on SQLite and PostgreSQL (the ``live`` fixture)."""

from __future__ import annotations

import copy
import threading
from typing import Any

import httpx
from integration.recording_support import served_ticket

from conftest import LiveServer, unique

VALID_ID = "11010519491231002X"


def _new_item(admin: httpx.Client, **overrides: Any) -> str:
    """A service item of our own, so no other test has given it a form."""
    code = unique("FT-")
    body = {
        "code": code,
        "name": "表单测试事项",
        "department_code": "ZC-SBJ",
        "level": "town",
        "type": "public_service",
        "audience": ["individual"],
        "materials": [{"name": "授权委托书", "required": False, "note": "委托他人代办时提供"}],
        "legal_days": 20,
        "promised_days": 5,
        "skill_group_code": "social-security",
        "cloud_enabled": True,
        **overrides,
    }
    r = admin.post("/api/service-items", json=body)
    assert r.status_code == 201, r.text
    return code


def _publish(admin: httpx.Client, code: str, schema: dict[str, Any], **kw: Any) -> httpx.Response:
    return admin.post(
        f"/api/service-items/{code}/form/versions", json={"schema": schema, "layout": {}, **kw}
    )


def _versions(admin: httpx.Client, code: str) -> list[dict[str, Any]]:
    r = admin.get(f"/api/service-items/{code}/form/versions")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_an_item_without_a_form_gets_a_generated_default(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin, audience=["individual", "legal_person"])
        r = admin.get(f"/api/service-items/{code}/form")
        assert r.status_code == 200, r.text
        form = r.json()
        assert form["generated"] is True and form["version"] == 0 and form["id"] is None
        props = form["schema"]["properties"]
        assert props["applicant_type"]["enum"] == ["individual", "legal_person"]
        assert props["uscc"]["format"] == "cn-uscc"
        assert props["proxy_name"]["x-pii"] == "name"  # from the power-of-attorney material
        assert form["pii_fields"]["id_number"] == "id_number"
        assert form["layout"]["sections"][0]["title"] == "申请人信息"
        assert _versions(admin, code) == []  # reading stores nothing


def test_publish_versions_and_keep_the_old_ones(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        default = admin.get(f"/api/service-items/{code}/form/default").json()
        r = _publish(admin, code, default["schema"], note="首版", base_version=0)
        assert r.status_code == 201, r.text
        v1 = r.json()["form"]
        assert (v1["version"], v1["generated"], v1["note"]) == (1, False, "首版")
        assert v1["created_by_name"]

        edited = copy.deepcopy(default["schema"])
        del edited["properties"]["address"]
        edited["properties"]["household_size"] = {
            "type": "integer",
            "title": "家庭人口",
            "x-title-en": "Household size",
            "minimum": 1,
        }
        edited["required"].append("household_size")
        r = _publish(admin, code, edited, base_version=1)
        assert r.status_code == 201, r.text
        assert {(c["field"], c["change"]) for c in r.json()["changes"]} == {
            ("address", "removed"),
            ("household_size", "added"),
            ("household_size", "now-required"),
        }

        current = admin.get(f"/api/service-items/{code}/form").json()
        assert current["version"] == 2 and "household_size" in current["schema"]["properties"]
        old = admin.get(f"/api/service-items/{code}/form/versions/1").json()
        assert old["schema"] == default["schema"]  # version 1 is exactly as published
        rows = _versions(admin, code)
        assert [(v["version"], v["field_count"]) for v in rows] == [
            (2, len(edited["properties"])),
            (1, len(default["schema"]["properties"])),
        ]
        missing = admin.get(f"/api/service-items/{code}/form/versions/9")
        assert missing.status_code == 404
        assert missing.json()["error_id"] == "form-version-not-found"

        audit = admin.get(
            "/api/audit-events", params={"action": "form.publish", "entity_id": code}
        ).json()
        assert [e["details"]["version"] for e in audit["items"]] == [2, 1]


def test_a_bad_form_is_refused_with_every_problem_and_nothing_stored(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        schema = admin.get(f"/api/service-items/{code}/form/default").json()["schema"]
        schema["properties"]["home"] = {"type": "object", "title": "住址"}
        schema["properties"]["mail"] = {"type": "string", "title": "邮箱", "format": "email"}
        schema["required"].append("ghost")
        r = _publish(admin, code, schema)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["error_id"] == "form-schema-invalid"
        assert "3" in body["message"]["zh-CN"]
        problems = {(p["path"], p["error_id"]) for p in body["details"]["problems"]}
        assert problems == {
            ("/properties/home/type", "unsupported-type"),
            ("/properties/mail/format", "unsupported-format"),
            ("/required", "unknown-required-field"),
        }
        bad_layout = admin.post(
            f"/api/service-items/{code}/form/versions",
            json={
                "schema": admin.get(f"/api/service-items/{code}/form/default").json()["schema"],
                "layout": {"fields": {"phone": {"widget": "checkbox"}}},
            },
        )
        assert bad_layout.status_code == 422
        assert bad_layout.json()["details"]["problems"][0]["error_id"] == "unsupported-widget"
        assert _versions(admin, code) == []


def test_a_stale_edit_is_refused(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        schema = admin.get(f"/api/service-items/{code}/form/default").json()["schema"]
        assert _publish(admin, code, schema, base_version=0).status_code == 201
        r = _publish(admin, code, schema, base_version=0)  # edited from the default, too late
        assert r.status_code == 409
        assert r.json()["error_id"] == "form-version-conflict"
        assert r.json()["details"]["current_version"] == 1
        assert [v["version"] for v in _versions(admin, code)] == [1]


def test_two_administrators_publishing_at_once_get_one_version_each_or_a_conflict(
    live: LiveServer,
) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        schema = admin.get(f"/api/service-items/{code}/form/default").json()["schema"]
    results: list[int] = []

    def publish() -> None:
        with live.as_user("admin") as c:
            results.append(_publish(c, code, schema, base_version=0).status_code)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409]
    with live.as_user("admin") as admin:
        assert [v["version"] for v in _versions(admin, code)] == [1]


def test_preview_checks_the_draft_and_the_sample_data(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        schema = admin.get(f"/api/service-items/{code}/form/default").json()["schema"]
        sample = {
            "applicant_name": " 张三 ",
            "id_number": "110105194912310021",
            "phone": "138 0013 8000",
            "x": 1,
        }
        r = admin.post("/api/forms/preview", json={"schema": schema, "data": sample})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["problems"] == []
        assert [(e["field"], e["error_id"]) for e in out["errors"]] == [
            ("id_number", "invalid-id-number"),
            ("x", "unknown-field"),
        ]
        assert out["errors"][0]["message"]["zh-CN"].startswith("「公民身份号码」")
        assert out["normalized"]["phone"] == "13800138000"
        assert out["normalized"]["applicant_name"] == "张三"

        fixed = {**sample, "id_number": VALID_ID.lower()}
        del fixed["x"]
        r = admin.post("/api/forms/preview", json={"schema": schema, "data": fixed})
        assert r.json()["errors"] == [] and r.json()["normalized"]["id_number"] == VALID_ID

        schema["properties"]["n"] = {"type": "number", "title": "数", "x-pii": "phone"}
        r = admin.post("/api/forms/preview", json={"schema": schema, "data": {}})
        assert [p["error_id"] for p in r.json()["problems"]] == ["keyword-needs-string"]
        assert _versions(admin, code) == []  # a preview stores nothing


def test_who_may_read_and_who_may_edit(live: LiveServer) -> None:
    with live.as_user("admin") as admin:
        code = _new_item(admin)
        schema = admin.get(f"/api/service-items/{code}/form/default").json()["schema"]
    with live.as_user("agent01") as agent:
        assert agent.get(f"/api/service-items/{code}/form").status_code == 200
        r = _publish(agent, code, schema)
        assert r.status_code == 403
        assert r.json()["details"]["permission"] == "forms.write"
    with live.client() as anonymous:
        assert anonymous.get(f"/api/service-items/{code}/form").status_code == 401
    with live.as_user("admin") as admin:
        r = admin.get("/api/service-items/NO-SUCH-ITEM/form")
        assert r.status_code == 404 and r.json()["error_id"] == "service-item-not-found"
        r = _publish(admin, "NO-SUCH-ITEM", schema)
        assert r.status_code == 404
        assert _versions(admin, code) == []


def test_a_filed_case_keeps_its_form_version(live: LiveServer) -> None:
    """Publishing a new version changes what new cases get, never a case already filed."""
    with live.as_user("admin") as admin:
        item = _new_item(admin)
    with live.as_user("agent01") as agent:
        r = agent.post("/api/desk/cases", json={"ticket_id": served_ticket(live, item=item)})
        assert r.status_code == 201, r.text
        case = r.json()
    filed_with = case["form_version_id"]
    assert case["form"]["id"] == filed_with
    assert case["form"]["version"] == 1  # the first case stored the default as version 1
    with live.as_user("admin") as admin:
        current = admin.get(f"/api/service-items/{item}/form").json()
        assert (current["generated"], current["id"]) == (False, filed_with)
        schema = copy.deepcopy(case["form"]["schema"])
        schema["properties"]["extra_note"] = {"type": "string", "title": "补充说明"}
        schema["required"] = [*schema["required"], "extra_note"]
        r = _publish(admin, item, schema, base_version=1)
        assert r.status_code == 201, r.text
        new_version = r.json()["form"]
    assert new_version["version"] == 2
    with live.as_user("agent01") as agent:
        again = agent.get(f"/api/desk/cases/{case['id']}").json()
        assert again["form_version_id"] == filed_with
        assert "extra_note" not in again["form"]["schema"]["properties"]
        # ... and its validation still follows the old form: no "extra_note required".
        assert all(v["field"] != "extra_note" for v in again["validation"])
        newer = agent.post(
            "/api/desk/cases", json={"ticket_id": served_ticket(live, item=item)}
        ).json()
        assert newer["form_version_id"] == new_version["id"]
        assert any(v["field"] == "extra_note" for v in newer["validation"])
