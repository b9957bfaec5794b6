"""Identity verification (人证比对) through the real HTTP and WebSocket interfaces
(docs/identity.md): the kiosk posts the ID card, the agent sees it masked and asks for a
face check, the kiosk shows consent and sends a still; outcomes, override with a reason,
photos encrypted at rest and every clear read audited."""

from __future__ import annotations

import base64
import io
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, end_session, new_kiosk
from integration.identity_support import identity_session
from integration.wsclient import WsClient
from PIL import Image
from sqlalchemy import select

from cloudwindow.audit.models import AuditEvent
from cloudwindow.identity.models import FaceCheck, IdCardRead
from cloudwindow.identity.queries import current_identity, has_consent
from cloudwindow.sample.people import person
from cloudwindow.services import Services
from conftest import LiveServer, run_async

IMAGE = {"Content-Type": "image/jpeg"}


class Identity:
    """One session (agent01 + a new kiosk) and helpers for the identity endpoints."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.desk = Desk(live)
        self.agent = self.desk.agent
        self.kiosk = self.desk.kiosk

    def read_card(self, key: str = "chen", **changes: Any) -> httpx.Response:
        return self.kiosk.post(
            "/api/kiosk/identity/id-card", json={**person(key).id_card(), **changes}
        )

    def consent(self, granted: bool = True, purpose: str = "face_check") -> httpx.Response:
        return self.kiosk.post(
            "/api/kiosk/identity/consents", json={"purpose": purpose, "granted": granted}
        )

    def check(self, still: bytes) -> httpx.Response:
        return self.kiosk.post("/api/kiosk/identity/face-checks", content=still, headers=IMAGE)

    def state(self) -> dict[str, Any]:
        r = self.agent.get("/api/desk/identity")
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture()
def ident(live: LiveServer) -> Iterator[Identity]:
    it = Identity(live)
    yield it
    it.desk.close()


def live_still(key: str = "chen") -> bytes:
    path = person(key).live
    assert path is not None
    return path.read_bytes()


def in_db(live: LiveServer, fn: Any) -> Any:
    async def go() -> Any:
        services = Services.standalone(live.settings)
        try:
            async with services.db.read() as session:
                return await fn(session)
        finally:
            await services.db.dispose()

    return run_async(go)


def audit_actions(live: LiveServer, entity_type: str, entity_id: int) -> list[str]:
    async def q(session: Any) -> list[str]:
        rows = await session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id)
            )
        )
        return list(rows)

    result: list[str] = in_db(live, q)
    return result


def test_full_flow_card_consent_match(live: LiveServer, ident: Identity) -> None:
    agent_ws = WsClient(live.url, live.login("agent01"))
    kiosk_ws = WsClient(live.url, ident.desk.kiosk_token)
    try:
        chen = person("chen")
        r = ident.read_card()
        assert r.status_code == 201, r.text
        card = r.json()
        assert card["id_number_masked"] == chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]
        assert card["name_masked"] == "陈**" and card["expired"] is False
        assert card["birth_date"] == "1961-08-04"
        # The agent hears of it, masked only.
        event = agent_ws.wait("identity.id_card_read")
        assert event["data"]["id_card"]["id_number_masked"] == card["id_number_masked"]
        assert chen.id_number not in str(event) and chen.name not in str(event)

        # The agent asks for the face check: the kiosk is asked, consent needed.
        r = ident.agent.post("/api/desk/identity/face-check-requests")
        assert r.status_code == 202, r.text
        asked = kiosk_ws.wait("identity.face_check_requested")["data"]
        assert asked["consent_needed"] is True
        assert "人脸" in asked["consent"]["title_zh"] and asked["consent"]["points_zh"]

        r = ident.consent(True)
        assert r.status_code == 201, r.text
        assert r.json()["text_version"] == asked["consent"]["version"]
        assert agent_ws.wait("identity.consent_recorded")["data"]["consent"]["granted"] is True

        r = ident.check(live_still())
        assert r.status_code == 201, r.text
        check = r.json()
        assert check["outcome"] == "match" and check["verified"] is True
        assert check["score"] >= check["threshold"] == 0.4
        assert check["has_live_photo"] is True
        for ws in (agent_ws, kiosk_ws):
            got = ws.wait("identity.face_checked")["data"]["face_check"]
            assert got["id"] == check["id"] and got["outcome"] == "match"

        state = ident.state()
        assert state["verified"] is True and state["id_card"]["id"] == card["id"]
        assert state["consents"]["face_check"]["granted"] is True

        # Photos: the agent of the session gets them decrypted; each read audited.
        photo = ident.agent.get(f"/api/desk/identity/id-card-reads/{card['id']}/photo")
        assert photo.status_code == 200 and photo.content == chen.portrait.read_bytes()
        assert photo.headers["cache-control"] == "private, no-store"
        still = ident.agent.get(f"/api/desk/identity/face-checks/{check['id']}/photo")
        assert still.status_code == 200 and still.content == live_still()
        assert "identity.photo.read" in audit_actions(live, "id_card_read", card["id"])
        assert "identity.photo.read" in audit_actions(live, "face_check", check["id"])
        assert "identity.face_check" in audit_actions(live, "face_check", check["id"])
    finally:
        agent_ws.close()
        kiosk_ws.close()


def test_nothing_in_clear_at_rest(live: LiveServer, ident: Identity) -> None:
    chen = person("chen")
    card = ident.read_card().json()
    ident.consent(True)
    check = ident.check(live_still()).json()

    async def rows(session: Any) -> tuple[IdCardRead, FaceCheck]:
        return await session.get(IdCardRead, card["id"]), await session.get(FaceCheck, check["id"])

    read, fc = in_db(live, rows)
    for value in (read.card_enc, read.id_number_enc, read.id_number_index):
        assert chen.id_number not in value and chen.name not in value
    data_dir = Path(live.settings.data_dir)
    for key in (read.photo_key, fc.live_key):
        blob = (data_dir / key).read_bytes()
        assert blob.startswith(b"cw1.") and b"\xff\xd8\xff" not in blob  # no JPEG in clear
        assert base64.b64encode(chen.portrait.read_bytes()[:30]) not in blob

    # The helper other modules use sees the clear number (server-side).
    async def who(session: Any) -> Any:
        return await current_identity(session, ident.desk.ticket), await has_consent(
            session, ident.desk.ticket, "face_check"
        )

    identity, consented = in_db(live, who)
    assert identity.id_number == chen.id_number and identity.face_verified is True
    assert consented is True and "face_check" in identity.consents


def test_mismatch_then_override_needs_reason(live: LiveServer, ident: Identity) -> None:
    assert ident.read_card("li").status_code == 201
    ident.consent(True)
    check = ident.check(live_still("chen")).json()
    assert check["outcome"] == "mismatch" and check["verified"] is False
    assert check["score"] < check["threshold"]
    url = f"/api/desk/identity/face-checks/{check['id']}/override"
    for reason in ("", "  ", "ok"):
        r = ident.agent.post(url, json={"reason": reason})
        assert r.status_code == 422 and r.json()["error_id"] == "face-override-reason-required"
    assert ident.state()["verified"] is False  # nothing written by the refusals
    reason = "视频中核对本人与身份证照片一致（照片为十年前拍摄）"
    r = ident.agent.post(url, json={"reason": reason})
    assert r.status_code == 200, r.text
    assert r.json()["overridden"] is True and r.json()["verified"] is True
    assert r.json()["outcome"] == "mismatch"  # the model's verdict is kept
    assert ident.state()["verified"] is True
    again = ident.agent.post(url, json={"reason": reason})
    assert again.status_code == 409 and again.json()["error_id"] == "face-override-not-needed"
    assert "identity.face_check.override" in audit_actions(live, "face_check", check["id"])


def test_no_face_and_two_faces(ident: Identity) -> None:
    ident.read_card()
    ident.consent(True)
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 40, 40)).save(blank, "JPEG")
    r = ident.check(blank.getvalue())
    assert r.status_code == 201 and r.json()["outcome"] == "no_face" and r.json()["side"] == "live"
    canvas = Image.new("RGB", (640, 480), (200, 200, 200))
    for i, key in enumerate(("chen", "li")):
        canvas.paste(Image.open(person(key).portrait).resize((300, 370)), (10 + i * 320, 60))
    two = io.BytesIO()
    canvas.save(two, "JPEG")
    r = ident.check(two.getvalue())
    assert r.status_code == 201 and r.json()["outcome"] == "multiple_faces"


def test_corrupt_still_is_refused_and_nothing_written(ident: Identity) -> None:
    ident.read_card()
    ident.consent(True)
    for bad in (b"not an image", live_still()[:5000]):
        r = ident.check(bad)
        assert r.status_code == 422, r.text
        assert r.json()["error_id"] == "face-image-corrupt"
        assert r.json()["message"]["zh-CN"]
    assert ident.state()["face_check"] is None


def test_no_consent_discards_the_still(ident: Identity) -> None:
    ident.read_card()
    r = ident.check(live_still())
    assert r.status_code == 201 and r.json()["outcome"] == "no_consent"
    assert r.json()["has_live_photo"] is False and r.json()["score"] is None
    ident.consent(False)
    r = ident.check(live_still())
    assert r.json()["outcome"] == "no_consent"
    # Agreeing later, then withdrawing: the latest answer counts.
    ident.consent(True)
    assert ident.check(live_still()).json()["outcome"] == "match"
    ident.consent(False)
    assert ident.check(live_still()).json()["outcome"] == "no_consent"


def test_no_id_card_yet(ident: Identity) -> None:
    r = ident.agent.post("/api/desk/identity/face-check-requests")
    assert r.status_code == 409 and r.json()["error_id"] == "identity-no-id-card"
    ident.consent(True)
    r = ident.check(live_still())
    assert r.status_code == 201 and r.json()["outcome"] == "no_id_card"
    assert ident.state()["id_card"] is None


def test_expired_card_is_flagged(ident: Identity) -> None:
    r = ident.read_card("wang")
    assert r.status_code == 201 and r.json()["expired"] is True
    assert ident.state()["id_card"]["expired"] is True


def test_bad_cards_are_refused(ident: Identity) -> None:
    chen = person("chen")
    bad_check = chen.id_number[:-1] + ("0" if chen.id_number[-1] != "0" else "1")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"id_number": bad_check}, 422, "id-number-invalid"),
        ({"birth_date": "1970-01-01"}, 422, "id-number-invalid"),
        ({"photo": base64.b64encode(b"garbage").decode()}, 422, "id-card-photo-corrupt"),
        ({"photo": "%%%not-base64%%%"}, 422, "id-card-photo-corrupt"),
        ({"valid_until": "2001-01-01"}, 422, "id-card-dates-invalid"),
        ({"sex": "x"}, 422, "validation-failed"),
    ]
    for change, status, error_id in cases:
        r = ident.read_card(**change)
        assert r.status_code == status, (change, r.text)
        assert r.json()["error_id"] == error_id, (change, r.text)
    assert ident.state()["id_card"] is None
    ok = ident.read_card(valid_until="长期")
    assert ok.status_code == 201 and ok.json()["valid_until"] is None


def test_kiosk_not_in_session(live: LiveServer, ident: Identity) -> None:
    token, _ = new_kiosk(live)
    with live.client(token) as idle:
        r = idle.post("/api/kiosk/identity/id-card", json=person("chen").id_card())
        assert r.status_code == 409 and r.json()["error_id"] == "identity-not-in-session"
        r = idle.post(
            "/api/kiosk/identity/consents", json={"purpose": "face_check", "granted": True}
        )
        assert r.status_code == 409
        r = idle.post("/api/kiosk/identity/face-checks", content=live_still(), headers=IMAGE)
        assert r.status_code == 409
    # After the session ends, the session's kiosk is refused too.
    card = ident.read_card().json()
    end_session(live, ident.desk.ticket)
    assert ident.read_card().status_code == 409
    r = ident.agent.get(f"/api/desk/identity/id-card-reads/{card['id']}/photo")
    assert r.status_code in (404, 409)


def test_other_agents_and_citizens_cannot_read_photos(live: LiveServer, ident: Identity) -> None:
    card = ident.read_card().json()
    with live.as_user("supervisor") as sup:
        assert sup.get(f"/api/desk/identity/id-card-reads/{card['id']}/photo").status_code == 403
    with live.client() as anon:
        assert anon.get(f"/api/desk/identity/id-card-reads/{card['id']}/photo").status_code == 401
    other = Desk(live, "agent02")
    try:
        r = other.agent.get(f"/api/desk/identity/id-card-reads/{card['id']}/photo")
        assert r.status_code == 404 and r.json()["error_id"] == "id-card-read-not-found"
    finally:
        other.close()


def test_consent_for_licence_fetch_and_outdated_text(live: LiveServer, ident: Identity) -> None:
    text = ident.kiosk.get("/api/kiosk/identity/consent-texts/licence_fetch")
    assert text.status_code == 200 and "电子证照" in text.json()["title_zh"]
    r = ident.kiosk.post(
        "/api/kiosk/identity/consents",
        json={"purpose": "licence_fetch", "granted": True, "text_version": "old-v0"},
    )
    assert r.status_code == 409 and r.json()["error_id"] == "consent-text-outdated"
    assert ident.consent(True, "licence_fetch").status_code == 201

    async def q(session: Any) -> bool:
        return await has_consent(session, ident.desk.ticket, "licence_fetch")

    assert in_db(live, q) is True


def test_fill_case_from_card(live: LiveServer, ident: Identity) -> None:
    chen = person("chen")
    case = ident.desk.open()
    r = ident.agent.post("/api/desk/identity/fill-case", json={"case_id": case["id"]})
    assert r.status_code == 409 and r.json()["error_id"] == "identity-no-id-card"
    ident.read_card()
    r = ident.agent.post("/api/desk/identity/fill-case", json={"case_id": case["id"]})
    assert r.status_code == 200, r.text
    assert set(r.json()["filled"]) == {"applicant_name", "id_number"}
    assert chen.id_number not in r.text  # the reply names the fields, not the values
    values = ident.desk.get(case["id"])["data"]
    assert values["applicant_name"] == chen.name and values["id_number"] == chen.id_number
    assert "identity.card.copy_to_case" in audit_actions(live, "case", case["id"])
    # The face check made during a case is stored against it.
    ident.consent(True)
    check = ident.check(live_still()).json()
    assert check["case_id"] == case["id"]


def test_mangled_stills_and_cards_never_break_the_server(ident: Identity) -> None:
    """Random bytes, truncated and bit-flipped JPEGs as stills; random card fields: each
    gets an outcome or a stable 4xx error, never a 5xx."""
    ident.read_card()
    ident.consent(True)
    good = live_still()
    rng = random.Random(6)
    stills = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(4)]
    for _ in range(6):
        cut = good[: rng.randrange(10, len(good))]
        flipped = bytearray(good)
        for _ in range(20):
            flipped[rng.randrange(200, len(flipped))] ^= 0xFF
        stills += [cut, bytes(flipped)]
    for still in stills:
        r = ident.check(still)
        assert r.status_code in (201, 422), r.text
        if r.status_code == 422:
            assert r.json()["error_id"] == "face-image-corrupt"
    card = person("chen").id_card()
    for name in ("name", "sex", "birth_date", "id_number", "valid_until", "photo"):
        for junk in ("", "x" * 300, "\u202e", 12, None, [], {"a": 1}, "2026-02-30"):
            r = ident.kiosk.post("/api/kiosk/identity/id-card", json={**card, name: junk})
            assert r.status_code in (201, 422), (name, junk, r.text)


def test_photos_of_sessions_without_a_case_are_purged_after_retention(
    live: LiveServer, ident: Identity
) -> None:
    """`cloudwindow identity purge` (the command an operator runs daily): photos older
    than face_photo_retention_days of sessions that opened no case are deleted (the
    consent text promises it); a session with a case keeps them."""
    card = ident.read_card().json()
    ident.consent(True)
    check = ident.check(live_still()).json()
    with_case = identity_session(live, check=True, case=True, username="agent02")

    async def backdate(session: Any) -> tuple[str, str | None]:
        old = datetime.now(UTC) - timedelta(days=live.settings.face_photo_retention_days + 1)
        for model, row_id in ((IdCardRead, card["id"]), (FaceCheck, check["id"]),
                              (IdCardRead, with_case.id_card_read_id),
                              (FaceCheck, with_case.face_check_id)):  # fmt: skip
            row = await session.get(model, row_id)
            row.created_at = old
        read, fc = (
            await session.get(IdCardRead, card["id"]),
            await session.get(FaceCheck, check["id"]),
        )
        await session.commit()
        return read.photo_key, fc.live_key

    card_key, live_key = in_db(live, backdate)
    assert live_key is not None
    env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": live.settings.database_url,
        "CLOUDWINDOW_DATA_DIR": str(live.settings.data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cloudwindow.cli", "identity", "purge"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "purged photos:" in done.stdout and int(done.stdout.split(":")[1]) >= 2
    data_dir = Path(live.settings.data_dir)
    assert not (data_dir / card_key).exists() and not (data_dir / live_key).exists()
    for url in (f"/api/desk/identity/id-card-reads/{card['id']}/photo",
                f"/api/desk/identity/face-checks/{check['id']}/photo"):  # fmt: skip
        r = ident.agent.get(url)
        assert r.status_code == 410 and r.json()["error_id"] == "face-image-missing"
    assert "identity.photo.purge" in audit_actions(live, "face_check", check["id"])
    assert ident.state()["face_check"]["outcome"] == "match"  # the result stays
    # The session with a case keeps its photos (with the case file).
    assert in_db(live, lambda s: s.get(FaceCheck, with_case.face_check_id)).live_key is not None
