"""Helpers for the applicant's signature (cases/signature.py): a pad's PNG, and a draft
case of agent01 with a finished signature command of its session written straight to
the database (for the permission matrix; the relay flow is test_case_signature.py)."""

from __future__ import annotations

import base64
import io
import json
import random
import secrets
from datetime import UTC, datetime, timedelta

from integration.cases_support import new_kiosk, session_ticket, user_id
from PIL import Image, ImageDraw

from cloudwindow.devices.actions import RESULT_PURPOSE
from cloudwindow.devices.models import DeviceCommand
from cloudwindow.privacy import keyring_for
from cloudwindow.services import Services
from conftest import LiveServer, run_async


def signature_png() -> bytes:
    """A pad's signature: dark strokes on a transparent background, different each time."""
    img = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    points = [(20 + 40 * i, random.randint(20, 140)) for i in range(12)]
    draw.line(points, fill=(10, 10, 10, 255), width=5)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def signed_case(live: LiveServer) -> tuple[int, str]:
    """(case id, command id): a draft case of agent01 in a fresh session, and a succeeded
    ``signature_pad.capture`` of agent01 in that session."""
    key = new_kiosk(live)[1]
    ticket = session_ticket(live, key)
    with live.as_user("agent01") as agent:
        r = agent.post("/api/desk/cases", json={"ticket_id": ticket})
        assert r.status_code == 201, r.text
        case_id = int(r.json()["id"])
    agent_id = user_id(live, "agent01")
    png = base64.b64encode(signature_png()).decode()

    async def go() -> str:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                now = datetime.now(UTC)
                secret = json.dumps({"png": png})
                cmd = DeviceCommand(
                    id=secrets.token_hex(16), terminal_id=int(key.split(":")[1]),
                    ticket_id=ticket, agent_id=agent_id, device="signature_pad",
                    command="capture", params={}, state="succeeded", error_id="",
                    error_detail="", summary={"width": 480, "height": 160, "strokes": 1},
                    result_cipher=keyring_for(live.settings).encrypt(secret, RESULT_PURPOSE),
                    created_at=now, expires_at=now + timedelta(minutes=5), finished_at=now,
                )  # fmt: skip
                session.add(cmd)
                return cmd.id
        finally:
            await services.db.dispose()

    return case_id, run_async(go)


_ATTACHED: dict[str, int] = {}


def attached_case(live: LiveServer) -> int:
    """A case of agent01 with a signature attached (one per server: reads only)."""
    if live.url not in _ATTACHED:
        case_id, command_id = signed_case(live)
        with live.as_user("agent01") as agent:
            r = agent.post(f"/api/desk/cases/{case_id}/signature", json={"command_id": command_id})
            assert r.status_code == 200, r.text
        _ATTACHED[live.url] = case_id
    return _ATTACHED[live.url]
