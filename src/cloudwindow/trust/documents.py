"""Issuing, downloading and verifying sealed result documents — docs/trust.md.

The case workflow (cases/actions.py, cases/approvals.py) imports this module, so what
it needs from those modules is imported inside the functions that use it.

- ``issue_acceptance_receipt`` / ``issue_decision`` run inside the caller's transaction
  (the case's acceptance or its final decision): render, seal, store the file, add the
  ``sealed_documents`` row. Idempotent: a case has at most one live document per kind.
  The receipt shows the applicant's signature when one is attached (cases/signature.py).
- Downloads (agent, approver, citizen by check code) write an audit row in the same
  transaction as the read: no audit, no file.
- Verification (public, rate-limited like the case lookup): by id + check code, or by
  uploading the PDF, which is checked with pyHanko against the platform's roots and by
  its SHA-256 against the stored one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.deadlines import china_date
from cloudwindow.cases.errors import CaseNotFound, LookupRateLimited
from cloudwindow.cases.models import Case, CaseApproval, FormVersion
from cloudwindow.cases.schemas import LookupRequest
from cloudwindow.cases.states import CaseState
from cloudwindow.catalog.models import Department, ServiceItem
from cloudwindow.db import utcnow
from cloudwindow.licences.registry import revoke_for_document
from cloudwindow.services import Services
from cloudwindow.trust import rules
from cloudwindow.trust.ca import fingerprint, seal_for, trusted_roots
from cloudwindow.trust.errors import (
    CaseNotIssuable,
    DocumentNotSigned,
    DocumentUnknown,
    DocumentUnreadable,
    VerifyRateLimited,
)
from cloudwindow.trust.models import SealedDocument
from cloudwindow.trust.render import render_document
from cloudwindow.trust.schemas import (
    CitizenDocument,
    CitizenDocuments,
    DocumentRow,
    SignatureReport,
    VerifiedDocument,
    VerifyResult,
)
from cloudwindow.trust.sign import SignatureCheck, check_pdf, seal_pdf

RECEIPT, DECISION = "receipt", "decision"


@dataclass
class CaseFacts:
    item_name: str
    department: Department
    id_number_masked: str


async def _facts(session: AsyncSession, case: Case) -> CaseFacts:
    item = await session.get(ServiceItem, case.service_item_code)
    dept = await session.get(Department, case.department_code)
    form = await session.get(FormVersion, case.form_version_id)
    if dept is None:
        raise CaseNotFound()
    props = form.schema.get("properties", {}) if form is not None else {}
    # Only the masked value is in ``case.data`` (the clear one is sealed in ``case.pii``).
    id_masked = next(
        (
            str(case.data.get(name, ""))
            for name, prop in props.items()
            if isinstance(prop, dict) and prop.get("x-pii") == "id_number"
        ),
        "",
    )
    return CaseFacts(item.name if item else case.service_item_code, dept, id_masked)


async def _issue(
    services: Services, session: AsyncSession, case: Case, kind: str
) -> SealedDocument:
    existing = await session.scalar(
        select(SealedDocument).where(
            SealedDocument.case_id == case.id,
            SealedDocument.kind == kind,
            SealedDocument.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    facts = await _facts(session, case)
    settings = services.settings
    doc_id = secrets.token_hex(16)
    code = rules.new_check_code()
    now = utcnow()
    verify_url = rules.verify_url(settings.public_base_url, doc_id, code)
    # The document is dated by the act it records (受理 / 办结), not by when it was made.
    acted = (case.accepted_at if kind == RECEIPT else case.concluded_at) or now
    issue = rules.Issue(
        case,
        facts.item_name,
        facts.department,
        facts.id_number_masked,
        acted,
        doc_id,
        code,
        verify_url,
    )
    content = rules.receipt_content(issue) if kind == RECEIPT else rules.decision_content(issue)
    if kind == RECEIPT:
        from cloudwindow.cases.signature import signature_png_of  # (cases imports this module)

        # 申请人签名, if the agent attached the one the citizen gave on the kiosk.
        content.signature_png = await signature_png_of(session, settings, case.id)
    dept = facts.department
    # Key generation, layout and hashing are CPU work: off the event loop.
    seal = await asyncio.to_thread(seal_for, settings, dept.code, dept.name)
    pdf = await asyncio.to_thread(render_document, content)
    signed = await seal_pdf(pdf, seal, reason=content.title, location=dept.name)
    local = china_date(now)
    key = f"documents/{local:%Y}/{local:%m}/{doc_id}.pdf"
    await asyncio.to_thread(services.files.write, key, signed)
    row = SealedDocument(
        id=doc_id,
        kind=kind,
        case_id=case.id,
        department_code=dept.code,
        title=content.title,
        file_key=key,
        size=len(signed),
        sha256=hashlib.sha256(signed).hexdigest(),
        check_code=code,
        signer=seal.signer_name,
        cert_sha256=fingerprint(seal.cert),
        created_at=now,
    )
    session.add(row)
    record(
        session,
        None,
        "document.issued",
        "sealed_document",
        doc_id,
        {"case_id": case.id, "kind": kind},
    )
    await session.flush()
    return row


async def issue_acceptance_receipt(
    services: Services, session: AsyncSession, case: Case
) -> SealedDocument:
    """受理回执 for a case just accepted, in the caller's transaction (call it after
    ``accepted_at`` and ``due_date`` are set). Returns the existing one if issued."""
    if case.accepted_at is None:
        raise CaseNotIssuable({"state": case.state, "kind": RECEIPT})
    return await _issue(services, session, case, RECEIPT)


async def issue_decision(services: Services, session: AsyncSession, case: Case) -> SealedDocument:
    """办结通知书 (concluded) or 不予许可决定书 (rejected), in the caller's transaction,
    once the case is in its final state. Returns the existing one if issued."""
    if case.state not in (CaseState.CONCLUDED.value, CaseState.REJECTED.value):
        raise CaseNotIssuable({"state": case.state, "kind": DECISION})
    return await _issue(services, session, case, DECISION)


async def issue_missing_documents(services: Services, session: AsyncSession) -> int:
    """Issue every document a case should have and lacks: a receipt for each accepted
    case, a decision for each concluded or rejected one (the sample district, cases
    decided before sealing was wired in: ``cloudwindow trust backfill``). Returns how many
    were issued."""
    has = select(SealedDocument.case_id).where(SealedDocument.revoked_at.is_(None))
    final = (CaseState.CONCLUDED.value, CaseState.REJECTED.value)
    wants = [
        (
            RECEIPT,
            select(Case).where(
                Case.accepted_at.is_not(None),
                Case.id.not_in(has.where(SealedDocument.kind == RECEIPT)),
            ),
        ),
        (
            DECISION,
            select(Case).where(
                Case.state.in_(final), Case.id.not_in(has.where(SealedDocument.kind == DECISION))
            ),
        ),
    ]
    made = 0
    for kind, query in wants:
        for case in list(await session.scalars(query.order_by(Case.id))):
            await _issue(services, session, case, kind)
            made += 1
    return made


async def do_backfill(services: Services) -> int:
    """``issue_missing_documents`` in a transaction of its own (CLI, demo)."""
    async with services.db.transaction() as session:
        return await issue_missing_documents(services, session)


async def do_revoke(services: Services, doc_id: str, reason: str) -> SealedDocument:
    """撤销: the issuing department withdraws a document (wrong content, decision
    overturned). Verification answers ``revoked`` from then on; the file is kept."""
    async with services.db.transaction() as session:
        doc = await session.get(SealedDocument, doc_id[:32], with_for_update=True)
        if doc is None:
            raise DocumentUnknown()
        if doc.revoked_at is None:
            doc.revoked_at = utcnow()
            record(session, None, "document.revoked", "sealed_document", doc.id, {"reason": reason})
        await revoke_for_document(session, doc)  # a licence issued with it (licences/)
        return doc


# Reads and downloads -------------------------------------------------------------------------
def _row(doc: SealedDocument) -> DocumentRow:
    return DocumentRow.model_validate(doc, from_attributes=True)


async def list_for_agent(services: Services, who: Principal, case_id: int) -> list[DocumentRow]:
    """The documents of a case this agent opened."""
    async with services.db.read() as session:
        case = await session.get(Case, case_id)
        if case is None or case.agent_id != who.id:
            raise CaseNotFound()
        docs = await session.scalars(
            select(SealedDocument)
            .where(SealedDocument.case_id == case_id)
            .order_by(SealedDocument.created_at)
        )
        return [_row(d) for d in docs]


async def _download(
    session: AsyncSession,
    services: Services,
    who: Principal | None,
    doc: SealedDocument,
    **details: str,
) -> tuple[SealedDocument, bytes]:
    """Read the file and write the audit row in the caller's transaction: if the read
    fails, no audit row; if the audit cannot be written, the bytes are not returned."""
    data = await asyncio.to_thread(services.files.read, doc.file_key)
    info = {"case_id": doc.case_id, "kind": doc.kind, **details}
    public = details.get("client") if who is None else None
    record(session, who, "document.download", "sealed_document", doc.id, info, public_client=public)
    await session.flush()
    return doc, data


async def download_for_agent(
    services: Services, who: Principal, doc_id: str
) -> tuple[SealedDocument, bytes]:
    async with services.db.transaction() as session:
        doc = await session.get(SealedDocument, doc_id)
        case = await session.get(Case, doc.case_id) if doc is not None else None
        if doc is None or case is None or case.agent_id != who.id:
            raise DocumentUnknown()
        return await _download(session, services, who, doc, via="desk")


async def download_for_approver(
    services: Services, who: Principal, doc_id: str
) -> tuple[SealedDocument, bytes]:
    from cloudwindow.cases.approvals import department_of  # (cases imports this module)

    department = await department_of(services, who)
    async with services.db.transaction() as session:
        doc = await session.get(SealedDocument, doc_id)
        step = (
            await session.scalar(
                select(CaseApproval.id).where(
                    CaseApproval.case_id == doc.case_id,
                    CaseApproval.department_code == department,
                )
            )
            if doc is not None
            else None
        )
        if doc is None or step is None:
            raise DocumentUnknown()
        return await _download(session, services, who, doc, via="approval")


async def _rate(session: AsyncSession, services: Services, client: str) -> None:
    """The case lookup's limiter (shared table, all nodes), under a key of our own."""
    from cloudwindow.cases.lookup import _check_rate  # (cases imports this module)

    try:
        await _check_rate(
            session, services, [(f"doc-ip:{client}"[:80], services.settings.case_lookup_per_client)]
        )
    except LookupRateLimited as exc:
        raise VerifyRateLimited(int(exc.details.get("retry_after_seconds", 60))) from exc


async def _by_code(session: AsyncSession, doc_id: str, code: str) -> SealedDocument:
    doc = await session.get(SealedDocument, doc_id[:32])
    stored = doc.check_code if doc is not None else "-" * 8
    ok = hmac.compare_digest(stored.encode(), rules.normalize_code(code).encode())
    if doc is None or not ok:
        raise DocumentUnknown()
    return doc


async def download_public(
    services: Services, client: str, doc_id: str, code: str
) -> tuple[SealedDocument, bytes]:
    """The citizen's download: the document id and the check code (from case lookup or
    the paper's QR code). Rate-limited per client; audited."""
    async with services.db.transaction() as session:
        await _rate(session, services, client)
    async with services.db.transaction() as session:
        doc = await _by_code(session, doc_id, code)
        return await _download(session, services, None, doc, via="check-code", client=client)


async def documents_by_lookup(
    services: Services, client: str, body: LookupRequest
) -> CitizenDocuments:
    """办件查询's documents: the same case number + phone check (and rate limits) as the
    lookup itself, then the case's live documents with their download links."""
    from cloudwindow.cases.lookup import do_lookup  # (cases imports this module)

    view = await do_lookup(services, client, body)
    base = services.settings.public_base_url.rstrip("/")
    async with services.db.read() as session:
        case_id = await session.scalar(select(Case.id).where(Case.number == view.number))
        docs = await session.scalars(
            select(SealedDocument)
            .where(SealedDocument.case_id == case_id, SealedDocument.revoked_at.is_(None))
            .order_by(SealedDocument.created_at)
        )
        return CitizenDocuments(
            number=view.number,
            documents=[
                CitizenDocument(
                    id=d.id,
                    kind=d.kind,
                    title=d.title,
                    created_at=d.created_at,
                    download_url=f"/api/public/documents/{d.id}/pdf?c={d.check_code}",
                    verify_url=rules.verify_url(base, d.id, d.check_code),
                )
                for d in docs
            ],
        )


# Verification --------------------------------------------------------------------------------
async def _verified(session: AsyncSession, doc: SealedDocument) -> VerifiedDocument:
    case = await session.get(Case, doc.case_id)
    item = await session.get(ServiceItem, case.service_item_code) if case else None
    dept = await session.get(Department, doc.department_code)
    return VerifiedDocument(
        id=doc.id,
        kind=doc.kind,
        title=doc.title,
        case_number_masked=rules.mask_case_number(case.number if case else ""),
        service_item_name=item.name if item else "",
        department_name=dept.name if dept else doc.department_code,
        issued_at=doc.created_at,
        revoked_at=doc.revoked_at,
    )


def _result(
    doc: SealedDocument,
    view: VerifiedDocument,
    hash_ok: bool,
    check: SignatureCheck | None,
) -> VerifyResult:
    sig_ok = check is None or check.genuine
    verdict = rules.verdict(hash_ok and sig_ok, doc.revoked_at is not None)
    return VerifyResult(
        verdict=verdict,
        message=rules.VERDICT_MESSAGES[verdict],
        document=view,
        hash_matches=hash_ok,
        signature=SignatureReport(
            signed=check.signed,
            intact=check.intact,
            valid=check.valid,
            trusted=check.trusted,
            covers_whole_file=check.covers_whole_file,
            signer=check.signer,
            signing_time=check.signing_time,
        )
        if check is not None
        else None,
    )


async def verify_by_code(services: Services, client: str, doc_id: str, code: str) -> VerifyResult:
    """The QR code's check: the document exists with this check code, and the stored
    file still has the hash recorded at issue time."""
    async with services.db.transaction() as session:
        await _rate(session, services, client)
    async with services.db.read() as session:
        doc = await _by_code(session, doc_id, code)
        view = await _verified(session, doc)
    data = await asyncio.to_thread(services.files.read, doc.file_key)
    hash_ok = hmac.compare_digest(hashlib.sha256(data).hexdigest(), doc.sha256)
    return _result(doc, view, hash_ok, None)


async def verify_upload(services: Services, client: str, pdf: bytes) -> VerifyResult:
    """An uploaded PDF: the seal signature (pyHanko, against the platform's roots, the
    whole file covered) and its SHA-256 against the document it claims to be."""
    async with services.db.transaction() as session:
        await _rate(session, services, client)
    roots = await asyncio.to_thread(trusted_roots, services.settings)
    try:
        check = await check_pdf(pdf, roots)
    except ValueError as exc:
        raise DocumentUnreadable() from exc
    if not check.signed:
        raise DocumentNotSigned()
    digest = hashlib.sha256(pdf).hexdigest()
    async with services.db.read() as session:
        doc = await session.scalar(select(SealedDocument).where(SealedDocument.sha256 == digest))
        if doc is None and check.document_id:
            doc = await session.get(SealedDocument, check.document_id[:32])
        if doc is None:
            raise DocumentUnknown()
        view = await _verified(session, doc)
    return _result(doc, view, hmac.compare_digest(digest, doc.sha256), check)
