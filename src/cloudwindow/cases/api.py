"""HTTP transport of cases — docs/cases.md §HTTP API. Thin: parse, authorise, call one
action or query, serialise."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials

from cloudwindow.accounts.deps import bearer, client_ip, require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases import actions, approvals, lookup, queries, signature
from cloudwindow.cases.schemas import (
    ApprovalDecision,
    CaseAttach,
    CaseDataPatch,
    CaseMetrics,
    CaseOpen,
    CasePage,
    CaseResubmit,
    CaseView,
    CaseWithdraw,
    ChainIn,
    ChainView,
    KioskCases,
    LookupRequest,
    LookupView,
)
from cloudwindow.cases.signature import SessionCases, SignatureAttach, SignatureView
from cloudwindow.cases.states import CaseState
from cloudwindow.pagination import IdPath, PageParams, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["cases"])
Svc = Annotated[Services, Depends(get_services)]
Worker = Annotated[Principal, Depends(require(Permission.CASE_WORK))]
Approver = Annotated[Principal, Depends(require(Permission.CASE_APPROVE))]
Reader = Annotated[Principal, Depends(require(Permission.CASE_READ))]
Kiosk = Annotated[Principal, Depends(require(Permission.DEVICE))]
Paging = Annotated[PageParams, Depends(page_params)]
NumberQ = Annotated[str | None, Query(max_length=24, description="Case number prefix")]
_PNG: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/png": {}}, "description": "The signature (PNG)"},
    404: {"description": "No such case, or no signature"},
}


# Agent ---------------------------------------------------------------------------------------
@router.post("/desk/cases", status_code=201, response_model=CaseView, operation_id="case_open")
async def open_case(services: Svc, who: Worker, body: CaseOpen) -> CaseView:
    """开立办件 in a session the agent serves (the ticket's item, or another one)."""
    return await actions.do_open_case(services, who, body)


@router.get("/desk/cases", response_model=CasePage, operation_id="desk_cases")
async def desk_cases(
    services: Svc,
    who: Worker,
    paging: Paging,
    state: CaseState | None = None,
    overdue: bool | None = None,
    q: NumberQ = None,
) -> CasePage:
    """The cases this agent opened, newest first."""
    f = queries.CaseFilter(state=state, overdue=overdue, q=q, agent_id=who.id)
    async with services.db.read() as session:
        return await queries.list_cases(session, f, paging)


@router.get("/desk/cases/{case_id}", response_model=CaseView, operation_id="desk_case")
async def desk_case(services: Svc, who: Worker, case_id: IdPath) -> CaseView:
    """The case with personal data in clear, for the agent working on it (audited)."""
    return await actions.get_case_for_work(services, who, case_id)


@router.patch("/desk/cases/{case_id}/data", response_model=CaseView, operation_id="desk_case_data")
async def desk_case_data(
    services: Svc, who: Worker, case_id: IdPath, body: CaseDataPatch
) -> CaseView:
    """Fill in form fields (partial; the citizen's confirmation is cleared by a change)."""
    return await actions.do_update_data(services, who, case_id, body)


@router.post(
    "/desk/cases/{case_id}/accept", response_model=CaseView, operation_id="desk_case_accept"
)
async def desk_case_accept(services: Svc, who: Worker, case_id: IdPath) -> CaseView:
    """受理: needs a valid form, a phone, every required material accepted, and the
    citizen's confirmation of the current data."""
    return await actions.do_accept(services, who, case_id)


@router.post(
    "/desk/cases/{case_id}/withdraw", response_model=CaseView, operation_id="desk_case_withdraw"
)
async def desk_case_withdraw(
    services: Svc, who: Worker, case_id: IdPath, body: CaseWithdraw
) -> CaseView:
    return await actions.do_withdraw(services, who, case_id, body.reason)


@router.post(
    "/desk/cases/{case_id}/resubmit", response_model=CaseView, operation_id="desk_case_resubmit"
)
async def desk_case_resubmit(
    services: Svc, who: Worker, case_id: IdPath, body: CaseResubmit
) -> CaseView:
    """补正后重新提交 a case returned for correction."""
    return await actions.do_resubmit(services, who, case_id, body.note)


@router.post(
    "/desk/cases/{case_id}/attach", response_model=CaseView, operation_id="desk_case_attach"
)
async def desk_case_attach(
    services: Svc, who: Worker, case_id: IdPath, body: CaseAttach
) -> CaseView:
    """续办: bring a returned case (or an orphaned draft) into the session served now."""
    return await actions.do_attach(services, who, case_id, body)


@router.post(
    "/desk/cases/{case_id}/signature",
    response_model=SignatureView,
    operation_id="desk_case_signature_attach",
)
async def desk_case_signature_attach(
    services: Svc, who: Worker, case_id: IdPath, body: SignatureAttach
) -> SignatureView:
    """附到办件: the citizen's signature (a succeeded ``signature_pad.capture`` of this
    session) becomes the case's applicant signature, replacing an earlier one; draft or
    returned cases only."""
    return await signature.do_attach_signature(services, who, case_id, body)


@router.get(
    "/desk/tickets/{ticket_id}/cases",
    response_model=SessionCases,
    operation_id="desk_session_cases",
)
async def desk_session_cases(services: Svc, who: Worker, ticket_id: IdPath) -> SessionCases:
    """The cases of a session I serve (number, state, signature attached), newest first."""
    return await signature.list_session_cases(services, who, ticket_id)


# Kiosk ---------------------------------------------------------------------------------------
@router.get("/kiosk/cases", response_model=KioskCases, operation_id="kiosk_cases")
async def kiosk_cases(services: Svc, who: Kiosk) -> KioskCases:
    """The cases of this kiosk's session, for the citizen to review (clear, audited)."""
    return KioskCases(cases=await actions.get_kiosk_cases(services, who))


# Approver ------------------------------------------------------------------------------------
@router.get("/approvals", response_model=CasePage, operation_id="approvals")
async def approval_list(
    services: Svc,
    who: Approver,
    paging: Paging,
    scope: Literal["pending", "decided"] = "pending",
    overdue: bool | None = None,
) -> CasePage:
    """Pending: steps of my department to decide (oldest first); decided: mine."""
    async with services.db.read() as session:
        return await queries.list_approvals(session, who.id, scope, overdue, paging)


@router.get("/approvals/{case_id}", response_model=CaseView, operation_id="approval_case")
async def approval_case(services: Svc, who: Approver, case_id: IdPath) -> CaseView:
    """The case with form, materials, history and recordings (clear, audited)."""
    return await approvals.get_for_approver(services, who, case_id)


@router.post(
    "/approvals/{case_id}/decision", response_model=CaseView, operation_id="approval_decide"
)
async def approval_decide(
    services: Svc, who: Approver, case_id: IdPath, body: ApprovalDecision
) -> CaseView:
    """Approve, reject (reason) or return for correction (reason, missing): idempotent."""
    return await approvals.do_decide(services, who, case_id, body)


# Supervision ---------------------------------------------------------------------------------
@router.get("/cases", response_model=CasePage, operation_id="cases")
async def case_list(
    services: Svc,
    _: Reader,
    paging: Paging,
    state: CaseState | None = None,
    service_item_code: Annotated[str | None, Query(max_length=40)] = None,
    department_code: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool | None = None,
    q: NumberQ = None,
) -> CasePage:
    """Every case, masked, newest first; ``overdue=true`` for the late ones."""
    f = queries.CaseFilter(
        state=state,
        service_item_code=service_item_code,
        department_code=department_code,
        overdue=overdue,
        q=q,
    )
    async with services.db.read() as session:
        return await queries.list_cases(session, f, paging)


@router.get("/cases/metrics", response_model=CaseMetrics, operation_id="case_metrics")
async def case_metrics(services: Svc, _: Reader) -> CaseMetrics:
    """Cases by state, running, overdue, due soon, accepted and concluded today."""
    async with services.db.read() as session:
        return await queries.metrics(session)


@router.get("/cases/{case_id}", response_model=CaseView, operation_id="case")
async def case_detail(services: Svc, who: Reader, case_id: IdPath) -> CaseView:
    """One case, masked, with its history, approvals, notifications and recordings."""
    return await actions.get_case_for_reader(services, who, case_id)


@router.get(
    "/cases/{case_id}/signature",
    response_class=Response,
    responses=_PNG,
    operation_id="case_signature",
)
async def case_signature(services: Svc, who: Reader, case_id: IdPath) -> Response:
    """The applicant's signature (PNG) for supervision and audit; every read is audited."""
    png, _ = await signature.get_signature_for_reader(services, who, case_id)
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


# Approval chains -----------------------------------------------------------------------------
@router.get(
    "/service-items/{code}/approval-chain",
    response_model=ChainView,
    operation_id="approval_chain",
)
async def approval_chain(
    services: Svc, _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))], code: str
) -> ChainView:
    """The item's approval chain (default: one step by its own department)."""
    return await approvals.get_chain(services, code)


@router.put(
    "/service-items/{code}/approval-chain",
    response_model=ChainView,
    operation_id="approval_chain_set",
)
async def approval_chain_set(
    services: Svc,
    who: Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))],
    code: str,
    body: ChainIn,
) -> ChainView:
    """Replace the chain; ``steps: []`` goes back to the default."""
    return await approvals.do_set_chain(services, who, code, body)


# Public --------------------------------------------------------------------------------------
@router.post(
    "/case-lookup",
    response_model=LookupView,
    operation_id="case_lookup",
    responses={
        404: {"description": "No such case for this phone"},
        429: {"description": "Rate limited"},
    },
)
async def case_lookup(
    services: Svc,
    request: Request,
    body: LookupRequest,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> LookupView:
    """办件查询 by case number + phone (public; rate-limited; silent on a wrong phone). A
    kiosk may send its device credential: it is then limited as itself, not by address."""
    token = creds.credentials if creds else None
    client = await lookup.client_key(services, client_ip(request), token)
    return await lookup.do_lookup(services, client, body)
