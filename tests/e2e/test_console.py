"""The console in a real browser: Chinese login page, admin catalogue, pinyin search, a skill
group's service hours and closed days."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from cloudwindow.cases.deadlines import KNOWN_YEARS
from cloudwindow.sample.load import DEMO_PASSWORD
from conftest import LiveServer, on_one_backend, shot, unique

# The console's pages are the same code on both databases: SQLite, as in `make demo`.
pytestmark = on_one_backend("sqlite")


def login(page: Page, live: LiveServer, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{live.url}/console/#/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_login_page_renders_in_chinese(page: Page, live: LiveServer) -> None:
    page.goto(f"{live.url}/console/")
    expect(page.get_by_text("用户登录")).to_be_visible()
    expect(page.get_by_test_id("login-submit")).to_have_text(re.compile("登\\s*录"))
    expect(page).to_have_title(re.compile("云窗口"))
    shot(page, "console-login")


def test_wrong_password_shows_the_servers_message(page: Page, live: LiveServer) -> None:
    login(page, live, "agent02", "definitely-wrong")
    expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码错误")


def test_admin_sees_the_catalogue_and_sbk_finds_social_security_cards(
    page: Page, live: LiveServer
) -> None:
    login(page, live, "admin")
    table = page.get_by_test_id("catalog-table")
    expect(table).to_be_visible()
    total = page.locator(".el-pagination__total")
    # The pager shows 共 0 条 until the first page arrives: wait for a 3-digit total.
    expect(total).to_contain_text(re.compile(r"共\s*\d{3,}\s*条"))
    count = int(re.sub(r"\D", "", total.inner_text()))
    assert count >= 150
    shot(page, "console-catalog")
    page.get_by_test_id("catalog-search").fill("sbk")
    expect(table.get_by_text("社会保障卡补领")).to_be_visible()
    expect(total).not_to_contain_text(str(count))
    names = table.locator("tbody tr").all_inner_texts()
    assert len(names) >= 5
    assert all("社会保障卡" in n or "社保" in n or "参保" in n or "一件事" in n for n in names)
    shot(page, "console-catalog-sbk")


def test_an_agent_cannot_see_administration(page: Page, live: LiveServer) -> None:
    login(page, live, "agent03")
    expect(page.get_by_test_id("catalog-table")).to_be_visible()
    expect(page.get_by_test_id("catalog-create")).to_have_count(0)
    expect(page.get_by_test_id("catalog-import")).to_have_count(0)
    expect(page.get_by_role("menuitem", name="用户")).to_have_count(0)


def _weekend_and_monday(year: int) -> tuple[str, str, str]:
    """The first Saturday, Sunday and Monday after the 20th of February of ``year``."""
    day = date(year, 2, 20)
    while day.weekday() != 5:
        day += timedelta(days=1)
    return day.isoformat(), (day + timedelta(1)).isoformat(), (day + timedelta(2)).isoformat()


def test_admin_enters_next_years_holiday_notice(page: Page, live: LiveServer) -> None:
    login(page, live, "admin")
    page.goto(f"{live.url}/console/#/holiday-calendar")
    view = page.get_by_test_id("holiday-calendar")
    first, last = KNOWN_YEARS.start, KNOWN_YEARS.stop - 1
    expect(view.get_by_text(f"{first}–{last}")).to_be_visible()  # what the package carries
    page.get_by_test_id("calendar-add").click()
    year = int(page.get_by_test_id("calendar-year").locator("input").input_value())
    assert year == last + 1
    saturday, sunday, monday = _weekend_and_monday(year)
    holidays = page.get_by_test_id("calendar-holidays")
    holidays.fill(f"{year}-01-01\n{year}-02-06~{year}-02-1x")
    page.get_by_test_id("calendar-save").click()
    expect(page.get_by_test_id("calendar-error")).to_contain_text(f"{year}-02-06~{year}-02-1x")
    holidays.fill(f"{year}-01-01\n{year}-02-06~{year}-02-12")
    page.get_by_test_id("calendar-workdays").fill(monday)
    page.get_by_test_id("calendar-save").click()
    expect(page.get_by_text("调休上班日应为周六或周日")).to_be_visible()  # the server refuses
    page.get_by_test_id("calendar-workdays").fill(f"{saturday}\n{sunday}")
    page.get_by_test_id("calendar-notice").fill("国办发明电（测试）")
    page.get_by_test_id("calendar-save").click()
    expect(page.get_by_text(f"已保存 {year} 年节假日安排")).to_be_visible()
    row = page.get_by_test_id(f"calendar-holidays-{year}")
    expect(row).to_have_text(f"{year}-01-01，{year}-02-06~{year}-02-12")
    expect(page.get_by_test_id("calendar-save")).to_be_hidden()
    shot(page, "console-holiday-calendar")
    page.get_by_role("button", name="删除").click()
    page.locator(".el-message-box").get_by_role("button", name=re.compile("确定|OK")).click()
    expect(page.get_by_text("尚未录入任何年份")).to_be_visible()


def _pick_time(page: Page, field: str, value: str) -> None:
    page.get_by_test_id(field).click()
    option = page.locator(".el-select-dropdown__item:visible", has_text=re.compile(f"^{value}$"))
    option.click()
    expect(option).to_be_hidden()


def test_admin_sets_a_skill_groups_hours_and_closed_day(
    page: Page, live: LiveServer, admin: httpx.Client
) -> None:
    code = unique("e2e-hours-").lower()
    made = admin.post("/api/skill-groups", json={"code": code, "name": f"时段测试{code[-4:]}"})
    assert made.status_code == 201, made.text
    try:
        login(page, live, "admin")
        expect(page.get_by_test_id("catalog-table")).to_be_visible()
        page.goto(f"{live.url}/console/#/skill-groups")
        # the 20th of the month the picker opens on (the browser's today)
        year, month = page.evaluate("() => [new Date().getFullYear(), new Date().getMonth() + 1]")
        closed = date(year, month, 20).isoformat()
        page.get_by_placeholder("按名称或编码搜索").fill(code)
        expect(page.get_by_test_id(f"sg-hours-{code}")).to_have_text("不限时段")
        page.locator(".el-table__row", has_text=code).get_by_role("button", name="编辑").click()
        page.get_by_test_id("hours-mode-custom").click()  # starts from 09:00–12:00, 13:30–17:00
        _pick_time(page, "hours-end-0", "08:30")
        page.get_by_test_id("dialog-save").click()
        expect(page.get_by_text("第 1 个时段的结束时间应晚于开始时间")).to_be_visible()
        assert admin.get(f"/api/skill-groups/{code}").json()["business_hours"] is None
        _pick_time(page, "hours-start-0", "08:30")
        _pick_time(page, "hours-end-0", "12:00")
        _pick_time(page, "hours-start-1", "14:00")
        _pick_time(page, "hours-end-1", "17:30")
        expect(page.get_by_text("第 1 个时段的结束时间应晚于开始时间")).to_be_hidden()
        page.get_by_test_id("closed-days").click()
        panel = page.locator(".el-picker-panel:visible")
        panel.locator(
            "td.available:not(.prev-month):not(.next-month)", has_text=re.compile(r"^\s*20\s*$")
        ).click()
        panel.get_by_role("button", name=re.compile("确定|OK")).click()
        expect(panel).to_be_hidden()
        shot(page, "console-skill-group-hours")
        page.get_by_test_id("dialog-save").click()
        expect(page.get_by_test_id(f"sg-hours-{code}")).to_have_text("08:30–12:00, 14:00–17:30")
        expect(page.get_by_test_id(f"sg-days-{code}")).to_have_text("暂停 1 天")
        shot(page, "console-skill-groups")
        group = admin.get(f"/api/skill-groups/{code}").json()
        assert group["business_hours"] == [["08:30", "12:00"], ["14:00", "17:30"]]
        assert group["closed_days"] == [closed]
        assert group["open_days"] is None
    finally:
        admin.post(f"/api/skill-groups/{code}/deactivate")
