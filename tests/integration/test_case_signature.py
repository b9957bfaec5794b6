"""申请人签名 on the case (cases/signature.py), through HTTP: the citizen signs on the
kiosk's pad, the agent attaches the signature to the case open in the session; the case's
history and the audit log record it; supervisors read the same PNG back (audited); the
database holds it only encrypted; the sealed acceptance receipt shows it and still
validates; the refusals (not a finished signature, another session, a closed case)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, decide, new_approver, pending_step, user_id
from integration.devices_support import wait_present
from integration.documents_support import agent_pdf
from integration.signature_support import signature_png
from integration.wsclient import WsClient
from sqlalchemy import text

from cloudwindow.services import Services
from conftest import LiveServer, run_async


class SigningDesk(Desk):
    """A Desk whose kiosk is connected (the relay needs it present) and can sign."""

    def __init__(self, live: LiveServer) -> None:
        super().__init__(live)
        self.kiosk_ws = WsClient(live.url, self.kiosk_token)
        wait_present(live, self.kiosk_key)

    def close(self) -> None:
        self.kiosk_ws.close()
        super().close()

    def request(self, device: str = "signature_pad", command: str = "capture") -> str:
        deadline = time.monotonic() + 5
        while True:
            r = self.agent.post(
                "/api/desk/devices/commands", json={"device": device, "command": command}
            )
            offline = r.status_code == 409 and r.json()["error_id"] == "device-kiosk-offline"
            if not offline or time.monotonic() > deadline:
                assert r.status_code == 202, r.text
                return str(r.json()["command_id"])
            time.sleep(0.1)

    def report(self, command_id: str, **body: Any) -> None:
        r = self.kiosk.post(f"/api/kiosk/devices/commands/{command_id}/result", json=body)
        assert r.status_code == 200, r.text

    def sign(self, png: bytes) -> str:
        """The citizen signs on the pad: a succeeded ``signature_pad.capture``."""
        cmd = self.request()
        data = {"png": base64.b64encode(png).decode(), "width": 480, "height": 160, "strokes": 3}
        self.report(cmd, ok=True, data=data)
        return cmd

    def attach(self, case_id: int, command_id: str) -> httpx.Response:
        return self.agent.post(
            f"/api/desk/cases/{case_id}/signature", json={"command_id": command_id}
        )


@pytest.fixture()
def desk(live: LiveServer) -> Iterator[SigningDesk]:
    d = SigningDesk(live)
    yield d
    d.close()


def read_signature(live: LiveServer, case_id: int, username: str = "supervisor") -> httpx.Response:
    with live.as_user(username) as c:
        return c.get(f"/api/cases/{case_id}/signature")


def audit_rows(live: LiveServer, action: str, case_id: int) -> list[dict[str, Any]]:
    with live.as_user("auditor") as aud:
        r = aud.get("/api/audit-events", params={"action": action, "entity_id": case_id})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


def stored_row(live: LiveServer, case_id: int) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        services = Services.standalone(live.settings)
        try:
            async with services.db.read() as session:
                row = (
                    await session.execute(
                        text("SELECT * FROM case_signatures WHERE case_id = :id"), {"id": case_id}
                    )
                ).mappings()
                return dict(next(iter(row)))
        finally:
            await services.db.dispose()

    return run_async(go)


def test_attach_is_recorded_and_read_back_the_same_and_replaced(
    live: LiveServer, desk: SigningDesk
) -> None:
    case = desk.open()
    first_png = signature_png()
    first = desk.sign(first_png)
    r = desk.attach(case["id"], first)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["command_id"] == first and view["replaced_command_id"] is None
    assert view["sha256"] == hashlib.sha256(first_png).hexdigest()
    assert (view["width"], view["height"], view["size"]) == (480, 160, len(first_png))
    assert view["attached_by"]["id"] == user_id(live, "agent01")

    # The case's history says who attached it and when; so does the audit log.
    events = [e for e in desk.get(case["id"])["events"] if e["kind"] == "signature"]
    assert len(events) == 1 and events[0]["reason"] == "申请人签名"
    assert events[0]["actor"] == f"user:{user_id(live, 'agent01')}" and events[0]["at"]
    assert events[0]["details"]["command_id"] == first
    attached = audit_rows(live, "case.signature.attach", case["id"])
    assert [a["details"]["command_id"] for a in attached] == [first]
    assert attached[0]["actor_id"] == f"user:{user_id(live, 'agent01')}"

    # A supervisor reads the very same PNG; each read is audited.
    got = read_signature(live, case["id"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == first_png
    assert "no-store" in got.headers["cache-control"]
    reads = audit_rows(live, "case.signature.read", case["id"])
    assert len(reads) == 1 and reads[0]["details"]["sha256"] == view["sha256"]

    # At rest it is a privacy.py token: no PNG, no base64 of it, in clear.
    row = stored_row(live, case["id"])
    cipher = str(row["image_cipher"])
    assert cipher.startswith("cw1.")
    assert base64.b64encode(first_png).decode()[:40] not in cipher
    assert "iVBORw0KGgo" not in cipher  # base64 of the PNG signature bytes
    assert b"\x89PNG" not in cipher.encode()

    # Signing again and attaching replaces it (with its own history line).
    second_png = signature_png()
    second = desk.sign(second_png)
    r = desk.attach(case["id"], second)
    assert r.status_code == 200, r.text
    assert r.json()["replaced_command_id"] == first
    assert read_signature(live, case["id"]).content == second_png
    events = [e for e in desk.get(case["id"])["events"] if e["kind"] == "signature"]
    assert [e["reason"] for e in events] == ["申请人签名", "更换申请人签名"]
    assert events[1]["details"]["replaced_command_id"] == first

    # The device panel's list of the session's cases shows what is attached.
    listed = desk.agent.get(f"/api/desk/tickets/{desk.ticket}/cases")
    assert listed.status_code == 200, listed.text
    mine = next(c for c in listed.json()["cases"] if c["id"] == case["id"])
    assert mine["can_attach_signature"] and mine["signature"]["command_id"] == second


def test_only_a_finished_signature_of_this_session_and_case_can_be_attached(
    live: LiveServer, desk: SigningDesk
) -> None:
    case = desk.open()
    # Still waiting for the citizen: not a signature yet.
    waiting = desk.request()
    r = desk.attach(case["id"], waiting)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error_id"] == "case-signature-command-unusable"
    assert body["details"]["state"] == "pending"
    assert body["message"]["zh-CN"] == "只能附加已完成的签名板签名"
    # The pad failed: nothing to attach.
    desk.report(waiting, ok=False, error={"code": "device-error", "message": "pad"})
    r = desk.attach(case["id"], waiting)
    assert r.status_code == 409 and r.json()["details"]["state"] == "failed", r.text
    # An ID card read is not a signature.
    read = desk.request("id_reader", "read")
    r = desk.attach(case["id"], read)
    assert r.status_code == 409 and r.json()["details"]["device"] == "id_reader", r.text
    # A PNG header over garbage passes the relay, not the case.
    broken = desk.request()
    junk = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()
    desk.report(broken, ok=True, data={"png": junk, "width": 10, "height": 10, "strokes": 1})
    r = desk.attach(case["id"], broken)
    assert r.status_code == 422 and r.json()["error_id"] == "case-signature-image-invalid"
    # Unknown command; another agent's case.
    r = desk.attach(case["id"], "0" * 32)
    assert r.status_code == 404 and r.json()["error_id"] == "case-signature-command-not-found"
    good = desk.sign(signature_png())
    with live.as_user("agent07") as stranger:
        r = stranger.post(f"/api/desk/cases/{case['id']}/signature", json={"command_id": good})
    assert r.status_code == 404 and r.json()["error_id"] == "case-not-found"

    # Signed in another session of the same agent: not this case's.
    other = SigningDesk(live)
    try:
        elsewhere = other.sign(signature_png())
        r = desk.attach(case["id"], elsewhere)
        assert r.status_code == 409, r.text
        assert r.json()["error_id"] == "case-signature-other-session"
        assert "会话" in r.json()["message"]["zh-CN"]
    finally:
        other.close()
    # Nothing was attached by any of these.
    assert read_signature(live, case["id"]).json()["error_id"] == "case-signature-not-found"
    assert read_signature(live, case["id"]).status_code == 404
    assert not [e for e in desk.get(case["id"])["events"] if e["kind"] == "signature"]
    # And the good one still can be.
    assert desk.attach(case["id"], good).status_code == 200


def test_the_receipt_shows_the_signature_and_a_closed_case_takes_none(
    live: LiveServer, desk: SigningDesk, tmp_path: Path
) -> None:
    case = desk.ready()
    png = signature_png()
    assert desk.attach(case["id"], desk.sign(png)).status_code == 200
    accepted = desk.accept(case["id"])  # attaching kept the citizen's confirmation valid
    assert accepted.status_code == 200, accepted.text

    docs = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(agent_pdf(live, docs[0]["id"]))
    images = subprocess.run(
        ["pdfimages", "-list", str(receipt)], capture_output=True, text=True, check=True
    ).stdout
    sizes = [ln.split()[3:5] for ln in images.splitlines()[2:]]
    assert ["480", "160"] in sizes, images  # the signature (and its transparency mask)
    sig = subprocess.run(["pdfsig", str(receipt)], capture_output=True, text=True, timeout=30)
    assert "Signature is Valid" in sig.stdout + sig.stderr, sig.stdout + sig.stderr
    shown = subprocess.run(
        ["pdftotext", "-layout", str(receipt), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "申请人签名" in shown

    # Under approval, then concluded: the record is closed to new signatures.
    refused = desk.attach(case["id"], desk.sign(signature_png()))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error_id"] == "case-signature-not-allowed"
    with live.as_user(new_approver(live)) as approver:
        r = decide(approver, case["id"], pending_step(accepted.json()), "approve")
        assert r.status_code == 200, r.text
    refused = desk.attach(case["id"], desk.sign(signature_png()))
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error_id"] == "case-signature-not-allowed"
    assert body["details"]["state"] == "concluded"
    assert "concluded" in body["message"]["en"]
    assert read_signature(live, case["id"]).content == png  # unchanged


def test_a_receipt_without_a_signature_has_no_signature_row(
    live: LiveServer, desk: SigningDesk, tmp_path: Path
) -> None:
    case = desk.ready()
    assert desk.accept(case["id"]).status_code == 200
    docs = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(agent_pdf(live, docs[0]["id"]))
    shown = subprocess.run(
        ["pdftotext", "-layout", str(receipt), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "受理回执" in shown and "申请人签名" not in shown
    r = read_signature(live, case["id"], "auditor")
    assert r.status_code == 404 and r.json()["error_id"] == "case-signature-not-found"
