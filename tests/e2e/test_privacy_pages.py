"""The citizen's sealed documents on the public lookup page, and the auditors' log page,
in Chromium (issue 6, PIPL).

A case is accepted and approved through the real APIs (receipt and decision sealed). On
``/lookup/`` the citizen enters the number and phone, asks for the documents, sees both
and downloads one (a real PDF). In the console the auditor opens 审计日志, narrows it to
``document.*`` and sees that download (``document.download``, via the check code) and
the issuing; a supervisor has no such page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.test_console import login
from integration.test_sealed_documents import decided_case
from playwright.sync_api import Page, expect

from conftest import (
    LiveServer,
    make_database_url,
    prepare_database,
    settings_for,
    shot,
    start_server,
)


@pytest.fixture()
def priv_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path))
    expect.set_options(timeout=15_000)
    yield server
    expect.set_options(timeout=5_000)
    server.stop()


def test_citizen_downloads_sealed_documents_and_the_auditor_sees_it(
    page: Page, priv_live: LiveServer
) -> None:
    live = priv_live
    issued = decided_case(live)
    number = issued.case["number"]

    page.goto(f"{live.url}/lookup/?number={number}")
    page.get_by_test_id("citizen-lookup-phone").fill(issued.phone)
    page.get_by_test_id("citizen-lookup-submit").click()
    page.get_by_test_id("citizen-documents-load").click()
    docs = page.get_by_test_id("citizen-document")
    expect(docs).to_have_count(2)
    expect(page.locator('[data-test="citizen-document"][data-kind="decision"]')).to_contain_text(
        "办结通知书"
    )
    shot(page, "lookup-documents")
    with page.expect_download() as info:
        page.locator('[data-test="citizen-document"][data-kind="receipt"] a[download]').click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"/ByteRange" in pdf  # the sealed file itself

    console = page.context.new_page()
    login(console, live, "auditor")
    console.goto(f"{live.url}/console/#/audit")
    table = console.get_by_test_id("audit-table")
    expect(table).to_be_visible()
    console.get_by_test_id("audit-action").locator("input").fill("document.*")
    console.keyboard.press("Enter")
    actions = console.get_by_test_id("audit-row-action")
    expect(actions.first).to_have_text("document.download")
    expect(table).to_contain_text("check-code")
    expect(table).to_contain_text("公众（未登录）")  # the citizen's download, with its address
    expect(table).to_contain_text("127.0.0.1")
    expect(table).to_contain_text("document.issued")
    assert set(actions.all_inner_texts()) == {"document.download", "document.issued"}
    shot(console, "console-audit-log")
    # Who looked at this case's personal data: search the details for its number.
    by_number = page.context.new_page()
    by_number.goto(f"{live.url}/console/#/audit")
    by_number.get_by_test_id("audit-q").fill(number)
    rows = by_number.get_by_test_id("audit-row-action")
    expect(rows.first).to_be_visible()
    expect(by_number.get_by_test_id("audit-table")).to_contain_text("case.data.read")
    assert {"case.open", "case.data.read"} <= set(rows.all_inner_texts())
    by_number.close()

    # A supervisor has a console but no audit log.
    sup = page.context.browser.new_context().new_page()  # type: ignore[union-attr]
    login(sup, live, "supervisor")
    expect(sup.locator('[data-test="menu-recordings"]')).to_be_visible()
    expect(sup.locator('[data-test="menu-audit"]')).to_have_count(0)
    sup.context.close()
