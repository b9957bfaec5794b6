"""A kiosk outside business hours offers an appointment instead of a queue: the citizen
picks a day and a slot, types a phone number on the keypad and sees the code, big."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from e2e.test_queue_flow import enrollment_code, page_for
from playwright.sync_api import Browser, expect

from conftest import (
    LiveServer,
    make_database_url,
    prepare_database,
    settings_for,
    shot,
    start_server,
)

ITEM = "440118-GG-0002"
CHINA = timezone(timedelta(hours=8))


@pytest.fixture()
def closed_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    hour = datetime.now(CHINA).hour
    hours = [["09:00", "11:00"]] if not 9 <= hour < 11 else [["14:00", "16:00"]]
    with server.as_user("admin") as admin:
        r = admin.patch("/api/skill-groups/social-security", json={"business_hours": hours})
        assert r.status_code == 200
    yield server
    server.stop()


def test_kiosk_outside_hours_books_an_appointment(
    browser: Browser, closed_live: LiveServer
) -> None:
    kiosk = page_for(browser, 1080, 1920)
    kiosk.goto(f"{closed_live.url}/kiosk/")
    kiosk.get_by_test_id("kiosk-enroll-input").fill(enrollment_code(closed_live))
    kiosk.get_by_test_id("kiosk-enroll-submit").click()
    kiosk.get_by_test_id("kiosk-start").click()
    kiosk.get_by_test_id("kiosk-search").fill("sbk")
    kiosk.locator(f'[data-test="kiosk-item"][data-code="{ITEM}"]').click()
    kiosk.get_by_test_id("kiosk-take").click()
    kiosk.get_by_test_id("kiosk-priority-normal").click()

    expect(kiosk.get_by_test_id("kiosk-closed")).to_be_visible()
    expect(kiosk.get_by_test_id("kiosk-closed")).to_contain_text("当前不在服务时间")
    shot(kiosk, "kiosk-closed-offer")
    kiosk.get_by_test_id("kiosk-offer-appointment").click()
    kiosk.get_by_test_id("kiosk-appt-day").first.click()
    shot(kiosk, "kiosk-appointment-slots")
    kiosk.get_by_test_id("kiosk-appt-slot").first.click()
    for digit in "13812345678":
        kiosk.get_by_test_id(f"pad-{digit}").click()
    expect(kiosk.get_by_test_id("kiosk-phone-display")).to_have_text("138 1234 5678")
    shot(kiosk, "kiosk-appointment-phone")
    kiosk.get_by_test_id("kiosk-appt-confirm").click()

    code = kiosk.get_by_test_id("kiosk-appt-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(kiosk.get_by_test_id("kiosk-appt-done")).to_contain_text("138****5678")
    expect(kiosk.get_by_test_id("kiosk-appt-done")).not_to_contain_text("13812345678")
    shot(kiosk, "kiosk-appointment-code")
    with closed_live.as_user("supervisor") as sup:
        booked = sup.get("/api/appointments", params={"state": "booked"}).json()["items"]
    assert [a["code"] for a in booked] == [code.inner_text()]
    # 完成 wipes the screen for the next citizen.
    kiosk.get_by_test_id("kiosk-appt-finish").click()
    expect(kiosk.get_by_test_id("kiosk-start")).to_be_visible()
