"""Electronic licences (电子证照, 免证办) through the real HTTP / WebSocket interfaces —
docs/licences.md: the agent asks the citizen's consent on the kiosk, lists the citizen's
licences, and uses one for a case material; without consent, with an expired or revoked
licence, for another agent's case: clear errors and nothing written. A concluded case
of a licence-issuing item adds a licence to the registry. Every fetch is audited."""

from __future__ import annotations

from typing import Any

from integration.cases_support import Desk, decide, new_approver, pending_step
from integration.licences_support import applicant_case, consent, consented_case, licences, use
from integration.wsclient import WsClient

from cloudwindow.sample.people import person
from cloudwindow.services import Services
from cloudwindow.trust.documents import do_revoke
from conftest import LiveServer, run_async


def by_type(listing: dict[str, Any], type_code: str) -> dict[str, Any]:
    return next(x for x in listing["licences"] if x["type_code"] == type_code)


def audit(live: LiveServer, action: str, **params: Any) -> list[dict[str, Any]]:
    with live.as_user("auditor") as aud:
        r = aud.get("/api/audit-events", params={"action": action, "page_size": 200, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


def test_no_consent_no_licences(live: LiveServer) -> None:
    desk = Desk(live)
    try:
        case = applicant_case(desk, "chen")
        r = licences(desk, case["id"])
        assert r.status_code == 403, r.text
        assert r.json()["error_id"] == "licence-consent-required"
        assert "同意" in r.json()["message"]["zh-CN"]
        r = use(desk, case["id"], "M02", "sample00chenid_card")
        assert r.status_code == 403 and r.json()["error_id"] == "licence-consent-required"
        consent(desk, granted=False)  # the citizen said no: still refused
        assert licences(desk, case["id"]).status_code == 403
        assert desk.get(case["id"])["materials"] == []
    finally:
        desk.close()


def test_consent_request_reaches_the_kiosk(live: LiveServer) -> None:
    desk = Desk(live)
    kiosk = WsClient(live.url, desk.kiosk_token)
    try:
        case = applicant_case(desk, "chen")
        r = desk.agent.post(f"/api/desk/cases/{case['id']}/licence-consent-requests")
        assert r.status_code == 202, r.text
        asked = kiosk.wait("licence.consent_requested")
        assert asked["id"] is not None  # durable: a kiosk that reconnects still shows it
        data = asked["data"]
        assert data["case_id"] == case["id"] and data["ticket_id"] == desk.ticket
        assert data["purpose"] == "licence_fetch"
        assert "居民身份证" in data["materials"]  # GG-0002's M02
        assert "社会保障卡补换申请表" not in data["materials"]  # no licence for a form
    finally:
        kiosk.close()
        desk.close()


def test_consent_then_list_then_satisfy_a_material(live: LiveServer) -> None:
    desk, case = consented_case(live, "chen")
    agent_ws = WsClient(live.url, live.login("agent01"))
    try:
        r = licences(desk, case["id"])
        assert r.status_code == 200, r.text
        listing = r.json()
        chen = person("chen")
        assert listing["holder_id_masked"] == chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]
        assert listing["holder_from"] == "application" and listing["provider"] == "local"
        assert chen.id_number not in r.text  # masked everywhere
        card = by_type(listing, "ID_CARD")
        assert card["type_name"] == "居民身份证" and card["status"] == "valid"
        assert card["holder_name_masked"] == "陈**" and card["usable_for"] == ["M02"]
        assert by_type(listing, "DISABILITY")["status"] == "expired"
        assert by_type(listing, "BUSINESS_LICENCE")["status"] == "revoked"
        assert by_type(listing, "DISABILITY")["usable_for"] == []
        assert {x["type_code"] for x in listing["licences"]} >= {"HOUSEHOLD_REGISTER", "MARRIAGE"}

        r = use(desk, case["id"], "M02", card["id"])
        assert r.status_code == 201, r.text
        m = r.json()
        assert m["source"] == "licence" and m["status"] == "accepted"
        assert m["content_type"] == "application/pdf" and m["material_code"] == "M02"
        assert m["licence"]["type_code"] == "ID_CARD" and m["licence"]["id"] == card["id"]
        added = agent_ws.wait(lambda e: e["type"] == "case.material.added")["data"]
        assert added["material"]["source"] == "licence"

        detail = desk.get(case["id"])
        shown = next(x for x in detail["materials"] if x["id"] == m["id"])
        assert shown["source"] == "licence" and shown["licence"]["number_masked"].startswith("4401")
        m02 = next(x for x in detail["required_materials"] if x["code"] == "M02")
        assert m02["status"] == "accepted"
        pdf = desk.agent.get(f"/api/desk/cases/{case['id']}/materials/{m['id']}/file")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-type"] == "application/pdf"

        fetched = audit(live, "licence.fetch", entity_id=str(case["id"]))
        assert fetched and card["id"] in fetched[0]["details"]["licence_ids"]
        assert chen.id_number not in str(fetched)
        used = audit(live, "licence.use")
        assert any(e["details"]["licence_id"] == card["id"] for e in used)
    finally:
        agent_ws.close()
        desk.close()


def test_expired_revoked_and_wrong_licences_are_refused(live: LiveServer) -> None:
    desk, case = consented_case(live, "wang")
    try:
        listing = licences(desk, case["id"]).json()
        expired_card = by_type(listing, "ID_CARD")
        assert expired_card["status"] == "expired" and expired_card["usable_for"] == []
        r = use(desk, case["id"], "M02", expired_card["id"])
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["error_id"] == "licence-not-usable" and body["details"]["status"] == "expired"
        assert "过有效期" in body["message"]["zh-CN"]
        # A licence of the wrong type for the material
        r = use(desk, case["id"], "M02", by_type(listing, "HOUSEHOLD_REGISTER")["id"])
        assert r.status_code == 422 and r.json()["error_id"] == "licence-type-mismatch"
        # Someone else's licence id: as if it did not exist
        r = use(desk, case["id"], "M02", "sample06liid_card")
        assert r.status_code == 404 and r.json()["error_id"] == "licence-not-found"
        assert desk.get(case["id"])["materials"] == []  # nothing written
    finally:
        desk.close()
    desk, case = consented_case(live, "chen")
    try:
        revoked = by_type(licences(desk, case["id"]).json(), "BUSINESS_LICENCE")
        r = use(desk, case["id"], "M02", revoked["id"])
        assert r.status_code == 409 and r.json()["details"]["status"] == "revoked"
    finally:
        desk.close()


def test_another_agents_case_is_refused(live: LiveServer) -> None:
    desk, case = consented_case(live, "chen")
    try:
        with live.as_user("agent02") as other:
            for r in (
                other.get(f"/api/desk/cases/{case['id']}/licences"),
                other.post(f"/api/desk/cases/{case['id']}/licence-consent-requests"),
                other.post(
                    f"/api/desk/cases/{case['id']}/materials/M02/licence",
                    json={"licence_id": "sample00chenid_card"},
                ),
            ):
                assert r.status_code == 404, r.text
                assert r.json()["error_id"] == "case-not-found"
    finally:
        desk.close()


def test_a_concluded_case_issues_a_licence(live: LiveServer) -> None:
    """社会保障卡申领 issues a 社会保障卡: after approval it is in the applicant's list (at
    their next session), its file the case's sealed 办结通知书."""
    approver = new_approver(live, "ZC-SBJ")
    desk = Desk(live)
    try:
        case = applicant_case(desk, "li", item="440118-GG-0001")
        desk.add_materials(case)
        assert desk.confirm(case["id"])["type"] == "case.confirmed"
        accepted = desk.accept(case["id"])
        assert accepted.status_code == 200, accepted.text
        with live.as_user(approver) as appr:
            view = appr.get(f"/api/approvals/{case['id']}").json()
            r = decide(appr, case["id"], pending_step(view), "approve")
            assert r.status_code == 200 and r.json()["state"] == "concluded", r.text
            again = decide(appr, case["id"], pending_step(view), "approve")
            assert again.status_code == 200  # a repeated click issues nothing twice
        number = case["number"]
        docs = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
        decision = next(d for d in docs if d["kind"] == "decision")
    finally:
        desk.close()
    later, case2 = consented_case(live, "li")
    try:
        issued = [
            x
            for x in licences(later, case2["id"]).json()["licences"]
            if x["type_code"] == "SOCIAL_SECURITY_CARD" and x["number_masked"][:4] == number[:4]
            and x["number_masked"][-4:] == number[-4:]
        ]  # fmt: skip
        assert len(issued) == 1, issued
        assert issued[0]["status"] == "valid" and issued[0]["sha256"] == decision["sha256"]
        assert issued[0]["issuer"]  # the item's department

        # The decision is revoked (cloudwindow trust revoke): so is the licence
        async def revoke() -> None:
            services = Services.standalone(live.settings)
            try:
                await do_revoke(services, decision["id"], "决定被撤销")
            finally:
                await services.db.dispose()

        run_async(revoke)
        again = next(x for x in licences(later, case2["id"]).json()["licences"]
                     if x["id"] == issued[0]["id"])  # fmt: skip
        assert again["status"] == "revoked" and again["usable_for"] == []
    finally:
        later.close()


def test_the_id_card_read_in_the_session_names_the_holder(live: LiveServer) -> None:
    """The person at the kiosk, by the ID card read there, is whose licences are fetched
    (not whoever the form names)."""
    desk = Desk(live)
    try:
        r = desk.kiosk.post("/api/kiosk/identity/id-card", json=person("li").id_card())
        assert r.status_code == 201, r.text
        case = applicant_case(desk, "chen")
        consent(desk)
        listing = licences(desk, case["id"]).json()
        assert listing["holder_from"] == "identity"
        li = person("li").id_number
        assert listing["holder_id_masked"] == li[:4] + "*" * 10 + li[-4:]
        assert "REAL_ESTATE" in {x["type_code"] for x in listing["licences"]}  # li's
    finally:
        desk.close()


def test_the_approver_sees_and_opens_a_licence_material(live: LiveServer) -> None:
    """A case accepted with 居民身份证 from the registry: the approver's view names the
    licence, and the approver can open its PDF (audited like any material)."""
    approver = new_approver(live, "ZC-SBJ")
    desk, case = consented_case(live, "chen")
    try:
        card = by_type(licences(desk, case["id"]).json(), "ID_CARD")
        assert use(desk, case["id"], "M02", card["id"]).status_code == 201
        others = [m for m in case["required_materials"] if m["required"] and m["code"] != "M02"]
        desk.add_materials({"id": case["id"], "required_materials": others})
        assert desk.confirm(case["id"])["type"] == "case.confirmed"
        r = desk.accept(case["id"])
        assert r.status_code == 200, r.text
    finally:
        desk.close()
    with live.as_user(approver) as appr:
        view = appr.get(f"/api/approvals/{case['id']}").json()
        m = next(x for x in view["materials"] if x["source"] == "licence")
        assert m["material_code"] == "M02" and m["licence"]["type_name"] == "居民身份证"
        assert m["licence"]["number_masked"] == card["number_masked"]
        pdf = appr.get(f"/api/approvals/{case['id']}/materials/{m['id']}/file")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    downloads = audit(live, "case.material.download", entity_id=str(m["id"]))
    assert any(e["details"]["audience"] == "approver" for e in downloads)


def test_administrators_configure_which_items_issue_licences(live: LiveServer) -> None:
    item = "440118-GG-0004"  # 社会保障卡临时挂失: issues nothing in the sample
    path = f"/api/service-items/{item}/licence-product"
    with live.as_user("admin") as admin:
        types = admin.get("/api/licence-types").json()
        card = next(t for t in types if t["code"] == "ID_CARD")
        assert card["name"] == "居民身份证" and "居民身份证" in card["materials"]
        assert admin.get(path).json()["type_code"] is None
        r = admin.put(path, json={"type_code": "SOCIAL_SECURITY_CARD", "valid_years": 10})
        assert r.status_code == 200, r.text
        assert r.json()["type_name"] == "社会保障卡" and r.json()["valid_years"] == 10
        assert admin.get(path).json()["type_code"] == "SOCIAL_SECURITY_CARD"
        r = admin.put(path, json={"type_code": "PASSPORT"})
        assert r.status_code == 422 and r.json()["error_id"] == "licence-type-unknown"
        assert admin.get(path).json()["type_code"] == "SOCIAL_SECURITY_CARD"  # unchanged
        assert admin.put(path, json={"type_code": None}).json()["type_code"] is None
        r = admin.put("/api/service-items/NO-SUCH-ITEM/licence-product", json={"type_code": None})
        assert r.status_code == 404
    with live.as_user("agent01") as agent:
        assert agent.put(path, json={"type_code": "MARRIAGE"}).status_code == 403
    set_rows = audit(live, "licence_product.set", entity_id=item)
    assert [e["details"]["type_code"] for e in set_rows[:2]] == [None, "SOCIAL_SECURITY_CARD"]


def test_no_id_number_yet_names_no_holder(live: LiveServer) -> None:
    desk = Desk(live)
    try:
        case = desk.open()
        consent(desk)
        r = licences(desk, case["id"])
        assert r.status_code == 422 and r.json()["error_id"] == "licence-holder-unknown"
        r = desk.agent.patch(
            f"/api/desk/cases/{case['id']}/data", json={"values": {"id_number": "44011819"}}
        )
        assert r.status_code == 200, r.text  # a draft: half typed
        assert licences(desk, case["id"]).json()["error_id"] == "licence-holder-unknown"
    finally:
        desk.close()
