"""The video call end to end in Chromium with fake cameras (issue 4): kiosk ↔ agent
through the whole queue flow; both sides decode frames; the agent switches the kiosk to
its document camera and back; time to first frame is stored; hang up ends the call on
both sides. And a relay-only call through a real coturn started by the test."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.test_queue_flow import ITEM, enrollment_code, social_security_agent
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.load import DEMO_PASSWORD
from conftest import (
    CHROMIUM,
    LiveServer,
    free_port,
    make_database_url,
    need_tools,
    prepare_database,
    settings_for,
    shot,
    start_server,
)

# Records every RTCPeerConnection a page makes, so the test can read its stats. And hides
# Chromium's second fake camera: fake_device_1 delivers Y16 (depth) frames, which WebRTC
# cannot encode (a call switched to it stops sending video; checked by hand); the third,
# fake_device_2 (MJPEG, like a UVC 高拍仪), stands in for the document camera.
RECORD_PEERS = """
const listDevices = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
navigator.mediaDevices.enumerateDevices = async () =>
  (await listDevices()).filter((d) => d.label !== 'fake_device_1');
window.__pcs = [];
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Native {
  constructor(...args) { super(...args); window.__pcs.push(this); }
};
"""

# The page's live connection: frames decoded, the video sender's camera, the pair in use.
READ_CALL = """async () => {
  const pc = window.__pcs.filter((p) => p.connectionState !== 'closed').at(-1);
  if (!pc) return null;
  const stats = await pc.getStats();
  let frames = 0, pairId = null;
  const byId = new Map();
  stats.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? byId.get(pairId) : null;
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  return {
    frames,
    label: sender ? sender.track.label : null,
    device: sender ? sender.track.getSettings().deviceId : null,
    local: pair ? byId.get(pair.localCandidateId).candidateType : null,
    remote: pair ? byId.get(pair.remoteCandidateId).candidateType : null,
  };
}"""


@pytest.fixture(scope="module")
def media_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium with fake cameras (two are shown to the pages: see RECORD_PEERS) and a
    fake microphone, permission prompts accepted."""
    b = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=3",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield b
    b.close()


def new_page(browser: Browser, width: int, height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.add_init_script(RECORD_PEERS)
    return context.new_page()


def read_call(page: Page) -> dict[str, Any]:
    result: dict[str, Any] | None = page.evaluate(READ_CALL)
    assert result is not None, "no peer connection on the page"
    return result


def frames_grow(page: Page, timeout: float = 15) -> int:
    """Wait until the page has decoded frames and decodes more; returns the count."""
    deadline = time.monotonic() + timeout
    first = read_call(page)["frames"]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = read_call(page)["frames"]
        if now > first > 0:
            return int(now)
        first = first or now
    raise AssertionError(f"frames did not grow: {read_call(page)}")


def start_call(live: LiveServer, browser: Browser, kiosk_query: str = "") -> tuple[Page, Page]:
    """Kiosk queues for 社会保障卡补领, the agent accepts: both pages are in the call.
    ``kiosk_query``: appended to the kiosk's URL (e.g. ``?bridge=ws://…``)."""
    kiosk = new_page(browser, 1080, 1920)
    kiosk.goto(f"{live.url}/kiosk/{kiosk_query}")
    kiosk.get_by_test_id("kiosk-enroll-input").fill(enrollment_code(live))
    kiosk.get_by_test_id("kiosk-enroll-submit").click()
    kiosk.get_by_test_id("kiosk-start").click()
    kiosk.get_by_test_id("kiosk-search").fill("sbk")
    kiosk.locator(f'[data-test="kiosk-item"][data-code="{ITEM}"]').click()
    kiosk.get_by_test_id("kiosk-take").click()
    kiosk.get_by_test_id("kiosk-priority-normal").click()
    expect(kiosk.get_by_test_id("kiosk-ticket-number")).to_have_text(re.compile(r"^A\d{3}$"))

    agent = new_page(browser, 1400, 900)
    agent.goto(f"{live.url}/agent/")
    agent.get_by_test_id("agent-login-username").fill(social_security_agent(live))
    agent.get_by_test_id("agent-login-password").fill(DEMO_PASSWORD)
    agent.get_by_test_id("agent-login-submit").click()
    agent.get_by_test_id("agent-ready").click()
    expect(agent.get_by_test_id("agent-offer")).to_be_visible(timeout=15_000)
    agent.get_by_test_id("agent-accept").click()
    for page in (agent, kiosk):
        expect(page.get_by_test_id("call")).to_have_attribute(
            "data-phase", "connected", timeout=20_000
        )
    return kiosk, agent


@pytest.fixture()
def call_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    yield server
    server.stop()


def test_video_call_document_camera_first_frame_and_hang_up(
    media_browser: Browser, call_live: LiveServer
) -> None:
    kiosk, agent = start_call(call_live, media_browser)
    frames_grow(kiosk)
    frames_grow(agent)
    assert read_call(kiosk)["label"] == "fake_device_0"
    shot(kiosk, "call-kiosk")
    shot(agent, "call-agent")

    # The agent switches the kiosk to its document camera: the kiosk's sender now carries
    # the second camera's track, and the agent keeps receiving frames.
    before = read_call(kiosk)
    agent.get_by_test_id("call-remote-doccam").click()
    expect(agent.get_by_test_id("call-remote-doccam")).to_have_attribute(
        "data-camera", "document", timeout=10_000
    )
    expect(kiosk.get_by_test_id("call-doccam")).to_have_attribute("data-camera", "document")
    after = read_call(kiosk)
    assert after["label"] == "fake_device_2" and after["device"] != before["device"]
    frames_grow(agent)
    shot(agent, "call-agent-document-camera")
    agent.get_by_test_id("call-remote-doccam").click()
    expect(agent.get_by_test_id("call-remote-doccam")).to_have_attribute(
        "data-camera", "primary", timeout=10_000
    )
    back = read_call(kiosk)
    assert back["label"] == "fake_device_0" and back["device"] == before["device"]
    frames_grow(agent)

    # Time to first frame, both sides: shown to the agent, stored with the session.
    expect(agent.get_by_test_id("call-ttff")).to_have_text(re.compile(r"\d+ ms.*\d+ ms"))
    with call_live.as_user("supervisor") as sup:
        (session,) = sup.get("/api/media/sessions").json()["items"]
    assert session["state"] == "open"
    assert session["first_frame_ms"]["caller"] > 0 and session["first_frame_ms"]["callee"] > 0
    assert session["callee"]["name"] == "地铁站云窗口"

    # Hang up: the call ends on both pages and on the server.
    agent.get_by_test_id("call-hangup").click()
    for page in (agent, kiosk):
        expect(page.get_by_test_id("call")).to_have_attribute("data-phase", "ended")
        expect(page.get_by_test_id("call-ended")).to_be_visible()
    shot(kiosk, "call-kiosk-ended")
    with call_live.as_user("supervisor") as sup:
        ended = sup.get(f"/api/media/sessions/{session['id']}").json()
    assert ended["state"] == "closed" and ended["end_reason"] == "hangup"
    agent.get_by_test_id("agent-end").click()
    expect(agent.get_by_test_id("agent-wrapup")).to_be_visible()


# Relay only, through a real coturn ---------------------------------------------------------
TURN_SECRET = "e2e-turn-secret"


@pytest.fixture()
def turnserver(tmp_path: Path) -> Iterator[int]:
    need_tools("turnserver")
    binary = shutil.which("turnserver")
    assert binary is not None
    port = free_port()
    low = 49_152 + (port % 500) * 20
    log = (tmp_path / "turnserver.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            "-n",  # no configuration file
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={low}",
            f"--max-port={low + 19}",
            "--use-auth-secret",
            f"--static-auth-secret={TURN_SECRET}",
            "--realm=cloudwindow.test",
            "--allow-loopback-peers",  # both browsers are on this machine
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--fingerprint",
            "--log-file=stdout",
            "--simple-log",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until it listens (TCP listener, same port)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture()
def relay_live(tmp_path: Path, turnserver: int) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(
        settings_for(
            url,
            tmp_path,
            queue_tick_seconds=0.3,
            turn_urls=[f"turn:127.0.0.1:{turnserver}?transport=udp"],
            turn_secret=TURN_SECRET,
            ice_transport_policy="relay",
        )
    )
    yield server
    server.stop()


def test_relay_only_call_through_coturn(media_browser: Browser, relay_live: LiveServer) -> None:
    kiosk, agent = start_call(relay_live, media_browser)
    frames_grow(kiosk)
    frames_grow(agent)
    for page in (kiosk, agent):
        pair = read_call(page)
        assert (pair["local"], pair["remote"]) == ("relay", "relay"), pair
