"""Reads of the fleet: filtered lists with their site names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.crud import get_or_404
from cloudwindow.fleet.models import Seat, Site, Terminal
from cloudwindow.fleet.schemas import SeatOut, TerminalOut
from cloudwindow.pagination import like_pattern


def _like(q: str | None, *columns: Any) -> Any:
    pattern = like_pattern((q or "").strip())
    return or_(*(c.ilike(pattern, escape="\\") for c in columns))


def sites_query(
    q: str | None, type: str | None, region_code: str | None, active: bool | None
) -> Select[Any]:
    stmt = select(Site).order_by(Site.id)
    if q:
        stmt = stmt.where(_like(q, Site.code, Site.name, Site.address))
    if type:
        stmt = stmt.where(Site.type == type)
    if region_code:
        stmt = stmt.where(Site.region_code == region_code)
    if active is not None:
        stmt = stmt.where(Site.active.is_(active))
    return stmt


def terminals_query(
    q: str | None, site_id: int | None, model: str | None, status: str | None, active: bool | None
) -> Select[Any]:
    stmt = select(Terminal).order_by(Terminal.id)
    if q:
        stmt = stmt.where(_like(q, Terminal.serial_number, Terminal.name))
    if site_id:
        stmt = stmt.where(Terminal.site_id == site_id)
    if model:
        stmt = stmt.where(Terminal.model == model)
    if status:
        stmt = stmt.where(Terminal.status == status)
    if active is not None:
        stmt = stmt.where(Terminal.active.is_(active))
    return stmt


def seats_query(q: str | None, site_id: int | None, active: bool | None) -> Select[Any]:
    stmt = select(Seat).order_by(Seat.id)
    if q:
        stmt = stmt.where(_like(q, Seat.code, Seat.name))
    if site_id:
        stmt = stmt.where(Seat.site_id == site_id)
    if active is not None:
        stmt = stmt.where(Seat.active.is_(active))
    return stmt


async def _site_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Site.id, Site.name).where(Site.id.in_(ids)))
    return {site_id: name for site_id, name in rows}


async def terminals_out(session: AsyncSession, rows: list[Terminal]) -> list[TerminalOut]:
    names = await _site_names(session, {t.site_id for t in rows})
    return [
        TerminalOut.model_validate(t).model_copy(update={"site_name": names.get(t.site_id, "")})
        for t in rows
    ]


async def seats_out(session: AsyncSession, rows: list[Seat]) -> list[SeatOut]:
    names = await _site_names(session, {s.site_id for s in rows})
    return [
        SeatOut.model_validate(s).model_copy(update={"site_name": names.get(s.site_id, "")})
        for s in rows
    ]


async def get_terminal_out(session: AsyncSession, terminal_id: int) -> TerminalOut:
    terminal = await get_or_404(session, Terminal, terminal_id, "Terminal", "终端")
    (out,) = await terminals_out(session, [terminal])
    return out


async def get_seat_out(session: AsyncSession, seat_id: int) -> SeatOut:
    seat = await get_or_404(session, Seat, seat_id, "Seat", "云坐席")
    (out,) = await seats_out(session, [seat])
    return out
