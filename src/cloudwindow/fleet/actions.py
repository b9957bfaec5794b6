"""Every write of the fleet, one transaction each: sites, terminals, enrollment, seats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.errors import EnrollmentCodeInvalid
from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.queries import DEVICE_PREFIX
from cloudwindow.accounts.security import new_enrollment_code, new_token, token_hash
from cloudwindow.audit.actions import record
from cloudwindow.catalog.models import Region
from cloudwindow.crud import apply, changed_fields, check_ref, get_or_404
from cloudwindow.db import utcnow
from cloudwindow.errors import AlreadyExists
from cloudwindow.fleet import errors
from cloudwindow.fleet.models import EnrollmentCode, Seat, Site, Terminal
from cloudwindow.fleet.schemas import (
    EnrollmentCodeOut,
    EnrollResponse,
    SeatCreate,
    SeatUpdate,
    SiteCreate,
    SiteUpdate,
    TerminalCreate,
    TerminalUpdate,
)
from cloudwindow.services import Services

SITE = ("Site", "点位")
TERMINAL = ("Terminal", "终端")
SEAT = ("Seat", "云坐席")


def _set(values: dict[str, object], nullable: tuple[str, ...] = ()) -> dict[str, object]:
    """PATCH values: nulls dropped except for fields that may be cleared."""
    return {k: v for k, v in values.items() if v is not None or k in nullable}


async def _site_for(session: AsyncSession, site_id: int, field: str, office: bool) -> Site:
    site = await check_ref(session, Site, site_id, field, *SITE)
    if office and site.type != "agent_office":
        raise errors.seat_site_not_office(site_id)
    if not office and site.type == "agent_office":
        raise errors.terminal_site_is_office(site_id)
    return site


# Sites ---------------------------------------------------------------------------------
async def do_create_site(services: Services, actor: Principal, body: SiteCreate) -> int:
    async with services.db.transaction() as session:
        if await session.scalar(select(Site.id).where(Site.code == body.code)):
            raise AlreadyExists(*SITE, body.code)
        await check_ref(session, Region, body.region_code, "region_code", "Region", "区划")
        site = Site(**body.model_dump(mode="json"))
        session.add(site)
        await session.flush()
        record(session, actor, "site.create", "site", site.id, {"code": site.code})
        return site.id


async def do_update_site(
    services: Services, actor: Principal, site_id: int, body: SiteUpdate
) -> None:
    async with services.db.transaction() as session:
        site = await get_or_404(session, Site, site_id, *SITE)
        values = _set(changed_fields(body), nullable=("latitude", "longitude"))
        if "region_code" in values:
            await check_ref(session, Region, values["region_code"], "region_code", "Region", "区划")
        if "type" in values:
            values["type"] = str(values["type"])
        record(session, actor, "site.update", "site", site_id, apply(site, values))


# Terminals -----------------------------------------------------------------------------
async def do_create_terminal(services: Services, actor: Principal, body: TerminalCreate) -> int:
    async with services.db.transaction() as session:
        if await session.scalar(
            select(Terminal.id).where(Terminal.serial_number == body.serial_number)
        ):
            raise AlreadyExists(*TERMINAL, body.serial_number)
        await _site_for(session, body.site_id, "site_id", office=False)
        terminal = Terminal(**body.model_dump(mode="json"), status="unenrolled")
        session.add(terminal)
        await session.flush()
        record(
            session,
            actor,
            "terminal.create",
            "terminal",
            terminal.id,
            {"serial_number": terminal.serial_number},
        )
        return terminal.id


async def do_update_terminal(
    services: Services, actor: Principal, terminal_id: int, body: TerminalUpdate
) -> None:
    async with services.db.transaction() as session:
        terminal = await get_or_404(session, Terminal, terminal_id, *TERMINAL)
        values = _set(changed_fields(body))
        if "site_id" in values:
            await _site_for(session, int(str(values["site_id"])), "site_id", office=False)
        for key in ("model", "status"):
            if key in values:
                values[key] = str(values[key])
        if "peripherals" in values:
            values["peripherals"] = [str(p) for p in body.peripherals or []]
        if values.get("status") == "retired":
            terminal.credential_hash = None  # a retired kiosk can no longer sign in
        record(session, actor, "terminal.update", "terminal", terminal_id, apply(terminal, values))


async def do_issue_enrollment_code(
    services: Services, actor: Principal, terminal_id: int
) -> EnrollmentCodeOut:
    """A one-time code for installing (or re-installing) a kiosk; older codes lapse."""
    async with services.db.transaction() as session:
        terminal = await get_or_404(session, Terminal, terminal_id, *TERMINAL)
        if terminal.status == "retired" or not terminal.active:
            raise errors.terminal_retired(terminal_id)
        now = utcnow()
        for old in await session.scalars(
            select(EnrollmentCode).where(
                EnrollmentCode.terminal_id == terminal_id, EnrollmentCode.used_at.is_(None)
            )
        ):
            old.used_at = now
        code = new_enrollment_code()
        expires = now + timedelta(seconds=services.settings.enrollment_code_ttl_seconds)
        session.add(
            EnrollmentCode(
                terminal_id=terminal_id,
                code_hash=token_hash(code),
                expires_at=expires,
                created_by=actor.id,
            )
        )
        record(session, actor, "terminal.enrollment_code", "terminal", terminal_id)
    return EnrollmentCodeOut(code=code, expires_at=expires)


async def do_enroll(services: Services, code: str, ip: str) -> EnrollResponse:
    """Exchange a one-time enrollment code for the kiosk's device credential."""
    normalised = code.strip().upper().replace(" ", "")
    if len(normalised) == 8:
        normalised = f"{normalised[:4]}-{normalised[4:]}"
    async with services.db.transaction() as session:
        row = await session.scalar(
            select(EnrollmentCode).where(EnrollmentCode.code_hash == token_hash(normalised))
        )
        now = utcnow()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise EnrollmentCodeInvalid()
        terminal = await session.get(Terminal, row.terminal_id)
        if terminal is None or terminal.status == "retired" or not terminal.active:
            raise EnrollmentCodeInvalid()
        row.used_at = now
        credential = f"{DEVICE_PREFIX}{terminal.id}_{new_token('k')[2:]}"
        terminal.credential_hash = token_hash(credential)
        terminal.enrolled_at = now
        terminal.last_seen_at = now
        if terminal.status == "unenrolled":
            terminal.status = "active"
        record(session, None, "terminal.enroll", "terminal", terminal.id, {"ip": ip})
        return EnrollResponse(
            terminal_id=terminal.id, serial_number=terminal.serial_number, credential=credential
        )


# Seats ---------------------------------------------------------------------------------
async def do_create_seat(services: Services, actor: Principal, body: SeatCreate) -> int:
    async with services.db.transaction() as session:
        if await session.scalar(select(Seat.id).where(Seat.code == body.code)):
            raise AlreadyExists(*SEAT, body.code)
        await _site_for(session, body.site_id, "site_id", office=True)
        seat = Seat(**body.model_dump(mode="json"))
        session.add(seat)
        await session.flush()
        record(session, actor, "seat.create", "seat", seat.id, {"code": seat.code})
        return seat.id


async def do_update_seat(
    services: Services, actor: Principal, seat_id: int, body: SeatUpdate
) -> None:
    async with services.db.transaction() as session:
        seat = await get_or_404(session, Seat, seat_id, *SEAT)
        values = _set(changed_fields(body))
        if "site_id" in values:
            await _site_for(session, int(str(values["site_id"])), "site_id", office=True)
        if "equipment" in values:
            values["equipment"] = [str(e) for e in body.equipment or []]
        record(session, actor, "seat.update", "seat", seat_id, apply(seat, values))
