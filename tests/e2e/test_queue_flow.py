"""The queue end to end in real browsers (issue 3): a citizen on the kiosk page picks
社会保障卡补领, queues and sees position 1; an agent goes ready, gets the offer and
accepts; both pages show the session; the agent ends it with wrap-up; the metrics count
one answered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from cloudwindow.sample.load import DEMO_PASSWORD
from conftest import (
    LiveServer,
    make_database_url,
    prepare_database,
    settings_for,
    shot,
    start_server,
)

ITEM = "440118-GG-0002"


@pytest.fixture()
def queue_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    yield server
    server.stop()


def enrollment_code(live: LiveServer) -> str:
    with live.as_user("admin") as admin:
        site = admin.get("/api/sites", params={"type": "metro_station"}).json()["items"][0]
        tid = admin.post(
            "/api/terminals",
            json={
                "serial_number": "E2E-KIOSK-001",
                "name": "地铁站云窗口",
                "model": "extended",
                "site_id": site["id"],
            },
        ).json()["id"]
        return str(admin.post(f"/api/terminals/{tid}/enrollment-code").json()["code"])


def social_security_agent(live: LiveServer) -> str:
    with live.as_user("admin") as admin:
        users = admin.get("/api/users", params={"role": "agent", "page_size": 50}).json()
    return next(
        u["username"]
        for u in users["items"]
        if any(s["skill_group_code"] == "social-security" for s in u["skills"])
    )


def page_for(browser: Browser, width: int, height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    return context.new_page()


def test_kiosk_to_agent_session_and_wrap_up(browser: Browser, queue_live: LiveServer) -> None:
    kiosk = page_for(browser, 1080, 1920)
    kiosk.goto(f"{queue_live.url}/kiosk/")
    kiosk.get_by_test_id("kiosk-enroll-input").fill(enrollment_code(queue_live))
    kiosk.get_by_test_id("kiosk-enroll-submit").click()
    kiosk.get_by_test_id("kiosk-start").click()
    kiosk.get_by_test_id("kiosk-search").fill("sbk")
    kiosk.locator(f'[data-test="kiosk-item"][data-code="{ITEM}"]').click()
    kiosk.get_by_test_id("kiosk-take").click()
    kiosk.get_by_test_id("kiosk-priority-normal").click()
    expect(kiosk.get_by_test_id("kiosk-ticket-number")).to_have_text(re.compile(r"^A\d{3}$"))
    expect(kiosk.get_by_test_id("kiosk-position")).to_have_attribute("data-position", "1")
    shot(kiosk, "kiosk-queued")

    agent = page_for(browser, 1400, 900)
    agent.goto(f"{queue_live.url}/agent/")
    agent.get_by_test_id("agent-login-username").fill(social_security_agent(queue_live))
    agent.get_by_test_id("agent-login-password").fill(DEMO_PASSWORD)
    agent.get_by_test_id("agent-login-submit").click()
    agent.get_by_test_id("agent-ready").click()
    offer = agent.get_by_test_id("agent-offer")
    expect(offer).to_be_visible(timeout=15_000)
    expect(offer).to_contain_text("社会保障卡补领")
    shot(agent, "agent-offer")
    agent.get_by_test_id("agent-accept").click()

    expect(agent.get_by_test_id("agent-session")).to_be_visible()
    expect(kiosk.get_by_test_id("kiosk-session")).to_be_visible(timeout=10_000)
    expect(kiosk.get_by_test_id("kiosk-agent-name")).not_to_be_empty()
    shot(kiosk, "kiosk-session")
    shot(agent, "agent-session")

    agent.get_by_test_id("agent-end").click()
    expect(agent.get_by_test_id("agent-wrapup")).to_be_visible()
    agent.get_by_test_id("agent-wrapup-done").click()
    expect(agent.get_by_test_id("agent-state")).to_have_attribute("data-state", "ready")

    with queue_live.as_user("supervisor") as sup:
        report = sup.get("/api/queue/metrics", params={"window": "today"}).json()
    group = next(g for g in report["skill_groups"] if g["key"] == "social-security")
    assert group["answered"] == 1 and group["offered"] == 1
