"""Issue 6's check, end to end in Chromium: in a video session the agent has the kiosk read
the ID card on the (simulated) reader of the reference bridge, runs 人证比对 against the
fake camera (the sample person ``chen``), fetches an electronic licence with the
citizen's consent, has the citizen sign on the pad, accepts the case (the 受理回执 slip
prints on the receipt printer), the approver approves, and the sealed 办结通知书 prints on
the A4 printer through the bridge — the printed file is the sealed PDF byte for byte and
``pdfsig`` validates it. On the way: the A4 printer runs out of paper (the bridge's
control file) and the agent sees a clear error; the supervisor sees the printer's health.

The bridge is the real one (``python -m cloudwindow.bridge``), listening on a free port
that the kiosk page is given with ``?bridge=``. Screenshots of every step go to
var/screenshots/trust-flow/ (not committed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from e2e.test_call import start_call
from e2e.test_case_flow import case_live  # noqa: F401 (fixture: a server of its own)
from e2e.test_console import login
from e2e.test_identity_ui import face_browser  # noqa: F401 (fixture: the fake camera shows chen)
from e2e.test_queue_flow import page_for
from integration.cases_support import jpeg
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.people import person
from conftest import LiveServer, free_port, need_tools

SHOTS = Path(os.environ.get("CLOUDWINDOW_SCREENSHOTS", "var/screenshots")) / "trust-flow"
FIELD = '[data-test="form-field-{0}"] input, [data-test="form-field-{0}"] textarea'
PHONE = "13926051234"
ADDRESS = "广州市增城区荔城街府佑路 8 号"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@dataclass
class RunningBridge:
    port: int
    out: Path
    control: Path
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def set_health(self, **devices: str) -> None:
        """Unplug a device or take its paper away, as the control file does."""
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps({"health": devices}))
        tmp.replace(self.control)

    def printed(self, prefix: str) -> list[Path]:
        return sorted(self.out.glob(f"{prefix}-*.pdf"))


@pytest.fixture()
def bridge(case_live: LiveServer, tmp_path: Path) -> Iterator[RunningBridge]:  # noqa: F811
    """The reference bridge with chen's card on the reader, for the test server's pages."""
    port, out, control = free_port(), tmp_path / "printed", tmp_path / "bridge-control.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudwindow.bridge", "--port", str(port), "--out", str(out),
         "--card", "chen", "--origin", case_live.url, "--control", str(control),
         "--read-delay", "1.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(2)]
    assert any(f"127.0.0.1:{port}" in line for line in lines), lines
    yield RunningBridge(port, out, control, proc)
    proc.terminate()
    proc.wait(10)


def agent_client(live: LiveServer, agent: Page) -> httpx.Client:
    """The agent page's own session, for the steps done from the agent's PC."""
    token = agent.evaluate("JSON.parse(localStorage.getItem('cloudwindow.console.session')).token")
    return live.client(str(token))


def case_of(client: httpx.Client, number: str) -> int:
    found = client.get("/api/desk/cases", params={"q": number}).json()["items"]
    return int(found[0]["id"])


def upload_and_accept(live: LiveServer, agent: Page, number: str, code: str) -> None:
    with agent_client(live, agent) as c:
        case_id = case_of(c, number)
        up = c.post(
            f"/api/desk/cases/{case_id}/materials",
            params={"material_code": code},
            content=jpeg(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert up.status_code == 201, up.text
        ok = c.post(
            f"/api/desk/cases/{case_id}/materials/{up.json()['id']}/decision",
            json={"status": "accepted"},
        )
        assert ok.status_code == 200, ok.text


def wait_for(fn: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not fn():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_id_read_face_check_licence_accept_approve_and_print_through_the_bridge(
    face_browser: Browser,  # noqa: F811
    case_live: LiveServer,  # noqa: F811
    bridge: RunningBridge,
    tmp_path: Path,
) -> None:
    need_tools("pdfsig")
    kiosk, agent = start_call(case_live, face_browser, kiosk_query=f"?bridge={bridge.url}")
    chen = person("chen")
    masked = chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]

    # The kiosk's bridge reported its devices: the agent's panel shows them ready.
    devices = agent.get_by_test_id("agent-devices")
    for device in ("bridge", "id_reader", "signature_pad", "receipt_printer", "a4_printer"):
        expect(devices.get_by_test_id(f"agent-device-{device}")).to_have_attribute(
            "data-status", "ok"
        )

    # 读取身份证: the kiosk asks the citizen for the card and reads it on the bridge.
    devices.get_by_test_id("agent-device-read-id").click()
    prompt = kiosk.get_by_test_id("kiosk-device-prompt")
    expect(prompt).to_have_attribute("data-device", "id_reader")
    expect(prompt).to_have_attribute("data-stage", "reading")
    expect(prompt).to_contain_text("正在读取身份证")
    snap(kiosk, "01-kiosk-reading-id-card")
    # The kiosk's toast lasts seconds and the agent's line stays: the toast is looked at first.
    expect(kiosk.get_by_test_id("kiosk-device-outcome")).to_contain_text("身份证读取完成")
    read = devices.get_by_test_id("agent-device-command-id_reader")
    expect(read).to_have_attribute("data-state", "succeeded")
    expect(read.get_by_test_id("agent-device-result")).to_contain_text(masked)
    identity = agent.get_by_test_id("agent-identity")
    expect(identity.get_by_test_id("agent-identity-number")).to_have_text(masked)
    assert chen.id_number not in agent.content()
    devices.scroll_into_view_if_needed()
    snap(agent, "02-agent-device-panel-card-read")

    # 人证比对: consent on the kiosk, the fake camera shows chen: match.
    identity.get_by_test_id("agent-identity-facecheck").click()
    consent = kiosk.get_by_test_id("kiosk-consent")
    expect(consent).to_be_visible()
    consent.get_by_test_id("kiosk-consent-yes").click()
    face = kiosk.get_by_test_id("kiosk-face-check")
    expect(face).to_have_attribute("data-phase", "live")
    face.get_by_test_id("kiosk-face-start").click()
    expect(face).to_have_attribute("data-outcome", "match", timeout=30_000)
    expect(identity).to_have_attribute("data-verified", "yes")
    snap(kiosk, "03-kiosk-face-match")
    face.get_by_test_id("kiosk-face-done").click()

    # The case: applicant from the verified card, the rest typed by the agent.
    agent.get_by_test_id("case-open").click()
    panel = agent.get_by_test_id("case-panel")
    expect(panel).to_have_attribute("data-state", "draft")
    number = agent.get_by_test_id("case-number").inner_text()
    expect(kiosk.get_by_test_id("kiosk-case-review")).to_be_visible(timeout=10_000)
    identity.get_by_test_id("agent-identity-fill").click()
    expect(agent.locator(FIELD.format("id_number"))).to_have_value(chen.id_number)
    agent.locator(FIELD.format("phone")).press_sequentially(PHONE)
    agent.locator(FIELD.format("address")).press_sequentially(ADDRESS, delay=10)
    expect(kiosk.locator(FIELD.format("address"))).to_have_value(ADDRESS)

    # 免证办: with the citizen's consent, the electronic ID card licence is M02.
    licences = agent.get_by_test_id("licence-panel")
    licences.get_by_test_id("licence-ask-consent").click()
    lic_consent = kiosk.get_by_test_id("kiosk-licence-consent").get_by_test_id("kiosk-consent")
    expect(lic_consent).to_have_attribute("data-purpose", "licence_fetch")
    lic_consent.get_by_test_id("kiosk-consent-yes").click()
    expect(licences).to_have_attribute("data-phase", "listed")
    licences.get_by_test_id("licence-use-ID_CARD-M02").click()
    expect(agent.get_by_test_id("case-material-M02")).to_have_attribute("data-status", "accepted")
    # The application form: a file from the agent's PC (the fake camera here shows a face).
    upload_and_accept(case_live, agent, number, "M01")
    expect(agent.get_by_test_id("case-material-M01")).to_have_attribute("data-status", "accepted")

    # The citizen signs on the pad (the page feeds the pointer strokes to the bridge).
    devices.get_by_test_id("agent-device-signature").click()
    pad = kiosk.get_by_test_id("kiosk-signature-pad")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    assert box is not None
    kiosk.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.6)
    kiosk.mouse.down()
    for i in range(1, 30):
        kiosk.mouse.move(
            box["x"] + box["width"] * (0.15 + i * 0.022),
            box["y"] + box["height"] * (0.6 - 0.25 * ((i % 6) / 5)),
        )
    kiosk.mouse.up()
    snap(kiosk, "04-kiosk-signature-pad")
    kiosk.get_by_test_id("kiosk-signature-confirm").click()
    signed = devices.get_by_test_id("agent-device-command-signature_pad")
    expect(signed).to_have_attribute("data-state", "succeeded")
    expect(signed.get_by_test_id("agent-device-signature-image")).to_be_visible()
    devices.scroll_into_view_if_needed()
    snap(agent, "05-agent-device-panel-signature")

    # 确认无误 on the kiosk, 受理 by the agent: the receipt slip prints at the kiosk.
    kiosk.get_by_test_id("kiosk-case-confirm").click()
    expect(agent.get_by_test_id("case-confirmed")).to_be_visible()
    expect(agent.get_by_test_id("case-accept")).to_be_enabled()
    agent.get_by_test_id("case-accept").click()
    expect(panel).to_have_attribute("data-state", "under_approval")
    prints = agent.get_by_test_id("agent-device-print")
    prints.get_by_test_id("agent-print-slip-receipt").click()
    expect(kiosk.get_by_test_id("kiosk-device-prompt")).to_have_attribute(
        "data-device", "receipt_printer"
    )
    snap(kiosk, "06-kiosk-printing")
    slip = prints.get_by_test_id("agent-device-command-receipt_printer")
    expect(slip).to_have_attribute("data-state", "succeeded")
    wait_for(lambda: len(bridge.printed("receipt")) == 1)
    text = subprocess.run(
        ["pdftotext", str(bridge.printed("receipt")[0]), "-"], capture_output=True, text=True
    ).stdout
    assert number in text and "受理回执" in text, text

    # The A4 printer runs out of paper: the agent sees it, and a print fails clearly.
    bridge.set_health(a4_printer="out_of_paper")
    expect(devices.get_by_test_id("agent-device-a4_printer")).to_have_attribute(
        "data-status", "out_of_paper"
    )
    prints.get_by_test_id("agent-print-a4-receipt").click()
    failed = prints.get_by_test_id("agent-device-command-a4_printer").first
    # The kiosk fetches the sealed PDF before the bridge refuses it: slow on a loaded CI
    expect(kiosk.get_by_test_id("kiosk-device-outcome")).to_contain_text("缺纸", timeout=45_000)
    expect(failed).to_have_attribute("data-error", "device-out-of-paper")
    expect(failed.get_by_test_id("agent-device-error")).to_have_text("打印机缺纸")
    prints.scroll_into_view_if_needed()
    snap(agent, "07-agent-out-of-paper")
    sup = page_for(face_browser, 1400, 900)
    login(sup, case_live, "supervisor")
    sup.goto(f"{case_live.url}/console/#/terminals")
    health = sup.get_by_test_id("device-health")
    expect(health.locator('[data-worst="out_of_paper"]')).to_have_count(1)
    snap(sup, "08-supervisor-device-health")
    bridge.set_health(a4_printer="ok")
    expect(devices.get_by_test_id("agent-device-a4_printer")).to_have_attribute("data-status", "ok")

    # 云端批: the approver approves; the case is concluded with its sealed decision.
    console = page_for(face_browser, 1400, 900)
    login(console, case_live, "approver")
    console.get_by_test_id(f"approval-open-{number}").click()
    expect(console.get_by_test_id("case-detail")).to_have_attribute("data-state", "under_approval")
    console.get_by_test_id("approval-decision-approve").click()
    console.get_by_test_id("approval-submit").click()
    console.locator(".el-message-box__btns .el-button--primary").click()
    expect(console.get_by_test_id("case-detail")).to_have_attribute("data-state", "concluded")
    expect(panel).to_have_attribute("data-state", "concluded", timeout=10_000)

    # The sealed decision prints on A4 through the bridge, unchanged: pdfsig validates it.
    prints.get_by_test_id("agent-print-a4-decision").click()
    expect(kiosk.get_by_test_id("kiosk-device-prompt")).to_have_attribute(
        "data-device", "a4_printer"
    )
    done = prints.get_by_test_id("agent-device-command-a4_printer").first
    expect(done).to_have_attribute("data-state", "succeeded", timeout=20_000)
    wait_for(lambda: len(bridge.printed("a4")) == 1)
    printed = bridge.printed("a4")[0]
    with agent_client(case_live, agent) as c:
        docs = c.get(f"/api/desk/cases/{case_of(c, number)}/documents").json()
        decision = next(d for d in docs if d["kind"] == "decision")
        sealed = c.get(f"/api/desk/documents/{decision['id']}/pdf").content
    assert printed.read_bytes() == sealed
    expect(done.get_by_test_id("agent-device-result")).to_have_text("已打印 1 页")
    report = subprocess.run(["pdfsig", str(printed)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in report, report
    assert "Total document signed" in report, report
    prints.scroll_into_view_if_needed()
    snap(agent, "09-agent-decision-printed")


def test_a_bridge_that_goes_away_mid_read_gives_a_clear_error_and_stores_nothing(
    face_browser: Browser,  # noqa: F811
    case_live: LiveServer,  # noqa: F811
    bridge: RunningBridge,
) -> None:
    kiosk, agent = start_call(case_live, face_browser, kiosk_query=f"?bridge={bridge.url}")
    devices = agent.get_by_test_id("agent-devices")
    expect(devices.get_by_test_id("agent-device-id_reader")).to_have_attribute("data-status", "ok")
    devices.get_by_test_id("agent-device-read-id").click()
    expect(kiosk.get_by_test_id("kiosk-device-prompt")).to_have_attribute("data-stage", "reading")
    bridge.proc.kill()  # the bridge crashes (or is unplugged) while reading the chip
    expect(kiosk.get_by_test_id("kiosk-device-outcome")).to_contain_text("外设服务连接中断")
    read = devices.get_by_test_id("agent-device-command-id_reader")
    expect(read).to_have_attribute("data-error", "device-bridge-disconnected")
    expect(read.get_by_test_id("agent-device-error")).to_contain_text("断开")
    # Nothing half-written: no card read was stored for the session.
    expect(agent.get_by_test_id("agent-identity-nocard")).to_be_visible()
    # The kiosk reports its bridge gone: the panel shows it offline, reading is disabled.
    expect(devices.get_by_test_id("agent-device-bridge")).to_have_attribute(
        "data-status", "offline"
    )
    expect(devices.get_by_test_id("agent-device-read-id")).to_be_disabled()
    devices.scroll_into_view_if_needed()
    snap(agent, "10-agent-bridge-gone-mid-read")
