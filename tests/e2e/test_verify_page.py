"""The public verification page a document's QR code opens (/verify/<id>?c=…), in a real
browser: Chinese first, the genuine document confirmed with its facts, an uploaded copy
with one changed byte reported as not genuine, a wrong check code as unknown."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from integration.cases_support import Desk
from integration.documents_support import DEPARTMENT, agent_pdf, flip_inside_content, issue
from playwright.sync_api import Page, expect

from conftest import LiveServer, on_one_backend, shot

# The verification page is the same code on both databases (the integration tests of
# sealed documents run on each): SQLite, as in `make demo`.
pytestmark = on_one_backend("sqlite")


def test_qr_page_confirms_a_genuine_document_and_rejects_a_changed_one(
    page: Page, live: LiveServer, tmp_path: Path
) -> None:
    phone = "13811112222"
    desk = Desk(live)
    try:
        case = desk.ready(phone=phone)
        assert desk.accept(case["id"]).status_code == 200
    finally:
        desk.close()
    doc_id = issue(live, case["id"], "receipt")
    with live.client() as anon:
        docs = anon.post(
            "/api/case-lookup/documents", json={"number": case["number"], "phone": phone}
        ).json()["documents"]
    qr = urlsplit(next(d["verify_url"] for d in docs if d["id"] == doc_id))

    page.goto(f"{live.url}{qr.path}?{qr.query}")
    expect(page.locator("#verdict")).to_contain_text("验证通过")
    expect(page.locator("#verdict-en")).to_contain_text("Genuine")
    expect(page.locator("#facts")).to_contain_text("受理回执")
    expect(page.locator("#facts")).to_contain_text(DEPARTMENT)
    expect(page.locator("#facts")).not_to_contain_text(case["number"])  # masked
    shot(page, "verify-genuine")

    changed = tmp_path / "changed.pdf"
    changed.write_bytes(flip_inside_content(agent_pdf(live, doc_id)))
    page.set_input_files("#file", str(changed))
    page.click("#upload")
    expect(page.locator("#verdict")).to_contain_text("验证未通过")
    expect(page.locator("#facts")).to_contain_text("无效")
    shot(page, "verify-forged")

    page.goto(f"{live.url}{qr.path}?c=WRONGCODE")
    expect(page.locator("#verdict")).to_contain_text("查无此文书")
