"""Application forms (申请表) of service items: JSON Schema + layout hint (pure, no I/O).

A form is a flat JSON Schema (draft 2020-12) object: one property per field, each a
string, integer, number or boolean; a layout hint groups the fields into sections and
picks widgets. Flat on purpose: a field is addressed by its property name everywhere
(validation errors, per-field revisions of remote assistance, the renderer).

Conventions on top of JSON Schema (the ``x-`` keywords JSON Schema ignores):

- ``title`` is the Chinese label, ``x-title-en`` the English one (same for
  ``description`` / ``x-description-en``); ``x-enum-titles`` labels an ``enum``
  (``[{"zh-CN": …, "en": …}, …]``, one per value).
- ``x-pii``: ``"name" | "id_number" | "phone" | "address"`` marks personal data, which
  the cases core stores encrypted and shows masked (PIPL).
- formats ``cn-resident-id`` (18-digit resident ID, GB 11643 check digit),
  ``cn-mobile`` (mainland mobile number), ``cn-uscc`` (unified social credit code,
  GB 32100 check character) and ``date`` are checked by :data:`FORMAT_CHECKER`.

The layout hint::

    {"version": 1,
     "sections": [{"id": "applicant", "title": "申请人信息", "title_en": "Applicant",
                   "fields": ["applicant_name", "id_number", ...]}],
     "fields": {"address": {"widget": "textarea"},
                "org_name": {"visible_when": {"field": "applicant_type",
                                              "equals": "legal_person"}}}}

Widgets: text, textarea, number, date, select, radio, checkbox. A field missing from
every section is rendered after them.

Versions: a published form is never changed; publishing creates the next version and
cases keep the version they were filed with (see ``cases/formstore.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Protocol

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError

from cloudwindow.errors import CloudWindowError

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PII_KINDS = ("name", "id_number", "phone", "address")
FIELD_TYPES = ("string", "integer", "number", "boolean")
FORMATS = ("cn-resident-id", "cn-mobile", "cn-uscc", "date")
WIDGETS = ("text", "textarea", "number", "date", "select", "radio", "checkbox")
# Which widgets can show which field type.
WIDGETS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    "string": ("text", "textarea", "date", "select", "radio"),
    "integer": ("number", "select", "radio"),
    "number": ("number", "select", "radio"),
    "boolean": ("checkbox", "radio"),
}
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 100
MAX_SCHEMA_BYTES = 64 * 1024
MAX_LAYOUT_BYTES = 32 * 1024
MAX_TEXT = 2000  # longest string value any field accepts, whatever its schema says
MAX_TITLE = 100
MAX_DESCRIPTION = 500
MAX_ENUM = 200
MAX_PATTERN = 200
MAX_SECTIONS = 20
MAX_DEPTH = 12  # a flat form needs about 6 (allOf → if → properties → field → const)

ROOT_KEYS = frozenset(
    {
        "$schema",
        "title",
        "x-title-en",
        "description",
        "x-description-en",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "allOf",
    }
)
FIELD_KEYS = frozenset(
    {
        "type",
        "title",
        "x-title-en",
        "description",
        "x-description-en",
        "format",
        "enum",
        "x-enum-titles",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "default",
        "x-pii",
    }
)


# Formats -------------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits of a resident ID: the province-level division (GB/T 2260), plus
# 71 (Taiwan), 81/82 (Hong Kong, Macao residence permits) and 83 (Taiwan residents).
_PROVINCE_CODES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 "
    "64 65 71 81 82 83"
)
_PROVINCES = frozenset(_PROVINCE_CODES.split())
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# GB 32100-2015: the code's alphabet (no I, O, S, V, Z), a character's value is its index.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def resident_id_check_char(first17: str) -> str:
    """GB 11643 check character of the first 17 digits of a resident ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(value: str) -> bool:
    """An 18-character resident ID number: province code, a real birth date and the
    GB 11643 check character (upper-case X; see :func:`normalize`)."""
    if not _ID_SHAPE.match(value) or value[:2] not in _PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return born.year >= 1850 and value[17] == resident_id_check_char(value[:17])


def is_mobile(value: str) -> bool:
    """A mainland mobile number, 11 digits starting 13–19."""
    return bool(_MOBILE.match(value))


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    """An 18-character unified social credit code with a valid GB 32100 check character."""
    return bool(_USCC_SHAPE.match(value)) and value[17] == uscc_check_char(value[:17])


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _string_check(check: Any) -> Any:
    # A format only constrains strings; other types are the "type" keyword's business.
    def run(value: object) -> bool:
        return not isinstance(value, str) or bool(check(value))

    return run


FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in (
    ("cn-resident-id", is_resident_id),
    ("cn-mobile", is_mobile),
    ("cn-uscc", is_uscc),
    ("date", _is_date),
):
    FORMAT_CHECKER.checks(_name)(_string_check(_check))


# Validation of data --------------------------------------------------------------------
@dataclass(frozen=True)
class FieldError:
    """One problem of the form data: which field, a stable id, what to tell the user."""

    field: str  # property name; "" for the form as a whole
    error_id: str
    message_zh: str
    message_en: str
    _where: ClassVar[str] = "field"

    def as_dict(self) -> dict[str, Any]:
        return {
            self._where: self.field,
            "error_id": self.error_id,
            "message": {"zh-CN": self.message_zh, "en": self.message_en},
        }


_FORMAT_ERRORS = {
    "cn-resident-id": (
        "invalid-id-number",
        "不是有效的 18 位身份证号码，请核对（含最后一位校验码）",
        "is not a valid 18-digit resident ID number (check the last character)",
    ),
    "cn-mobile": (
        "invalid-mobile",
        "不是有效的 11 位手机号码",
        "is not a valid 11-digit mobile number",
    ),
    "cn-uscc": (
        "invalid-uscc",
        "不是有效的 18 位统一社会信用代码",
        "is not a valid 18-character unified social credit code",
    ),
    "date": ("invalid-date", "不是有效的日期（年-月-日）", "is not a valid date (YYYY-MM-DD)"),
}
_TYPE_ZH = {"string": "文字", "integer": "整数", "number": "数字", "boolean": "是/否"}


def _titles(schema: Mapping[str, Any], field: str) -> tuple[str, str]:
    prop = schema.get("properties", {}).get(field, {})
    if not isinstance(prop, Mapping):
        return field, field
    zh = str(prop.get("title") or field)
    return zh, str(prop.get("x-title-en") or zh)


def _field_error(
    schema: Mapping[str, Any], field: str, error_id: str, zh: str, en: str
) -> FieldError:
    if not field:
        return FieldError("", error_id, zh, en)
    title_zh, title_en = _titles(schema, field)
    return FieldError(field, error_id, f"「{title_zh}」{zh}", f"{title_en}: {en}")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _describe(schema: Mapping[str, Any], err: ValidationError) -> list[FieldError]:
    """Turn one jsonschema error into the field errors a user reads."""
    kind = str(err.validator)
    field = str(err.absolute_path[0]) if err.absolute_path else ""
    value: Any = err.validator_value
    instance: Any = err.instance
    if kind == "required":
        present = instance if isinstance(instance, Mapping) else {}
        return [
            _field_error(schema, name, "field-required", "为必填项", "is required")
            for name in value
            if name not in present
        ]
    if kind == "additionalProperties":
        known = schema.get("properties", {})
        extra = [k for k in instance if k not in known] if isinstance(instance, Mapping) else []
        return [
            FieldError(
                k,
                "unknown-field",
                f"表单中没有字段 {k}",
                f"The form has no field {k}",
            )
            for k in extra
        ]
    if kind == "type":
        t = value if isinstance(value, str) else "/".join(value)
        zh_t = _TYPE_ZH.get(t, t)
        return [_field_error(schema, field, "wrong-type", f"应为{zh_t}", f"must be a {t}")]
    if kind == "format":
        error_id, zh, en = _FORMAT_ERRORS.get(
            str(value), ("invalid-format", "格式不正确", f"is not a valid {value}")
        )
        return [_field_error(schema, field, error_id, zh, en)]
    table: dict[str, tuple[str, str, str]] = {
        "enum": ("not-an-option", "不是可选的值", "is not one of the options"),
        "const": ("not-an-option", "不是可选的值", "is not one of the options"),
        "minLength": ("too-short", f"至少 {value} 个字", f"needs at least {value} characters"),
        "maxLength": ("too-long", f"最多 {value} 个字", f"takes at most {value} characters"),
        "pattern": ("pattern-mismatch", "格式不正确", "does not have the expected format"),
        "minimum": ("too-small", f"不能小于 {value}", f"must be at least {value}"),
        "exclusiveMinimum": ("too-small", f"必须大于 {value}", f"must be more than {value}"),
        "maximum": ("too-large", f"不能大于 {value}", f"must be at most {value}"),
        "exclusiveMaximum": ("too-large", f"必须小于 {value}", f"must be less than {value}"),
    }
    error_id, zh, en = table.get(kind, ("invalid-value", "的值不正确", "has an invalid value"))
    return [_field_error(schema, field, error_id, zh, en)]


def validate(schema: Mapping[str, Any], data: object) -> list[FieldError]:
    """Every problem of ``data`` against the form ``schema``, in the form's field order;
    empty when the data is valid.

    Blank values (``None``, empty or whitespace-only strings) count as not filled in,
    so a required field left blank is "required", not "invalid format".
    """
    if not isinstance(data, Mapping):
        return [
            FieldError(
                "", "form-data-not-object", "表单数据应为对象", "Form data must be a JSON object"
            )
        ]
    present = {k: v for k, v in data.items() if not _blank(v)}
    found: dict[tuple[str, str], FieldError] = {}
    for name, value in present.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            e = _field_error(
                schema, name, "too-long", f"最多 {MAX_TEXT} 个字", f"takes at most {MAX_TEXT} chars"
            )
            found.setdefault((e.field, e.error_id), e)
    validator = Draft202012Validator(dict(schema), format_checker=FORMAT_CHECKER)
    for err in validator.iter_errors(present):
        for e in _describe(schema, err):
            found.setdefault((e.field, e.error_id), e)
    order = {name: i for i, name in enumerate(schema.get("properties", {}))}
    return sorted(found.values(), key=lambda e: (order.get(e.field, len(order)), e.error_id))


def normalize(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The data as it should be stored: strings trimmed, blanks dropped, ID numbers and
    credit codes upper-cased and mobile numbers without spaces or dashes."""
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
            fmt = props.get(name, {}).get("format") if isinstance(props, Mapping) else None
            if fmt in ("cn-resident-id", "cn-uscc", "cn-mobile"):
                value = re.sub(r"[\s-]", "", value).upper()
        if not _blank(value):
            out[name] = value
    return out


# A field checked as an ID or mobile number holds personal data even when the form's
# author forgot ``x-pii`` (PIPL: never stored in clear; tests/integration/test_pii_at_rest.py).
PII_OF_FORMAT = {"cn-resident-id": "id_number", "cn-mobile": "phone"}


def pii_kind(prop: Mapping[str, Any]) -> str | None:
    """The personal-data kind of a field: its ``x-pii``, else implied by its format."""
    kind = prop.get("x-pii")
    if kind in PII_KINDS:
        return str(kind)
    return PII_OF_FORMAT.get(str(prop.get("format", "")))


def pii_fields(schema: Mapping[str, Any]) -> dict[str, str]:
    """Field name → personal-data kind, for every field marked ``x-pii`` (or with an ID /
    mobile number format)."""
    out = {}
    for name, prop in schema.get("properties", {}).items():
        kind = pii_kind(prop) if isinstance(prop, Mapping) else None
        if kind is not None:
            out[name] = kind
    return out


def field_names(schema: Mapping[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


# Checking a schema an administrator wrote ----------------------------------------------
class SchemaProblem(FieldError):
    """Why a form definition cannot be published: where (a JSON pointer into the schema
    or layout, in ``field``/``path``) and what."""

    _where: ClassVar[str] = "path"

    @property
    def path(self) -> str:
        return self.field


class FormSchemaInvalid(CloudWindowError):
    error_id = "form-schema-invalid"
    status_code = 422
    message_zh = "表单定义有 {count} 处问题，未发布"
    message_en = "The form definition has {count} problem(s); nothing was published"

    def __init__(self, problems: list[SchemaProblem]) -> None:
        super().__init__({"problems": [p.as_dict() for p in problems]}, count=len(problems))
        self.problems = problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[SchemaProblem] = []

    def add(self, path: str, error_id: str, zh: str, en: str) -> None:
        self.items.append(SchemaProblem(path, error_id, zh, en))


def _too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Nested deeper than ``limit`` (checked without recursion, so a hostile document
    cannot exhaust the stack of the checks that follow)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _sound_object(p: _Problems, value: object, limit: int, kind: str, zh: str, en: str) -> bool:
    """A JSON object of at most ``limit`` bytes; else one problem and False."""
    if not isinstance(value, Mapping):
        p.add("", f"{kind}-not-object", f"{zh}应为 JSON 对象", f"{en} must be a JSON object")
        return False
    if _too_deep(value):
        p.add("", f"{kind}-too-deep", f"{zh}嵌套过深", f"{en} is nested too deeply")
        return False
    if len(json.dumps(value, ensure_ascii=False).encode()) > limit:
        p.add(
            "", f"{kind}-too-large", f"{zh}超过 {limit // 1024} KiB", f"{en} exceeds {limit} bytes"
        )
        return False
    return True


def _check_text(p: _Problems, path: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit:
        p.add(
            path,
            "bad-text",
            f"应为不超过 {limit} 个字的文字",
            f"must be a string of at most {limit} characters",
        )


def _type_ok(value: object, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_field(p: _Problems, name: str, prop: object) -> None:
    path = f"/properties/{name}"
    if not FIELD_NAME.match(name):
        p.add(
            path,
            "bad-field-name",
            "字段名只能用小写字母、数字和下划线，以字母开头，最多 40 个字符",
            "Field names use a-z, 0-9 and _, start with a letter, at most 40 characters",
        )
    if not isinstance(prop, Mapping):
        p.add(path, "field-not-object", "字段定义应为对象", "A field definition must be an object")
        return
    for key in prop:
        if key not in FIELD_KEYS:
            p.add(
                f"{path}/{key}",
                "unsupported-keyword",
                f"不支持的字段属性 {key}",
                f"Unsupported field keyword {key}",
            )
    t = prop.get("type")
    if t not in FIELD_TYPES:
        p.add(
            f"{path}/type",
            "unsupported-type",
            "字段类型只能是 string、integer、number 或 boolean",
            "A field's type must be string, integer, number or boolean",
        )
        return
    if "title" not in prop:
        p.add(f"{path}/title", "title-missing", "字段需要中文标题", "A field needs a title")
    for key, limit in (
        ("title", MAX_TITLE),
        ("x-title-en", MAX_TITLE),
        ("description", MAX_DESCRIPTION),
        ("x-description-en", MAX_DESCRIPTION),
    ):
        if key in prop:
            _check_text(p, f"{path}/{key}", prop[key], limit)
    _check_string_rules(p, path, prop, str(t))
    _check_enum(p, path, prop, str(t))
    if "default" in prop and not _type_ok(prop["default"], str(t)):
        p.add(
            f"{path}/default", "bad-default", "默认值与字段类型不符", "Default has the wrong type"
        )
    for key in ("minimum", "maximum"):
        if key in prop and (t not in ("integer", "number") or not _type_ok(prop[key], "number")):
            p.add(
                f"{path}/{key}",
                "bad-limit",
                f"{key} 只能用于数字字段，且应为数字",
                f"{key} applies to number fields and must be a number",
            )


def _check_string_rules(p: _Problems, path: str, prop: Mapping[str, Any], t: str) -> None:
    for key in ("format", "minLength", "maxLength", "pattern", "x-pii"):
        if key in prop and t != "string":
            p.add(
                f"{path}/{key}",
                "keyword-needs-string",
                f"{key} 只能用于文字字段",
                f"{key} applies to string fields only",
            )
    if t != "string":
        return
    for key, allowed, error_id, zh, en in (
        ("format", FORMATS, "unsupported-format", "支持的格式：", "Supported formats: "),
        ("x-pii", PII_KINDS, "bad-pii-kind", "个人信息类别只能是 ", "Personal-data kinds: "),
    ):
        if key in prop and prop[key] not in allowed:
            p.add(f"{path}/{key}", error_id, zh + "、".join(allowed), en + ", ".join(allowed))
    for key in ("minLength", "maxLength"):
        v = prop.get(key)
        if key in prop and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            p.add(f"{path}/{key}", "bad-limit", f"{key} 应为非负整数", f"{key} must be >= 0")
        elif isinstance(v, int) and v > MAX_TEXT:
            p.add(
                f"{path}/{key}",
                "limit-too-large",
                f"{key} 不能超过 {MAX_TEXT}",
                f"{key} may not exceed {MAX_TEXT}",
            )
    if "pattern" in prop:
        pattern = prop["pattern"]
        try:
            ok = isinstance(pattern, str) and len(pattern) <= MAX_PATTERN
            if ok:
                re.compile(pattern)
        except re.error:
            ok = False
        if not ok:
            p.add(
                f"{path}/pattern",
                "bad-pattern",
                f"正则表达式无效或超过 {MAX_PATTERN} 个字符",
                f"The pattern is not a valid regular expression of at most {MAX_PATTERN} chars",
            )


def _check_enum(p: _Problems, path: str, prop: Mapping[str, Any], t: str) -> None:
    if "x-enum-titles" in prop and "enum" not in prop:
        p.add(f"{path}/x-enum-titles", "bad-enum", "没有 enum 时不能有选项标题", "No enum to title")
    if "enum" not in prop:
        return
    values = prop["enum"]
    if (
        not isinstance(values, list)
        or not 1 <= len(values) <= MAX_ENUM
        or not all(_type_ok(v, t) for v in values)
        or len({json.dumps(v) for v in values}) != len(values)
    ):
        p.add(
            f"{path}/enum",
            "bad-enum",
            f"选项应为 1 至 {MAX_ENUM} 个不重复且与字段类型相符的值",
            f"Options must be 1 to {MAX_ENUM} distinct values of the field's type",
        )
        return
    titles = prop.get("x-enum-titles")
    if titles is None:
        return
    if (
        not isinstance(titles, list)
        or len(titles) != len(values)
        or not all(
            isinstance(x, Mapping)
            and set(x) <= {"zh-CN", "en"}
            and isinstance(x.get("zh-CN"), str)
            and all(isinstance(s, str) and len(s) <= MAX_TITLE for s in x.values())
            for x in titles
        )
    ):
        p.add(
            f"{path}/x-enum-titles",
            "bad-enum",
            '选项标题应与选项一一对应，形如 {"zh-CN": "…", "en": "…"}',
            'Option titles must match the options one to one, like {"zh-CN": "…", "en": "…"}',
        )


def _check_conditions(p: _Problems, conditions: object, names: set[str]) -> None:
    """allOf may only hold conditional requirements: if (field const/enum) then/else
    required [...]."""
    bad = (
        "bad-condition",
        "allOf 只支持 if/then/else 形式的条件必填",
        "allOf only supports if/then/else conditional requirements",
    )
    if not isinstance(conditions, list) or len(conditions) > MAX_FIELDS:
        p.add("/allOf", *bad)
        return
    for i, cond in enumerate(conditions):
        path = f"/allOf/{i}"
        if not isinstance(cond, Mapping) or not set(cond) <= {"if", "then", "else"}:
            p.add(path, *bad)
            continue
        for key, part in cond.items():
            if not isinstance(part, Mapping) or not set(part) <= {"properties", "required"}:
                p.add(f"{path}/{key}", *bad)
                continue
            props = part.get("properties", {})
            required = part.get("required", [])
            if (
                not isinstance(props, Mapping)
                or not isinstance(required, list)
                or not set(props) <= names
                or not set(required) <= names
                or not all(
                    isinstance(v, Mapping) and set(v) <= {"const", "enum"} for v in props.values()
                )
            ):
                p.add(f"{path}/{key}", *bad)


def schema_problems(schema: object) -> list[SchemaProblem]:
    """Everything that keeps ``schema`` from being published as a form (empty: fine).

    The form must be a valid draft 2020-12 schema, a flat object of at most
    :data:`MAX_FIELDS` fields of the supported types, formats and keywords, and at
    most :data:`MAX_SCHEMA_BYTES` of JSON.
    """
    p = _Problems()
    if not _sound_object(p, schema, MAX_SCHEMA_BYTES, "schema", "表单定义", "The form"):
        return p.items
    assert isinstance(schema, Mapping)
    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        pointer = "/" + "/".join(str(x) for x in exc.absolute_path) if exc.absolute_path else ""
        p.add(
            pointer,
            "meta-schema",
            "不是有效的 JSON Schema（2020-12）：" + exc.message[:200],
            "Not a valid JSON Schema (2020-12): " + exc.message[:200],
        )
        return p.items
    for key in schema:
        if key not in ROOT_KEYS:
            p.add(f"/{key}", "unsupported-keyword", f"不支持的属性 {key}", f"Unsupported {key}")
    if schema.get("$schema", DRAFT) != DRAFT:
        p.add("/$schema", "unsupported-draft", "只支持 2020-12 版", f"Only {DRAFT} is supported")
    if schema.get("type") != "object":
        p.add("/type", "schema-not-object", "表单的 type 应为 object", 'A form has type "object"')
    if schema.get("additionalProperties") is not False:
        p.add(
            "/additionalProperties",
            "open-form",
            "表单应设置 additionalProperties: false（只收表单中定义的字段）",
            "A form sets additionalProperties: false (only its own fields are accepted)",
        )
    for key, limit in (("title", MAX_TITLE), ("x-title-en", MAX_TITLE)):
        if key in schema:
            _check_text(p, f"/{key}", schema[key], limit)
    props = schema.get("properties", {})
    if not isinstance(props, Mapping) or not props:
        p.add("/properties", "no-fields", "表单至少需要一个字段", "A form needs at least one field")
        return p.items
    if len(props) > MAX_FIELDS:
        p.add(
            "/properties",
            "too-many-fields",
            f"字段不能超过 {MAX_FIELDS} 个",
            f"A form has at most {MAX_FIELDS} fields",
        )
    for name, prop in props.items():
        _check_field(p, str(name), prop)
    names = set(props)
    required = schema.get("required", [])
    for name in required if isinstance(required, list) else []:
        if name not in names:
            p.add(
                "/required",
                "unknown-required-field",
                f"必填字段 {name} 不在表单中",
                f"Required field {name} is not in the form",
            )
    if "allOf" in schema:
        _check_conditions(p, schema["allOf"], names)
    return p.items


def layout_problems(layout: object, schema: Mapping[str, Any]) -> list[SchemaProblem]:
    """Everything wrong with a layout hint for ``schema`` (empty: fine)."""
    p = _Problems()
    if not _sound_object(p, layout, MAX_LAYOUT_BYTES, "layout", "布局", "The layout"):
        return p.items
    assert isinstance(layout, Mapping)
    for key in layout:
        if key not in ("version", "sections", "fields"):
            p.add(f"/{key}", "unsupported-keyword", f"不支持的布局属性 {key}", f"Unsupported {key}")
    props: Mapping[str, Any] = schema.get("properties", {})
    sections = layout.get("sections", [])
    seen: set[str] = set()
    if not isinstance(sections, list) or len(sections) > MAX_SECTIONS:
        p.add("/sections", "bad-sections", "分组应为列表", "Sections must be a list")
        sections = []
    for i, section in enumerate(sections):
        path = f"/sections/{i}"
        if not isinstance(section, Mapping) or not set(section) <= {
            "id",
            "title",
            "title_en",
            "fields",
        }:
            p.add(path, "bad-section", "分组格式不正确", "Malformed section")
            continue
        for key in ("id", "title", "title_en"):
            if key in section:
                _check_text(p, f"{path}/{key}", section[key], MAX_TITLE)
        fields = section.get("fields", [])
        for name in fields if isinstance(fields, list) else [None]:
            if not isinstance(name, str) or name not in props or name in seen:
                p.add(
                    f"{path}/fields",
                    "layout-unknown-field",
                    f"分组中的字段 {name} 不在表单中或重复出现",
                    f"Field {name} of a section is not in the form, or appears twice",
                )
            else:
                seen.add(str(name))
    hints = layout.get("fields", {})
    if not isinstance(hints, Mapping):
        p.add("/fields", "bad-field-hints", "字段提示应为对象", "Field hints must be an object")
        hints = {}
    for name, hint in hints.items():
        _check_hint(p, str(name), hint, props)
    return p.items


def _check_hint(p: _Problems, name: str, hint: object, props: Mapping[str, Any]) -> None:
    path = f"/fields/{name}"
    if name not in props:
        p.add(path, "layout-unknown-field", f"字段 {name} 不在表单中", f"No field {name}")
        return
    if not isinstance(hint, Mapping) or not set(hint) <= {
        "widget",
        "visible_when",
        "placeholder",
        "placeholder_en",
        "width",
    }:
        p.add(path, "bad-field-hint", "字段提示格式不正确", "Malformed field hint")
        return
    t = props[name].get("type") if isinstance(props[name], Mapping) else None
    widget = hint.get("widget")
    if widget is not None and (
        widget not in WIDGETS or widget not in WIDGETS_FOR_TYPE.get(str(t), ())
    ):
        p.add(
            f"{path}/widget",
            "unsupported-widget",
            f"字段类型 {t} 不支持控件 {widget}",
            f"Widget {widget} cannot show a field of type {t}",
        )
    if widget in ("select", "radio") and t != "boolean" and "enum" not in props[name]:
        p.add(f"{path}/widget", "widget-needs-enum", "下拉/单选需要选项", "Needs enum options")
    when = hint.get("visible_when")
    if when is not None and (
        not isinstance(when, Mapping)
        or set(when) != {"field", "equals"}
        or not isinstance(when["field"], str)
        or when["field"] not in props
        or when["field"] == name
    ):
        p.add(
            f"{path}/visible_when",
            "bad-condition",
            "显示条件应为 {field, equals}，且引用表单中的其他字段",
            "visible_when is {field, equals} naming another field of the form",
        )
    for key in ("placeholder", "placeholder_en"):
        if key in hint:
            _check_text(p, f"{path}/{key}", hint[key], MAX_TITLE)
    if hint.get("width") not in (None, "full", "half"):
        p.add(f"{path}/width", "bad-width", "宽度只能是 full 或 half", "width is full or half")


def check_schema(schema: object, layout: object | None = None) -> None:
    """Raise :class:`FormSchemaInvalid` listing every problem of an edited form."""
    problems = schema_problems(schema)
    if not problems and layout is not None and isinstance(schema, Mapping):
        problems = layout_problems(layout, schema)
    if problems:
        raise FormSchemaInvalid(problems)


# What changes between two versions -----------------------------------------------------
@dataclass(frozen=True)
class FormChange:
    """A difference an administrator should know about before publishing."""

    field: str
    change: str  # added | removed | now-required | no-longer-required | type-changed | ...

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "change": self.change}


def form_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FormChange]:
    """Field-level differences from ``old`` to ``new`` (cases filed with ``old`` keep it;
    this is what new cases will see differently)."""
    a, b = old.get("properties", {}), new.get("properties", {})
    ra, rb = set(old.get("required", [])), set(new.get("required", []))
    out = [FormChange(n, "removed") for n in a if n not in b]
    for n, prop in b.items():
        if n not in a:
            out.append(FormChange(n, "added"))
            if n in rb:
                out.append(FormChange(n, "now-required"))
            continue
        before = a[n]
        for key, change in (
            ("type", "type-changed"),
            ("format", "format-changed"),
            ("enum", "options-changed"),
            ("x-pii", "pii-changed"),
        ):
            if before.get(key) != prop.get(key):
                out.append(FormChange(n, change))
        if n in rb and n not in ra:
            out.append(FormChange(n, "now-required"))
        if n in ra and n not in rb:
            out.append(FormChange(n, "no-longer-required"))
    return out


# The default form of an item -----------------------------------------------------------
class ItemFacts(Protocol):
    """What the catalogue knows about a service item (ServiceItem or its API shape)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def audience(self) -> list[str]: ...
    @property
    def materials(self) -> Any: ...


def _f(zh: str, en: str, **rules: Any) -> dict[str, Any]:
    return {"type": "string", "title": zh, "x-title-en": en, **rules}


def _person(zh: str, en: str) -> dict[str, Any]:
    return _f(zh, en, maxLength=50, **{"x-pii": "name"})


def _id_number(zh: str, en: str) -> dict[str, Any]:
    return _f(zh, en, format="cn-resident-id", maxLength=18, **{"x-pii": "id_number"})


def _address(zh: str, en: str, pii: bool = True) -> dict[str, Any]:
    return _f(zh, en, maxLength=200, **({"x-pii": "address"} if pii else {}))


FIELD_LIBRARY: dict[str, dict[str, Any]] = {
    "applicant_type": _f(
        "申请人类型",
        "Applicant type",
        enum=["individual", "legal_person"],
        **{
            "x-enum-titles": [
                {"zh-CN": "个人", "en": "Individual"},
                {"zh-CN": "法人或其他组织", "en": "Legal person or organisation"},
            ]
        },
    ),
    "applicant_name": _person("申请人姓名", "Applicant's name"),
    "id_number": _id_number("公民身份号码", "Resident ID number"),
    "org_name": _f("单位名称", "Organisation name", maxLength=100),
    "uscc": _f("统一社会信用代码", "Unified social credit code", format="cn-uscc", maxLength=18),
    "legal_representative": _person("法定代表人", "Legal representative"),
    "org_address": _address("单位住所", "Registered address", pii=False),
    "contact_name": _person("经办人姓名", "Contact person"),
    "phone": _f(
        "手机号码",
        "Mobile phone",
        format="cn-mobile",
        maxLength=11,
        description="用于接收办理进度短信和办件查询",
        **{"x-description-en": "For progress SMS and case lookup", "x-pii": "phone"},
    ),
    "address": _address("联系地址", "Address"),
    "guardian_name": _person("监护人姓名", "Guardian's name"),
    "guardian_id_number": _id_number("监护人身份号码", "Guardian's ID number"),
    "proxy_name": _person("代办人姓名", "Proxy's name"),
    "proxy_id_number": _id_number("代办人身份号码", "Proxy's ID number"),
    "property_location": _address("不动产坐落", "Property location"),
    "property_certificate_no": _f("不动产权证书号", "Property certificate number", maxLength=60),
    "remarks": _f("申请说明", "Notes", maxLength=500),
}
TEXTAREAS = ("address", "org_address", "remarks", "property_location")
# Words in a required material's name or note that call for extra fields.
_PROXY_WORDS = ("授权委托书", "委托书", "受托人", "代办")
_GUARDIAN_WORDS = ("监护人",)
_PROPERTY_CATEGORIES = ("不动产",)


def _materials_text(materials: Iterable[Any]) -> str:
    parts: list[str] = []
    for m in materials or []:
        if isinstance(m, Mapping):
            parts.extend(str(m.get(k, "")) for k in ("name", "note"))
        else:
            parts.extend(str(getattr(m, k, "")) for k in ("name", "note"))
    return " ".join(parts)


def _section(section_id: str, zh: str, en: str, fields: list[str]) -> dict[str, Any]:
    return {"id": section_id, "title": zh, "title_en": en, "fields": fields}


def default_form(item: ItemFacts) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sensible application form for an item that has none: (schema, layout).

    From the catalogue: the audience decides between a person's fields (name, ID
    number, mobile, address), an organisation's (name, credit code, legal
    representative, contact person) or both with a choice between them; materials that
    mention a power of attorney or a guardian add the proxy's or guardian's fields;
    real-estate items ask where the property is. Every form ends with free notes.
    """
    audience = set(item.audience or ["individual"])
    person, org = "individual" in audience, "legal_person" in audience
    both = person and org
    materials = _materials_text(item.materials)
    person_fields = ["applicant_name", "id_number", "phone", "address"]
    org_fields = ["org_name", "uscc", "legal_representative", "contact_name", "phone"]
    sections: list[dict[str, Any]] = []
    names: list[str] = []
    required: list[str] = []
    hints: dict[str, dict[str, Any]] = {}
    conditions: list[dict[str, Any]] = []

    if both:
        names.append("applicant_type")
        required.append("applicant_type")
        hints["applicant_type"] = {"widget": "radio"}
        person_only = ["applicant_name", "id_number", "address"]
        org_only = ["org_name", "uscc", "legal_representative", "contact_name", "org_address"]
        names += [*person_only, *org_only, "phone"]
        required.append("phone")
        for name, kind in [(n, "individual") for n in person_only] + [
            (n, "legal_person") for n in org_only
        ]:
            hints[name] = {"visible_when": {"field": "applicant_type", "equals": kind}}
        conditions.append(
            {
                "if": {
                    "properties": {"applicant_type": {"const": "legal_person"}},
                    "required": ["applicant_type"],
                },
                "then": {"required": ["org_name", "uscc", "legal_representative", "contact_name"]},
                "else": {"required": ["applicant_name", "id_number"]},
            }
        )
        sections.append(_section("applicant", "申请人信息", "Applicant", list(names)))
    elif org:
        names += [*org_fields, "org_address"]
        required += ["org_name", "uscc", "legal_representative", "contact_name", "phone"]
        sections.append(
            _section("applicant", "申请单位信息", "Applicant organisation", list(names))
        )
    else:
        names += person_fields
        required += ["applicant_name", "id_number", "phone"]
        sections.append(_section("applicant", "申请人信息", "Applicant", list(names)))

    if person and any(w in materials for w in _GUARDIAN_WORDS):
        extra = ["guardian_name", "guardian_id_number"]
        names += extra
        sections.append(
            _section("guardian", "监护人信息（监护人代办时填写）", "Guardian (if applying)", extra)
        )
    if any(w in materials for w in _PROXY_WORDS):
        extra = ["proxy_name", "proxy_id_number"]
        names += extra
        sections.append(
            _section("proxy", "代办人信息（委托他人代办时填写）", "Proxy (if authorised)", extra)
        )
    details: list[str] = []
    if any(c in (item.category or "") for c in _PROPERTY_CATEGORIES):
        details += ["property_location", "property_certificate_no"]
        required.append("property_location")
    details.append("remarks")
    names += details
    sections.append(_section("details", "申请事项", "Application details", details))

    for name in TEXTAREAS:
        if name in names:
            hints.setdefault(name, {})["widget"] = "textarea"
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": f"{item.name}申请表",
        "x-title-en": f"Application form: {item.code}",
        "type": "object",
        "properties": {n: dict(FIELD_LIBRARY[n]) for n in names},
        "required": required,
        "additionalProperties": False,
    }
    if conditions:
        schema["allOf"] = conditions
    layout = {"version": 1, "sections": sections, "fields": hints}
    return schema, layout
