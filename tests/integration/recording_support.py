"""Helpers for recording tests: a served ticket for an agent, and real WebM bytes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cloudwindow.queueing.models import Ticket
from cloudwindow.services import Services
from conftest import LiveServer, run_async, unique

ITEM, GROUP = "440118-GG-0002", "social-security"  # 社会保障卡补领
EBML = b"\x1a\x45\xdf\xa3"
_WEBM: dict[float, bytes] = {}


def user_id(live: LiveServer, username: str) -> int:
    with live.as_user(username) as c:
        return int(c.get("/api/auth/me").json()["user"]["id"])


def served_ticket(
    live: LiveServer, username: str = "agent01", site_id: int | None = 1, item: str = ITEM
) -> int:
    """A ticket in session with ``username`` (for ``item``, of the social-security group),
    written straight to the database: the queue flow that normally leads here is tested
    elsewhere."""
    agent = user_id(live, username)

    async def go() -> int:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                ticket = Ticket(
                    number=unique("R")[:8],
                    service_item_code=item,
                    skill_group_code=GROUP,
                    owner="device:0",
                    source="kiosk",
                    site_id=site_id,
                    rank=2,
                    priority="normal",
                    state="in_session",
                    agent_id=agent,
                    answered_at=datetime.now(UTC),
                )
                session.add(ticket)
                await session.flush()
                return ticket.id
        finally:
            await services.db.dispose()

    return run_async(go)


def webm(seconds: float = 4.0) -> bytes:
    """A real WebM file (VP8 + Opus, like MediaRecorder's) made by ffmpeg, or, without
    ffmpeg, an EBML header followed by filler."""
    if seconds not in _WEBM:
        if shutil.which("ffmpeg") is None:
            _WEBM[seconds] = EBML + bytes(range(256)) * 200
        else:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "clip.webm"
                subprocess.run(
                    ["ffmpeg", "-v", "error", "-y",
                     "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
                     "-f", "lavfi", "-i", "sine=frequency=440",
                     "-t", str(seconds), "-c:v", "libvpx", "-deadline", "realtime",
                     "-b:v", "200k", "-c:a", "libopus", "-f", "webm", str(out)],
                    check=True,
                    timeout=60,
                )  # fmt: skip
                _WEBM[seconds] = out.read_bytes()
    return _WEBM[seconds]


def split(data: bytes, parts: int) -> list[bytes]:
    size = -(-len(data) // parts)
    return [data[i : i + size] for i in range(0, len(data), size)]


def start(client: object, ticket_id: int, **extra: object) -> dict[str, object]:
    r = client.post("/api/recordings", json={"ticket_id": ticket_id, **extra})  # type: ignore[attr-defined]
    assert r.status_code in (200, 201), r.text
    return dict(r.json())
