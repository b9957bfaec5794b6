"""HTTP transport of identity verification (docs/identity.md §API, events in
docs/protocol.md §Identity). Thin: parse, authorise, call one action, serialise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.identity import actions, errors
from cloudwindow.identity.rules import Purpose
from cloudwindow.identity.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentTextOut,
    FaceCheckOut,
    FaceCheckRequested,
    FillCaseIn,
    FillCaseOut,
    IdCardCreated,
    IdCardIn,
    IdentityState,
    OverrideIn,
)
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["identity"])
Svc = Annotated[Services, Depends(get_services)]
Agent = Annotated[Principal, Depends(require(Permission.CASE_WORK))]
Kiosk = Annotated[Principal, Depends(require(Permission.DEVICE))]
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        # Any content type is read as the raw image (the kiosk sends image/jpeg).
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_PHOTO: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The photo (decrypted)"}
}
_NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _photo(data: bytes) -> Response:
    kind = (
        "image/png"
        if data.startswith(b"\x89PNG")
        else "image/webp"
        if data[8:12] == b"WEBP"
        else "image/jpeg"
    )
    return Response(data, media_type=kind, headers=_NO_STORE)


# Kiosk -----------------------------------------------------------------------------------
@router.post(
    "/kiosk/identity/id-card",
    response_model=IdCardCreated,
    status_code=201,
    operation_id="post_id_card",
)
async def post_id_card(services: Svc, who: Kiosk, body: IdCardIn) -> IdCardCreated:
    """The ID card the kiosk's reader just read, in a live session: stored encrypted; the
    agent gets ``identity.id_card_read`` (masked)."""
    return await actions.do_read_id_card(services, who, body)


@router.get(
    "/kiosk/identity/consent-texts/{purpose}",
    response_model=ConsentTextOut,
    operation_id="get_consent_text",
)
async def get_consent_text(who: Kiosk, purpose: Purpose) -> ConsentTextOut:
    """The consent text the kiosk shows for ``face_check`` or ``licence_fetch``."""
    return actions.text_out(purpose)


@router.post(
    "/kiosk/identity/consents",
    response_model=ConsentOut,
    status_code=201,
    operation_id="post_consent",
)
async def post_consent(services: Svc, who: Kiosk, body: ConsentIn) -> ConsentOut:
    """The citizen's answer (同意 / 不同意) to a consent text, recorded with its version."""
    return await actions.do_record_consent(services, who, body)


@router.post(
    "/kiosk/identity/face-checks",
    response_model=FaceCheckOut,
    status_code=201,
    operation_id="post_face_check",
    openapi_extra=_IMAGE_BODY,
)
async def post_face_check(request: Request, services: Svc, who: Kiosk) -> FaceCheckOut:
    """A still from the kiosk camera (raw JPEG/PNG body), compared with the session's ID
    card photo. The outcome: match, mismatch, no_face, multiple_faces, no_id_card,
    no_consent; a corrupt image is refused (``face-image-corrupt``)."""
    limit = services.settings.face_image_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.FaceImageTooLarge(limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise errors.FaceImageTooLarge(limit)
    return await actions.do_face_check(services, who, bytes(body))


# Agent -----------------------------------------------------------------------------------
@router.get("/desk/identity", response_model=IdentityState, operation_id="get_identity_state")
async def get_identity_state(services: Svc, who: Agent) -> IdentityState:
    """The ID card read (masked), consents and latest face check of the session served."""
    return await actions.get_state(services, who)


@router.post(
    "/desk/identity/face-check-requests",
    response_model=FaceCheckRequested,
    status_code=202,
    operation_id="request_face_check",
)
async def request_face_check(services: Svc, who: Agent) -> FaceCheckRequested:
    """Ask the session's kiosk for a face check (``identity.face_check_requested``)."""
    return await actions.do_request_face_check(services, who)


@router.post(
    "/desk/identity/face-checks/{check_id}/override",
    response_model=FaceCheckOut,
    operation_id="override_face_check",
)
async def override_face_check(
    services: Svc, who: Agent, check_id: RowId, body: OverrideIn
) -> FaceCheckOut:
    """Accept the identity although the check failed; a reason is required (audited)."""
    return await actions.do_override(services, who, check_id, body.reason)


@router.get(
    "/desk/identity/id-card-reads/{read_id}/photo",
    response_class=Response,
    responses=_PHOTO,
    operation_id="id_card_photo",
)
async def id_card_photo(services: Svc, who: Agent, read_id: RowId) -> Response:
    """The ID card photo, for the agent serving the session (every read audited)."""
    return _photo(await actions.open_card_photo(services, who, read_id))


@router.get(
    "/desk/identity/face-checks/{check_id}/photo",
    response_class=Response,
    responses=_PHOTO,
    operation_id="face_check_photo",
)
async def face_check_photo(services: Svc, who: Agent, check_id: RowId) -> Response:
    """The kiosk still of a face check, for the agent serving the session (audited)."""
    return _photo(await actions.open_live_photo(services, who, check_id))


@router.post(
    "/desk/identity/fill-case", response_model=FillCaseOut, operation_id="fill_case_from_card"
)
async def fill_case_from_card(services: Svc, who: Agent, body: FillCaseIn) -> FillCaseOut:
    """Copy the applicant's name and ID number from the card into the case form."""
    return await actions.do_fill_case(services, who, body.case_id)
