"""A case from the video session to cloud approval, end to end in Chromium with fake
cameras (issue 5): the kiosk queues for 社会保障卡补领 and the agent answers; the agent
opens a case and types the form while the kiosk shows each keystroke; the citizen
corrects the phone number on the kiosk's keypad and confirms (确认无误); the agent has
the kiosk's (fake) document camera capture the two required materials, accepts them and
accepts the case (受理, receipt on the kiosk); the approver returns it for correction,
the agent has the ID card captured again and resubmits, the approver approves (办结);
the citizen looks the case up by number + phone at the kiosk and on the web page.

Screenshots of every screen go to var/screenshots/case-flow/ (not committed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.test_call import media_browser, start_call  # noqa: F401 (media_browser: fixture)
from e2e.test_console import login
from e2e.test_queue_flow import page_for
from playwright.sync_api import Browser, Page, expect

from cloudwindow.cases.forms import resident_id_check_char
from conftest import LiveServer, make_database_url, prepare_database, settings_for, start_server

SHOTS = Path(os.environ.get("CLOUDWINDOW_SCREENSHOTS", "var/screenshots")) / "case-flow"
NAME = "陈美玲"
ID17 = "44018319560312002"
ID_NUMBER = ID17 + resident_id_check_char(ID17)
TYPED_PHONE = "13800138000"  # what the agent hears and types …
PHONE = "13926051234"  # … and what the citizen corrects it to on the kiosk
ADDRESS = "广州市增城区荔城街府佑路 8 号"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def field(name: str) -> str:
    """The input of a form field (web/src/lib/forms/SchemaForm.vue)."""
    return f'[data-test="form-field-{name}"] input, [data-test="form-field-{name}"] textarea'


@pytest.fixture()
def case_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    # Five pages with live video on a small shared machine: give each step more than the
    # default 5 s to show (a wrong page still fails, only later).
    expect.set_options(timeout=15_000)
    yield server
    expect.set_options(timeout=5_000)
    server.stop()


def capture(agent: Page, kiosk: Page, code: str, shot: str | None = None) -> None:
    """The agent asks for `code`; the kiosk shows the framing guide and takes the still;
    the agent sees it and accepts it."""
    files = agent.locator(f'[data-test="case-material-{code}"] [data-test^="case-material-file-"]')
    before = files.count()
    agent.get_by_test_id(f"case-material-capture-{code}").click()
    cap = kiosk.get_by_test_id("kiosk-capture")
    expect(cap).to_have_attribute("data-code", code)
    expect(cap).to_have_attribute("data-phase", "live", timeout=10_000)
    if shot:
        snap(kiosk, shot)
    kiosk.get_by_test_id("kiosk-capture-shoot").click()
    expect(files).to_have_count(before + 1, timeout=15_000)
    still = files.last
    expect(still).to_have_attribute("data-status", "pending")
    expect(still.locator("img")).to_be_visible()  # the still, fetched with the agent's token
    still.locator('[data-test^="case-material-accept-"]').click()
    expect(still).to_have_attribute("data-status", "accepted")
    expect(agent.get_by_test_id(f"case-material-{code}")).to_have_attribute(
        "data-status", "accepted"
    )


def test_case_from_session_to_approval_and_lookup(
    media_browser: Browser,  # noqa: F811
    case_live: LiveServer,
) -> None:
    kiosk, agent = start_call(case_live, media_browser)

    # The agent opens a case for the ticket's item; the kiosk shows the shared form.
    agent.get_by_test_id("case-open").click()
    panel = agent.get_by_test_id("case-panel")
    expect(panel).to_have_attribute("data-state", "draft")
    number = agent.get_by_test_id("case-number").inner_text()
    assert re.fullmatch(r"CW\d{8}-\d{6}", number), number
    expect(kiosk.get_by_test_id("kiosk-case-review")).to_be_visible(timeout=10_000)
    expect(agent.get_by_test_id("case-blockers")).to_contain_text("群众尚未在终端上确认")

    # Remote assistance: the kiosk shows the form growing with each keystroke.
    for i, char in enumerate(NAME, start=1):
        agent.locator(field("applicant_name")).press_sequentially(char)
        expect(kiosk.locator(field("applicant_name"))).to_have_value(NAME[:i])
    for i, digit in enumerate(TYPED_PHONE, start=1):
        agent.locator(field("phone")).press_sequentially(digit)
        expect(kiosk.locator(field("phone"))).to_have_value(TYPED_PHONE[:i])
    agent.locator(field("id_number")).press_sequentially(ID_NUMBER, delay=15)
    agent.locator(field("address")).press_sequentially(ADDRESS, delay=15)
    expect(kiosk.locator(field("id_number"))).to_have_value(ID_NUMBER)
    expect(kiosk.locator(field("address"))).to_have_value(ADDRESS)
    snap(kiosk, "01-kiosk-review-agent-typing")
    snap(agent, "02-agent-case-form")

    # The citizen corrects the phone number on the kiosk's keypad; the agent sees it.
    kiosk.locator(field("phone")).click()
    keypad = kiosk.get_by_test_id("kiosk-case-keypad")
    expect(keypad).to_be_visible()
    snap(kiosk, "03-kiosk-correcting-phone")
    keypad.locator('[data-key="clear"]').click()
    for digit in PHONE:
        keypad.locator(f'[data-key="{digit}"]').click()
    keypad.locator('[data-key="close"]').click()
    expect(kiosk.locator(field("phone"))).to_have_value(PHONE)
    expect(agent.locator(field("phone"))).to_have_value(PHONE)
    expect(agent.get_by_test_id("case-citizen-edit")).to_have_attribute("data-field", "phone")
    snap(agent, "04-agent-sees-citizen-correction")

    # 确认无误 on the kiosk: the agent sees the confirmation.
    kiosk.get_by_test_id("kiosk-case-confirm").click()
    expect(kiosk.get_by_test_id("kiosk-case-confirmed")).to_be_visible()
    expect(agent.get_by_test_id("case-confirmed")).to_be_visible()
    expect(agent.get_by_test_id("case-accept")).to_be_disabled()  # materials still missing
    expect(agent.get_by_test_id("case-blockers")).to_contain_text("必需材料")
    snap(kiosk, "05-kiosk-confirmed")

    # Materials through the kiosk's document camera, each accepted by the agent.
    capture(agent, kiosk, "M01", shot="06-kiosk-capture-framing-guide")
    capture(agent, kiosk, "M02")
    snap(agent, "07-agent-materials-accepted")

    # 受理: the receipt on the kiosk, number and due date on the agent's panel.
    expect(agent.get_by_test_id("case-accept")).to_be_enabled()
    agent.get_by_test_id("case-accept").click()
    expect(panel).to_have_attribute("data-state", "under_approval")
    expect(agent.get_by_test_id("case-due")).to_have_text(re.compile(r"\d{4}年\d{2}月\d{2}日"))
    # 社会保障卡补领 is 即办 (0 working days): due the day it is accepted.
    expect(agent.get_by_test_id("case-days-left")).to_have_text(re.compile("今日到期|工作日"))
    receipt = kiosk.get_by_test_id("kiosk-receipt")
    expect(receipt).to_be_visible(timeout=10_000)
    expect(kiosk.get_by_test_id("kiosk-receipt-number")).to_have_text(number)
    expect(receipt).to_contain_text("139****1234")
    snap(kiosk, "08-kiosk-receipt")
    snap(agent, "09-agent-accepted")

    # 云端批: the approver of 区社保局 returns it: the ID card copy is not legible.
    console = page_for(media_browser, 1400, 900)
    login(console, case_live, "approver")
    expect(console.get_by_test_id("approvals-page")).to_be_visible(timeout=20_000)
    console.get_by_test_id(f"approval-open-{number}").click()
    expect(console.get_by_test_id("case-detail")).to_have_attribute("data-state", "under_approval")
    expect(console.locator('[data-test="case-detail-material-M02"] img')).to_be_visible()
    expect(console.locator('[data-test="form-field-applicant_name"]')).to_contain_text(NAME)
    snap(console, "10-approver-case")
    console.get_by_test_id("approval-decision-return").click()
    console.get_by_test_id("approval-missing-M02").click()
    console.get_by_test_id("approval-reason").fill("身份证照片反光，号码看不清")
    snap(console, "11-approver-returning")
    console.get_by_test_id("approval-submit").click()
    expect(console.get_by_test_id("case-detail")).to_have_attribute("data-state", "returned")

    # The agent (still with the citizen) sees the correction, has the ID card captured
    # again and resubmits; the kiosk shows what is missing meanwhile.
    expect(panel).to_have_attribute("data-state", "returned", timeout=10_000)
    expect(agent.get_by_test_id("case-correction")).to_contain_text("居民身份证")
    expect(kiosk.get_by_test_id("kiosk-case-correction")).to_contain_text("身份证照片反光")
    snap(kiosk, "12-kiosk-returned")
    capture(agent, kiosk, "M02")
    agent.get_by_test_id("case-resubmit").click()
    agent.locator(".el-message-box__input input").fill("已重新拍摄身份证")
    agent.locator(".el-message-box__btns .el-button--primary").click()
    expect(panel).to_have_attribute("data-state", "under_approval")

    # The approver's page follows (cases.changed) and approves the new round: 办结.
    expect(console.get_by_test_id("case-detail")).to_have_attribute(
        "data-state", "under_approval", timeout=10_000
    )
    console.get_by_test_id("approval-decision-approve").click()
    console.get_by_test_id("approval-submit").click()
    console.locator(".el-message-box__btns .el-button--primary").click()
    expect(console.get_by_test_id("case-detail")).to_have_attribute("data-state", "concluded")
    snap(console, "13-approver-concluded")
    expect(panel).to_have_attribute("data-state", "concluded", timeout=10_000)
    agent.get_by_test_id("agent-end").click()
    expect(agent.get_by_test_id("agent-wrapup")).to_be_visible()

    # 办件查询 at the kiosk: number and phone on the keypads.
    kiosk.get_by_test_id("kiosk-home").click()
    kiosk.get_by_test_id("kiosk-case-lookup").click()
    for digit in number.replace("CW", "").replace("-", ""):
        kiosk.get_by_test_id(f"pad-{digit}").click()
    for digit in PHONE:
        kiosk.get_by_test_id(f"pad-{digit}").click()
    snap(kiosk, "14-kiosk-lookup")
    kiosk.get_by_test_id("kiosk-lookup-submit").click()
    progress = kiosk.get_by_test_id("case-progress")
    expect(progress).to_have_attribute("data-state", "concluded")
    expect(kiosk.get_by_test_id("case-progress-state")).to_have_text("已办结")
    snap(kiosk, "15-kiosk-lookup-concluded")

    # And on the citizen web page at home: a wrong phone reveals nothing.
    home = page_for(media_browser, 430, 900)
    home.goto(f"{case_live.url}/lookup/")
    home.get_by_test_id("citizen-lookup-number").fill(number.lower().replace("-", ""))
    home.get_by_test_id("citizen-lookup-phone").fill("13900000000")
    home.get_by_test_id("citizen-lookup-submit").click()
    expect(home.get_by_test_id("citizen-lookup-error")).to_be_visible()
    expect(home.get_by_test_id("case-progress")).to_have_count(0)
    expect(home.locator("body")).not_to_contain_text("社会保障卡补领")
    snap(home, "16-web-lookup-wrong-phone")
    home.get_by_test_id("citizen-lookup-phone").fill(PHONE)
    home.get_by_test_id("citizen-lookup-submit").click()
    expect(home.get_by_test_id("case-progress")).to_have_attribute("data-state", "concluded")
    expect(home.get_by_test_id("case-progress")).to_contain_text("社会保障卡补领")
    expect(home.get_by_test_id("case-progress")).to_contain_text("退回补正")
    snap(home, "17-web-lookup-concluded")

    # The supervisor's case list has it, concluded.
    sup = page_for(media_browser, 1400, 900)
    login(sup, case_live, "supervisor")
    sup.goto(f"{case_live.url}/console/#/cases")
    row = sup.get_by_test_id(f"case-row-{number}")
    expect(row).to_be_visible()
    expect(sup.locator(".el-table__row", has=row).get_by_test_id("case-state")).to_have_attribute(
        "data-state", "concluded"
    )
    snap(sup, "18-supervisor-cases")
