"""Sealed result documents (受理回执, 办结通知书, 不予许可决定书): a case accepted and decided
through the real APIs gets PDFs sealed with its department's certificate; they validate
with pyHanko and with poppler's independent ``pdfsig``; one changed byte fails both; the
Chinese text and the seal render; the public verification answers genuine / forged /
unknown; downloads are audited; the public endpoints are rate-limited."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, decide, new_approver, pending_step
from integration.documents_support import DEPARTMENT, agent_pdf, flip_inside_content, issue
from PIL import Image

from cloudwindow.services import Services
from cloudwindow.trust.ca import trusted_roots
from cloudwindow.trust.render import render_document
from cloudwindow.trust.sign import check_pdf
from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    run_async,
    settings_for,
    start_server,
)


@dataclass
class Issued:
    case: dict[str, Any]
    phone: str
    docs: dict[str, dict[str, Any]]  # kind → row from the desk list
    approver: str


def decided_case(live: LiveServer, decision: str = "approve") -> Issued:
    phone = "13712345678"
    desk = Desk(live)
    try:
        case = desk.ready(phone=phone)
        r = desk.accept(case["id"])
        assert r.status_code == 200, r.text
        # Sealed by the acceptance itself (cases/actions.py do_accept).
        listed = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
        assert [d["kind"] for d in listed] == ["receipt"]
        approver = new_approver(live)
        with live.as_user(approver) as a:
            detail = a.get(f"/api/approvals/{case['id']}").json()
            extra = {"reason": "申请材料与事实不符"} if decision == "reject" else {}
            r = decide(a, case["id"], pending_step(detail), decision, **extra)
            assert r.status_code == 200, r.text
        # Sealed by the final decision (cases/approvals.py do_decide); issuing is idempotent.
        assert issue(live, case["id"], "decision") == issue(live, case["id"], "decision")
        r = desk.agent.get(f"/api/desk/cases/{case['id']}/documents")
        assert r.status_code == 200, r.text
        docs = {d["kind"]: d for d in r.json()}
        assert set(docs) == {"receipt", "decision"}
        return Issued(desk.get(case["id"]), phone, docs, approver)
    finally:
        desk.close()


@pytest.fixture(scope="module")
def concluded(live: LiveServer) -> Issued:
    return decided_case(live)


def pdfsig(path: Path) -> str:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


def test_sealed_pdf_validates_with_pdfsig_and_pyhanko_and_one_byte_breaks_both(
    live: LiveServer, concluded: Issued, tmp_path: Path
) -> None:
    roots = trusted_roots(live.settings)
    for kind, doc in concluded.docs.items():
        pdf = agent_pdf(live, doc["id"])
        good = tmp_path / f"{kind}.pdf"
        good.write_bytes(pdf)
        report = pdfsig(good)
        assert "Signature is Valid" in report, report
        assert f"Signer Certificate Common Name: {DEPARTMENT}" in report, report
        assert "Total document signed" in report, report
        check = asyncio.run(check_pdf(pdf, roots))
        assert check.genuine and check.signer == DEPARTMENT, check

        bad = tmp_path / f"{kind}-changed.pdf"
        bad.write_bytes(flip_inside_content(pdf))
        report = pdfsig(bad)
        assert "Signature is Valid" not in report, report
        assert "Digest Mismatch" in report or "Invalid" in report, report
        check = asyncio.run(check_pdf(bad.read_bytes(), roots))
        assert not check.intact and not check.genuine, check


def test_chinese_text_font_and_seal_render(
    live: LiveServer, concluded: Issued, tmp_path: Path
) -> None:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(agent_pdf(live, concluded.docs["receipt"]["id"]))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    cjk = [ln for ln in fonts.stdout.splitlines() if "WenQuanYi" in ln or "uming" in ln.lower()]
    assert cjk and all(" yes " in ln for ln in cjk), fonts.stdout  # embedded (emb = yes)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in ("受理回执", concluded.case["number"], "申请人", "承诺办结日期", DEPARTMENT):
        assert expected in text, (expected, text)
    assert concluded.case["applicant_masked"] in text  # the masked name, never the clear one
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
    )
    page = Image.open(tmp_path / "page.png").convert("RGB")
    pixels = list(page.get_flattened_data())
    dark = sum(1 for r, g, b in pixels if r < 100 and g < 100 and b < 100)
    red = sum(1 for r, g, b in pixels if r > 180 and g < 90 and b < 90)
    assert dark > 2000, dark  # text, table and QR code are drawn
    assert red > 800, red  # the red title, rule and round seal


def test_verification_page_and_endpoint_genuine_forged_unknown(
    live: LiveServer, concluded: Issued
) -> None:
    doc = concluded.docs["decision"]
    pdf = agent_pdf(live, doc["id"])
    with live.as_user("agent01") as c:
        row = c.get(f"/api/desk/cases/{concluded.case['id']}/documents").json()
    assert row[1]["id"] == doc["id"]
    with live.client() as anon:
        listing = anon.post(
            "/api/case-lookup/documents",
            json={"number": concluded.case["number"], "phone": concluded.phone},
        )
        assert listing.status_code == 200, listing.text
        mine = {d["kind"]: d for d in listing.json()["documents"]}
        verify_url = mine["decision"]["verify_url"]
        assert f"/verify/{doc['id']}?c=" in verify_url
        code = verify_url.split("?c=")[1]

        # The QR code's check: genuine, with masked number, item, department, date.
        r = anon.get(f"/api/public/documents/{doc['id']}/verify", params={"c": code.lower()})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "genuine" and body["hash_matches"]
        assert body["message"]["zh-CN"].startswith("验证通过")
        shown = body["document"]
        assert shown["title"] == "办结通知书"
        assert shown["department_name"] == DEPARTMENT
        assert shown["service_item_name"] == concluded.case["service_item"]["name"]
        number = concluded.case["number"]
        assert shown["case_number_masked"] != number
        assert shown["case_number_masked"][:6] == number[:6]
        assert shown["case_number_masked"][-4:] == number[-4:]

        # Wrong check code and unknown id: one clear error, nothing revealed.
        for path, c in ((doc["id"], "ZZZZZZZZ"), ("0" * 32, code)):
            r = anon.get(f"/api/public/documents/{path}/verify", params={"c": c})
            assert r.status_code == 404, r.text
            assert r.json()["error_id"] == "document-unknown"

        # The page the QR code opens, Chinese first.
        page = anon.get(f"/verify/{doc['id']}", params={"c": code})
        assert page.status_code == 200 and "电子文书验真" in page.text
        assert page.text.index("电子文书验真") < page.text.index("Electronic document")

        # Uploads: the genuine file passes, one changed byte is forged.
        up = anon.post("/api/public/documents/verify", content=pdf,
                       headers={"Content-Type": "application/pdf"})  # fmt: skip
        assert up.status_code == 200, up.text
        assert up.json()["verdict"] == "genuine"
        assert up.json()["signature"]["signer"] == DEPARTMENT
        forged = anon.post("/api/public/documents/verify", content=flip_inside_content(pdf),
                           headers={"Content-Type": "application/pdf"})  # fmt: skip
        assert forged.status_code == 200, forged.text
        assert forged.json()["verdict"] == "forged"
        assert not forged.json()["hash_matches"]
        assert not forged.json()["signature"]["intact"]

        # Not a PDF; a PDF without a seal; a sealed PDF this platform never issued.
        r = anon.post("/api/public/documents/verify", content=b"hello, not a pdf")
        assert r.status_code == 422 and r.json()["error_id"] == "document-unreadable"
        unsigned = render_document(_foreign_content())
        r = anon.post("/api/public/documents/verify", content=unsigned)
        assert r.status_code == 422 and r.json()["error_id"] == "document-not-signed", r.text
        r = anon.post("/api/public/documents/verify", content=_foreign_sealed(live))
        assert r.status_code == 404 and r.json()["error_id"] == "document-unknown", r.text


def _foreign_content() -> Any:
    from datetime import date

    from cloudwindow.trust.render import DocumentContent

    return DocumentContent(
        title="办结通知书", doc_number="伪〔2026〕1号", addressee="张*：", paragraphs=["伪造。"],
        rows=[("办件编号", "CW20260101-000001")], department_name="某某局",
        issued_on=date(2026, 1, 1), verify_url="http://example.invalid/verify/x?c=1",
        document_id="f" * 32, check_code="AAAAAAAA",
    )  # fmt: skip


def _foreign_sealed(live: LiveServer) -> bytes:
    """A document sealed under another CA (someone's own), claiming an id of ours."""
    import tempfile

    from cloudwindow.config import Settings
    from cloudwindow.trust.ca import seal_for
    from cloudwindow.trust.sign import seal_pdf

    with tempfile.TemporaryDirectory() as d:
        other = Settings(data_dir=Path(d), database_url=live.settings.database_url)
        seal = seal_for(other, "FAKE", DEPARTMENT)
        return asyncio.run(seal_pdf(render_document(_foreign_content()), seal, "伪造", "某地"))


def test_downloads_by_role_and_check_code_are_audited(live: LiveServer, concluded: Issued) -> None:
    receipt = concluded.docs["receipt"]
    expected = agent_pdf(live, receipt["id"])
    with live.as_user(concluded.approver) as a:
        r = a.get(f"/api/approvals/documents/{receipt['id']}/pdf")
        assert r.status_code == 200 and r.content == expected
    other = new_approver(live, "ZC-MZ")
    with live.as_user(other) as a:
        r = a.get(f"/api/approvals/documents/{receipt['id']}/pdf")
        assert r.status_code == 404 and r.json()["error_id"] == "document-unknown"
    with live.as_user("agent02") as stranger:
        r = stranger.get(f"/api/desk/documents/{receipt['id']}/pdf")
        assert r.status_code == 404
    with live.client() as anon:
        docs = anon.post(
            "/api/case-lookup/documents",
            json={"number": concluded.case["number"], "phone": concluded.phone},
        ).json()["documents"]
        link = next(d["download_url"] for d in docs if d["kind"] == "receipt")
        r = anon.get(link)
        assert r.status_code == 200 and r.content == expected
        wrong = anon.post(
            "/api/case-lookup/documents",
            json={"number": concluded.case["number"], "phone": "13900000000"},
        )
        assert wrong.status_code == 404
    with live.as_user("auditor") as au:
        rows = au.get(
            "/api/audit-events",
            params={"action": "document.download", "entity_id": receipt["id"]},
        ).json()["items"]
    via = sorted(r["details"]["via"] for r in rows)
    assert via.count("desk") >= 1 and "approval" in via and "check-code" in via, via


def test_rejection_gets_a_sealed_refusal_with_reason(live: LiveServer, tmp_path: Path) -> None:
    issued = decided_case(live, "reject")
    pdf = agent_pdf(live, issued.docs["decision"]["id"])
    path = tmp_path / "refusal.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "不予许可决定书" in text and "申请材料与事实不符" in text and "行政复议" in text
    assert "Signature is Valid" in pdfsig(path)


@pytest.fixture(scope="module")
def limited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp(f"docs-limited-{backend}")
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(settings_for(url, tmp, case_lookup_per_client=3))
    yield server
    server.stop()
    drop_database(url)


def test_public_verification_is_rate_limited(limited: LiveServer) -> None:
    with httpx.Client(base_url=limited.url) as anon:
        codes = [
            anon.get(f"/api/public/documents/{'a' * 32}/verify", params={"c": "AAAAAAAA"})
            for _ in range(4)
        ]
        assert [r.status_code for r in codes] == [404, 404, 404, 429]
        assert codes[-1].json()["error_id"] == "document-verify-rate-limited"
        assert int(codes[-1].headers["Retry-After"]) > 0
        r = anon.post("/api/public/documents/verify", content=io.BytesIO(b"%PDF").read())
        assert r.status_code == 429


def test_revoked_documents_verify_as_revoked_and_backfill_seals_what_is_missing(
    live: LiveServer,
) -> None:
    from cloudwindow.trust.documents import do_backfill, do_revoke

    desk = Desk(live)
    try:
        case = desk.ready(phone="13722223333")
        assert desk.accept(case["id"]).status_code == 200
        listed = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
        had_receipt = any(d["kind"] == "receipt" for d in listed)

        async def backfill() -> int:
            services = Services.standalone(live.settings)
            try:
                return await do_backfill(services)
            finally:
                await services.db.dispose()

        made = run_async(backfill)
        assert made >= (0 if had_receipt else 1)
        assert run_async(backfill) == 0  # nothing left to seal
        docs = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
        receipt = next(d for d in docs if d["kind"] == "receipt")
    finally:
        desk.close()

    async def revoke() -> None:
        services = Services.standalone(live.settings)
        try:
            await do_revoke(services, receipt["id"], "受理信息有误，重新出具")
        finally:
            await services.db.dispose()

    run_async(revoke)
    with live.client() as anon:
        found = anon.post(
            "/api/case-lookup/documents", json={"number": case["number"], "phone": "13722223333"}
        ).json()["documents"]
        assert found == []  # a revoked document is no longer offered for download
        pdf = agent_pdf(live, receipt["id"])  # staff still reach it
        up = anon.post("/api/public/documents/verify", content=pdf)
        assert up.status_code == 200 and up.json()["verdict"] == "revoked", up.text
        assert up.json()["message"]["zh-CN"].startswith("该文书已被签发部门撤销")
