"""Application forms: default forms from the catalogue, data validation with the
Chinese ID / mobile / credit-code formats, checks of administrators' schemas."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudwindow.cases.forms import (
    MAX_FIELDS,
    MAX_TEXT,
    FormSchemaInvalid,
    check_schema,
    default_form,
    form_changes,
    is_mobile,
    is_resident_id,
    is_uscc,
    layout_problems,
    normalize,
    pii_fields,
    resident_id_check_char,
    schema_problems,
    uscc_check_char,
    validate,
)

SAMPLE = Path(__file__).parents[3] / "src/cloudwindow/sample/zengcheng.json"
VALID_ID = "11010519491231002X"  # GB 11643's own example: Beijing, born 1949-12-31
VALID_ID_2 = "440524188001010014"  # the standard's other example, born 1880-01-01
VALID_USCC = "91350100M000100Y43"


@dataclass
class Item:
    code: str = "440118-GG-0099"
    name: str = "测试事项"
    type: str = "public_service"
    category: str = "综合服务"
    audience: list[str] = field(default_factory=lambda: ["individual"])
    materials: list[dict[str, Any]] = field(default_factory=list)


def _ids(errors: list[Any]) -> list[tuple[str, str]]:
    return [(e.field, e.error_id) for e in errors]


# Formats -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (VALID_ID, True),
        (VALID_ID_2, True),
        ("110105194912310021", False),  # wrong check digit
        ("11010519491231002x", False),  # lower-case x: normalize() upper-cases it first
        ("110105194902310028", False),  # 31st of February
        ("990105194912310021", False),  # no province 99
        ("11010519491231002", False),  # 17 characters
        ("110105491231002", False),  # the old 15-digit number
        ("", False),
    ],
)
def test_resident_id(value: str, ok: bool) -> None:
    assert is_resident_id(value) is ok


def test_check_digit_of_the_standard_example() -> None:
    # Σ digit × weight over 11010519491231002 = 167; 167 mod 11 = 2 → "X".
    assert resident_id_check_char("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("13800138000", True),
        ("19912345678", True),
        ("12345678901", False),  # no mobile prefix 12
        ("1380013800", False),
        ("138001380001", False),
        ("138-0013-8000", False),  # normalize() removes the dashes first
        ("020-12345678", False),  # a landline
    ],
)
def test_mobile(value: str, ok: bool) -> None:
    assert is_mobile(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (VALID_USCC, True),
        ("91350100M000100Y44", False),  # wrong check character
        ("91350100M000100Y4", False),
        ("91350100M0001O0Y43", False),  # the letter O is not in the code's alphabet
        ("913501X0M000100Y43", False),  # the region part is digits
    ],
)
def test_uscc(value: str, ok: bool) -> None:
    assert is_uscc(value) is ok


_ID_BODIES = st.builds(
    lambda province, born, seq: f"{province}0105{born:%Y%m%d}{seq:03d}",
    st.sampled_from(["11", "31", "44", "65", "81"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    st.integers(min_value=0, max_value=999),
)


@settings(deadline=None)
@given(_ID_BODIES, st.sampled_from("0123456789X"))
def test_any_single_wrong_check_character_is_caught(body: str, other: str) -> None:
    good = body + resident_id_check_char(body)
    assert is_resident_id(good)
    if other != good[-1]:
        assert not is_resident_id(body + other)


@settings(deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=10, max_size=10))
def test_uscc_check_character_round_trip(tail: str) -> None:
    body = "913501" + "00" + tail[:9]
    assert is_uscc(body + uscc_check_char(body))


# Default forms -------------------------------------------------------------------------
def test_default_form_of_a_personal_item() -> None:
    schema, layout = default_form(Item(name="社会保障卡申领"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "社会保障卡申领申请表"
    assert list(schema["properties"]) == [
        "applicant_name",
        "id_number",
        "phone",
        "address",
        "remarks",
    ]
    assert schema["required"] == ["applicant_name", "id_number", "phone"]
    assert pii_fields(schema) == {
        "applicant_name": "name",
        "id_number": "id_number",
        "phone": "phone",
        "address": "address",
    }
    assert schema["properties"]["id_number"]["format"] == "cn-resident-id"
    assert schema["properties"]["phone"]["x-title-en"] == "Mobile phone"
    assert [s["id"] for s in layout["sections"]] == ["applicant", "details"]
    assert layout["fields"]["address"] == {"widget": "textarea"}


def test_default_form_of_an_organisation_item() -> None:
    schema, _ = default_form(Item(audience=["legal_person"]))
    props = schema["properties"]
    assert {"org_name", "uscc", "legal_representative", "contact_name", "phone"} <= set(
        schema["required"]
    )
    assert "id_number" not in props
    assert props["uscc"]["format"] == "cn-uscc"
    assert "x-pii" not in props["org_name"]  # an organisation's name is not personal data
    assert props["legal_representative"]["x-pii"] == "name"


def test_default_form_for_both_audiences_asks_which_and_requires_accordingly() -> None:
    schema, layout = default_form(Item(audience=["individual", "legal_person"]))
    assert schema["required"] == ["applicant_type", "phone"]
    assert schema["properties"]["applicant_type"]["enum"] == ["individual", "legal_person"]
    assert layout["fields"]["uscc"]["visible_when"] == {
        "field": "applicant_type",
        "equals": "legal_person",
    }
    person = {"applicant_type": "individual", "phone": "13800138000"}
    assert _ids(validate(schema, person)) == [
        ("applicant_name", "field-required"),
        ("id_number", "field-required"),
    ]
    org = {"applicant_type": "legal_person", "phone": "13800138000", "org_name": "某公司"}
    assert _ids(validate(schema, org)) == [
        ("uscc", "field-required"),
        ("legal_representative", "field-required"),
        ("contact_name", "field-required"),
    ]


def test_materials_and_category_add_item_specific_fields() -> None:
    materials = [
        {"name": "授权委托书", "required": False, "note": "委托他人代办时提供"},
        {"name": "监护人居民身份证", "required": False, "note": ""},
    ]
    schema, layout = default_form(Item(category="不动产", materials=materials))
    props = schema["properties"]
    for name in ("proxy_name", "proxy_id_number", "guardian_name", "guardian_id_number"):
        assert name in props and name not in schema["required"]
    assert props["proxy_id_number"]["x-pii"] == "id_number"
    assert "property_location" in schema["required"]
    assert [s["id"] for s in layout["sections"]] == ["applicant", "guardian", "proxy", "details"]


def _sample_items() -> list[Item]:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    keys = ("code", "name", "type", "category", "audience", "materials")
    return [Item(**{k: it[k] for k in keys}) for it in data["service_items"]]


def test_every_sample_item_gets_a_publishable_form() -> None:
    items = _sample_items()
    assert len(items) > 100
    for item in items:
        schema, layout = default_form(item)
        assert schema_problems(schema) == [], item.code
        assert layout_problems(layout, schema) == [], item.code
        assert "phone" in schema["required"], item.code  # the case lookup key


@settings(deadline=None)
@given(
    st.sets(st.sampled_from(["individual", "legal_person"]), min_size=1),
    st.lists(st.sampled_from(["授权委托书", "监护人身份证", "营业执照", "户口簿"]), max_size=4),
    st.sampled_from(["不动产", "社保医保", ""]),
)
def test_default_forms_are_always_publishable(
    audience: set[str], material_names: list[str], category: str
) -> None:
    item = Item(
        audience=sorted(audience),
        category=category,
        materials=[{"name": n, "note": ""} for n in material_names],
    )
    schema, layout = default_form(item)
    check_schema(schema, layout)  # raises if not
    sections = [f for s in layout["sections"] for f in s["fields"]]
    assert sorted(sections) == sorted(schema["properties"])  # every field shown once


# Validation ----------------------------------------------------------------------------
PERSON_SCHEMA, _ = default_form(Item())
GOOD = {
    "applicant_name": "张三",
    "id_number": VALID_ID,
    "phone": "13800138000",
    "address": "增城区荔城街府佑路 1 号",
}


def test_valid_data_has_no_errors() -> None:
    assert validate(PERSON_SCHEMA, GOOD) == []
    assert validate(PERSON_SCHEMA, {**GOOD, "remarks": "", "address": None}) == []


def test_each_problem_is_named_per_field_in_form_order() -> None:
    data = {
        "phone": "1380013800",
        "id_number": "110105194912310021",
        "applicant_name": "   ",
        "nickname": "x",
    }
    errors = validate(PERSON_SCHEMA, data)
    assert _ids(errors) == [
        ("applicant_name", "field-required"),  # blank counts as not filled in
        ("id_number", "invalid-id-number"),
        ("phone", "invalid-mobile"),
        ("nickname", "unknown-field"),
    ]
    id_error = errors[1].as_dict()
    assert id_error["field"] == "id_number"
    assert id_error["message"]["zh-CN"].startswith("「公民身份号码」")
    assert "18" in id_error["message"]["zh-CN"]
    assert id_error["message"]["en"].startswith("Resident ID number: ")


def test_types_lengths_options_and_numbers() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "title": "人数", "minimum": 1, "maximum": 9},
            "kind": {"type": "string", "title": "类别", "enum": ["a", "b"]},
            "code": {"type": "string", "title": "编号", "maxLength": 3, "pattern": "^[0-9]+$"},
            "day": {"type": "string", "title": "日期", "format": "date"},
            "agree": {"type": "boolean", "title": "同意"},
        },
    }
    data = {"count": 10, "kind": "c", "code": "12a4", "day": "2026-02-30", "agree": "yes"}
    assert sorted(_ids(validate(schema, data))) == [
        ("agree", "wrong-type"),
        ("code", "pattern-mismatch"),
        ("code", "too-long"),
        ("count", "too-large"),
        ("day", "invalid-date"),
        ("kind", "not-an-option"),
    ]
    assert _ids(validate(schema, {"count": 0})) == [("count", "too-small")]
    assert validate(schema, {"count": 3, "day": "2026-02-28", "agree": True}) == []


def test_an_unbounded_text_field_is_still_limited() -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string", "title": "备注"}}}
    assert _ids(validate(schema, {"note": "字" * (MAX_TEXT + 1)})) == [("note", "too-long")]


def test_data_that_is_not_an_object() -> None:
    assert _ids(validate(PERSON_SCHEMA, ["张三"])) == [("", "form-data-not-object")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@settings(deadline=None)
@given(st.dictionaries(st.sampled_from([*GOOD, "remarks", "x"]), json_values))
def test_validate_never_raises_and_names_only_real_keys(data: dict[str, Any]) -> None:
    for e in validate(PERSON_SCHEMA, data):
        assert e.field == "" or e.field in PERSON_SCHEMA["properties"] or e.field in data
        assert e.message_zh and e.message_en


def test_normalize_trims_and_upper_cases() -> None:
    raw = {
        "applicant_name": " 张三 ",
        "id_number": "11010519491231002x",
        "phone": "138 0013 8000",
        "remarks": "  ",
    }
    clean = normalize(PERSON_SCHEMA, raw)
    assert clean == {"applicant_name": "张三", "id_number": VALID_ID, "phone": "13800138000"}
    assert validate(PERSON_SCHEMA, clean) == []


# Checking administrators' schemas ------------------------------------------------------
def _problem_ids(schema: Any, layout: Any = None) -> list[tuple[str, str]]:
    with pytest.raises(FormSchemaInvalid) as err:
        check_schema(schema, layout)
    body = err.value.body()
    assert body["error_id"] == "form-schema-invalid"
    problems = body["details"]["problems"]
    assert all(p["message"]["zh-CN"] and p["message"]["en"] for p in problems)
    return [(p["path"], p["error_id"]) for p in problems]


def _edited(**props: Any) -> dict[str, Any]:
    schema = copy.deepcopy(PERSON_SCHEMA)
    schema["properties"].update(props)
    return schema


def test_a_default_form_passes() -> None:
    check_schema(PERSON_SCHEMA, default_form(Item())[1])


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (["not", "an", "object"], ("", "schema-not-object")),
        ({**PERSON_SCHEMA, "type": 5}, ("/type", "meta-schema")),
        (
            _edited(home={"type": "object", "title": "住址"}),
            ("/properties/home/type", "unsupported-type"),
        ),
        (
            _edited(mail={"type": "string", "title": "邮箱", "format": "email"}),
            ("/properties/mail/format", "unsupported-format"),
        ),
        (
            _edited(card={"type": "string", "title": "银行卡", "x-pii": "bank"}),
            ("/properties/card/x-pii", "bad-pii-kind"),
        ),
        (_edited(note={"type": "string"}), ("/properties/note/title", "title-missing")),
        (
            _edited(note={"type": "string", "title": "备注", "pattern": "(["}),
            ("/properties/note/pattern", "meta-schema"),  # not a regular expression at all
        ),
        (
            _edited(note={"type": "string", "title": "备注", "pattern": "a" * 201}),
            ("/properties/note/pattern", "bad-pattern"),
        ),
        (
            _edited(note={"type": "string", "title": "备注", "maxLength": 100000}),
            ("/properties/note/maxLength", "limit-too-large"),
        ),
        (
            _edited(Note={"type": "string", "title": "备注"}),
            ("/properties/Note", "bad-field-name"),
        ),
        (
            _edited(n={"type": "integer", "title": "数", "enum": [1, "2"]}),
            ("/properties/n/enum", "bad-enum"),
        ),
        (
            _edited(n={"type": "integer", "title": "数", "x-pii": "phone"}),
            ("/properties/n/x-pii", "keyword-needs-string"),
        ),
        (
            _edited(n={"type": "string", "title": "数", "$ref": "#/x"}),
            ("/properties/n/$ref", "unsupported-keyword"),
        ),
        (
            {**PERSON_SCHEMA, "additionalProperties": True},
            ("/additionalProperties", "open-form"),
        ),
        ({**PERSON_SCHEMA, "required": ["ghost"]}, ("/required", "unknown-required-field")),
        ({**PERSON_SCHEMA, "properties": {}}, ("/properties", "no-fields")),
        (
            {**PERSON_SCHEMA, "allOf": [{"not": {"required": ["phone"]}}]},
            ("/allOf/0", "bad-condition"),
        ),
        (
            {**PERSON_SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"},
            ("/$schema", "unsupported-draft"),
        ),
    ],
)
def test_bad_schemas_are_refused_with_the_place_and_reason(
    schema: Any, expected: tuple[str, str]
) -> None:
    assert expected in _problem_ids(schema)


def test_size_limits() -> None:
    many = {f"f{i}": {"type": "string", "title": f"字段{i}"} for i in range(MAX_FIELDS + 1)}
    assert ("/properties", "too-many-fields") in _problem_ids(
        {**PERSON_SCHEMA, "properties": many, "required": []}
    )
    huge = _edited(note={"type": "string", "title": "备注", "description": "说" * 70000})
    assert _problem_ids(huge) == [("", "schema-too-large")]
    deep: dict[str, Any] = {"type": "string", "title": "深"}
    for _ in range(5000):  # small in bytes, far too deep for recursive checks
        deep = {"allOf": [deep]}
    assert _problem_ids({**PERSON_SCHEMA, "allOf": [deep]}) == [("", "schema-too-deep")]
    assert _problem_ids(PERSON_SCHEMA, {"fields": deep}) == [("", "layout-too-deep")]


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({"sections": [{"fields": ["ghost"]}]}, ("/sections/0/fields", "layout-unknown-field")),
        (
            {"sections": [{"fields": ["phone", "phone"]}]},
            ("/sections/0/fields", "layout-unknown-field"),
        ),
        (
            {"fields": {"phone": {"widget": "checkbox"}}},
            ("/fields/phone/widget", "unsupported-widget"),
        ),
        (
            {"fields": {"phone": {"widget": "select"}}},
            ("/fields/phone/widget", "widget-needs-enum"),
        ),
        (
            {"fields": {"phone": {"visible_when": {"field": "phone", "equals": 1}}}},
            ("/fields/phone/visible_when", "bad-condition"),
        ),
        ({"fields": {"phone": {"colour": "red"}}}, ("/fields/phone", "bad-field-hint")),
        ({"theme": "dark"}, ("/theme", "unsupported-keyword")),
        ("nope", ("", "layout-not-object")),
    ],
)
def test_bad_layouts_are_refused(layout: Any, expected: tuple[str, str]) -> None:
    assert expected in _problem_ids(PERSON_SCHEMA, layout)


def test_form_changes_list_what_new_cases_see_differently() -> None:
    new = copy.deepcopy(PERSON_SCHEMA)
    del new["properties"]["address"]
    new["properties"]["email"] = {"type": "string", "title": "邮箱"}
    new["properties"]["remarks"]["type"] = "integer"
    new["required"] = [*new["required"], "remarks"]
    changes = {(c.field, c.change) for c in form_changes(PERSON_SCHEMA, new)}
    assert changes == {
        ("address", "removed"),
        ("email", "added"),
        ("remarks", "type-changed"),
        ("remarks", "now-required"),
    }


def test_dates_in_the_far_past_are_not_birthdays() -> None:
    body = "110105" + (date(1800, 1, 1) + timedelta(days=1)).strftime("%Y%m%d") + "002"
    assert not is_resident_id(body + resident_id_check_char(body))
