"""HTTP transport of electronic licences (docs/licences.md §HTTP API): the agent's
consent request, licence list and 免证办; the provincial interface. Thin: parse,
authorise, call one action, serialise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials

from cloudwindow.accounts.deps import bearer, client_ip, require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases.materials import MaterialOut
from cloudwindow.licences import actions, products, provincial
from cloudwindow.licences.schemas import (
    CaseLicences,
    ConsentRequested,
    LicenceId,
    LicenceProductIn,
    LicenceProductView,
    LicenceTypeView,
    ProvincialLicences,
    ProvincialQuery,
    UseLicence,
)
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["licences"])
Svc = Annotated[Services, Depends(get_services)]
Agent = Annotated[Principal, Depends(require(Permission.CASE_WORK))]
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
MaterialCode = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@router.post(
    "/desk/cases/{case_id}/licence-consent-requests",
    response_model=ConsentRequested,
    status_code=202,
    operation_id="request_licence_consent",
)
async def request_licence_consent(services: Svc, who: Agent, case_id: CaseId) -> ConsentRequested:
    """Ask the citizen on the kiosk to agree to a licence fetch (``licence.consent_requested``);
    the kiosk answers through ``POST /api/kiosk/identity/consents`` (``licence_fetch``)."""
    return await actions.do_request_consent(services, who, case_id)


@router.get(
    "/desk/cases/{case_id}/licences",
    response_model=CaseLicences,
    operation_id="list_case_licences",
)
async def list_case_licences(services: Svc, who: Agent, case_id: CaseId) -> CaseLicences:
    """The citizen's electronic licences (holder: the ID card read in this session, else
    the applicant's ID number on the form), masked, each with the materials it can
    satisfy. 403 ``licence-consent-required`` until the citizen agrees. Audited."""
    return await actions.get_case_licences(services, who, case_id)


@router.post(
    "/desk/cases/{case_id}/materials/{material_code}/licence",
    response_model=MaterialOut,
    status_code=201,
    operation_id="use_licence_for_material",
)
async def use_licence_for_material(
    services: Svc, who: Agent, case_id: CaseId, material_code: MaterialCode, body: UseLicence
) -> MaterialOut:
    """免证办: the licence's file becomes this material (source ``licence``, accepted).
    Expired / revoked → 409 ``licence-not-usable``; wrong type → 422
    ``licence-type-mismatch``."""
    return await actions.do_use_licence(services, who, case_id, material_code, body.licence_id)


# Configuration ---------------------------------------------------------------------------------
@router.get("/licence-types", response_model=list[LicenceTypeView], operation_id="licence_types")
async def licence_types(
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
) -> list[LicenceTypeView]:
    """The licence types and the catalogue material names each one satisfies."""
    return products.get_types()


@router.get(
    "/service-items/{code}/licence-product",
    response_model=LicenceProductView,
    operation_id="licence_product",
)
async def licence_product(
    services: Svc, _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))], code: str
) -> LicenceProductView:
    """The licence the item's concluded cases issue (``type_code`` null: none)."""
    return await products.get_product(services, code)


@router.put(
    "/service-items/{code}/licence-product",
    response_model=LicenceProductView,
    operation_id="licence_product_set",
)
async def licence_product_set(
    services: Svc,
    who: Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))],
    code: str,
    body: LicenceProductIn,
) -> LicenceProductView:
    """Make the item issue a licence of a type when a case concludes (``type_code`` null:
    stop). Audited."""
    return await products.do_set_product(services, who, code, body)


# The provincial interface (token from ``licence_api_token``; public in the permission matrix)
@router.post(
    "/provincial/licences/search",
    response_model=ProvincialLicences,
    operation_id="provincial_search_licences",
)
async def provincial_search_licences(
    request: Request, services: Svc, token: Token, body: ProvincialQuery
) -> ProvincialLicences:
    """A holder's licences, for another platform presenting the interface token."""
    provincial.check_token(services, token.credentials if token else None)
    return await provincial.search(services, body, client_ip(request))


@router.post(
    "/provincial/licences/{licence_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The licence PDF"}},
    operation_id="provincial_licence_file",
)
async def provincial_licence_file(
    request: Request,
    services: Svc,
    token: Token,
    licence_id: Annotated[LicenceId, Path()],
    body: ProvincialQuery,
) -> Response:
    """A licence's PDF, for another platform naming its holder."""
    provincial.check_token(services, token.credentials if token else None)
    data = await provincial.file(services, licence_id, body, client_ip(request))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
