"""HTTP transport of the device relay (docs/protocol.md §Devices). Thin: parse,
authorise, call one action or query, serialise."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response

from cloudwindow.accounts.deps import require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.devices import actions, queries
from cloudwindow.devices.schemas import (
    CommandRequest,
    CommandResult,
    CommandView,
    HealthReport,
    SessionDevices,
    Slip,
    TerminalHealth,
)
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["devices"])
Svc = Annotated[Services, Depends(get_services)]
Agent = Annotated[Principal, Depends(require(Permission.AGENT_DESK))]
Kiosk = Annotated[Principal, Depends(require(Permission.DEVICE))]
Reader = Annotated[Principal, Depends(require(Permission.FLEET_READ))]
CommandId = Annotated[str, PathParam(min_length=32, max_length=32, pattern=r"^[0-9a-f]+$")]
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The sealed PDF to print"}
}


# Agent -----------------------------------------------------------------------------------------
@router.post(
    "/desk/devices/commands",
    response_model=CommandView,
    status_code=202,
    operation_id="request_device_command",
)
async def request_device_command(services: Svc, who: Agent, body: CommandRequest) -> CommandView:
    """Have the kiosk of my session use a device: ``id_reader.read``,
    ``signature_pad.capture``, ``receipt_printer.print`` / ``a4_printer.print``
    ``{document_id}``. The result comes as ``device.command_result``."""
    return await actions.do_request_command(
        services, who, body.device, body.command, body.params, body.timeout_seconds
    )


@router.get(
    "/desk/devices/commands/{command_id}",
    response_model=CommandView,
    operation_id="desk_device_command",
)
async def desk_device_command(services: Svc, who: Agent, command_id: CommandId) -> CommandView:
    """One of my device commands with its whole result (a signature's image: audited)."""
    return await actions.get_command_for_agent(services, who, command_id)


@router.get("/desk/devices", response_model=SessionDevices, operation_id="desk_devices")
async def desk_devices(services: Svc, who: Agent) -> SessionDevices:
    """The devices of the kiosk in my session (health) and this session's commands."""
    return await queries.get_session_devices(services, who)


# Kiosk -----------------------------------------------------------------------------------------
@router.get(
    "/kiosk/devices/commands/{command_id}",
    response_model=CommandView,
    operation_id="kiosk_device_command",
)
async def kiosk_device_command(services: Svc, who: Kiosk, command_id: CommandId) -> CommandView:
    """A command sent to this kiosk (is it still pending?)."""
    return await actions.get_command_for_kiosk(services, who, command_id)


@router.post(
    "/kiosk/devices/commands/{command_id}/result",
    response_model=CommandView,
    operation_id="report_device_command_result",
)
async def report_device_command_result(
    services: Svc, who: Kiosk, command_id: CommandId, body: CommandResult
) -> CommandView:
    """How the command ended on this kiosk's bridge: ``{ok: true, data}`` or
    ``{ok: false, error: {code, message}}``. Once only."""
    error = body.error
    return await actions.do_report_result(
        services, who, command_id, body.ok, body.data,
        error.code if error else "", error.message if error else "",
    )  # fmt: skip


@router.get(
    "/kiosk/devices/commands/{command_id}/document",
    operation_id="kiosk_print_document",
    responses=_PDF,
)
async def kiosk_print_document(services: Svc, who: Kiosk, command_id: CommandId) -> Response:
    """The sealed PDF a pending print command names, to hand to the printer unchanged
    (audited as a download)."""
    doc, data = await actions.do_download_for_print(services, who, command_id)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(doc.title)}.pdf",
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/kiosk/devices/commands/{command_id}/slip",
    response_model=Slip,
    operation_id="kiosk_print_slip",
)
async def kiosk_print_slip(services: Svc, who: Kiosk, command_id: CommandId) -> Slip:
    """What the receipt printer prints for the document a pending print command names."""
    return await queries.get_slip(services, who, command_id)


@router.post(
    "/kiosk/devices/health",
    operation_id="report_device_health",
)
async def report_device_health(services: Svc, who: Kiosk, body: HealthReport) -> dict[str, Any]:
    """This kiosk's bridge and device health (sent on connect and on every change)."""
    return {"changed": await actions.do_report_health(services, who, body)}


# Supervisors -----------------------------------------------------------------------------------
@router.get(
    "/devices/health",
    response_model=list[TerminalHealth],
    operation_id="devices_health",
)
async def devices_health(services: Svc, who: Reader) -> list[TerminalHealth]:
    """Device health of every kiosk that reported it, worst first (值班主管)."""
    return await queries.get_health(services)
