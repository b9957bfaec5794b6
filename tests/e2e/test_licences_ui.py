"""Electronic licences (免证办) in Chromium (docs/licences.md): in a video session the
kiosk has read ``chen``'s ID card; the agent opens the case and asks for consent in the
licence panel, the kiosk shows the consent screen for ``licence_fetch``, the citizen taps
同意, the agent's panel lists chen's licences (masked; the expired and the revoked one
marked and not offered) and uses the ID card for the material 居民身份证: the materials
list shows it as an electronic licence. A supervisor's console shows the same tag in the
case detail (the approver's page is the same component).

Screenshots go to var/screenshots/licences/ (not committed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e.test_call import start_call
from e2e.test_console import login
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.people import person
from conftest import (
    CHROMIUM,
    LiveServer,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
)

SHOTS = Path(os.environ.get("CLOUDWINDOW_SCREENSHOTS", "var/screenshots")) / "licences"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture()
def av_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium with fake camera and microphone (the call needs them)."""
    b = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=2",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield b
    b.close()


@pytest.fixture()
def lic_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    expect.set_options(timeout=15_000)
    yield server
    expect.set_options(timeout=5_000)
    server.stop()


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


def test_consent_list_and_use_a_licence_for_a_material(
    av_browser: Browser, lic_live: LiveServer
) -> None:
    kiosk, agent = start_call(lic_live, av_browser)
    read_card(lic_live, kiosk, "chen")
    agent.get_by_test_id("case-open").click()
    expect(kiosk.get_by_test_id("kiosk-case-review")).to_be_visible()

    panel = agent.get_by_test_id("licence-panel")
    expect(panel).to_have_attribute("data-phase", "idle")
    panel.scroll_into_view_if_needed()
    snap(agent, "01-agent-panel-idle")
    panel.get_by_test_id("licence-ask-consent").click()
    expect(panel).to_have_attribute("data-phase", "waiting")
    consent = kiosk.get_by_test_id("kiosk-licence-consent").get_by_test_id("kiosk-consent")
    expect(consent).to_have_attribute("data-purpose", "licence_fetch")
    expect(consent.get_by_test_id("kiosk-consent-yes")).to_be_enabled()
    snap(kiosk, "02-kiosk-consent")
    snap(agent, "03-agent-waiting")
    consent.get_by_test_id("kiosk-consent-yes").click()
    expect(kiosk.get_by_test_id("kiosk-licence-consent")).to_have_count(0)

    expect(panel).to_have_attribute("data-phase", "listed")
    chen = person("chen")
    masked = chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]
    listing = panel.get_by_test_id("licence-list")
    expect(listing).to_contain_text(masked)
    expect(listing).to_contain_text("依据：本次读取的身份证")
    expect(panel.get_by_test_id("licence-ID_CARD")).to_have_attribute("data-status", "valid")
    expect(panel.get_by_test_id("licence-DISABILITY")).to_have_attribute("data-status", "expired")
    expect(panel.get_by_test_id("licence-BUSINESS_LICENCE")).to_contain_text("已注销")
    assert chen.id_number not in agent.content()
    panel.scroll_into_view_if_needed()
    snap(agent, "04-agent-licences")

    panel.get_by_test_id("licence-use-ID_CARD-M02").click()
    row = agent.get_by_test_id("case-material-M02")
    expect(row).to_have_attribute("data-status", "accepted")
    expect(row.get_by_test_id("licence-badge")).to_contain_text("居民身份证")
    expect(panel.get_by_test_id("licence-ID_CARD")).to_contain_text("已用于：居民身份证")
    row.scroll_into_view_if_needed()
    snap(agent, "05-agent-material-from-licence")

    # The console's case detail (supervisor; the approver's page is the same component)
    with lic_live.as_user("supervisor") as sup:
        case_id = sup.get("/api/cases", params={"page_size": 1}).json()["items"][0]["id"]
    console = av_browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = console.new_page()
    login(page, lic_live, "supervisor")
    page.goto(f"{lic_live.url}/console/#/cases/{case_id}")
    material = page.get_by_test_id("case-detail-material-M02")
    expect(material.get_by_test_id("licence-badge")).to_contain_text("居民身份证")
    material.scroll_into_view_if_needed()
    snap(page, "06-console-case-detail")
    console.close()
