"""Reads of the device relay: device health per kiosk (supervisors), the devices and
commands of the agent's session."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.devices.actions import (
    command_view,
    online,
    print_document,
    serving_ticket,
    terminal_of,
)
from cloudwindow.devices.models import DeviceCommand, DeviceHealth
from cloudwindow.devices.rules import HEALTH_DEVICES
from cloudwindow.devices.schemas import DeviceState, SessionDevices, Slip, TerminalHealth
from cloudwindow.fleet.models import Site, Terminal
from cloudwindow.services import Services

# Worst first: what a supervisor's list shows for a kiosk.
SEVERITY = ["offline", "error", "out_of_paper", "absent", "ok"]


def _states(rows: list[DeviceHealth]) -> list[DeviceState]:
    order = {d: i for i, d in enumerate(HEALTH_DEVICES)}
    return [
        DeviceState(
            device=r.device,
            present=r.present,
            status=r.status,
            detail=r.detail,
            updated_at=r.updated_at,
            changed_at=r.changed_at,
        )
        for r in sorted(rows, key=lambda r: order.get(r.device, 99))
    ]


def worst(states: list[DeviceState], is_online: bool) -> str:
    if not is_online:
        return "offline"
    found = {s.status for s in states}
    return next((s for s in SEVERITY if s in found), "ok")


async def terminals_health(
    session: AsyncSession, services: Services, terminal_ids: list[int] | None = None
) -> list[TerminalHealth]:
    """Every kiosk that ever reported its devices (or the ones named), worst first."""
    query = select(DeviceHealth)
    if terminal_ids is not None:
        query = query.where(DeviceHealth.terminal_id.in_(terminal_ids))
    by_terminal: dict[int, list[DeviceHealth]] = defaultdict(list)
    for row in await session.scalars(query):
        by_terminal[row.terminal_id].append(row)
    if not by_terminal:
        return []
    terminals = (
        await session.execute(
            select(Terminal.id, Terminal.name, Terminal.serial_number, Site.name)
            .join(Site, Site.id == Terminal.site_id)
            .where(Terminal.id.in_(list(by_terminal)))
        )
    ).all()
    here = await online(session, services, [f"device:{t}" for t in by_terminal])
    out = []
    for tid, name, serial, site in terminals:
        states = _states(by_terminal[tid])
        is_online = f"device:{tid}" in here
        out.append(
            TerminalHealth(
                terminal_id=tid,
                terminal_name=name,
                serial_number=serial,
                site_name=site,
                online=is_online,
                worst=worst(states, is_online),
                devices=states,
            )
        )
    out.sort(key=lambda t: (SEVERITY.index(t.worst), t.terminal_name))
    return out


async def health_of_terminal(
    session: AsyncSession, services: Services, terminal_id: int
) -> TerminalHealth | None:
    found = await terminals_health(session, services, [terminal_id])
    return found[0] if found else None


async def get_health(services: Services) -> list[TerminalHealth]:
    async with services.db.read() as session:
        return await terminals_health(session, services)


async def get_session_devices(services: Services, who: Principal) -> SessionDevices:
    async with services.db.read() as session:
        ticket = await serving_ticket(session, who)
        terminal = terminal_of(ticket)
        assert terminal is not None
        term = await session.get(Terminal, terminal)
        rows = list(
            await session.scalars(select(DeviceHealth).where(DeviceHealth.terminal_id == terminal))
        )
        cmds = await session.scalars(
            select(DeviceCommand)
            .where(DeviceCommand.ticket_id == ticket.id, DeviceCommand.agent_id == who.id)
            .order_by(DeviceCommand.created_at.desc())
            .limit(20)
        )
        return SessionDevices(
            terminal_id=terminal,
            terminal_name=term.name if term else "",
            online=bool(await online(session, services, [ticket.owner])),
            devices=_states(rows),
            commands=[command_view(c) for c in cmds],
        )


async def get_slip(services: Services, who: Principal, command_id: str) -> Slip:
    """The receipt printer's slip for the sealed document a pending print command names:
    the case, the document's check code and its verification address (QR)."""
    from cloudwindow.cases.deadlines import CHINA
    from cloudwindow.catalog.models import ServiceItem
    from cloudwindow.trust.rules import verify_url

    _, doc, case = await print_document(services, who, command_id)
    async with services.db.read() as session:
        item = await session.get(ServiceItem, case.service_item_code)
    issued = doc.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return Slip(
        title=doc.title,
        lines=[
            f"办件编号：{case.number}",
            f"办理事项：{item.name if item else case.service_item_code}",
            f"出具时间：{issued}",
            f"验证码：{doc.check_code}",
            "扫描下方二维码可核验文书真伪，也可凭办件编号和手机号码查询办理进度。",
        ],
        qr=verify_url(services.settings.public_base_url, doc.id, doc.check_code),
    )
