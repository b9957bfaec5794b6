"""The supervisor's video quality page in a real browser: a saturated kiosk site, live
calls with their frame rate, and a quality alert raised by a stuttering call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.test_console import login
from integration.test_media_quality import open_call, quality_server, report
from integration.test_queue_ws import social_security_agents
from playwright.sync_api import Page, expect

from conftest import LiveServer, shot


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = quality_server(tmp_path, media_stats_interval_seconds=0.002)
    yield live
    live.stop()


def test_supervisor_sees_saturated_site_live_calls_and_alerts(
    page: Page, server: LiveServer
) -> None:
    with server.as_user("admin") as admin:
        site_id = admin.get("/api/sites", params={"type": "village"}).json()["items"][0]["id"]
        admin.patch(f"/api/sites/{site_id}", json={"uplink_kbps": 1000, "downlink_kbps": 8000})
    names = social_security_agents(server)
    kiosk1, agent1, first = open_call(server, names[0])
    kiosk2, agent2, second = open_call(server, names[1])
    for _ in range(3):
        agent1.request("media.stats", report(first, fps=28))
        kiosk2.request("media.stats", report(second, fps=24, jb=60))
        agent2.request("media.stats", report(second, fps=27))
    # The first call's kiosk receives stuttering video: 10 s under 15 fps → an alert.
    for _ in range(5):
        kiosk1.request("media.stats", report(first, fps=6))

    login(page, server, "supervisor")
    page.goto(f"{server.url}/console/#/quality")
    expect(page.get_by_test_id("quality-live-calls")).to_have_text("2")
    saturated = page.get_by_test_id("site-saturated")
    expect(saturated).to_have_count(1)
    expect(saturated).to_contain_text("线路繁忙")
    expect(page.get_by_test_id("quality-open-alerts")).to_have_text("1")
    expect(page.get_by_test_id("call-alert")).to_contain_text("帧率过低")
    expect(page.get_by_test_id("quality-alert").first).to_contain_text("未恢复")
    page.wait_for_timeout(300)
    shot(page, "console-quality")
    for c in (kiosk1, agent1, kiosk2, agent2):
        c.close()
