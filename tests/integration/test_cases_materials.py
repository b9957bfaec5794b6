"""Case materials through the real HTTP interface (docs/protocol.md §Cases: materials):
the agent asks the kiosk for a capture, the kiosk sends a still, the agent uploads from
the PC; files are checked by content, size-limited, images re-encoded without metadata;
the agent accepts or rejects with a reason and the kiosk sees it; every download is
audited."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, jpeg, new_approver, new_kiosk, session_ticket
from integration.wsclient import WsClient
from PIL import Image

from conftest import LiveServer

BINARY = {"Content-Type": "application/octet-stream"}
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def photo_with_exif() -> bytes:
    """A 400×300 photo whose EXIF says "rotate 90° clockwise" and names the camera."""
    img = Image.new("RGB", (400, 300), (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, 200, 300))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to view
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model X-1"  # Model
    exif[0x010E] = "GPS 23.2917N 113.8292E"  # ImageDescription
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


def png_with_alpha() -> bytes:
    img = Image.new("RGBA", (64, 48), (0, 128, 0, 0))
    img.paste((0, 128, 0, 255), (0, 0, 32, 48))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class Materials:
    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.desk = Desk(live)
        self.case = self.desk.open()
        self.id = int(self.case["id"])

    def capture(self, data: bytes | Any, code: str = "M02", **kw: Any) -> httpx.Response:
        return self.desk.kiosk.post(
            f"/api/kiosk/cases/{self.id}/materials",
            params={"material_code": code},
            content=data,
            headers={**BINARY, **kw.pop("headers", {})},
            **kw,
        )

    def upload(self, data: bytes, code: str = "M01", filename: str = "") -> httpx.Response:
        params = {"material_code": code, **({"filename": filename} if filename else {})}
        return self.desk.agent.post(
            f"/api/desk/cases/{self.id}/materials", params=params, content=data, headers=BINARY
        )

    def file(self, material_id: int) -> httpx.Response:
        return self.desk.agent.get(f"/api/desk/cases/{self.id}/materials/{material_id}/file")

    def decide(self, material_id: int, status: str, reason: str = "") -> httpx.Response:
        return self.desk.agent.post(
            f"/api/desk/cases/{self.id}/materials/{material_id}/decision",
            json={"status": status, "reason": reason},
        )


@pytest.fixture()
def mats(live: LiveServer) -> Iterator[Materials]:
    m = Materials(live)
    yield m
    m.desk.close()


def test_capture_request_then_the_kiosk_sends_a_still(mats: Materials, live: LiveServer) -> None:
    kiosk = WsClient(live.url, mats.desk.kiosk_token)
    agent = WsClient(live.url, live.login("agent01"))
    try:
        r = mats.desk.agent.post(
            f"/api/desk/cases/{mats.id}/capture-requests", json={"material_code": "M02"}
        )
        assert r.status_code == 202, r.text
        asked = kiosk.wait("case.material.capture_requested")
        assert asked["id"] is not None  # durable: a kiosk that reconnects still shows it
        data = asked["data"]
        assert data["case_id"] == mats.id and data["material_code"] == "M02"
        assert data["name"] == "居民身份证"
        assert data["guide"]["aspect_ratio"] == pytest.approx(85.6 / 54, abs=0.01)
        assert "身份证" in data["guide"]["hint_zh"]

        up = mats.capture(jpeg())
        assert up.status_code == 201, up.text
        m = up.json()
        assert m["source"] == "capture" and m["status"] == "pending"
        assert m["content_type"] == "image/jpeg" and (m["width"], m["height"]) == (1600, 1200)
        assert m["added_by"] == mats.desk.kiosk_key and m["material_code"] == "M02"
        for ws in (kiosk, agent):
            added = ws.wait("case.material.added")["data"]
            assert added["material"]["id"] == m["id"]
        stored = mats.file(m["id"])
        assert stored.status_code == 200
        assert stored.headers["content-type"] == "image/jpeg"
        assert hashlib.sha256(stored.content).hexdigest() == m["sha256"]
        assert len(stored.content) == m["size"]
    finally:
        kiosk.close()
        agent.close()


def test_images_are_reencoded_upright_without_metadata(mats: Materials) -> None:
    up = mats.upload(photo_with_exif(), filename="IMG_0001.JPG")
    assert up.status_code == 201, up.text
    m = up.json()
    assert (m["width"], m["height"]) == (300, 400)  # EXIF orientation applied
    stored = mats.file(m["id"]).content
    assert b"SecretCam" not in stored and b"GPS" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and img.size == (300, 400)
        assert len(img.getexif()) == 0
        assert not {"exif", "icc_profile", "comment"} & set(img.info)
        # The left (blue) half of the original is now on top.
        top, bottom = img.getpixel((150, 50)), img.getpixel((150, 350))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[2] > 150 > top[0] and bottom[0] > 150 > bottom[2]


def test_png_and_pdf_are_accepted_by_content(mats: Materials) -> None:
    png = mats.upload(png_with_alpha(), filename="scan.png")
    assert png.status_code == 201, png.text
    assert png.json()["content_type"] == "image/jpeg"  # re-encoded, transparency on white
    with Image.open(io.BytesIO(mats.file(png.json()["id"]).content)) as img:
        assert img.mode == "RGB" and img.getpixel((60, 10)) == pytest.approx((255, 255, 255), abs=3)
    # A PDF named like a photo is still a PDF; it is stored as sent.
    pdf = mats.upload(PDF, code="M01", filename="photo.jpg")
    assert pdf.status_code == 201, pdf.text
    assert pdf.json()["content_type"] == "application/pdf"
    got = mats.file(pdf.json()["id"])
    assert got.headers["content-type"] == "application/pdf" and got.content == PDF


@pytest.mark.parametrize(
    ("data", "status", "error_id"),
    [
        (b"", 422, "material-empty"),
        (
            b"Hello, this is a text file renamed to photo.jpg\n" * 20,
            415,
            "material-type-unsupported",
        ),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(400), 415, "material-type-unsupported"),
        (b"GIF89a" + bytes(100), 415, "material-type-unsupported"),
        (PDF[:-7], 422, "material-pdf-invalid"),  # cut off: no %%EOF
    ],
    ids=["empty", "text-renamed-jpg", "executable-renamed-jpg", "gif", "truncated-pdf"],
)
def test_wrong_content_is_refused_by_content_not_by_name(
    mats: Materials, data: bytes, status: int, error_id: str
) -> None:
    r = mats.upload(data, filename="photo.jpg")
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error_id"] == error_id and body["message"]["zh-CN"] and body["message"]["en"]
    assert mats.desk.get(mats.id)["materials"] == []  # nothing stored


def test_a_truncated_jpeg_is_refused_as_corrupt(mats: Materials) -> None:
    good = jpeg()
    r = mats.capture(good[: len(good) // 2])
    assert r.status_code == 422, r.text
    assert r.json()["error_id"] == "material-image-corrupt"
    assert mats.desk.get(mats.id)["materials"] == []


def test_an_over_limit_upload_is_refused(mats: Materials, live: LiveServer) -> None:
    """One byte over the limit, streamed without a Content-Length (chunked), and a
    declared length over it (refused before the body is read). That the body is never
    held in memory whole is tested on ``materials.receive_to_file`` in the unit tests."""
    limit = live.settings.material_max_bytes

    def body() -> Iterator[bytes]:
        yield b"\xff\xd8\xff\xe0"  # looks like a JPEG: only the size can stop it
        left = limit + 1 - 4
        while left > 0:
            n = min(left, 256 * 1024)
            left -= n
            yield bytes(n)

    r = mats.capture(body())
    assert r.status_code == 413, r.text
    assert r.json()["error_id"] == "material-too-large"
    assert r.json()["details"]["limit_bytes"] == limit
    # Declared too large: answered before the body is sent (raw socket: HTTP clients
    # refuse to send a body shorter than its Content-Length).
    host, port = mats.live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"POST /api/kiosk/cases/{mats.id}/materials?material_code=M02 HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {mats.desk.kiosk_token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {limit + 1}\r\n\r\n"
        )
        sock.sendall(head.encode())
        raw = b""
        while b"}" not in raw and (part := sock.recv(65536)):  # the JSON error body
            raw += part
        answer = raw.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "material-too-large" in answer
    assert mats.desk.get(mats.id)["materials"] == []


def test_accept_and_reject_with_a_reason_the_kiosk_sees_it(
    mats: Materials, live: LiveServer
) -> None:
    kiosk = WsClient(live.url, mats.desk.kiosk_token)
    try:
        m = mats.capture(jpeg()).json()
        no_reason = mats.decide(m["id"], "rejected")
        assert no_reason.status_code == 422
        assert no_reason.json()["error_id"] == "material-reason-required"
        rejected = mats.decide(m["id"], "rejected", "照片模糊，请重拍")
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["status"] == "rejected"
        seen = kiosk.wait("case.material.decided")["data"]["material"]
        assert (seen["id"], seen["status"], seen["reason"]) == (
            m["id"],
            "rejected",
            "照片模糊，请重拍",
        )
        # A retake is accepted; the case's list shows both and M02 is satisfied.
        retake = mats.capture(jpeg()).json()
        assert mats.decide(retake["id"], "accepted").json()["status"] == "accepted"
        assert kiosk.wait("case.material.decided")["data"]["material"]["status"] == "accepted"
        case = mats.desk.get(mats.id)
        assert [x["status"] for x in case["materials"]] == ["rejected", "accepted"]
        m02 = next(r for r in case["required_materials"] if r["code"] == "M02")
        assert m02["status"] == "accepted"
        history = [e for e in case["events"] if e["kind"] == "material"]
        assert [e["details"]["status"] for e in history] == ["rejected", "accepted"]
        assert history[0]["reason"] == "照片模糊，请重拍"
        # Someone else's material id, an unknown code: clear errors.
        assert mats.decide(999_999, "accepted").json()["error_id"] == "material-not-found"
        assert mats.upload(jpeg(), code="M99").json()["error_id"] == "material-unknown"
    finally:
        kiosk.close()


def test_outsiders_and_wrong_states_are_refused(mats: Materials, live: LiveServer) -> None:
    token, key = new_kiosk(live)
    session_ticket(live, key, "agent02")
    with live.client(token) as other:
        r = other.post(
            f"/api/kiosk/cases/{mats.id}/materials",
            params={"material_code": "M02"},
            content=jpeg(),
            headers=BINARY,
        )
    assert r.status_code == 404 and r.json()["error_id"] == "case-not-found"
    with live.as_user("agent02") as agent2:
        r = agent2.get(f"/api/desk/cases/{mats.id}/materials/1/file")
        assert r.status_code == 404
    m = mats.upload(jpeg()).json()
    withdrawn = mats.desk.agent.post(
        f"/api/desk/cases/{mats.id}/withdraw", json={"reason": "不办了"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    late = mats.upload(jpeg())
    assert late.status_code == 409 and late.json()["error_id"] == "case-not-taking-materials"
    decided = mats.decide(m["id"], "accepted")
    assert decided.status_code == 409 and decided.json()["error_id"] == "case-not-taking-materials"


def test_every_download_is_audited(mats: Materials, live: LiveServer) -> None:
    m = mats.upload(PDF).json()
    assert mats.file(m["id"]).status_code == 200
    with live.as_user("supervisor") as sup:
        r = sup.get(f"/api/cases/{mats.id}/materials/{m['id']}/file")
        assert r.status_code == 200 and r.content == PDF
    with live.as_user("auditor") as aud:
        rows = aud.get(
            "/api/audit-events",
            params={"action": "case.material.download", "entity_id": m["id"]},
        ).json()["items"]
        # An approver sees files only of cases with a step of their department.
        early = aud.get(f"/api/cases/{mats.id}/materials/{m['id']}/file")
    assert sorted(r["details"]["audience"] for r in rows) == ["desk", "reader"]
    assert {r["details"]["case_id"] for r in rows} == {mats.id}
    assert early.status_code == 200
    with live.as_user("approver") as appr:
        assert appr.get(f"/api/approvals/{mats.id}/materials/{m['id']}/file").status_code == 404


def test_an_approver_of_a_step_downloads_the_files(live: LiveServer) -> None:
    desk = Desk(live)
    try:
        case = desk.ready()
        assert desk.accept(case["id"]).status_code == 200
        material = case["materials"][0]
        approver = new_approver(live)
        with live.as_user(approver) as appr:
            url = f"/api/approvals/{case['id']}/materials/{material['id']}/file"
            r = appr.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert hashlib.sha256(r.content).hexdigest() == material["sha256"]
        with live.as_user("auditor") as aud:
            rows = aud.get(
                "/api/audit-events",
                params={"action": "case.material.download", "entity_id": material["id"]},
            ).json()["items"]
        assert [r["details"]["audience"] for r in rows] == ["approver"]
    finally:
        desk.close()
