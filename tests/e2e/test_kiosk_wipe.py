"""Kiosk wipe at the end of a session (PIPL), in Chromium.

The kiosk page queues; an agent (over the real WebSocket) answers, opens a case and
types the citizen's name, phone and ID number, which the kiosk shows for review. The
agent ends the session. Then the kiosk page holds no trace of the citizen: not in its
DOM (``page.content()``), not in any input's value, not in local / session storage, and
not anywhere in the JavaScript heap (a V8 heap snapshot after garbage collection is
searched for the three strings) — the stores, component state, cached images and form
values are gone. The page says it wiped (``data-kiosk-wipes``), and the reference
peripheral bridge it is connected to answered its ``bridge`` / ``wipe`` request.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.test_queue_flow import ITEM, enrollment_code, page_for, social_security_agent
from integration.cases_support import mobile, resident_id
from integration.wsclient import WsClient
from playwright.sync_api import Browser, Page, expect

from conftest import (
    LiveServer,
    free_port,
    make_database_url,
    prepare_database,
    settings_for,
    shot,
    start_server,
)

NAME = "欧阳丽华"


@pytest.fixture()
def wipe_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    expect.set_options(timeout=15_000)
    yield server
    expect.set_options(timeout=5_000)
    server.stop()


@pytest.fixture()
def bridge_url(wipe_live: LiveServer, tmp_path: Path) -> Iterator[str]:
    """The reference peripheral bridge (simulated devices) on a free port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudwindow.bridge", "--port", str(port),
         "--origin", wipe_live.url, "--out", str(tmp_path / "printed")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "bridge did not start"
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def heap_strings(page: Page) -> str:
    """A heap snapshot of the page after a full garbage collection, as text."""
    cdp = page.context.new_cdp_session(page)
    chunks: list[str] = []
    cdp.on("HeapProfiler.addHeapSnapshotChunk", lambda e: chunks.append(e["chunk"]))
    cdp.send("HeapProfiler.enable")
    for _ in range(3):
        cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    cdp.detach()
    snapshot: dict[str, Any] = json.loads("".join(chunks))
    return "\n".join(snapshot["strings"])


def test_the_kiosk_forgets_the_citizen_when_the_session_ends(
    browser: Browser, wipe_live: LiveServer, bridge_url: str
) -> None:
    live = wipe_live
    phone, id_number = mobile(), resident_id()
    kiosk = page_for(browser, 1080, 1920)
    kiosk.goto(f"{live.url}/kiosk/?bridge={bridge_url}")
    kiosk.get_by_test_id("kiosk-enroll-input").fill(enrollment_code(live))
    kiosk.get_by_test_id("kiosk-enroll-submit").click()
    kiosk.get_by_test_id("kiosk-start").click()
    kiosk.get_by_test_id("kiosk-search").fill("sbk")
    kiosk.locator(f'[data-test="kiosk-item"][data-code="{ITEM}"]').click()
    kiosk.get_by_test_id("kiosk-take").click()
    kiosk.get_by_test_id("kiosk-priority-normal").click()
    expect(kiosk.get_by_test_id("kiosk-ticket-number")).to_have_text(re.compile(r"^A\d{3}$"))

    username = social_security_agent(live)
    agent = WsClient(live.url, live.login(username))
    try:
        agent.request("agent.state", {"state": "ready"})
        ticket = agent.wait("offer")["data"]["ticket"]
        agent.request("offer.accept", {"ticket_id": ticket["id"]})
        expect(kiosk.get_by_test_id("kiosk-session")).to_be_visible()

        with live.as_user(username) as desk:
            case = desk.post("/api/desk/cases", json={"ticket_id": ticket["id"]}).json()
            kinds = {n: p.get("x-pii") for n, p in case["form"]["schema"]["properties"].items()}
            values = {
                n: {"name": NAME, "phone": phone, "id_number": id_number}[k]
                for n, k in kinds.items()
                if k in ("name", "phone", "id_number")
            }
            r = desk.patch(f"/api/desk/cases/{case['id']}/data", json={"values": values})
            assert r.status_code == 200, r.text
        review = kiosk.get_by_test_id("kiosk-case-review")
        expect(review).to_be_visible()
        for name, value in values.items():
            expect(kiosk.locator(f'[data-test="form-field-{name}"] input')).to_have_value(value)
        shot(kiosk, "kiosk-wipe-1-review")
        assert NAME in heap_strings(kiosk)  # the search below can see the data

        agent.request("session.end", {"ticket_id": ticket["id"]})
    finally:
        agent.close()

    expect(kiosk.locator("html")).to_have_attribute("data-kiosk-wipes", re.compile(r"^[1-9]"))
    # The page asked the local bridge to wipe too, and the bridge said it did.
    expect(kiosk.locator("html")).to_have_attribute("data-kiosk-bridge-wiped", "true")
    expect(kiosk.get_by_test_id("kiosk-session")).to_have_count(0)
    shot(kiosk, "kiosk-wipe-2-after")
    secrets = [NAME, phone, id_number]
    html = kiosk.content()
    inputs = kiosk.evaluate(
        "() => [...document.querySelectorAll('input, textarea')].map(e => e.value).join('|')"
    )
    storage = kiosk.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    heap = heap_strings(kiosk)
    for secret in secrets:
        assert secret not in html, f"{secret} still in the DOM"
        assert secret not in inputs, f"{secret} still in an input"
        assert secret not in storage, f"{secret} still in storage"
        assert secret not in heap, f"{secret} still in the JavaScript heap"
