"""Helpers for device-relay tests: a kiosk connected and in session with agent01 (so the
agent can command it), and a pending command of a given kiosk written straight to the
database (for the permission matrix; the flow that leads there is test_devices_relay)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.cases_support import new_kiosk, session_ticket, user_id
from integration.wsclient import WsClient
from sqlalchemy import select

from cloudwindow.devices.models import DeviceCommand
from cloudwindow.realtime.models import Presence
from cloudwindow.services import Services
from conftest import LiveServer, run_async

# Sockets held open for the rest of the run: a kiosk counts as connected while it has one.
_HELD: list[WsClient] = []


def wait_present(live: LiveServer, principal: str, timeout: float = 15.0) -> None:
    """Until the gateway has written ``principal``'s presence row: connects are written
    in batches a few milliseconds after the socket opens (realtime/presence.py), and a
    loaded machine can stretch that, while the relay refuses a kiosk without one."""

    async def present() -> bool:
        services = Services.standalone(live.settings)
        try:
            async with services.db.read() as session:
                row = await session.scalar(
                    select(Presence.principal).where(
                        Presence.principal == principal, Presence.connections > 0
                    )
                )
                return row is not None
        finally:
            await services.db.dispose()

    deadline = time.monotonic() + timeout
    while not run_async(present):
        assert time.monotonic() < deadline, f"{principal} never became present"
        time.sleep(0.05)


def connected_kiosk_in_session(live: LiveServer, username: str = "agent01") -> str:
    """A fresh kiosk, connected to the gateway, in session with ``username`` (the newest
    session of that agent, so its device commands go there). Returns the recipient key."""
    token, key = new_kiosk(live)
    _HELD.append(WsClient(live.url, token))
    wait_present(live, key)
    session_ticket(live, key, username)
    return key


def pending_command(
    live: LiveServer,
    kiosk_key: str,
    device: str = "id_reader",
    params: dict[str, Any] | None = None,
) -> str:
    """A pending command of agent01 to the kiosk ``kiosk_key`` (in a new session); its id."""
    ticket = session_ticket(live, kiosk_key)
    agent = user_id(live, "agent01")

    async def go() -> str:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                now = datetime.now(UTC)
                cmd = DeviceCommand(
                    id=secrets.token_hex(16), terminal_id=int(kiosk_key.split(":")[1]),
                    ticket_id=ticket, agent_id=agent, device=device,
                    command="print" if "printer" in device else "read", params=params or {},
                    state="pending", error_id="", error_detail="", summary={},
                    created_at=now, expires_at=now + timedelta(minutes=5),
                )  # fmt: skip
                session.add(cmd)
                return cmd.id
        finally:
            await services.db.dispose()

    return run_async(go)
