"""Every write of media sessions, and the relay of signaling (docs/protocol.md §Media).

A session opens inside the transaction that accepts an offer (``open_for_ticket``, a
hook called by ``queueing.actions``) and closes with the ticket's session or when a
participant hangs up. Signaling is checked (an open session, a participant, a sane
SDP) and handed to the media backend, which turns it into events for the other party.
Relayed signaling is ephemeral: an SDP or candidate replayed after a reconnect would be
stale, so a client that reconnects mid-call restarts ICE instead (see the protocol).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.db import utcnow
from cloudwindow.media import queries
from cloudwindow.media.backend import Signal, backend_for
from cloudwindow.media.errors import (
    MediaSessionClosed,
    MediaSessionNotFound,
    NotAParticipant,
    SdpInvalid,
    SdpTooLarge,
)
from cloudwindow.media.models import MediaSession, MediaState, Role
from cloudwindow.media.schemas import Candidate, Control, Description, Ready, SessionRef
from cloudwindow.media.turn import ice_servers
from cloudwindow.queueing.models import Ticket
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services

SUPERVISORS = "role:supervisor"


def role_of(row: MediaSession, key: str) -> Role | None:
    if key == row.caller:
        return Role.CALLER
    if key == row.callee:
        return Role.CALLEE
    return None


async def session_info(
    services: Services, session: AsyncSession, row: MediaSession, role: Role
) -> dict[str, Any]:
    """What one participant needs to join the call (``media.session``): its role, its
    own ICE servers (TURN credentials are per participant) and who the peer is."""
    settings = services.settings
    key = row.caller if role == Role.CALLER else row.callee
    peer_role = Role.CALLEE if role == Role.CALLER else Role.CALLER
    peer = await queries.participant(
        session, row.callee if role == Role.CALLER else row.caller, peer_role
    )
    return {
        "session_id": row.id,
        "ticket_id": row.ticket_id,
        "backend": row.backend,
        "state": row.state,
        "role": role.value,
        "ice_servers": ice_servers(settings, key, time.time()),
        "ice_transport_policy": settings.ice_transport_policy,
        "peer": {
            "role": peer_role.value,
            "kind": backend_for(settings).peer_kind(),
            "name": peer.name,
        },
        "started_at": row.started_at.isoformat(),
    }


# Hooks called inside the queue's transactions -------------------------------------------
async def open_for_ticket(
    services: Services, session: AsyncSession, out: Outbox, ticket: Ticket, agent: Principal
) -> MediaSession:
    """The agent accepted ``ticket``: open its call and tell both ends (durable)."""
    await close_for_ticket(session, out, ticket.id, "replaced", agent.ident)
    row = MediaSession(
        ticket_id=ticket.id,
        backend=backend_for(services.settings).name,
        state=MediaState.OPEN.value,
        caller=agent.ident,
        callee=ticket.owner,
        started_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    for role, key in ((Role.CALLER, row.caller), (Role.CALLEE, row.callee)):
        out.emit(key, "media.session", await session_info(services, session, row, role))
    return row


def _close(out: Outbox, row: MediaSession, reason: str, actor: str) -> None:
    row.state = MediaState.CLOSED.value
    row.ended_at = utcnow()
    row.end_reason = reason[:24]
    row.ended_by = actor[:40]
    data = {"session_id": row.id, "ticket_id": row.ticket_id, "reason": row.end_reason}
    for key in (row.caller, row.callee):
        out.emit(key, "media.ended", data)


async def close_for_ticket(
    session: AsyncSession, out: Outbox, ticket_id: int, reason: str, actor: str
) -> None:
    """The ticket left the session (ended, transferred, cancelled, abandoned): hang up
    its open call, if any, and tell both ends (durable)."""
    for row in await queries.open_sessions_of_ticket(session, ticket_id):
        _close(out, row, reason, actor)


# Participants' messages ------------------------------------------------------------------
def _check(row: MediaSession | None, who: Principal, *, open_only: bool = True) -> Role:
    if row is None:
        raise MediaSessionNotFound()
    role = role_of(row, who.ident)
    if role is None:
        raise NotAParticipant({"session_id": row.id})
    if open_only and row.state != MediaState.OPEN:
        raise MediaSessionClosed({"session_id": row.id})
    return role


async def _relay(
    services: Services, who: Principal, session_id: int, signal_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    async with services.db.read() as session:
        row = await session.get(MediaSession, session_id)
        role = _check(row, who)
    assert row is not None
    events = backend_for(services.settings).route(row, Signal(signal_type, role, data))
    await services.hub.publish(events)
    return {"session_id": session_id}


def _check_sdp(services: Services, sdp: str) -> None:
    size = len(sdp.encode())
    limit = services.settings.media_max_sdp_bytes
    if size > limit:
        raise SdpTooLarge(size, limit)
    if not sdp.startswith("v=0"):
        raise SdpInvalid()


async def do_relay_description(
    services: Services, who: Principal, body: Description, *, kind: str
) -> dict[str, Any]:
    """An SDP offer or answer (``kind``) for the other party."""
    _check_sdp(services, body.sdp)
    return await _relay(
        services,
        who,
        body.session_id,
        f"media.{kind}",
        {"sdp": body.sdp, "ice_restart": body.ice_restart},
    )


async def do_relay_candidate(services: Services, who: Principal, body: Candidate) -> dict[str, Any]:
    candidate = body.candidate.model_dump() if body.candidate else None
    return await _relay(services, who, body.session_id, "media.candidate", {"candidate": candidate})


async def do_relay_ready(services: Services, who: Principal, body: Ready) -> dict[str, Any]:
    return await _relay(services, who, body.session_id, "media.ready", {"epoch": body.epoch})


async def do_relay_restart(services: Services, who: Principal, body: SessionRef) -> dict[str, Any]:
    """Ask the other party to restart ICE (the network changed here)."""
    return await _relay(services, who, body.session_id, "media.restart", {})


async def do_relay_control(services: Services, who: Principal, body: Control) -> dict[str, Any]:
    data = body.model_dump(exclude={"session_id"}, exclude_none=True)
    return await _relay(services, who, body.session_id, "media.control", data)


async def _locked(session: AsyncSession, session_id: int) -> MediaSession | None:
    return await session.scalar(
        select(MediaSession)
        .where(MediaSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def do_hangup(services: Services, who: Principal, body: SessionRef) -> dict[str, Any]:
    """A participant hangs up: the call closes for both. Hanging up a call that already
    ended changes nothing (both ends may press at once)."""
    async with unit_of_work(services) as (session, out):
        row = await _locked(session, body.session_id)
        _check(row, who, open_only=False)
        assert row is not None
        if row.state == MediaState.OPEN:
            _close(out, row, "hangup", who.ident)
        return {"session_id": row.id, "state": row.state, "reason": row.end_reason}


async def do_first_frame(services: Services, who: Principal, body: SessionRef) -> dict[str, Any]:
    """A participant decoded its first video frame: record the time since the agent's
    accept (the server's clock at both ends, so no clock skew); the first report wins."""
    async with unit_of_work(services) as (session, out):
        row = await _locked(session, body.session_id)
        role = _check(row, who)
        assert row is not None
        elapsed = max(0, int((utcnow() - row.started_at).total_seconds() * 1000))
        if role == Role.CALLER:
            row.caller_first_frame_ms = row.caller_first_frame_ms or elapsed
            ms = row.caller_first_frame_ms
        else:
            row.callee_first_frame_ms = row.callee_first_frame_ms or elapsed
            ms = row.callee_first_frame_ms
        data = {
            "session_id": row.id,
            "ticket_id": row.ticket_id,
            "role": role.value,
            "ms": ms,
            "first_frame_ms": {
                "caller": row.caller_first_frame_ms,
                "callee": row.callee_first_frame_ms,
            },
        }
        for key in (row.caller, row.callee, SUPERVISORS):
            out.emit(key, "media.first_frame", data, durable=False)
    return data


async def get_current(services: Services, who: Principal) -> dict[str, Any]:
    """The caller's open call with fresh ICE servers (after a reload or a resync)."""
    async with services.db.read() as session:
        row = await queries.open_session_of(session, who.ident)
        if row is None:
            return {"session": None}
        role = role_of(row, who.ident)
        assert role is not None
        info = await session_info(services, session, row, role)
        info["first_frame_ms"] = {
            "caller": row.caller_first_frame_ms,
            "callee": row.callee_first_frame_ms,
        }
        return {"session": info}
