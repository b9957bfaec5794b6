"""Parsing of catalogue file cells (no database): every problem named by column."""

from __future__ import annotations

from cloudwindow.catalog.transfer import LABEL, item_cells, parse_row
from cloudwindow.sample.load import catalog_items


def _cells(**over: str) -> dict[str, str]:
    base = {
        "code": "440118-GG-9999",
        "name": "测试",
        "department_code": "ZC-SBJ",
        "level": "区",
        "type": "公共服务",
        "audience": "个人；法人",
        "materials": "居民身份证|原件|1|是\n户口簿|复印件|2|否|首页",
        "legal_days": "5",
        "promised_days": "1",
        "fee": "0",
        "skill_group_code": "general",
        "cloud_capable": "是",
        "cloud_enabled": "否",
        "active": "是",
    }
    base.update(over)
    return base


def test_a_good_row_parses() -> None:
    result = parse_row(2, _cells())
    assert result.issues == []
    assert result.values["audience"] == ["individual", "legal_person"]
    assert result.values["materials"][1] == {
        "name": "户口簿",
        "form": "copy",
        "copies": 2,
        "required": False,
        "note": "首页",
    }
    assert result.values["level"] == "district"


def test_english_values_are_accepted() -> None:
    result = parse_row(
        2,
        _cells(
            level="town", type="administrative_license", audience="individual", cloud_enabled="true"
        ),
    )
    assert result.issues == []
    assert result.values["cloud_enabled"] is True


def test_each_bad_cell_is_reported_with_its_column() -> None:
    result = parse_row(
        7,
        _cells(
            level="省", legal_days="五", fee="abc", cloud_capable="也许", name="", materials="||"
        ),
    )
    got = {(i.row, i.column, i.error_id) for i in result.issues}
    assert got == {
        (7, LABEL["level"], "unknown-value"),
        (7, LABEL["legal_days"], "not-an-integer"),
        (7, LABEL["fee"], "not-a-decimal"),
        (7, LABEL["cloud_capable"], "not-a-boolean"),
        (7, LABEL["name"], "value-required"),
        (7, LABEL["materials"], "material-invalid"),
    }
    for issue in result.issues:
        assert issue.message["zh-CN"] and issue.message["en"]


def test_sample_items_survive_cell_round_trip() -> None:
    from cloudwindow.catalog.transfer import COLUMNS

    for item in catalog_items(full=False):
        cells = dict(zip([k for k, _ in COLUMNS], map(str, item_cells(item)), strict=True))
        result = parse_row(2, cells)
        assert result.issues == [], item["code"]
        for key in (
            "code",
            "name",
            "keywords",
            "audience",
            "legal_days",
            "promised_days",
            "skill_group_code",
        ):
            assert result.values[key] == item[key], (item["code"], key)
        assert result.values["materials"] == item["materials"], item["code"]
