"""Case lists over HTTP (docs/cases.md §HTTP API): pages, totals and the page past the
end; each row's names (item, department, agent, open step) as the detail view shows
them, and following a catalogue edit at once; the approver's list and its step ids."""

from __future__ import annotations

from typing import Any

import httpx
from integration.cases_support import PASSWORD

from conftest import LiveServer, unique

ROW_KEYS = {
    "id", "number", "state", "state_label", "service_item", "applicant_masked",
    "phone_masked", "agent", "promised_days", "accepted_at", "due_date",
    "working_days_left", "overdue", "due_soon", "round", "current_step", "approval_id",
    "created_at", "updated_at",
}  # fmt: skip


def every_case(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = c.get("/api/cases", params={"page_size": 200, **params})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total_exact"] is True and page["total"] == len(page["items"]), page["total"]
    return list(page["items"])


def test_pages_totals_and_past_the_end(live: LiveServer) -> None:
    with live.as_user("supervisor") as sup:
        rows = every_case(sup)
        n = len(rows)
        assert n >= 6  # the sample cases at least
        assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
        assert all(set(r) == ROW_KEYS for r in rows)
        # page by page, two at a time: the same rows in the same order, the same total
        seen: list[int] = []
        for page in range(1, (n + 1) // 2 + 1):
            p = sup.get("/api/cases", params={"page_size": 2, "page": page}).json()
            assert (p["total"], p["total_exact"], p["page"], p["page_size"]) == (n, True, page, 2)
            seen += [r["id"] for r in p["items"]]
        assert seen == [r["id"] for r in rows]
        past = sup.get("/api/cases", params={"page_size": 2, "page": n + 3}).json()
        assert (past["items"], past["total"], past["total_exact"]) == ([], n, True)
        none = sup.get("/api/cases", params={"q": "CW19990101"}).json()
        assert (none["items"], none["total"], none["total_exact"]) == ([], 0, True)


def test_rows_name_what_the_detail_view_names(live: LiveServer) -> None:
    with live.as_user("supervisor") as sup:
        rows = every_case(sup)
        running = [r for r in rows if r["state"] == "under_approval"]
        assert running, "the sample district has cases under approval"
        for row in rows[:10] + running[:3]:
            detail = sup.get(f"/api/cases/{row['id']}").json()
            for key in ROW_KEYS - {"approval_id"}:
                assert row[key] == detail[key], (row["number"], key)
        for row in running:
            step = row["current_step"]
            assert step is not None and step["name"] and step["department_name"]
            assert row["agent"]["display_name"]


def test_names_follow_a_catalogue_edit_at_once(live: LiveServer) -> None:
    with live.as_user("supervisor") as sup, live.as_user("admin") as admin:
        row = every_case(sup)[0]
        code = row["service_item"]["department_code"]
        before = admin.get(f"/api/departments/{code}").json()["short_name"]
        renamed = unique("改名")
        try:
            r = admin.patch(f"/api/departments/{code}", json={"short_name": renamed})
            assert r.status_code == 200, r.text
            again = next(r for r in every_case(sup) if r["id"] == row["id"])
            assert again["service_item"]["department_name"] == renamed
            detail = sup.get(f"/api/cases/{row['id']}").json()
            assert detail["service_item"]["department_name"] == renamed
        finally:
            admin.patch(f"/api/departments/{code}", json={"short_name": before})
        restored = next(r for r in every_case(sup) if r["id"] == row["id"])
        assert restored["service_item"] == row["service_item"]


def test_approver_list_rows_carry_the_step_to_decide(live: LiveServer) -> None:
    with live.as_user("approver") as approver:
        page = approver.get("/api/approvals", params={"page_size": 200}).json()
        assert page["items"], "the sample district has steps pending at ZC-SBJ"
        ids = [r["approval_id"] for r in page["items"]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # oldest first, once each
        for row in page["items"][:5]:
            detail = approver.get(f"/api/approvals/{row['id']}").json()
            pending = [a for a in detail["approvals"] if a["state"] == "pending"]
            assert [a["id"] for a in pending] == [row["approval_id"]]
            assert row["current_step"]["department_code"] == "ZC-SBJ"
            assert row["current_step"]["step"] == pending[0]["step"]


def test_an_approver_without_a_department_gets_a_clear_error(live: LiveServer) -> None:
    name = unique("nodept").lower()
    with live.as_user("admin") as admin:
        r = admin.post(
            "/api/users",
            json={"username": name, "display_name": "无部门审批员", "password": PASSWORD,
                  "roles": ["approver"]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    live.login(name, PASSWORD)
    with live.as_user(name) as c:
        for scope in ("pending", "decided"):
            r = c.get("/api/approvals", params={"scope": scope})
            assert r.status_code == 422, r.text
            assert r.json()["error_id"] == "approver-without-department"
