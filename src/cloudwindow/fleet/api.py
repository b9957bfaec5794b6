"""HTTP transport of the fleet: sites, terminals and their enrollment, seats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from cloudwindow.accounts.deps import client_ip, require
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.crud import do_set_active, get_or_404
from cloudwindow.fleet import actions, queries
from cloudwindow.fleet.models import Seat, Site, Terminal
from cloudwindow.fleet.schemas import (
    DeviceMe,
    EnrollmentCodeOut,
    EnrollRequest,
    EnrollResponse,
    SeatCreate,
    SeatOut,
    SeatUpdate,
    SiteCreate,
    SiteOut,
    SiteType,
    SiteUpdate,
    TerminalCreate,
    TerminalModel,
    TerminalOut,
    TerminalStatus,
    TerminalUpdate,
)
from cloudwindow.pagination import IdPath, Page, PageParams, fetch_page, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["fleet"])
Svc = Annotated[Services, Depends(get_services)]
Reader = Annotated[Principal, Depends(require(Permission.FLEET_READ))]
Writer = Annotated[Principal, Depends(require(Permission.FLEET_WRITE))]
Device = Annotated[Principal, Depends(require(Permission.DEVICE))]
Paging = Annotated[PageParams, Depends(page_params)]
Q = Annotated[str | None, Query(max_length=100)]
OptId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


# Sites ---------------------------------------------------------------------------------
async def _site(services: Services, site_id: int) -> SiteOut:
    async with services.db.read() as s:
        return SiteOut.model_validate(await get_or_404(s, Site, site_id, *actions.SITE))


@router.get("/sites", response_model=Page[SiteOut], operation_id="list_sites")
async def list_sites(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Q = None,
    type: SiteType | None = None,
    region_code: Annotated[str | None, Query(max_length=12)] = None,
    active: bool | None = None,
) -> Page[SiteOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(s, queries.sites_query(q, type, region_code, active), params)
    return Page(
        items=[SiteOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@router.post("/sites", response_model=SiteOut, status_code=201, operation_id="create_site")
async def create_site(body: SiteCreate, services: Svc, actor: Writer) -> SiteOut:
    return await _site(services, await actions.do_create_site(services, actor, body))


@router.get("/sites/{site_id}", response_model=SiteOut, operation_id="get_site")
async def get_site(site_id: IdPath, services: Svc, _: Reader) -> SiteOut:
    return await _site(services, site_id)


@router.patch("/sites/{site_id}", response_model=SiteOut, operation_id="update_site")
async def update_site(site_id: IdPath, body: SiteUpdate, services: Svc, actor: Writer) -> SiteOut:
    await actions.do_update_site(services, actor, site_id, body)
    return await _site(services, site_id)


@router.post("/sites/{site_id}/deactivate", response_model=SiteOut, operation_id="deactivate_site")
async def deactivate_site(site_id: IdPath, services: Svc, actor: Writer) -> SiteOut:
    await do_set_active(services, actor, Site, site_id, False, actions.SITE)
    return await _site(services, site_id)


@router.post("/sites/{site_id}/activate", response_model=SiteOut, operation_id="activate_site")
async def activate_site(site_id: IdPath, services: Svc, actor: Writer) -> SiteOut:
    await do_set_active(services, actor, Site, site_id, True, actions.SITE)
    return await _site(services, site_id)


# Terminals -----------------------------------------------------------------------------
async def _terminal(services: Services, terminal_id: int) -> TerminalOut:
    async with services.db.read() as s:
        return await queries.get_terminal_out(s, terminal_id)


@router.get("/terminals", response_model=Page[TerminalOut], operation_id="list_terminals")
async def list_terminals(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Q = None,
    site_id: OptId = None,
    model: TerminalModel | None = None,
    status: TerminalStatus | None = None,
    active: bool | None = None,
) -> Page[TerminalOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(
            s, queries.terminals_query(q, site_id, model, status, active), params
        )
        items = await queries.terminals_out(s, rows)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.post(
    "/terminals", response_model=TerminalOut, status_code=201, operation_id="create_terminal"
)
async def create_terminal(body: TerminalCreate, services: Svc, actor: Writer) -> TerminalOut:
    return await _terminal(services, await actions.do_create_terminal(services, actor, body))


@router.get("/terminals/{terminal_id}", response_model=TerminalOut, operation_id="get_terminal")
async def get_terminal(terminal_id: IdPath, services: Svc, _: Reader) -> TerminalOut:
    return await _terminal(services, terminal_id)


@router.patch(
    "/terminals/{terminal_id}", response_model=TerminalOut, operation_id="update_terminal"
)
async def update_terminal(
    terminal_id: IdPath, body: TerminalUpdate, services: Svc, actor: Writer
) -> TerminalOut:
    await actions.do_update_terminal(services, actor, terminal_id, body)
    return await _terminal(services, terminal_id)


@router.post(
    "/terminals/{terminal_id}/deactivate",
    response_model=TerminalOut,
    operation_id="deactivate_terminal",
)
async def deactivate_terminal(terminal_id: IdPath, services: Svc, actor: Writer) -> TerminalOut:
    await do_set_active(services, actor, Terminal, terminal_id, False, actions.TERMINAL)
    return await _terminal(services, terminal_id)


@router.post(
    "/terminals/{terminal_id}/activate",
    response_model=TerminalOut,
    operation_id="activate_terminal",
)
async def activate_terminal(terminal_id: IdPath, services: Svc, actor: Writer) -> TerminalOut:
    await do_set_active(services, actor, Terminal, terminal_id, True, actions.TERMINAL)
    return await _terminal(services, terminal_id)


@router.post(
    "/terminals/{terminal_id}/enrollment-code",
    response_model=EnrollmentCodeOut,
    status_code=201,
    operation_id="issue_enrollment_code",
)
async def issue_enrollment_code(
    terminal_id: IdPath, services: Svc, actor: Writer
) -> EnrollmentCodeOut:
    """A one-time code the installer types on the kiosk; shown once."""
    return await actions.do_issue_enrollment_code(services, actor, terminal_id)


@router.post(
    "/devices/enroll", response_model=EnrollResponse, status_code=201, operation_id="enroll_device"
)
async def enroll_device(body: EnrollRequest, request: Request, services: Svc) -> EnrollResponse:
    """Public: a kiosk trades its enrollment code for a device credential (shown once)."""
    return await actions.do_enroll(services, body.code, client_ip(request))


@router.get("/devices/me", response_model=DeviceMe, operation_id="device_me")
async def device_me(services: Svc, device: Device) -> DeviceMe:
    """The calling kiosk's own record and site."""
    async with services.db.read() as s:
        terminal = await queries.get_terminal_out(s, device.id)
        site = SiteOut.model_validate(await get_or_404(s, Site, terminal.site_id, *actions.SITE))
    return DeviceMe(terminal=terminal, site=site)


# Seats ---------------------------------------------------------------------------------
async def _seat(services: Services, seat_id: int) -> SeatOut:
    async with services.db.read() as s:
        return await queries.get_seat_out(s, seat_id)


@router.get("/seats", response_model=Page[SeatOut], operation_id="list_seats")
async def list_seats(
    services: Svc,
    _: Reader,
    params: Paging,
    q: Q = None,
    site_id: OptId = None,
    active: bool | None = None,
) -> Page[SeatOut]:
    async with services.db.read() as s:
        rows, total = await fetch_page(s, queries.seats_query(q, site_id, active), params)
        items = await queries.seats_out(s, rows)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


@router.post("/seats", response_model=SeatOut, status_code=201, operation_id="create_seat")
async def create_seat(body: SeatCreate, services: Svc, actor: Writer) -> SeatOut:
    return await _seat(services, await actions.do_create_seat(services, actor, body))


@router.get("/seats/{seat_id}", response_model=SeatOut, operation_id="get_seat")
async def get_seat(seat_id: IdPath, services: Svc, _: Reader) -> SeatOut:
    return await _seat(services, seat_id)


@router.patch("/seats/{seat_id}", response_model=SeatOut, operation_id="update_seat")
async def update_seat(seat_id: IdPath, body: SeatUpdate, services: Svc, actor: Writer) -> SeatOut:
    await actions.do_update_seat(services, actor, seat_id, body)
    return await _seat(services, seat_id)


@router.post("/seats/{seat_id}/deactivate", response_model=SeatOut, operation_id="deactivate_seat")
async def deactivate_seat(seat_id: IdPath, services: Svc, actor: Writer) -> SeatOut:
    await do_set_active(services, actor, Seat, seat_id, False, actions.SEAT)
    return await _seat(services, seat_id)


@router.post("/seats/{seat_id}/activate", response_model=SeatOut, operation_id="activate_seat")
async def activate_seat(seat_id: IdPath, services: Svc, actor: Writer) -> SeatOut:
    await do_set_active(services, actor, Seat, seat_id, True, actions.SEAT)
    return await _seat(services, seat_id)
