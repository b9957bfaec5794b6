"""Helpers for sealed-document tests: issuing a case's receipt or decision the way the
case transitions do (trust.documents), and a sealed receipt of agent01 for the
permission matrix."""

from __future__ import annotations

from integration.cases_support import Desk

from cloudwindow.cases.models import Case
from cloudwindow.services import Services
from cloudwindow.trust.documents import issue_acceptance_receipt, issue_decision
from conftest import LiveServer, run_async


def issue(live: LiveServer, case_id: int, kind: str) -> str:
    """Issue (or find, it is idempotent) the case's ``receipt`` or ``decision``; its id."""

    async def go() -> str:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                case = await session.get(Case, case_id)
                assert case is not None
                if kind == "receipt":
                    return (await issue_acceptance_receipt(services, session, case)).id
                return (await issue_decision(services, session, case)).id
        finally:
            await services.db.dispose()

    return run_async(go)


DEPARTMENT = "广州市增城区社会保险基金管理局"  # ZC-SBJ, the department of cases_support.ITEM


def agent_pdf(live: LiveServer, doc_id: str) -> bytes:
    with live.as_user("agent01") as c:
        r = c.get(f"/api/desk/documents/{doc_id}/pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content


def flip_inside_content(pdf: bytes) -> bytes:
    """One byte changed inside the page's content stream (the file still parses)."""
    start = pdf.index(b"stream", pdf.index(b"/Contents")) + 40
    data = bytearray(pdf)
    data[start] = ord("A") if data[start] != ord("A") else ord("B")
    return bytes(data)


_RECEIPTS: dict[str, str] = {}


def sealed_receipt(live: LiveServer) -> str:
    """The id of a sealed receipt of a case agent01 accepted (approver: ZC-SBJ)."""
    if live.url not in _RECEIPTS:
        desk = Desk(live)
        try:
            case = desk.ready()
            r = desk.accept(case["id"])
            assert r.status_code == 200, r.text
            _RECEIPTS[live.url] = issue(live, case["id"], "receipt")
        finally:
            desk.close()
    return _RECEIPTS[live.url]
