"""The reference bridge through its real interface: a WebSocket client (the
``websockets`` library, as a vendor's test tool would be) against the bridge listening
on 127.0.0.1 — docs/bridge.md."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cloudwindow.bridge.devices import Simulation
from cloudwindow.bridge.server import Bridge
from cloudwindow.sample.people import PEOPLE
from conftest import free_port

ORIGIN = "http://127.0.0.1:8000"


class Client:
    """One kiosk page's connection: requests by id, events kept in arrival order."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []
        self.n = 0

    async def send(self, device: str, command: str, params: dict[str, Any] | None = None,
                   timeout_ms: int | None = None) -> str:  # fmt: skip
        self.n += 1
        rid = f"r{self.n}"
        msg: dict[str, Any] = {"type": "request", "id": rid, "device": device,
                               "command": command, "params": params or {}}  # fmt: skip
        if timeout_ms:
            msg["timeout_ms"] = timeout_ms
        await self.conn.send(json.dumps(msg))
        return rid

    async def wait(self, pred: Any, within: float = 10) -> dict[str, Any]:
        for event in self.seen:
            if pred(event):
                self.seen.remove(event)
                return event
        async with asyncio.timeout(within):
            while True:
                event = json.loads(await self.conn.recv())
                if pred(event):
                    return event
                self.seen.append(event)

    async def result(self, rid: str, within: float = 10) -> dict[str, Any]:
        return await self.wait(lambda e: e.get("type") == "result" and e["id"] == rid, within)

    async def call(self, device: str, command: str, params: dict[str, Any] | None = None,
                   timeout_ms: int | None = None) -> dict[str, Any]:  # fmt: skip
        return await self.result(await self.send(device, command, params, timeout_ms))


@pytest.fixture()
async def bridge(tmp_path: Path) -> AsyncIterator[Bridge]:
    sim = Simulation(tmp_path / "out", "chen", read_delay=0.2, print_delay=0.05,
                     control_file=tmp_path / "control.json")  # fmt: skip
    server = Bridge(sim, [ORIGIN], port=0)
    await server.start()
    yield server
    await server.stop()


async def open_client(bridge: Bridge, origin: str = ORIGIN) -> Client:
    conn = await connect(f"ws://127.0.0.1:{bridge.port}/", origin=origin)  # type: ignore[arg-type]
    client = Client(conn)
    hello = await client.wait(lambda e: e["type"] == "hello")
    assert hello["protocol"] == "cloudwindow-bridge/1"
    return client


async def test_hello_lists_the_four_devices_and_only_the_kiosk_origin_may_connect(
    bridge: Bridge,
) -> None:
    conn = await connect(f"ws://127.0.0.1:{bridge.port}/", origin=ORIGIN)  # type: ignore[arg-type]
    hello = json.loads(await conn.recv())
    assert hello["type"] == "hello" and hello["bridge"]["simulated"] is True
    assert {d["device"]: (d["present"], d["status"]) for d in hello["devices"]} == {
        "id_reader": (True, "ok"),
        "signature_pad": (True, "ok"),
        "receipt_printer": (True, "ok"),
        "a4_printer": (True, "ok"),
    }
    await conn.close()
    for origin in ("http://evil.example", "http://127.0.0.1:8001", None):
        with pytest.raises(InvalidStatus) as refused:
            kw: Any = {"origin": origin} if origin else {}
            await connect(f"ws://127.0.0.1:{bridge.port}/", **kw)
        assert refused.value.response.status_code == 403


async def test_reading_the_card_on_the_reader(bridge: Bridge) -> None:
    client = await open_client(bridge)
    rid = await client.send("id_reader", "read")
    stage = await client.wait(lambda e: e["type"] == "progress")
    assert stage == {"type": "progress", "id": rid, "stage": "reading"}
    reply = await client.result(rid)
    assert reply["ok"] is True, reply
    data = reply["data"]
    chen = PEOPLE[0]
    assert (data["name"], data["id_number"], data["sex"]) == (chen.name, chen.id_number, chen.sex)
    assert data["valid_until"] == chen.valid_until.isoformat() and data["expired"] is False
    photo = Image.open(io.BytesIO(base64.b64decode(data["photo"])))
    assert photo.format == "JPEG" and photo.width > 50

    # The expired card reads too, and says so.
    expired = next(p for p in PEOPLE if p.valid_until < date.today())  # noqa: DTZ011
    assert (await client.call("simulator", "insert_card", {"key": expired.key}))["ok"]
    data = (await client.call("id_reader", "read"))["data"]
    assert (data["name"], data["expired"]) == (expired.name, True)


async def test_no_card_waits_for_one_then_times_out_as_no_card(bridge: Bridge) -> None:
    client = await open_client(bridge)
    await client.call("simulator", "remove_card")
    rid = await client.send("id_reader", "read")
    assert (await client.wait(lambda e: e["type"] == "progress"))["stage"] == "waiting_for_card"
    await client.call("simulator", "insert_card", {"key": "li"})
    reply = await client.result(rid)
    assert reply["ok"] and reply["data"]["name"] == PEOPLE[1].name

    await client.call("simulator", "remove_card")
    reply = await client.call("id_reader", "read", timeout_ms=300)
    assert reply["ok"] is False and reply["error"]["code"] == "no-card"
    assert reply["error"]["message_zh"] == "未检测到身份证"

    await client.call("simulator", "insert_card", {"key": "chen", "unreadable": True})
    assert (await client.call("id_reader", "read"))["error"]["code"] == "card-unreadable"


async def test_a4_prints_the_pdf_byte_for_byte_and_refuses_a_damaged_one(
    bridge: Bridge, tmp_path: Path
) -> None:
    client = await open_client(bridge)
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    digest = hashlib.sha256(pdf).hexdigest()
    params = {"pdf": base64.b64encode(pdf).decode(), "sha256": digest}
    reply = await client.call("a4_printer", "print", params)
    assert reply["ok"], reply
    printed = tmp_path / "out" / reply["data"]["file"]
    assert printed.read_bytes() == pdf and reply["data"]["sha256"] == digest

    bad = await client.call("a4_printer", "print", {**params, "sha256": "0" * 64})
    assert bad["error"]["code"] == "print-data-invalid"
    cut = base64.b64encode(pdf[:-8]).decode()
    assert (await client.call("a4_printer", "print", {"pdf": cut}))["error"]["code"] == (
        "print-data-invalid"
    )
    assert (await client.call("a4_printer", "print", {}))["error"]["code"] == "bad-params"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [printed.name]


async def test_out_of_paper_by_command_and_by_control_file(bridge: Bridge, tmp_path: Path) -> None:
    client = await open_client(bridge)
    slip = {"title": "受理回执", "lines": ["办件编号：CW20261127-000001"], "qr": "http://x/v"}
    await client.call("simulator", "set_health",
                      {"device": "receipt_printer", "status": "out_of_paper"})  # fmt: skip
    event = await client.wait(lambda e: e["type"] == "health")
    assert event == {"type": "health", "device": "receipt_printer", "present": True,
                     "status": "out_of_paper", "detail": ""}  # fmt: skip
    reply = await client.call("receipt_printer", "print", slip)
    assert reply["error"]["code"] == "out-of-paper"

    # The control file puts paper back and unplugs the A4 printer.
    control = tmp_path / "control.json"
    control.write_text(json.dumps({"health": {"receipt_printer": "ok", "a4_printer": "absent"}}))
    seen = {
        (e["device"], e["status"], e["present"])
        for e in [await client.wait(lambda e: e["type"] == "health") for _ in range(2)]
    }
    assert seen == {("receipt_printer", "ok", True), ("a4_printer", "absent", False)}
    status = await client.call("bridge", "status")
    assert {d["device"]: d["status"] for d in status["data"]["devices"]}["a4_printer"] == "absent"
    pdf = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
    assert (await client.call("a4_printer", "print", {"pdf": pdf}))["error"]["code"] == (
        "device-absent"
    )

    # With paper, the slip prints as a narrow (80 mm) PDF.
    reply = await client.call("receipt_printer", "print", slip)
    assert reply["ok"], reply
    info = subprocess.run(  # noqa: ASYNC221 (a test: blocking is fine)
        ["pdfinfo", str(tmp_path / "out" / reply["data"]["file"])],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    width = float(info.split("Page size:")[1].split()[0])
    assert round(width / 72 * 25.4) == 80


async def test_signature_pad_fed_by_pointer_strokes(bridge: Bridge) -> None:
    client = await open_client(bridge)
    assert (await client.call("signature_pad", "feed", {"strokes": []}))["error"]["code"] == (
        "not-capturing"
    )
    rid = await client.send("signature_pad", "capture")
    assert (await client.wait(lambda e: e["type"] == "progress"))["stage"] == (
        "waiting_for_signature"
    )
    stroke = [[100 + i * 10, 150 + (i % 5) * 8] for i in range(40)]
    fed = await client.call("signature_pad", "feed", {"strokes": [stroke]})
    assert fed["data"] == {"strokes": 1, "points": 40}
    out_of_pad = await client.call("signature_pad", "feed", {"strokes": [[[5000, 1]]]})
    assert out_of_pad["error"]["code"] == "bad-params"
    await client.call(
        "signature_pad", "feed", {"strokes": [[[300, 100], [320, 200]]], "done": True}
    )
    reply = await client.result(rid)
    assert reply["ok"] and reply["data"]["strokes"] == 2
    png = Image.open(io.BytesIO(base64.b64decode(reply["data"]["png"])))
    assert png.format == "PNG" and png.size == (800, 300)
    assert png.getextrema()[0] == 0  # ink on the page

    rid = await client.send("signature_pad", "capture")
    await client.wait(lambda e: e["type"] == "progress")
    await client.call("signature_pad", "feed", {"strokes": [stroke]})
    await client.call("signature_pad", "clear")
    await client.call("signature_pad", "feed", {"done": True})
    assert (await client.result(rid))["error"]["code"] == "signature-empty"


async def test_bad_messages_busy_devices_and_cancel(bridge: Bridge) -> None:
    client = await open_client(bridge)
    await client.conn.send("not json")
    error = await client.wait(lambda e: e["type"] == "error")
    assert error["error"]["code"] == "bad-message"
    await client.conn.send(json.dumps({"type": "request", "id": "x1", "device": "fax",
                                       "command": "send"}))  # fmt: skip
    assert (await client.result("x1"))["error"]["code"] == "unknown-device"
    assert (await client.call("id_reader", "format"))["error"]["code"] == "unknown-command"
    too_long = await client.call("id_reader", "read", timeout_ms=10_000_000)
    assert too_long["error"]["code"] == "bad-params"

    bridge.sim.read_delay = 1.0
    first = await client.send("id_reader", "read")
    second = await client.call("id_reader", "read")
    assert second["error"]["code"] == "device-busy"
    await client.conn.send(json.dumps({"type": "cancel", "id": first}))
    assert (await client.result(first))["error"]["code"] == "cancelled"
    bridge.sim.read_delay = 0.05
    assert (await client.call("id_reader", "read"))["ok"]


async def test_newest_client_takes_over_and_a_client_gone_mid_read_frees_the_reader(
    bridge: Bridge,
) -> None:
    bridge.sim.read_delay = 2.0
    first = await open_client(bridge)
    rid = await first.send("id_reader", "read")
    await first.wait(lambda e: e["type"] == "progress")
    second = await open_client(bridge)  # the kiosk page reloaded
    closing = await first.wait(lambda e: e["type"] in ("closing", "result"))
    assert closing["type"] in ("closing", "result")
    with pytest.raises(ConnectionClosed):
        while True:
            await first.wait(lambda e: False, within=5)
    assert first.conn.close_code == 4000
    assert not bridge.running, "the old page's read is cancelled"

    # The new page reads; it goes away mid-read; a third one finds the reader free.
    await second.send("id_reader", "read")
    await second.wait(lambda e: e["type"] == "progress")
    await second.conn.close()
    await asyncio.sleep(0.1)
    bridge.sim.read_delay = 0.05
    third = await open_client(bridge)
    assert (await third.call("id_reader", "read"))["ok"]
    assert rid


async def test_wipe_forgets_the_signature_being_drawn(bridge: Bridge) -> None:
    client = await open_client(bridge)
    rid = await client.send("signature_pad", "capture")
    await client.wait(lambda e: e["type"] == "progress")
    await client.call("signature_pad", "feed", {"strokes": [[[1, 1], [50, 50]]]})
    wiped = await client.call("bridge", "wipe")
    assert wiped["data"] == {"wiped": ["signature_pad"], "cancelled": [rid]}
    assert (await client.result(rid))["error"]["code"] == "cancelled"


def test_cli_serves_the_bridge(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudwindow.bridge", "--port", str(port), "--out",
         str(tmp_path), "--card", "li", "--origin", "http://kiosk.test"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert any(f"ws://127.0.0.1:{port}/" in line for line in lines), lines

        async def read() -> dict[str, Any]:
            async with connect(f"ws://127.0.0.1:{port}/", origin="http://kiosk.test") as conn:  # type: ignore[arg-type]
                client = Client(conn)
                await client.wait(lambda e: e["type"] == "hello")
                return await client.call("id_reader", "read")

        assert asyncio.run(read())["data"]["name"] == PEOPLE[1].name
    finally:
        proc.terminate()
        proc.wait(10)
