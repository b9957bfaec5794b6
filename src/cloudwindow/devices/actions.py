"""Actions of the device relay — docs/protocol.md §Devices.

The agent serving a live session asks for a device command; the session's kiosk gets
``device.command_requested`` (not durable: a kiosk that reloads must not print twice),
runs it on its bridge and reports the result; the agent gets ``device.command_result``.
A command ends exactly once: with the kiosk's result, or failed/timed out by the sweeper
(the kiosk went away, the session ended, the time limit passed), or failed when a fresh
page of the kiosk connects (it never heard of them). A late result is
refused (``device-command-finished``) and changes nothing.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.models import Case
from cloudwindow.db import utcnow
from cloudwindow.devices import rules
from cloudwindow.devices.errors import (
    DeviceBusy,
    DeviceCommandFinished,
    DeviceCommandNotFound,
    DeviceDocumentUnknown,
    DeviceKioskOffline,
    DeviceNoKiosk,
    DeviceNoSession,
    DeviceResultInvalid,
    failure_message,
)
from cloudwindow.devices.models import DeviceCommand, DeviceHealth
from cloudwindow.devices.rules import CommandState
from cloudwindow.devices.schemas import CommandView, ErrorView, HealthReport
from cloudwindow.privacy import keyring_for
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.models import Presence
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services
from cloudwindow.trust.models import SealedDocument

RESULT_PURPOSE = "device.command_result"  # the result's personal part (signature image)
SUPERVISORS = "role:supervisor"
KIOSK_GRACE = timedelta(seconds=3)  # a kiosk socket may blip; after this it is gone
KIOSK_RESTARTED = "device-kiosk-restarted"  # a fresh kiosk page: earlier commands are lost


# Views -----------------------------------------------------------------------------------
def command_view(cmd: DeviceCommand, secret: dict[str, Any] | None = None) -> CommandView:
    state = CommandState(cmd.state)
    error = None
    if cmd.error_id:
        error = ErrorView(
            error_id=cmd.error_id, message=failure_message(cmd.error_id), detail=cmd.error_detail
        )
    data = {**cmd.summary, **(secret or {})} if state == CommandState.SUCCEEDED else None
    return CommandView(
        command_id=cmd.id,
        device=cmd.device,
        command=cmd.command,
        params=cmd.params,
        state=state.value,
        ok=None if state == CommandState.PENDING else state == CommandState.SUCCEEDED,
        data=data,
        error=error,
        requested_by=f"user:{cmd.agent_id}",
        created_at=cmd.created_at,
        expires_at=cmd.expires_at,
        finished_at=cmd.finished_at,
    )


def _emit_result(out: Outbox, cmd: DeviceCommand) -> None:
    out.emit(
        f"user:{cmd.agent_id}",
        "device.command_result",
        command_view(cmd).model_dump(mode="json"),
    )


# Who ----------------------------------------------------------------------------------------
async def serving_ticket(session: AsyncSession, who: Principal, *, lock: bool = False) -> Ticket:
    """The ticket the agent is serving now (``device-no-session`` if none) — at a kiosk
    (``device-no-kiosk`` for a citizen on the web)."""
    query = (
        select(Ticket)
        .where(Ticket.agent_id == who.id, Ticket.state == TicketState.IN_SESSION.value)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    ticket = await session.scalar(query.with_for_update() if lock else query)
    if ticket is None:
        raise DeviceNoSession()
    if terminal_of(ticket) is None:
        raise DeviceNoKiosk({"ticket_id": ticket.id})
    return ticket


def terminal_of(ticket: Ticket) -> int | None:
    kind, _, ident = ticket.owner.partition(":")
    return int(ident) if kind == "device" and ident.isdigit() else None


async def online(session: AsyncSession, services: Services, idents: list[str]) -> set[str]:
    """Which of these principals hold a socket on a live node."""
    if not idents:
        return set()
    cutoff = utcnow() - timedelta(seconds=services.settings.presence_timeout_seconds)
    rows = await session.scalars(
        select(Presence.principal).where(
            Presence.principal.in_(idents), Presence.last_seen >= cutoff
        )
    )
    return set(rows)


async def _printable(
    session: AsyncSession, who: Principal, ticket: Ticket, doc_id: str
) -> SealedDocument:
    """A sealed document of a case this agent opened or that belongs to this session."""
    doc = await session.get(SealedDocument, doc_id)
    case = await session.get(Case, doc.case_id) if doc is not None else None
    if doc is None or case is None or doc.revoked_at is not None:
        raise DeviceDocumentUnknown({"document_id": doc_id})
    if case.agent_id != who.id and case.ticket_id != ticket.id:
        raise DeviceDocumentUnknown({"document_id": doc_id})
    return doc


# Commands ------------------------------------------------------------------------------------
async def do_request_command(
    services: Services,
    who: Principal,
    device: str,
    command: str,
    params: dict[str, Any],
    timeout_seconds: int | None = None,
) -> CommandView:
    """The agent asks the kiosk of the session to run ``device.command`` (202: the result
    comes later as ``device.command_result``)."""
    kept = rules.check_params(device, command, params)
    async with unit_of_work(services) as (session, out):
        ticket = await serving_ticket(session, who, lock=True)  # one request at a time
        terminal = terminal_of(ticket)
        assert terminal is not None
        if not await online(session, services, [ticket.owner]):
            raise DeviceKioskOffline({"terminal_id": terminal})
        if device in rules.PRINTERS:
            await _printable(session, who, ticket, kept["document_id"])
        now = utcnow()
        busy = await session.scalar(
            select(DeviceCommand.id).where(
                DeviceCommand.terminal_id == terminal,
                DeviceCommand.device == device,
                DeviceCommand.state == CommandState.PENDING.value,
                DeviceCommand.expires_at > now,
            )
        )
        if busy is not None:
            raise DeviceBusy(busy)
        cmd = DeviceCommand(
            id=secrets.token_hex(16),
            terminal_id=terminal,
            ticket_id=ticket.id,
            agent_id=who.id,
            device=device,
            command=command,
            params=kept,
            state=CommandState.PENDING.value,
            error_id="",
            error_detail="",
            summary={},
            created_at=now,
            expires_at=now
            + timedelta(seconds=timeout_seconds or rules.timeout_of(device, command)),
        )
        session.add(cmd)
        await session.flush()
        view = command_view(cmd)
        out.emit(
            ticket.owner,
            "device.command_requested",
            {
                "command_id": cmd.id,
                "device": device,
                "command": command,
                "params": kept,
                "requested_by": who.ident,
                "expires_at": cmd.expires_at.isoformat(),
            },
            durable=False,
        )
        record(session, who, "device.command", "device_command", cmd.id,
               {"device": device, "command": command, "ticket_id": ticket.id, **kept})  # fmt: skip
        return view


async def _kiosk_command(
    session: AsyncSession, who: Principal, command_id: str, *, lock: bool = False
) -> DeviceCommand:
    query = select(DeviceCommand).where(DeviceCommand.id == command_id)
    cmd = await session.scalar(query.with_for_update() if lock else query)
    # Another kiosk's command: as if it did not exist.
    if cmd is None or who.kind != "device" or cmd.terminal_id != who.id:
        raise DeviceCommandNotFound({"command_id": command_id})
    return cmd


def _still_open(cmd: DeviceCommand, now: datetime) -> None:
    if cmd.state != CommandState.PENDING.value:
        raise DeviceCommandFinished(cmd.state)
    if cmd.expires_at <= now:
        raise DeviceCommandFinished(CommandState.TIMED_OUT.value)  # the sweeper records it


async def do_report_result(
    services: Services,
    who: Principal,
    command_id: str,
    ok: bool,
    data: dict[str, Any] | None,
    error_code: str,
    error_message: str,
) -> CommandView:
    """The kiosk reports how its command ended. Checked whole before anything is written:
    an ID read reports only the id of the stored read (never the card's data)."""
    async with unit_of_work(services) as (session, out):
        cmd = await _kiosk_command(session, who, command_id, lock=True)
        now = utcnow()
        _still_open(cmd, now)
        if ok:
            if data is None:
                raise DeviceResultInvalid("data")
            result = rules.check_result(cmd.device, data)
            cmd.summary = result.summary
            if cmd.device == "id_reader":
                cmd.summary = await _card_summary(session, who, cmd, result.summary)
            if result.secret:
                keys = keyring_for(services.settings)
                cmd.result_cipher = keys.encrypt(json.dumps(result.secret), RESULT_PURPOSE)
            cmd.state = CommandState.SUCCEEDED.value
        else:
            if not error_code:
                raise DeviceResultInvalid("error")
            cmd.error_id = rules.failure_id(error_code)
            cmd.error_detail = error_message[:200]
            cmd.state = CommandState.FAILED.value
        cmd.finished_at = now
        await session.flush()
        _emit_result(out, cmd)
        record(session, who, "device.command_result", "device_command", cmd.id,
               {"device": cmd.device, "command": cmd.command, "state": cmd.state,
                "error_id": cmd.error_id})  # fmt: skip
        return command_view(cmd)


async def _card_summary(
    session: AsyncSession, who: Principal, cmd: DeviceCommand, summary: dict[str, Any]
) -> dict[str, Any]:
    """An ID read's result is the card identity stored for this session from this kiosk;
    what the agent is shown comes from that row (masked), not from the kiosk's word."""
    from cloudwindow.cases.deadlines import CHINA
    from cloudwindow.identity.models import IdCardRead

    read = await session.get(IdCardRead, summary["id_card_read_id"])
    if read is None or read.ticket_id != cmd.ticket_id or read.read_by != who.ident:
        raise DeviceResultInvalid("id_card_read_id")
    today = utcnow().astimezone(CHINA).date()
    return {
        "id_card_read_id": read.id,
        "name_masked": read.name_masked,
        "id_number_masked": read.id_number_masked,
        "valid_until": read.valid_until.isoformat() if read.valid_until else None,
        "expired": read.valid_until is not None and read.valid_until < today,
    }


async def get_command_for_agent(services: Services, who: Principal, command_id: str) -> CommandView:
    """The agent's own command with its whole result (reading a signature is audited)."""
    async with services.db.transaction() as session:
        cmd = await session.get(DeviceCommand, command_id)
        if cmd is None or who.kind != "user" or cmd.agent_id != who.id:
            raise DeviceCommandNotFound({"command_id": command_id})
        secret = None
        if cmd.result_cipher:
            keys = keyring_for(services.settings)
            secret = json.loads(keys.decrypt(cmd.result_cipher, RESULT_PURPOSE))
            record(session, who, "device.result.read", "device_command", cmd.id,
                   {"device": cmd.device, "ticket_id": cmd.ticket_id})  # fmt: skip
        return command_view(cmd, secret)


async def get_command_for_kiosk(services: Services, who: Principal, command_id: str) -> CommandView:
    async with services.db.read() as session:
        return command_view(await _kiosk_command(session, who, command_id))


async def print_document(
    services: Services, who: Principal, command_id: str
) -> tuple[DeviceCommand, SealedDocument, Case]:
    """The sealed document a pending print command of this kiosk names."""
    async with services.db.read() as session:
        cmd = await _kiosk_command(session, who, command_id)
        _still_open(cmd, utcnow())
        if cmd.device not in rules.PRINTERS:
            raise DeviceCommandNotFound({"command_id": command_id})
        doc = await session.get(SealedDocument, cmd.params.get("document_id", ""))
        case = await session.get(Case, doc.case_id) if doc is not None else None
        if doc is None or case is None or doc.revoked_at is not None:
            raise DeviceDocumentUnknown({"document_id": cmd.params.get("document_id")})
        return cmd, doc, case


async def do_download_for_print(
    services: Services, who: Principal, command_id: str
) -> tuple[SealedDocument, bytes]:
    """The PDF to hand to the A4 printer, for the kiosk the command went to (audited)."""
    from cloudwindow.trust.documents import _download  # the one audited read of a document

    cmd, doc, _ = await print_document(services, who, command_id)
    async with services.db.transaction() as session:
        return await _download(session, services, who, doc, via="kiosk-print", command=cmd.id)


# Sweeper ---------------------------------------------------------------------------------------
def _fail(cmd: DeviceCommand, state: CommandState, error_id: str, now: datetime) -> None:
    cmd.state, cmd.error_id, cmd.finished_at = state.value, error_id, now


async def do_sweep_commands(services: Services) -> int:
    """End the pending commands that can no longer get a result: past their time limit,
    their session over, or their kiosk gone (longer than a blip). Returns how many."""
    now = utcnow()
    async with unit_of_work(services) as (session, out):
        pending = list(
            await session.scalars(
                select(DeviceCommand)
                .where(DeviceCommand.state == CommandState.PENDING.value)
                .with_for_update(skip_locked=True)
            )
        )
        if not pending:
            return 0
        tickets = {
            t.id: t
            for t in await session.scalars(
                select(Ticket).where(Ticket.id.in_({c.ticket_id for c in pending}))
            )
        }
        here = await online(session, services, [f"device:{c.terminal_id}" for c in pending])
        ended = 0
        for cmd in pending:
            ticket = tickets.get(cmd.ticket_id)
            created = cmd.created_at
            if cmd.expires_at <= now:
                _fail(cmd, CommandState.TIMED_OUT, "device-timeout", now)
            elif ticket is None or ticket.state != TicketState.IN_SESSION.value:
                _fail(cmd, CommandState.FAILED, "device-session-ended", now)
            elif f"device:{cmd.terminal_id}" not in here and now - created > KIOSK_GRACE:
                _fail(cmd, CommandState.FAILED, "device-kiosk-disconnected", now)
            else:
                continue
            ended += 1
            _emit_result(out, cmd)
        return ended


async def do_fail_commands_of_fresh_pages(
    session: AsyncSession, out: Outbox, fresh: dict[int, datetime]
) -> int:
    """A kiosk opened a socket from a fresh page (a reload, or a new page after its old
    one went away — not a resume: ``hello`` without ``last_event_id``). That page never
    heard of the commands sent before it connected (``device.command_requested`` is not
    durable), so they can get no result: end them now (``device-kiosk-restarted``) rather
    than leave the agent waiting for their time limit. ``fresh``: terminal id → when
    its fresh socket was registered. Runs in the presence writer's transaction; the
    rows are locked (in id order) and re-checked, so a result, the sweeper or another
    node that ended a command first wins. Returns how many ended."""
    if not fresh:
        return 0
    rows = await session.scalars(
        select(DeviceCommand)
        .where(
            DeviceCommand.terminal_id.in_(list(fresh)),
            DeviceCommand.state == CommandState.PENDING.value,
        )
        .order_by(DeviceCommand.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = utcnow()
    ended = 0
    for cmd in rows:
        if cmd.state != CommandState.PENDING.value or cmd.created_at >= fresh[cmd.terminal_id]:
            continue  # ended meanwhile, or sent to the new page itself
        _fail(cmd, CommandState.FAILED, KIOSK_RESTARTED, now)
        ended += 1
        _emit_result(out, cmd)
    return ended


# Health -----------------------------------------------------------------------------------------
async def do_report_health(services: Services, who: Principal, report: HealthReport) -> list[str]:
    """Store the kiosk's device health; tell supervisors (and the agent serving the
    kiosk) what changed. Returns the devices whose state changed."""
    try:
        return await _report_health(services, who, report)
    except IntegrityError:
        # Two first reports of one kiosk raced to insert its rows: the second, again,
        # finds them and updates.
        return await _report_health(services, who, report)


async def _report_health(services: Services, who: Principal, report: HealthReport) -> list[str]:
    from cloudwindow.devices.queries import health_of_terminal

    now = utcnow()
    wanted: dict[str, tuple[bool, str, str]] = {}
    if report.bridge.connected:
        label = " ".join(x for x in (report.bridge.model, report.bridge.version) if x)
        wanted["bridge"] = (True, "ok", label[:200])
        for d in report.devices:
            wanted[d.device] = (d.present, d.status, d.detail)
    else:
        wanted["bridge"] = (False, "offline", "")
    async with unit_of_work(services) as (session, out):
        rows = {
            r.device: r
            for r in await session.scalars(
                select(DeviceHealth).where(DeviceHealth.terminal_id == who.id).with_for_update()
            )
        }
        changed: list[str] = []
        for device, (present, status, detail) in wanted.items():
            row = rows.get(device)
            if row is None:
                row = DeviceHealth(terminal_id=who.id, device=device, changed_at=now)
                session.add(row)
            elif (row.present, row.status, row.detail) != (present, status, detail):
                row.changed_at = now
            else:
                row.updated_at = now
                continue
            row.present, row.status, row.detail, row.updated_at = present, status, detail, now
            changed.append(device)
        await session.flush()
        if changed:
            view = await health_of_terminal(session, services, who.id)
            payload = view.model_dump(mode="json") if view else {}
            out.emit(SUPERVISORS, "device.health", payload, durable=False)
            agent = await session.scalar(
                select(Ticket.agent_id).where(
                    Ticket.owner == who.ident, Ticket.state == TicketState.IN_SESSION.value
                )
            )
            if agent is not None:
                out.emit(f"user:{agent}", "device.health", payload, durable=False)
        return changed
