"""HTTP transport of sealed documents — docs/trust.md §HTTP API. Thin: parse, authorise,
call one action or query, serialise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from cloudwindow.accounts.deps import client_ip, require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases.schemas import LookupRequest
from cloudwindow.pagination import IdPath
from cloudwindow.services import Services, get_services
from cloudwindow.trust import documents
from cloudwindow.trust.errors import DocumentTooLarge
from cloudwindow.trust.models import SealedDocument
from cloudwindow.trust.schemas import CitizenDocuments, DocumentRow, VerifyResult

router = APIRouter(prefix="/api", tags=["documents"])
pages = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(get_services)]
Worker = Annotated[Principal, Depends(require(Permission.CASE_WORK))]
Approver = Annotated[Principal, Depends(require(Permission.CASE_APPROVE))]
DocId = Annotated[str, PathParam(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
Code = Annotated[str, Query(alias="c", min_length=1, max_length=20, description="Check code")]
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The sealed PDF"}
}
_PAGE = Path(__file__).parent / "verify.html"


def _pdf(doc: SealedDocument, data: bytes) -> Response:
    name = f"{doc.title}-{doc.id[:8]}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


# Staff ---------------------------------------------------------------------------------------
@router.get(
    "/desk/cases/{case_id}/documents",
    response_model=list[DocumentRow],
    operation_id="desk_case_documents",
)
async def desk_documents(services: Svc, who: Worker, case_id: IdPath) -> list[DocumentRow]:
    """The sealed documents of a case I opened (受理回执, 办结通知书 / 决定书)."""
    return await documents.list_for_agent(services, who, case_id)


@router.get("/desk/documents/{doc_id}/pdf", operation_id="desk_document_pdf", responses=PDF)
async def desk_document_pdf(services: Svc, who: Worker, doc_id: DocId) -> Response:
    """Download a sealed document of a case I opened (audited), e.g. to print it."""
    return _pdf(*await documents.download_for_agent(services, who, doc_id))


@router.get(
    "/approvals/documents/{doc_id}/pdf", operation_id="approval_document_pdf", responses=PDF
)
async def approval_document_pdf(services: Svc, who: Approver, doc_id: DocId) -> Response:
    """Download a sealed document of a case my department decides on (audited)."""
    return _pdf(*await documents.download_for_approver(services, who, doc_id))


# Public --------------------------------------------------------------------------------------
@router.post(
    "/case-lookup/documents",
    response_model=CitizenDocuments,
    operation_id="case_lookup_documents",
    responses={
        404: {"description": "No such case for this phone"},
        429: {"description": "Rate limited"},
    },
)
async def lookup_documents(
    services: Svc, request: Request, body: LookupRequest
) -> CitizenDocuments:
    """办件查询: the case's sealed documents, by case number + phone (like the lookup)."""
    return await documents.documents_by_lookup(services, client_ip(request), body)


@router.get(
    "/public/documents/{doc_id}/pdf",
    operation_id="public_document_pdf",
    responses={
        **PDF,
        404: {"description": "Unknown document"},
        429: {"description": "Rate limited"},
    },
)
async def public_document_pdf(services: Svc, request: Request, doc_id: DocId, c: Code) -> Response:
    """The citizen's download, by document id + check code (rate-limited, audited)."""
    return _pdf(*await documents.download_public(services, client_ip(request), doc_id, c))


@router.get(
    "/public/documents/{doc_id}/verify",
    response_model=VerifyResult,
    operation_id="public_document_verify",
    responses={
        404: {"description": "Unknown document"},
        429: {"description": "Rate limited"},
    },
)
async def public_verify(services: Svc, request: Request, doc_id: DocId, c: Code) -> VerifyResult:
    """扫码验真: is this document (id + check code) one the platform issued, unchanged?"""
    return await documents.verify_by_code(services, client_ip(request), doc_id, c)


@router.post(
    "/public/documents/verify",
    response_model=VerifyResult,
    operation_id="public_document_verify_upload",
    openapi_extra={
        "requestBody": {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
        }
    },
    responses={
        404: {"description": "Not a document of this platform"},
        413: {"description": "Too large"},
        429: {"description": "Rate limited"},
    },
)
async def public_verify_upload(services: Svc, request: Request) -> VerifyResult:
    """上传验真: upload the PDF (raw body); its seal signature is validated against the
    platform's CA and its hash compared with the issued document's."""
    limit = services.settings.document_verify_max_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise DocumentTooLarge(limit)
    return await documents.verify_upload(services, client_ip(request), bytes(body))


@pages.get("/verify/{doc_id}", response_class=HTMLResponse)
async def verify_page(doc_id: str) -> HTMLResponse:
    """The public verification page the QR code opens (reads the JSON API itself)."""
    return HTMLResponse(_PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})
