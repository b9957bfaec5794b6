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
from pathlib import Path

from e2e.test_call import media_browser, start_call  # noqa: F401 (media_browser: fixture)
from e2e.test_case_flow import case_live  # noqa: F401 (a fixture)
from e2e.test_console import login
from e2e.test_identity_ui import read_card
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.people import person
from conftest import LiveServer

SHOTS = Path(os.environ.get("CLOUDWINDOW_SCREENSHOTS", "var/screenshots")) / "licences"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_consent_list_and_use_a_licence_for_a_material(
    media_browser: Browser,  # noqa: F811
    case_live: LiveServer,  # noqa: F811
) -> None:
    kiosk, agent = start_call(case_live, media_browser)
    read_card(case_live, kiosk, "chen")
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
    with case_live.as_user("supervisor") as sup:
        case_id = sup.get("/api/cases", params={"page_size": 1}).json()["items"][0]["id"]
    console = media_browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = console.new_page()
    login(page, case_live, "supervisor")
    page.goto(f"{case_live.url}/console/#/cases/{case_id}")
    material = page.get_by_test_id("case-detail-material-M02")
    expect(material.get_by_test_id("licence-badge")).to_contain_text("居民身份证")
    material.scroll_into_view_if_needed()
    snap(page, "06-console-case-detail")
    console.close()
