"""Identity verification in Chromium (docs/identity.md): the kiosk's fake camera shows the
sample person ``chen`` (his live still, made into a Y4M with ffmpeg). His ID card is
posted as the kiosk page does after a bridge read; the agent sees it masked with the photo,
asks for 人证比对; the kiosk shows the consent text, the citizen taps 同意, looks at the
camera, the countdown runs and the still matches. Then ``li``'s card is read (the camera
still shows chen): mismatch, and the agent verifies manually with a reason.

Screenshots go to var/screenshots/identity/ (not committed)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e.test_call import start_call
from e2e.test_case_flow import case_live  # noqa: F401 (fixture: a server of its own)
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.people import person
from conftest import CHROMIUM, LiveServer, need_tools

FIELD = '[data-test="form-field-{0}"] input'
SHOTS = Path(os.environ.get("CLOUDWINDOW_SCREENSHOTS", "var/screenshots")) / "identity"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture()
def face_browser(browser: Browser, tmp_path: Path) -> Iterator[Browser]:
    """Chromium whose fake cameras show ``chen``'s live still (a 3 s Y4M loop)."""
    need_tools("ffmpeg")
    still = person("chen").live
    assert still is not None
    y4m = tmp_path / "chen.y4m"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(still), "-t", "2",
         "-r", "10", "-pix_fmt", "yuv420p", str(y4m)],
        check=True, timeout=120,
    )  # fmt: skip
    b = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=2",
            f"--use-file-for-fake-video-capture={y4m}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield b
    b.close()


def read_card(live: LiveServer, kiosk: Page, key: str) -> None:
    """What the kiosk page does with a bridge read: post the card with its credential."""
    credential = kiosk.evaluate("localStorage.getItem('cloudwindow.kiosk.credential')")
    with httpx.Client(base_url=live.url, timeout=30) as c:
        r = c.post(
            "/api/kiosk/identity/id-card",
            json=person(key).id_card(),
            headers={"Authorization": f"Bearer {credential}"},
        )
        assert r.status_code == 201, r.text


def test_face_check_consent_match_then_mismatch_and_override(
    face_browser: Browser,
    case_live: LiveServer,  # noqa: F811
) -> None:
    kiosk, agent = start_call(case_live, face_browser)
    panel = agent.get_by_test_id("agent-identity")
    expect(panel.get_by_test_id("agent-identity-nocard")).to_be_visible()
    expect(panel.get_by_test_id("agent-identity-facecheck")).to_be_disabled()

    chen = person("chen")
    read_card(case_live, kiosk, "chen")
    card = panel.get_by_test_id("agent-identity-card")
    masked = chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]
    expect(card.get_by_test_id("agent-identity-number")).to_have_text(masked)
    expect(card).to_contain_text("陈**")
    expect(card.get_by_test_id("agent-identity-expiry")).to_have_text("证件有效")
    expect(panel.get_by_test_id("agent-identity-photo")).to_be_visible()
    assert chen.id_number not in agent.content()

    panel.get_by_test_id("agent-identity-facecheck").click()
    consent = kiosk.get_by_test_id("kiosk-consent")
    expect(consent).to_be_visible()
    expect(consent).to_contain_text("收集什么")
    expect(consent).to_contain_text("保存多久")
    snap(kiosk, "01-kiosk-consent")
    snap(agent, "02-agent-card-read")
    consent.get_by_test_id("kiosk-consent-yes").click()
    expect(panel.get_by_test_id("agent-identity-consent")).to_have_text("已同意")

    face = kiosk.get_by_test_id("kiosk-face-check")
    expect(face).to_have_attribute("data-phase", "live")
    snap(kiosk, "03-kiosk-camera-oval")
    face.get_by_test_id("kiosk-face-start").click()
    expect(face.get_by_test_id("kiosk-face-countdown")).to_be_visible()
    snap(kiosk, "04-kiosk-countdown")
    expect(face).to_have_attribute("data-outcome", "match", timeout=20_000)
    expect(face.get_by_test_id("kiosk-face-result")).to_contain_text("核验通过")
    snap(kiosk, "05-kiosk-match")
    check = panel.get_by_test_id("agent-identity-check")
    expect(check).to_have_attribute("data-outcome", "match")
    expect(panel).to_have_attribute("data-verified", "yes")
    expect(panel.get_by_test_id("agent-identity-score")).to_contain_text("相似度")
    snap(agent, "06-agent-match")
    face.get_by_test_id("kiosk-face-done").click()
    expect(kiosk.get_by_test_id("kiosk-identity")).to_have_count(0)

    # The verified card fills the case form (server-side copy): both ends show it.
    agent.get_by_test_id("case-open").click()
    expect(kiosk.get_by_test_id("kiosk-case-review")).to_be_visible(timeout=10_000)
    panel.get_by_test_id("agent-identity-fill").click()
    for page in (agent, kiosk):
        expect(page.locator(FIELD.format("applicant_name"))).to_have_value(chen.name)
        expect(page.locator(FIELD.format("id_number"))).to_have_value(chen.id_number)
    snap(agent, "07-agent-case-filled")

    # Another card (li) while the camera still shows chen: mismatch, then manual override.
    read_card(case_live, kiosk, "li")
    expect(panel).to_have_attribute("data-verified", "no")
    panel.get_by_test_id("agent-identity-facecheck").click()
    face = kiosk.get_by_test_id("kiosk-face-check")  # consent given already: straight on
    expect(face).to_have_attribute("data-phase", "live")
    face.get_by_test_id("kiosk-face-start").click()
    expect(face).to_have_attribute("data-outcome", "mismatch", timeout=20_000)
    expect(face.get_by_test_id("kiosk-face-start")).to_have_text("重新拍照")
    snap(kiosk, "08-kiosk-mismatch")
    expect(check).to_have_attribute("data-outcome", "mismatch")
    panel.get_by_test_id("agent-identity-override").click()
    box = agent.locator(".el-message-box")
    box.locator("textarea").fill("好")
    box.locator(".el-message-box__btns .el-button--primary").click()
    expect(box).to_contain_text("理由至少 4 个字")
    snap(agent, "09-agent-override-reason")
    box.locator("textarea").fill("视频中核对本人与证件照片一致")
    box.locator(".el-message-box__btns .el-button--primary").click()
    expect(panel.get_by_test_id("agent-identity-overridden")).to_contain_text("人工核验通过")
    expect(panel).to_have_attribute("data-verified", "yes")
    snap(agent, "10-agent-overridden")
