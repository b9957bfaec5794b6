"""Remote assistance (远程帮办) over the WebSocket — docs/protocol.md §Cases.

The writes and reads behind ``case.join``, ``case.field.set`` and ``case.confirm``; the
rules themselves are pure (``cases/assist.py``) and the storage of values — personal
data sealed and masked — is ``cases.actions.apply_edits``. Only the agent serving the
case's ticket and that ticket's kiosk take part, while the ticket is in session.

One edit is one short transaction (lock the case row, decide, store, commit) followed
by an ephemeral ``case.field.changed`` to both ends: ephemeral because the value of a
personal-data field travels in clear to the two participants and must not be stored in
the outbox. A client that missed some (a reconnect) re-joins and gets a snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.errors import PermissionDenied
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases import actions, assist
from cloudwindow.cases.errors import CaseNotFound, FieldConflict
from cloudwindow.cases.materials import get_materials, session_side
from cloudwindow.cases.models import Case, FormVersion
from cloudwindow.cases.queries import clear_data
from cloudwindow.cases.states import CASE_EDITABLE
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.queueing.models import Ticket
from cloudwindow.queueing.states import TicketState
from cloudwindow.realtime.outbox import Event, unit_of_work
from cloudwindow.services import Services


async def _form(session: AsyncSession, form_version_id: int) -> FormVersion:
    form = await session.get(FormVersion, form_version_id)
    if form is None:
        raise CaseNotFound({"form_version_id": form_version_id})
    return form


def _check_caller(who: Principal) -> None:
    """Kiosks take part with their device credential; users must be agents (``case.work``)."""
    if who.kind == "user" and Permission.CASE_WORK not in who.permissions:
        raise PermissionDenied({"permission": Permission.CASE_WORK.value})


async def _case_of_session(session: AsyncSession, who: Principal) -> int:
    """The newest case of the ticket the caller is in session on (kiosk: its own ticket;
    agent: the ticket it serves)."""
    column = Ticket.owner == who.ident if who.kind == "device" else Ticket.agent_id == who.id
    case_id = await session.scalar(
        select(Case.id)
        .join(Ticket, Ticket.id == Case.ticket_id)
        .where(column, Ticket.state == TicketState.IN_SESSION.value)
        .order_by(Case.id.desc())
        .limit(1)
    )
    if case_id is None:
        raise CaseNotFound({"case_id": None})
    return int(case_id)


def _ends(case: Case, ticket: Ticket) -> list[str]:
    """The two participants: the serving agent and the ticket's kiosk."""
    return [f"user:{ticket.agent_id or case.agent_id}", ticket.owner]


async def get_snapshot(services: Services, who: Principal, case_id: int | None) -> dict[str, Any]:
    """``case.snapshot``: the shared form as it is now, values in clear for the two
    participants (the read is audited, in the same transaction)."""
    _check_caller(who)
    async with services.db.transaction() as session:
        if case_id is None:
            case_id = await _case_of_session(session, who)
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseNotFound({"case_id": case_id})
        side = await session_side(session, who, case)
        form = await _form(session, case.form_version_id)
        item = await session.get(ServiceItem, case.service_item_code)
        record(
            session,
            who,
            "case.data.read",
            "case",
            case.id,
            {"number": case.number, "purpose": "assist", "side": side.value},
        )
        materials = await get_materials(session, case.id)
        return {
            "case_id": case.id,
            "number": case.number,
            "state": case.state,
            "service_item_code": case.service_item_code,
            "service_item_name": item.name if item else "",
            "ticket_id": case.ticket_id,
            "side": side.value,
            "editable": case.state in CASE_EDITABLE,
            "form": {
                "form_version_id": form.id,
                "version": form.version,
                "schema": form.schema,
                "layout": form.layout,
            },
            "values": clear_data(services.settings, case),
            "field_revs": dict(case.field_revs),
            "rev": case.rev,
            "confirmed_rev": case.confirmed_rev,
            "confirmed_at": case.confirmed_at.isoformat() if case.confirmed_at else None,
            "required_materials": list(case.required_materials or []),
            "materials": [m.model_dump(mode="json") for m in materials],
        }


def _blank_to_none(value: Any) -> Any:
    """Stored forms drop blank strings (``actions.store_values``): compare as stored."""
    return None if isinstance(value, str) and not value.strip() else value


async def do_set_field(
    services: Services, who: Principal, case_id: int, name: str, value: Any, base_rev: int
) -> dict[str, Any]:
    """One field edit from either side. Applied: both ends get ``case.field.changed``.
    Unchanged (it already held that value): nothing is written or sent. Lost a race
    (``base_rev`` is not the field's revision): ``case.field_conflict`` to the caller with
    the value and revision the field holds, and the request fails ``case-field-conflict``."""
    _check_caller(who)
    value = _blank_to_none(value)
    try:
        async with unit_of_work(services) as (session, out):
            case = await actions.lock_case(session, case_id)
            if case is None:
                raise CaseNotFound({"case_id": case_id})
            ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
            side = await session_side(session, who, case)
            assert ticket is not None  # a side implies its in-session ticket
            form = await _form(session, case.form_version_id)
            try:
                changed = actions.apply_edits(
                    services.settings, case, form.schema, {name: value}, {name: base_rev}
                )
            except FieldConflict as conflict:
                current = clear_data(services.settings, case, [name]).get(name)
                conflict.details = {
                    "case_id": case.id,
                    "field": name,
                    "value": current,
                    "rev": case.field_revs.get(name, 0),
                    "base_rev": base_rev,
                    "attempted": value,
                }
                raise
            if not changed:
                current = clear_data(services.settings, case, [name]).get(name)
                return _ack(case.id, name, current, case.field_revs.get(name, 0), "unchanged")
            rev = changed[name]
            data = {
                "case_id": case.id,
                "field": name,
                "value": value,
                "rev": rev,
                "by": side.value,
                "confirmed_rev": case.confirmed_rev,
            }
            for key in _ends(case, ticket):
                out.emit(key, "case.field.changed", data, durable=False)
            kind = assist.pii_kind(form.schema.get("properties", {}).get(name, {}))
            if kind is not None:
                # The other side receives this personal data in clear: write who sent it.
                record(
                    session,
                    who,
                    "case.pii.edit",
                    "case",
                    case.id,
                    {"field": name, "kind": kind, "side": side.value, "rev": rev},
                )
            return _ack(case.id, name, value, rev, "applied")
    except FieldConflict as conflict:
        # Rolled back (nothing was written): tell the loser what the field holds now; the
        # error reply to its request carries the same details.
        await services.hub.publish([Event(who.ident, "case.field_conflict", conflict.details)])
        raise


def _ack(case_id: int, name: str, value: Any, rev: int, outcome: str) -> dict[str, Any]:
    return {"case_id": case_id, "field": name, "value": value, "rev": rev, "outcome": outcome}


async def do_confirm(services: Services, who: Principal, case_id: int, rev: int) -> dict[str, Any]:
    """The citizen confirms data revision ``rev`` on the kiosk (``cases.actions.do_confirm``
    records it and tells both ends with ``case.updated``)."""
    case = await actions.do_confirm(services, who, case_id, rev)
    return {
        "case_id": case.id,
        "rev": case.confirmed_rev,
        "confirmed_at": case.confirmed_at.isoformat() if case.confirmed_at else None,
    }
