"""HTTP transport of case materials (docs/protocol.md §Cases, materials): the agent asks
for a capture, uploads, decides; the kiosk sends its capture; readers download (every
download audited). Thin: parse, authorise, call one action, serialise."""

from __future__ import annotations

import asyncio
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.cases import materials
from cloudwindow.cases.materials import Audience, MaterialOut, Source
from cloudwindow.schemas import InputModel
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["case materials"])
Svc = Annotated[Services, Depends(get_services)]
Agent = Annotated[Principal, Depends(require(Permission.CASE_WORK))]
Kiosk = Annotated[Principal, Depends(require(Permission.DEVICE))]
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
MaterialId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
CodeQuery = Annotated[str, Query(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
FileName = Annotated[str, Query(max_length=200, description="Shown to people only; never trusted")]
_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "application/pdf": {}}, "description": "The file"},
    410: {"description": "The file is gone"},
}


class CaptureRequest(InputModel):
    material_code: Code


class CaptureRequested(BaseModel):
    case_id: int
    material_code: str
    name: str
    guide: dict[str, Any]
    requested_by: str


class MaterialDecision(InputModel):
    status: Literal["accepted", "rejected"]
    reason: Annotated[str, Field(max_length=500)] = ""


async def _receive(
    services: Services, who: Principal, case_id: int, code: str, source: Source, request: Request,
    filename: str,
) -> MaterialOut:  # fmt: skip
    await materials.check_can_add(services, who, case_id, code)
    path = await materials.receive_to_file(
        request.stream(),
        request.headers.get("content-length"),
        materials.limits_of(services).max_bytes,
        materials.upload_folder(services),
    )
    try:
        return await materials.do_add_material(
            services, who, case_id, code, source, path, original_name=filename
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


@router.post(
    "/desk/cases/{case_id}/capture-requests",
    response_model=CaptureRequested,
    status_code=202,
    operation_id="request_material_capture",
)
async def request_material_capture(
    services: Svc, who: Agent, case_id: CaseId, body: CaptureRequest
) -> dict[str, Any]:
    """Ask the kiosk of the session to capture one required material with its document
    camera: the kiosk gets ``case.material.capture_requested`` and shows a framing guide."""
    return await materials.do_request_capture(services, who, case_id, body.material_code)


@router.post(
    "/desk/cases/{case_id}/materials",
    response_model=MaterialOut,
    status_code=201,
    operation_id="upload_case_material",
    openapi_extra=_BINARY_BODY,
)
async def upload_case_material(
    request: Request,
    services: Svc,
    who: Agent,
    case_id: CaseId,
    material_code: CodeQuery,
    filename: FileName = "",
) -> MaterialOut:
    """Upload a file from the agent's PC for one required material (the raw bytes as the
    body). Checked by content: JPEG/PNG/WebP (re-encoded as JPEG, metadata removed) or
    PDF; at most ``material_max_bytes``."""
    return await _receive(services, who, case_id, material_code, Source.UPLOAD, request, filename)


@router.post(
    "/kiosk/cases/{case_id}/materials",
    response_model=MaterialOut,
    status_code=201,
    operation_id="capture_case_material",
    openapi_extra=_BINARY_BODY,
)
async def capture_case_material(
    request: Request, services: Svc, who: Kiosk, case_id: CaseId, material_code: CodeQuery
) -> MaterialOut:
    """The kiosk sends a still from its document camera (the raw image as the body) for one
    required material of the case in its session."""
    return await _receive(services, who, case_id, material_code, Source.CAPTURE, request, "")


@router.post(
    "/desk/cases/{case_id}/materials/{material_id}/decision",
    response_model=MaterialOut,
    operation_id="decide_case_material",
)
async def decide_case_material(
    services: Svc, who: Agent, case_id: CaseId, material_id: MaterialId, body: MaterialDecision
) -> MaterialOut:
    """Accept a material, or reject it with a reason (the kiosk sees the result)."""
    return await materials.do_decide_material(
        services, who, case_id, material_id, body.status, body.reason
    )


def _file(path: FsPath, view: MaterialOut) -> FileResponse:
    ext = "pdf" if view.content_type == "application/pdf" else "jpg"
    return FileResponse(
        path,
        media_type=view.content_type,
        filename=f"case-{view.case_id}-{view.material_code}-{view.id}.{ext}",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


def _file_route(audience: Audience, permission: Permission) -> Any:
    """The download endpoint for one audience: the same file, its own permission."""

    # A default, not an annotation: annotations are strings here (PEP 563) and FastAPI
    # resolves them in the module's globals, where ``permission`` is not.
    async def endpoint(
        services: Svc,
        case_id: CaseId,
        material_id: MaterialId,
        who: Principal = Depends(require(permission)),
    ) -> FileResponse:
        path, view = await materials.do_open_material(services, who, case_id, material_id, audience)
        return _file(path, view)

    return endpoint


_FILE_ROUTES: list[tuple[str, str, Audience, Permission, str]] = [
    (
        "/desk/cases/{case_id}/materials/{material_id}/file",
        "desk_material_file",
        "desk",
        Permission.CASE_WORK,
        "The file, for the agent who opened the case or serves its session (audited).",
    ),
    (
        "/approvals/{case_id}/materials/{material_id}/file",
        "approval_material_file",
        "approver",
        Permission.CASE_APPROVE,
        "The file, for an approver of a department with a step in the case (audited).",
    ),
    (
        "/cases/{case_id}/materials/{material_id}/file",
        "case_material_file",
        "reader",
        Permission.CASE_READ,
        "The file, for supervisors, administrators and auditors (audited).",
    ),
]
for _path, _operation, _audience, _permission, _doc in _FILE_ROUTES:
    router.get(
        _path,
        operation_id=_operation,
        response_class=FileResponse,
        responses=_FILE_RESPONSES,
        description=_doc,
    )(_file_route(_audience, _permission))
