"""Cases over HTTP (and the kiosk's WebSocket confirmation): the state machine from draft
to concluded, acceptance refused until the form, materials and the citizen's
confirmation are in order, approvals under concurrency, idempotent decisions, SMS and
receipt, personal data masked for those who should not see it, lists and overdue flags."""

from __future__ import annotations

import json
import re
import threading
from datetime import date
from typing import Any

import httpx
import pytest
from integration.cases_support import (
    PASSWORD,
    Desk,
    decide,
    end_session,
    new_approver,
    pending_step,
    user_id,
)
from integration.wsclient import WsClient

from cloudwindow.cases.models import Case
from cloudwindow.services import Services
from conftest import LiveServer, run_async

NUMBER = re.compile(r"^CW\d{8}-\d{6}$")


@pytest.fixture()
def desk(live: LiveServer) -> Any:
    d = Desk(live)
    yield d
    d.close()


def transitions(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["from_state"], e["to_state"]) for e in case["events"] if e["kind"] == "transition"]


def sms_lines(live: LiveServer) -> list[dict[str, Any]]:
    path = live.settings.data_dir / "sms" / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_full_flow_draft_to_concluded_through_return_and_resubmission(
    live: LiveServer, desk: Desk
) -> None:
    phone = "13912345678"
    case = desk.ready(phone=phone)
    assert NUMBER.match(case["number"]), case["number"]
    assert case["state"] == "draft" and case["can_accept"] and case["accept_blockers"] == []
    assert case["data_clear"] is True  # the working agent sees clear values

    r = desk.accept(case["id"])
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["state"] == "under_approval"
    assert transitions(accepted) == [("draft", "accepted"), ("accepted", "under_approval")]
    assert date.fromisoformat(accepted["due_date"]) >= date.fromisoformat(
        accepted["accepted_at"][:10]
    )
    assert accepted["receipt"]["title"] == "受理回执"
    assert case["number"] in accepted["receipt"]["text"]
    assert "139****5678" in accepted["receipt"]["text"] and phone not in accepted["receipt"]["text"]
    notes = accepted["notifications"]
    assert [(n["kind"], n["state"]) for n in notes] == [("accepted", "sent")]
    sent = [s for s in sms_lines(live) if case["number"] in s["text"]]
    assert len(sent) == 1 and sent[0]["to"] == "139****5678" and "已受理" in sent[0]["text"]

    # The approver of the item's department sees it on the pending list and decides.
    with live.as_user("approver") as approver:
        pending = approver.get("/api/approvals", params={"page_size": 200}).json()["items"]
        row = next(p for p in pending if p["id"] == case["id"])
        assert row["current_step"]["department_code"] == "ZC-SBJ"
        detail = approver.get(f"/api/approvals/{case['id']}").json()
        assert detail["data_clear"] is True and detail["materials"]
        r = decide(
            approver, case["id"], row["approval_id"], "return",
            reason="身份证复印件不清晰", missing=["居民身份证（清晰彩色）"],
        )  # fmt: skip
        assert r.status_code == 200, r.text
        returned = r.json()
    assert returned["state"] == "returned"
    assert returned["correction"]["missing"] == ["居民身份证（清晰彩色）"]
    assert any("需要补正" in s["text"] for s in sms_lines(live) if case["number"] in s["text"])

    # Resubmission after a data change needs the citizen's confirmation again.
    r = desk.agent.patch(
        f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "已补交清晰身份证"}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["confirmed"] is False
    r = desk.agent.post(f"/api/desk/cases/{case['id']}/resubmit", json={"note": "已补正"})
    assert r.status_code == 409 and r.json()["error_id"] == "case-not-confirmed"
    assert desk.confirm(case["id"])["type"] == "case.confirmed"
    r = desk.agent.post(f"/api/desk/cases/{case['id']}/resubmit", json={"note": "已补正"})
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["state"] == "under_approval" and again["round"] == 2
    assert again["correction"] is None

    with live.as_user("approver") as approver:
        r = decide(approver, case["id"], pending_step(again), "approve")
        assert r.status_code == 200, r.text
        done = r.json()
    assert done["state"] == "concluded" and done["concluded_at"]
    assert transitions(done) == [
        ("draft", "accepted"),
        ("accepted", "under_approval"),
        ("under_approval", "returned"),
        ("returned", "resubmitted"),
        ("resubmitted", "under_approval"),
        ("under_approval", "concluded"),
    ]
    actors = {e["to_state"]: e["actor"] for e in done["events"] if e["kind"] == "transition"}
    assert actors["accepted"] == f"user:{user_id(live, 'agent01')}"
    assert actors["concluded"] == f"user:{user_id(live, 'approver')}"
    assert [n["kind"] for n in done["notifications"]] == ["accepted", "returned", "concluded"]

    # The citizen looks it up by number + phone.
    with live.client() as anon:
        r = anon.post("/api/case-lookup", json={"number": case["number"], "phone": phone})
        assert r.status_code == 200, r.text
        seen = r.json()
    assert seen["state"] == "concluded" and seen["state_label"]["zh-CN"] == "已办结"
    assert [h["state"] for h in seen["history"]][-1] == "concluded"
    shown = json.dumps(seen, ensure_ascii=False)
    pii = [n for n, p in case["form"]["schema"]["properties"].items() if p.get("x-pii")]
    assert all(str(case["data"][n]) not in shown for n in pii if n in case["data"])


def test_acceptance_refused_until_form_materials_and_confirmation(
    live: LiveServer, desk: Desk
) -> None:
    case = desk.open()
    assert set(case["accept_blockers"]) >= {"case-form-invalid", "case-not-confirmed"}

    r = desk.accept(case["id"])
    assert r.status_code == 422 and r.json()["error_id"] == "case-form-invalid"
    problems = r.json()["details"]["errors"]
    required = case["form"]["schema"]["required"]
    assert {p["field"] for p in problems} >= set(required)
    assert all(p["message"]["zh-CN"] and p["message"]["en"] for p in problems)

    case = desk.fill(case)
    r = desk.accept(case["id"])
    assert r.status_code == 409 and r.json()["error_id"] == "case-materials-missing"
    missing = {m["code"] for m in r.json()["details"]["missing"]}
    assert missing == {m["code"] for m in case["required_materials"] if m["required"]}

    desk.add_materials(case)
    r = desk.accept(case["id"])
    assert r.status_code == 409 and r.json()["error_id"] == "case-not-confirmed"

    desk.confirm(case["id"])
    # An edit after the citizen confirmed clears the confirmation.
    r = desk.agent.patch(f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "改"}})
    assert r.json()["confirmed"] is False
    r = desk.accept(case["id"])
    assert r.status_code == 409 and r.json()["error_id"] == "case-not-confirmed"
    assert desk.get(case["id"])["state"] == "draft"  # nothing changed by the refusals

    desk.confirm(case["id"])
    assert desk.accept(case["id"]).status_code == 200
    # Illegal moves: accepting twice, withdrawing a case under approval, editing it.
    r = desk.accept(case["id"])
    assert r.status_code == 409 and r.json()["error_id"] == "case-state-conflict"
    r = desk.agent.post(f"/api/desk/cases/{case['id']}/withdraw", json={"reason": "不办了"})
    assert r.status_code == 409 and r.json()["error_id"] == "case-state-conflict"
    r = desk.agent.patch(f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "x"}})
    assert r.status_code == 409 and r.json()["error_id"] == "case-not-editable"


def test_form_edits_bad_input_and_stale_base_revision(live: LiveServer, desk: Desk) -> None:
    case = desk.open()
    url = f"/api/desk/cases/{case['id']}/data"
    r = desk.agent.patch(url, json={"values": {"no_such_field": "x"}})
    assert r.status_code == 422 and r.json()["error_id"] == "case-unknown-field"
    r = desk.agent.patch(url, json={"values": {"remarks": 12}})
    assert r.status_code == 422 and r.json()["error_id"] == "case-field-value-invalid"
    r = desk.agent.patch(url, json={"values": {"remarks": "第一版"}})
    rev = r.json()["field_revs"]["remarks"]
    r = desk.agent.patch(url, json={"values": {"remarks": "第二版"}, "base_revs": {"remarks": rev}})
    assert r.status_code == 200
    # Based on the first revision again: someone else changed it since → conflict.
    r = desk.agent.patch(url, json={"values": {"remarks": "第三版"}, "base_revs": {"remarks": rev}})
    assert r.status_code == 409 and r.json()["error_id"] == "case-field-conflict"
    assert desk.get(case["id"])["data"]["remarks"] == "第二版"


def test_personal_data_encrypted_masked_and_audited(live: LiveServer, desk: Desk) -> None:
    case = desk.fill(desk.open(), phone="13800001111")
    schema = case["form"]["schema"]
    id_field = next(n for n, p in schema["properties"].items() if p.get("x-pii") == "id_number")
    clear_id = case["data"][id_field]
    assert len(clear_id) == 18

    with live.as_user("supervisor") as sup:
        seen = sup.get(f"/api/cases/{case['id']}").json()
    assert seen["data_clear"] is False
    assert seen["data"][id_field] == clear_id[:4] + "*" * 10 + clear_id[-4:]
    assert seen["phone_masked"] == "138****1111"
    assert clear_id not in json.dumps(seen) and "13800001111" not in json.dumps(seen)

    async def stored() -> Case:
        services = Services.standalone(live.settings)
        try:
            async with services.db.read() as session:
                row = await session.get(Case, case["id"])
                assert row is not None
                return row
        finally:
            await services.db.dispose()

    row = run_async(stored)
    assert clear_id not in json.dumps(row.data) + json.dumps(row.pii)
    assert row.phone_cipher and "13800001111" not in row.phone_cipher

    with live.as_user("auditor") as auditor:
        reads = auditor.get(
            "/api/audit-events",
            params={"action": "case.data.read", "entity_id": str(case["id"]), "page_size": 100},
        ).json()["items"]
    assert reads and all(e["entity_type"] == "case" for e in reads)


def test_only_the_session_and_the_department_may_touch_a_case(live: LiveServer, desk: Desk) -> None:
    case = desk.ready()
    with live.as_user("agent02") as other:
        r = other.get(f"/api/desk/cases/{case['id']}")
        assert r.status_code == 404 and r.json()["error_id"] == "case-not-found"
        r = other.patch(
            f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "不是我的"}}
        )
        assert r.status_code == 404
        r = other.post("/api/desk/cases", json={"ticket_id": desk.ticket})
        assert r.status_code == 409 and r.json()["error_id"] == "case-ticket-not-served"
    stranger = Desk(live)
    try:
        assert all(
            c["id"] != case["id"] for c in stranger.kiosk.get("/api/kiosk/cases").json()["cases"]
        )
    finally:
        stranger.close()
    assert desk.accept(case["id"]).status_code == 200
    approval = pending_step(desk.get(case["id"]))
    with live.as_user("approver-mz") as mz:  # 民政局: not this item's department
        assert mz.get(f"/api/approvals/{case['id']}").status_code == 404
        r = decide(mz, case["id"], approval, "approve")
        assert r.status_code == 404 and r.json()["error_id"] == "case-not-found"
        assert all(p["id"] != case["id"] for p in mz.get("/api/approvals").json()["items"])
    # After the session the kiosk no longer sees the case.
    end_session(live, desk.ticket)
    assert desk.kiosk.get("/api/kiosk/cases").json() == {"cases": []}


def _accepted_case(live: LiveServer) -> tuple[int, int]:
    d = Desk(live)
    try:
        case = d.ready()
        r = d.accept(case["id"])
        assert r.status_code == 200, r.text
        return case["id"], pending_step(r.json())
    finally:
        d.close()


def test_two_approvers_at_once_get_one_decision_and_one_clear_error(live: LiveServer) -> None:
    second = new_approver(live)
    for decisions in (("approve", "approve"), ("approve", "reject"), ("return", "approve")):
        case_id, approval = _accepted_case(live)
        clients = [live.as_user("approver"), live.client(live.login(second, PASSWORD))]
        barrier = threading.Barrier(2)
        results: list[httpx.Response] = [None, None]  # type: ignore[list-item]

        def go(
            n: int, decision: str, barrier: threading.Barrier, results: list[httpx.Response],
            clients: list[httpx.Client], case_id: int, approval: int,
        ) -> None:  # fmt: skip
            extra = {"reason": "材料不全", "missing": ["户口簿"]} if decision != "approve" else {}
            barrier.wait()
            results[n] = decide(clients[n], case_id, approval, decision, **extra)

        threads = [
            threading.Thread(target=go, args=(n, d, barrier, results, clients, case_id, approval))
            for n, d in enumerate(decisions)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409).json()
        assert loser["error_id"] == "approval-already-decided"
        assert loser["details"]["approval_id"] == approval
        winner = next(r for r in results if r.status_code == 200).json()
        with live.as_user("supervisor") as sup:
            final = sup.get(f"/api/cases/{case_id}").json()
        assert final["state"] == winner["state"]
        decided = [e for e in final["events"] if e["kind"] == "transition"][2:]
        assert len(decided) == 1  # one decision recorded, never two
        assert len(final["notifications"]) == 2  # accepted + the one outcome
        for c in clients:
            c.close()


def test_decisions_are_idempotent_and_checked(live: LiveServer) -> None:
    case_id, approval = _accepted_case(live)
    with live.as_user("approver") as approver:
        r = decide(approver, case_id, approval, "reject")
        assert r.status_code == 422 and r.json()["error_id"] == "approval-reason-required"
        r = decide(approver, case_id, approval, "return", reason="缺材料")
        assert r.status_code == 422 and r.json()["error_id"] == "approval-reason-required"
        first = decide(approver, case_id, approval, "approve")
        assert first.status_code == 200 and first.json()["state"] == "concluded"
        again = decide(approver, case_id, approval, "approve")  # a retried click
        assert again.status_code == 200 and again.json()["state"] == "concluded"
        assert again.json()["events"] == first.json()["events"]
        assert again.json()["notifications"] == first.json()["notifications"]
        r = decide(approver, case_id, approval, "reject", reason="改主意")
        assert r.status_code == 409 and r.json()["error_id"] == "approval-already-decided"
        decided = approver.get("/api/approvals", params={"scope": "decided"}).json()["items"]
        assert any(d["id"] == case_id for d in decided)
        pending = approver.get("/api/approvals", params={"page_size": 200}).json()["items"]
        assert all(p["id"] != case_id for p in pending)


def test_rejection_and_withdrawal(live: LiveServer, desk: Desk) -> None:
    case_id, approval = _accepted_case(live)
    with live.as_user("approver") as approver:
        r = decide(approver, case_id, approval, "reject", reason="不符合补领条件")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert r.json()["outcome_reason"] == "不符合补领条件"
    assert r.json()["notifications"][-1]["kind"] == "rejected"

    draft = desk.open()
    r = desk.agent.post(f"/api/desk/cases/{draft['id']}/withdraw", json={"reason": "群众改日再办"})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    assert transitions(r.json()) == [("draft", "withdrawn")]
    assert r.json()["events"][-1]["reason"] == "群众改日再办"
    r = desk.agent.post(f"/api/desk/cases/{draft['id']}/withdraw", json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error_id"] == "case-state-conflict"


def test_multi_step_chain_goes_department_by_department(live: LiveServer, desk: Desk) -> None:
    item = "440118-GG-0003"  # 社会保障卡换领, 区社保局 — opened in the session of another item
    rs = new_approver(live, "ZC-RS")
    with live.as_user("admin") as admin:
        r = admin.put(
            f"/api/service-items/{item}/approval-chain",
            json={"steps": [{"department_code": "ZC-SBJ", "name": "初审"},
                            {"department_code": "ZC-RS", "name": "复核"}]},
        )  # fmt: skip
        assert r.status_code == 200 and not r.json()["default"]
        assert [s["name"] for s in r.json()["steps"]] == ["初审", "复核"]
        bad = admin.put(
            f"/api/service-items/{item}/approval-chain",
            json={"steps": [{"department_code": "NOPE", "name": "x"}]},
        )
        assert bad.status_code == 422
    try:
        case = desk.ready(item=item)
        assert case["service_item"]["code"] == item
        accepted = desk.accept(case["id"]).json()
        steps = [(a["step"], a["state"]) for a in accepted["approvals"]]
        assert steps == [(1, "pending"), (2, "waiting")]
        with live.client(live.login(rs, PASSWORD)) as rs_client:
            assert all(
                p["id"] != case["id"] for p in rs_client.get("/api/approvals").json()["items"]
            )
            r = decide(rs_client, case["id"], accepted["approvals"][1]["id"], "approve")
            assert r.status_code == 409 and r.json()["error_id"] == "approval-step-not-pending"
        with live.as_user("approver") as sbj:
            r = decide(sbj, case["id"], accepted["approvals"][0]["id"], "approve")
            assert r.status_code == 200 and r.json()["state"] == "under_approval"
            assert r.json()["current_step"]["name"] == "复核"
        with live.client(live.login(rs, PASSWORD)) as rs_client:
            row = next(
                p for p in rs_client.get("/api/approvals").json()["items"] if p["id"] == case["id"]
            )
            r = decide(rs_client, case["id"], row["approval_id"], "approve")
            assert r.status_code == 200 and r.json()["state"] == "concluded"
    finally:
        with live.as_user("admin") as admin:
            r = admin.put(f"/api/service-items/{item}/approval-chain", json={"steps": []})
            assert r.json()["default"] is True


def test_lists_overdue_flags_and_metrics(live: LiveServer) -> None:
    case_id, _ = _accepted_case(live)

    async def backdate() -> None:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                row = await session.get(Case, case_id)
                assert row is not None
                row.due_date = date(2026, 1, 5)  # long past
        finally:
            await services.db.dispose()

    run_async(backdate)
    with live.as_user("supervisor") as sup:
        late = sup.get("/api/cases", params={"overdue": "true", "page_size": 200}).json()
        row = next(c for c in late["items"] if c["id"] == case_id)
        assert row["overdue"] is True and row["working_days_left"] < 0
        assert all(c["overdue"] for c in late["items"])
        on_time = sup.get("/api/cases", params={"overdue": "false", "page_size": 200}).json()
        assert all(not c["overdue"] for c in on_time["items"])
        metrics = sup.get("/api/cases/metrics").json()
        assert metrics["overdue"] >= 1 and metrics["by_state"]["under_approval"] >= 1
        assert metrics["accepted_today"] >= 1
        by_number = sup.get("/api/cases", params={"q": row["number"]}).json()["items"]
        assert [c["id"] for c in by_number] == [case_id]
    with live.as_user("approver") as approver:
        flagged = approver.get("/api/approvals", params={"overdue": "true"}).json()["items"]
        assert any(c["id"] == case_id and c["overdue"] for c in flagged)


def test_case_numbers_unique_and_sortable_under_concurrency(live: LiveServer) -> None:
    desks = [Desk(live) for _ in range(6)]
    out: list[dict[str, Any]] = []
    lock = threading.Lock()

    def go(d: Desk) -> None:
        case = d.open()
        with lock:
            out.append(case)

    threads = [threading.Thread(target=go, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for d in desks:
        d.close()
    numbers = [c["number"] for c in sorted(out, key=lambda c: c["id"])]
    assert len(set(numbers)) == 6 and all(NUMBER.match(n) for n in numbers)
    assert numbers == sorted(numbers)


def test_realtime_case_updates_reach_agent_and_kiosk(live: LiveServer, desk: Desk) -> None:
    agent_ws = WsClient(live.url, live.login("agent01"))
    kiosk_ws = WsClient(live.url, desk.kiosk_token)
    try:
        case = desk.ready()
        kiosk_ws.wait(lambda e: e["type"] == "case.updated" and e["data"]["case_id"] == case["id"])
        assert desk.accept(case["id"]).status_code == 200
        for ws in (agent_ws, kiosk_ws):
            ev = ws.wait(
                lambda e: (
                    e["type"] == "case.updated"
                    and e["data"]["case_id"] == case["id"]
                    and e["data"]["state"] == "under_approval"
                )
            )
            assert ev["id"] is not None  # durable: replayed after a reconnect
            assert set(ev["data"]) == {
                "case_id",
                "number",
                "state",
                "rev",
                "confirmed_rev",
                "version",
            }
        with live.as_user("approver") as approver:
            decide(approver, case["id"], pending_step(desk.get(case["id"])), "approve")
        kiosk_ws.wait(
            lambda e: (
                e["type"] == "case.updated"
                and e["data"]["case_id"] == case["id"]
                and e["data"]["state"] == "concluded"
            )
        )
    finally:
        agent_ws.close()
        kiosk_ws.close()


def test_returned_case_continues_in_a_new_session(live: LiveServer) -> None:
    phone = "13566667777"
    first = Desk(live)
    case = first.ready(phone=phone)
    accepted = first.accept(case["id"]).json()
    with live.as_user("approver") as approver:
        r = decide(
            approver, case["id"], pending_step(accepted), "return",
            reason="申请表签名缺失", missing=["申请人签名"],
        )  # fmt: skip
        assert r.status_code == 200, r.text
    later = Desk(live, "agent03")  # another day, another kiosk, another agent
    try:
        url = f"/api/desk/cases/{case['id']}/attach"
        # Still in the first session: not movable.
        r = later.agent.post(url, json={"ticket_id": later.ticket, "phone": phone})
        assert r.status_code == 409 and r.json()["error_id"] == "case-in-another-session"
        end_session(live, first.ticket)
        for wrong in ({}, {"phone": "13566667778"}):
            r = later.agent.post(url, json={"ticket_id": later.ticket, **wrong})
            assert r.status_code == 404 and r.json()["error_id"] == "case-not-found"
        r = later.agent.post(url, json={"ticket_id": later.ticket, "phone": phone})
        assert r.status_code == 200, r.text
        moved = r.json()
        assert moved["ticket_id"] == later.ticket and moved["data_clear"] is True
        assert moved["events"][-1]["kind"] == "attached"
        # The new kiosk reviews it; the first agent no longer works on it.
        assert [c["id"] for c in later.kiosk.get("/api/kiosk/cases").json()["cases"]] == [
            case["id"]
        ]
        r = first.agent.patch(
            f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "旧坐席"}}
        )
        assert r.status_code == 404
        r = later.agent.patch(
            f"/api/desk/cases/{case['id']}/data", json={"values": {"remarks": "已补签名"}}
        )
        assert r.status_code == 200 and r.json()["confirmed"] is False
        assert later.confirm(case["id"])["type"] == "case.confirmed"
        r = later.agent.post(f"/api/desk/cases/{case['id']}/resubmit", json={"note": "已补正"})
        assert r.status_code == 200 and r.json()["state"] == "under_approval"
        assert r.json()["agent"]["id"] == user_id(live, "agent03")
    finally:
        first.close()
        later.close()
