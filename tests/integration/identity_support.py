"""Helpers for identity tests and the permission matrix: a session of agent01 with a
fresh kiosk in a given identity state, made through the real kiosk endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from integration.cases_support import new_kiosk, session_ticket

from cloudwindow.sample.people import person
from conftest import LiveServer

IMAGE = {"Content-Type": "image/jpeg"}


@dataclass(frozen=True)
class IdentitySession:
    ticket_id: int
    kiosk_token: str
    id_card_read_id: int
    face_check_id: int | None
    case_id: int | None


def identity_session(
    live: LiveServer, *, check: bool = False, case: bool = False, username: str = "agent01"
) -> IdentitySession:
    """A new kiosk in session with ``username``; ``li``'s card read. With ``check``, the
    citizen consented and a still of ``chen`` was checked (a mismatch, its photo kept);
    with ``case``, the agent opened a case in the session."""
    token, key = new_kiosk(live)
    ticket = session_ticket(live, key, username)
    check_id = case_id = None
    with live.client(token) as kiosk:
        r = kiosk.post("/api/kiosk/identity/id-card", json=person("li").id_card())
        assert r.status_code == 201, r.text
        read_id = int(r.json()["id"])
        if check:
            r = kiosk.post(
                "/api/kiosk/identity/consents", json={"purpose": "face_check", "granted": True}
            )
            assert r.status_code == 201, r.text
            live_path = person("chen").live
            assert live_path is not None
            r = kiosk.post(
                "/api/kiosk/identity/face-checks", content=live_path.read_bytes(), headers=IMAGE
            )
            assert r.status_code == 201 and r.json()["outcome"] == "mismatch", r.text
            check_id = int(r.json()["id"])
    if case:
        with live.as_user(username) as agent:
            r = agent.post("/api/desk/cases", json={"ticket_id": ticket})
            assert r.status_code == 201, r.text
            case_id = int(r.json()["id"])
    return IdentitySession(ticket, token, read_id, check_id, case_id)
