"""The service catalogue's admin API: search, filters, paging, validation, lifecycle."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import unique


def _item(**over: Any) -> dict[str, Any]:
    body = {
        "code": unique("T-"),
        "name": "测试事项",
        "keywords": ["测试"],
        "category": "综合服务",
        "department_code": "ZC-SBJ",
        "level": "district",
        "type": "public_service",
        "audience": ["individual"],
        "materials": [
            {"name": "居民身份证", "form": "original", "copies": 1, "required": True, "note": ""}
        ],
        "legal_days": 10,
        "promised_days": 3,
        "fee": "0",
        "skill_group_code": "social-security",
        "cloud_capable": True,
        "cloud_enabled": True,
    }
    body.update(over)
    return body


def test_sample_catalogue_has_150_plus_items(admin: httpx.Client) -> None:
    page = admin.get("/api/service-items", params={"page_size": 5}).json()
    assert page["total"] >= 150
    assert len(page["items"]) == 5 and page["page"] == 1


def test_pinyin_initials_find_social_security_card_items(admin: httpx.Client) -> None:
    page = admin.get("/api/service-items", params={"q": "sbk", "page_size": 100}).json()
    names = [i["name"] for i in page["items"]]
    assert "社会保障卡补领" in names
    assert sum("社会保障卡" in n for n in names) >= 5
    # Full pinyin, Chinese text and code find items too.
    assert admin.get("/api/service-items", params={"q": "shebaoka"}).json()["total"] >= 5
    assert admin.get("/api/service-items", params={"q": "社保卡"}).json()["total"] >= 5
    first = page["items"][0]["code"]
    hits = admin.get("/api/service-items", params={"q": first.lower()}).json()["items"]
    assert first in [i["code"] for i in hits]


def test_search_treats_like_wildcards_literally(admin: httpx.Client) -> None:
    assert admin.get("/api/service-items", params={"q": "%"}).json()["total"] == 0
    assert admin.get("/api/service-items", params={"q": "_"}).json()["total"] == 0


def test_filters_and_paging_are_consistent(admin: httpx.Client) -> None:
    everything = admin.get("/api/service-items", params={"page_size": 200}).json()
    seen = []
    for page_no in range(1, everything["total"] // 50 + 2):
        seen += [
            i["code"]
            for i in admin.get(
                "/api/service-items", params={"page": page_no, "page_size": 50}
            ).json()["items"]
        ]
    assert len(seen) == len(set(seen)) == everything["total"]
    town = admin.get(
        "/api/service-items", params={"level": "town", "cloud_enabled": "true", "page_size": 200}
    ).json()
    assert town["total"] > 0
    assert all(i["level"] == "town" and i["cloud_enabled"] for i in town["items"])


def test_create_get_update_deactivate_item(admin: httpx.Client) -> None:
    body = _item(fee="12.5")
    r = admin.post("/api/service-items", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["fee"] == "12.50"
    assert created["department_name"].endswith("社会保险基金管理局")
    code = body["code"]
    r = admin.patch(f"/api/service-items/{code}", json={"name": "低保测试事项", "promised_days": 5})
    assert r.status_code == 200 and r.json()["name"] == "低保测试事项"
    # The search key follows the new name.
    assert code in [
        i["code"]
        for i in admin.get("/api/service-items", params={"q": "dbcs", "page_size": 200}).json()[
            "items"
        ]
    ]
    assert admin.post(f"/api/service-items/{code}/deactivate").json()["active"] is False
    inactive = admin.get("/api/service-items", params={"q": code, "active": "false"}).json()
    assert [i["code"] for i in inactive["items"]] == [code]
    assert admin.post(f"/api/service-items/{code}/activate").json()["active"] is True


def test_bad_items_are_refused_with_clear_errors_and_nothing_written(
    admin: httpx.Client,
) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        (_item(promised_days=30, legal_days=10), 422, "validation-failed"),
        (_item(cloud_capable=False, cloud_enabled=True), 422, "validation-failed"),
        (_item(code="bad code"), 422, "validation-failed"),
        (_item(legal_days="ten"), 422, "validation-failed"),
        (_item(name=""), 422, "validation-failed"),
        (_item(audience=[]), 422, "validation-failed"),
        (_item(fee="-1"), 422, "validation-failed"),
        (_item(type="magic"), 422, "validation-failed"),
        (_item(department_code="NO-SUCH"), 422, "invalid-reference"),
        (_item(skill_group_code="no-such-group"), 422, "invalid-reference"),
        (_item(code="440118-GG-0001"), 409, "service-item-already-exists"),
    ]
    before = admin.get("/api/service-items").json()["total"]
    for body, status, error_id in cases:
        r = admin.post("/api/service-items", json=body)
        assert r.status_code == status, (body, r.text)
        err = r.json()
        assert err["error_id"] == error_id
        assert err["message"]["zh-CN"] and err["message"]["en"]
    assert admin.get("/api/service-items").json()["total"] == before


def test_patch_cannot_make_an_item_inconsistent(admin: httpx.Client) -> None:
    body = _item()
    admin.post("/api/service-items", json=body)
    r = admin.patch(f"/api/service-items/{body['code']}", json={"promised_days": 99})
    assert r.status_code == 422
    assert r.json()["error_id"] == "service-item-inconsistent"
    assert admin.get(f"/api/service-items/{body['code']}").json()["promised_days"] == 3


def test_unknown_item_is_404(admin: httpx.Client) -> None:
    r = admin.get("/api/service-items/NO-SUCH-ITEM")
    assert r.status_code == 404
    assert r.json()["error_id"] == "service-item-not-found"


def test_region_hierarchy_is_enforced(admin: httpx.Client) -> None:
    ok = admin.post(
        "/api/regions",
        json={
            "code": "440118101990",
            "name": "测试村",
            "level": "village",
            "parent_code": "440118101000",
        },
    )
    assert ok.status_code == 201, ok.text
    for body in (
        {
            "code": "440118101991",
            "name": "错位村",
            "level": "village",
            "parent_code": "440118000000",
        },  # a village directly under the district
        {
            "code": "440118201992",
            "name": "错码村",
            "level": "village",
            "parent_code": "440118101000",
        },  # code does not nest under 新塘镇
        {"code": "440118101993", "name": "无上级", "level": "town"},
    ):
        r = admin.post("/api/regions", json=body)
        assert r.status_code == 422, body
        assert r.json()["error_id"] == "region-hierarchy-invalid"
    towns = admin.get(
        "/api/regions", params={"level": "town", "parent_code": "440118000000", "page_size": 50}
    ).json()
    assert towns["total"] == 13
    assert "荔城街道" in [t["name"] for t in towns["items"]]


def test_departments_and_skill_groups(admin: httpx.Client) -> None:
    code = unique("D-")
    r = admin.post(
        "/api/departments", json={"code": code, "name": "区测试局", "region_code": "440118000000"}
    )
    assert r.status_code == 201
    assert (
        admin.patch(f"/api/departments/{code}", json={"short_name": "测试局"}).json()["short_name"]
        == "测试局"
    )
    r = admin.post(
        "/api/departments", json={"code": unique("D-"), "name": "x", "region_code": "999999999999"}
    )
    assert r.json()["error_id"] == "invalid-reference"
    groups = admin.get("/api/skill-groups", params={"page_size": 50}).json()
    assert {"social-security", "household-registration"} <= {g["code"] for g in groups["items"]}
    # A deactivated department can no longer take new items.
    admin.post(f"/api/departments/{code}/deactivate")
    r = admin.post("/api/service-items", json=_item(department_code=code))
    assert r.json()["error_id"] == "invalid-reference"
