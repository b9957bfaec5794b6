"""The console's form editor in a real browser: an administrator opens an item's
generated form, sees the live preview check an ID number, adds a required field and
publishes version 1, which the API then serves."""

from __future__ import annotations

import re

from e2e.test_console import login
from playwright.sync_api import Page, expect

from conftest import LiveServer, on_one_backend, shot, unique

# The form editor is the same code on both databases (test_forms_api runs on each):
# SQLite, as in `make demo`.
pytestmark = on_one_backend("sqlite")


def _new_item(live: LiveServer) -> tuple[str, str]:
    code, name = unique("FE-"), f"表单编辑测试{unique()}"
    with live.as_user("admin") as admin:
        r = admin.post(
            "/api/service-items",
            json={
                "code": code,
                "name": name,
                "department_code": "ZC-SBJ",
                "level": "town",
                "type": "public_service",
                "audience": ["individual"],
                "legal_days": 20,
                "promised_days": 5,
                "skill_group_code": "social-security",
            },
        )
        assert r.status_code == 201, r.text
    return code, name


def test_admin_edits_previews_and_publishes_a_form(page: Page, live: LiveServer) -> None:
    code, name = _new_item(live)
    login(page, live, "admin")
    page.get_by_test_id("menu-forms").click()
    picker = page.get_by_test_id("forms-item")
    picker.click()
    page.keyboard.type(code)
    page.locator(".el-select-dropdown__item", has_text=code).click()

    status = page.get_by_test_id("forms-status")
    expect(status).to_contain_text("系统按事项目录生成的默认表单")
    preview = page.get_by_test_id("forms-preview")
    expect(preview).to_contain_text(f"{name}申请表")

    # The live preview checks an ID number's check digit as soon as the field is left.
    id_input = preview.get_by_test_id("form-field-id_number").locator("input")
    id_input.fill("110105194912310021")
    id_input.blur()
    expect(preview.get_by_test_id("form-field-id_number")).to_contain_text(
        "不是有效的 18 位身份证号码"
    )
    id_input.fill("11010519491231002X")
    id_input.blur()
    expect(
        preview.get_by_test_id("form-field-id_number").get_by_test_id("field-error")
    ).to_have_count(0)

    # Add a required field to the last section and give it a title.
    page.get_by_test_id("fe-add-details").click()
    new_field = page.get_by_test_id("fe-field-field_6")
    new_field.get_by_test_id("fe-title").fill("家庭人口数")  # el-input puts it on <input>
    new_field.get_by_test_id("fe-required").click()
    expect(preview.get_by_test_id("form-field-field_6")).to_contain_text("家庭人口数")
    expect(
        preview.get_by_test_id("form-field-field_6").get_by_test_id("required-mark")
    ).to_have_count(1)
    expect(page.get_by_test_id("forms-dirty")).to_be_visible()
    shot(page, "console-forms-editor")

    page.get_by_test_id("forms-publish").click()
    page.get_by_test_id("forms-publish-note").fill("新增家庭人口数")
    page.get_by_test_id("forms-publish-confirm").click()
    expect(page.get_by_test_id("forms-current-version")).to_have_text("当前：第 1 版")
    expect(status).to_contain_text("家庭人口数（field_6）新增")
    expect(page.get_by_test_id("forms-dirty")).to_have_count(0)
    shot(page, "console-forms-published")

    # The preview as the kiosk shows it: touch size, personal data masked.
    preview.get_by_test_id("form-field-phone").locator("input").fill("13800138000")
    preview.get_by_text("遮盖个人信息").click()
    preview.get_by_text("触屏大字").click()
    expect(preview.get_by_test_id("form-field-phone")).to_contain_text("138****8000")
    expect(preview.get_by_test_id("form-field-phone").locator("input")).to_have_count(0)
    expect(preview.get_by_test_id("schema-form")).to_have_class(re.compile("sf--large"))
    shot(page, "console-forms-preview-kiosk")

    with live.as_user("admin") as admin:
        form = admin.get(f"/api/service-items/{code}/form").json()
    assert form["version"] == 1 and form["note"] == "新增家庭人口数"
    assert form["schema"]["properties"]["field_6"]["title"] == "家庭人口数"
    assert "field_6" in form["schema"]["required"]
