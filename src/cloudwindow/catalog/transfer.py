"""Catalogue import and export in XLSX (openpyxl) and CSV.

Import reads the whole file, validates every row, and only then writes — all rows or
none, in one transaction. Every problem is reported with its row (as Excel numbers it:
the header is row 1), its column and a zh-CN/English reason. Rows are matched by item
code, so importing the same file twice changes nothing the second time, and an
exported file imports back unchanged.

Cell formats (shared by both file types, chosen to be typed by hand in Excel):

* lists (关键词, 服务对象) are separated by ``；`` or ``;``;
* 办理层级, 事项类型, 服务对象 accept the Chinese label or the English value;
* 申请材料 has one material per line: ``名称|形式|份数|是否必要|备注``
  (形式 原件/复印件/电子件/原件及复印件; 是否必要 是/否);
* booleans accept 是/否, true/false, 1/0, y/n.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.catalog.actions import item_values
from cloudwindow.catalog.enums import (
    AUDIENCE_ZH,
    ITEM_TYPE_ZH,
    MATERIAL_FORM_ZH,
    REGION_LEVEL_ZH,
)
from cloudwindow.catalog.models import Department, ServiceItem, SkillGroup
from cloudwindow.catalog.schemas import ImportIssue, ImportReport, ServiceItemCreate
from cloudwindow.errors import error_body
from cloudwindow.services import Services

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


# (field, Chinese header). The header row may use either; export writes the Chinese.
COLUMNS: list[tuple[str, str]] = [
    ("code", "事项编码"),
    ("name", "事项名称"),
    ("keywords", "关键词"),
    ("category", "分类"),
    ("department_code", "实施部门编码"),
    ("level", "办理层级"),
    ("type", "事项类型"),
    ("audience", "服务对象"),
    ("materials", "申请材料"),
    ("legal_days", "法定时限（工作日）"),
    ("promised_days", "承诺时限（工作日）"),
    ("fee", "收费（元）"),
    ("skill_group_code", "技能组编码"),
    ("cloud_capable", "可云办"),
    ("cloud_enabled", "已开通云办"),
    ("active", "有效"),
]
REQUIRED = {
    "code",
    "name",
    "department_code",
    "level",
    "type",
    "audience",
    "legal_days",
    "promised_days",
    "skill_group_code",
}
LABEL = dict(COLUMNS)

MESSAGES: dict[str, tuple[str, str]] = {
    "file-too-large": ("文件过大（上限 {limit} 字节）", "File too large (limit {limit} bytes)"),
    "file-type-unsupported": (
        "仅支持 .xlsx 或 .csv 文件",
        "Only .xlsx or .csv files are supported",
    ),
    "file-unreadable": ("文件无法读取：{reason}", "The file cannot be read: {reason}"),
    "file-empty": ("文件中没有表头或数据", "The file has no header or no data"),
    "too-many-rows": ("行数超过上限 {limit}", "More than {limit} rows"),
    "column-missing": ("缺少必需列：{name}", "Required column missing: {name}"),
    "column-duplicate": ("列重复：{name}", "Column appears twice: {name}"),
    "value-required": ("必填项为空", "A value is required"),
    "not-an-integer": ("应为整数，实际为“{value}”", "Expected a whole number, got '{value}'"),
    "not-a-decimal": ("应为金额，实际为“{value}”", "Expected an amount, got '{value}'"),
    "not-a-boolean": ("应为“是”或“否”，实际为“{value}”", "Expected yes or no, got '{value}'"),
    "unknown-value": ("无法识别的取值“{value}”", "Unknown value '{value}'"),
    "material-invalid": (
        "第 {line} 条材料格式应为 名称|形式|份数|是否必要|备注：{reason}",
        "Material line {line} must be name|form|copies|required|note: {reason}",
    ),
    "value-invalid": ("取值不合法：{reason}", "Invalid value: {reason}"),
    "code-duplicate": (
        "事项编码在文件中重复（首次出现在第 {first} 行）",
        "Item code repeats in the file (first on row {first})",
    ),
    "reference-missing": (
        "引用的{kind_zh}不存在或已停用：{value}",
        "No active {kind_en} with code '{value}'",
    ),
}

_YES = {"是", "true", "1", "y", "yes", "t", "是的"}
_NO = {"否", "false", "0", "n", "no", "f"}


def _issue(row: int, column: str, error_id: str, **fmt: Any) -> ImportIssue:
    zh, en = MESSAGES[error_id]
    return ImportIssue(
        row=row,
        column=column,
        error_id=error_id,
        message={"zh-CN": zh.format(**fmt), "en": en.format(**fmt)},
    )


def failed_body(report: ImportReport) -> dict[str, Any]:
    first = report.errors[0].message if report.errors else {"zh-CN": "", "en": ""}
    return error_body(
        "import-rejected",
        f"导入未执行：发现 {len(report.errors)} 个问题（如：{first['zh-CN']}），"
        "事项目录未作任何修改",
        f"Nothing imported: {len(report.errors)} problem(s) found (e.g. {first['en']}); "
        "the catalogue is unchanged",
        {"report": report.model_dump()},
    )


# Reading -------------------------------------------------------------------------------
class FileProblem(Exception):
    def __init__(self, issue: ImportIssue) -> None:
        super().__init__(issue.error_id)
        self.issue = issue


def _read_xlsx(data: bytes, max_rows: int) -> list[list[Any]]:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileProblem(
            _issue(
                0,
                "",
                "file-unreadable",
                reason=f"不是有效的 XLSX 文件 / not a valid XLSX file ({type(exc).__name__})",
            )
        ) from exc
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            return []
        rows: list[list[Any]] = []
        for values in ws.iter_rows(values_only=True, max_col=64):
            rows.append(list(values))
            if len(rows) > max_rows + 1:
                raise FileProblem(_issue(0, "", "too-many-rows", limit=max_rows))
        return rows
    except FileProblem:
        raise
    except Exception as exc:  # a damaged sheet inside a valid zip
        raise FileProblem(_issue(0, "", "file-unreadable", reason=type(exc).__name__)) from exc
    finally:
        wb.close()


def _read_csv(data: bytes, max_rows: int) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise FileProblem(_issue(0, "", "file-unreadable", reason="encoding"))
    if "\x00" in text:
        raise FileProblem(_issue(0, "", "file-unreadable", reason="binary data / 二进制内容"))
    rows: list[list[Any]] = []
    try:
        for values in csv.reader(io.StringIO(text, newline="")):
            rows.append(list(values))
            if len(rows) > max_rows + 1:
                raise FileProblem(_issue(0, "", "too-many-rows", limit=max_rows))
    except csv.Error as exc:
        raise FileProblem(_issue(0, "", "file-unreadable", reason=str(exc))) from exc
    return rows


def read_rows(data: bytes, filename: str, max_bytes: int, max_rows: int) -> list[list[Any]]:
    if len(data) > max_bytes:
        raise FileProblem(_issue(0, "", "file-too-large", limit=max_bytes))
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(data, max_rows)
    if name.endswith(".csv"):
        return _read_csv(data, max_rows)
    raise FileProblem(_issue(0, "", "file-type-unsupported"))


# Parsing cells -------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace("；", ";").split(";") if p.strip()]


def _reverse(mapping: dict[str, str]) -> dict[str, str]:
    out = {v: k for k, v in mapping.items()}
    out.update({k: k for k in mapping})
    return out


LEVELS, TYPES, AUDIENCES, FORMS = (
    _reverse(REGION_LEVEL_ZH),
    _reverse(ITEM_TYPE_ZH),
    _reverse(AUDIENCE_ZH),
    _reverse(MATERIAL_FORM_ZH),
)


@dataclass
class RowResult:
    values: dict[str, Any] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)


def _bool(text: str) -> bool | None:
    low = text.lower()
    if low in _YES:
        return True
    if low in _NO:
        return False
    return None


def _parse_materials(text: str, row: int, out: RowResult) -> list[dict[str, Any]]:
    materials = []
    for n, line in enumerate([ln for ln in text.splitlines() if ln.strip()], start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 5 or not parts[0]:
            out.issues.append(
                _issue(row, LABEL["materials"], "material-invalid", line=n, reason=line[:60])
            )
            continue
        parts += [""] * (5 - len(parts))
        name, form, copies, required, note = parts
        form_value = FORMS.get(form or "原件")
        required_value = _bool(required or "是")
        try:
            copies_value = int(copies or "1")
        except ValueError:
            copies_value = -1
        if form_value is None or required_value is None or not 1 <= copies_value <= 10:
            out.issues.append(
                _issue(row, LABEL["materials"], "material-invalid", line=n, reason=line[:60])
            )
            continue
        materials.append(
            {
                "name": name,
                "form": form_value,
                "copies": copies_value,
                "required": required_value,
                "note": note,
            }
        )
    return materials


def parse_row(row: int, cells: dict[str, str]) -> RowResult:
    """Turn one row's cell texts into ServiceItemCreate input, collecting every problem."""
    out = RowResult()
    v = out.values
    for name in REQUIRED:
        if not cells.get(name):
            out.issues.append(_issue(row, LABEL[name], "value-required"))
    for name in ("code", "name", "category", "department_code", "skill_group_code"):
        v[name] = cells.get(name, "")
    v["keywords"] = _split(cells.get("keywords", ""))
    for name, table in (("level", LEVELS), ("type", TYPES)):
        if cells.get(name):
            if cells[name] in table:
                v[name] = table[cells[name]]
            else:
                out.issues.append(_issue(row, LABEL[name], "unknown-value", value=cells[name]))
    audience = []
    for part in _split(cells.get("audience", "")):
        if part in AUDIENCES:
            audience.append(AUDIENCES[part])
        else:
            out.issues.append(_issue(row, LABEL["audience"], "unknown-value", value=part))
    v["audience"] = audience
    v["materials"] = _parse_materials(cells.get("materials", ""), row, out)
    for name in ("legal_days", "promised_days"):
        if cells.get(name):
            try:
                v[name] = int(cells[name])
            except ValueError:
                out.issues.append(
                    _issue(row, LABEL[name], "not-an-integer", value=cells[name][:40])
                )
    fee = cells.get("fee") or "0"
    try:
        v["fee"] = Decimal(fee)
        if not v["fee"].is_finite():
            raise InvalidOperation
    except InvalidOperation:
        out.issues.append(_issue(row, LABEL["fee"], "not-a-decimal", value=fee[:40]))
    for name, default in (("cloud_capable", True), ("cloud_enabled", False), ("active", True)):
        text = cells.get(name, "")
        parsed = _bool(text) if text else default
        if parsed is None:
            out.issues.append(_issue(row, LABEL[name], "not-a-boolean", value=text[:40]))
        else:
            v[name] = parsed
    return out


def _validate(row: int, result: RowResult) -> ServiceItemCreate | None:
    if result.issues:
        return None
    values = {k: val for k, val in result.values.items() if k != "active"}
    try:
        return ServiceItemCreate.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc", ())
            column = LABEL.get(str(loc[0]), "") if loc else ""
            result.issues.append(_issue(row, column, "value-invalid", reason=err.get("msg", "")))
        return None


# Import --------------------------------------------------------------------------------
# (validated item, whether it is active, its row in the file)
ParsedItem = tuple[ServiceItemCreate, bool, int]


@dataclass
class Parsed:
    items: list[ParsedItem]
    issues: list[ImportIssue]
    total_rows: int


def parse_file(data: bytes, filename: str, max_bytes: int, max_rows: int) -> Parsed:
    try:
        rows = read_rows(data, filename, max_bytes, max_rows)
    except FileProblem as exc:
        return Parsed([], [exc.issue], 0)
    while rows and not any(_text(c) for c in rows[0]):
        rows.pop(0)
    if not rows:
        return Parsed([], [_issue(0, "", "file-empty")], 0)
    by_header = {label: key for key, label in COLUMNS} | {key: key for key, _ in COLUMNS}
    header = [_text(c) for c in rows[0]]
    index: dict[str, int] = {}
    issues: list[ImportIssue] = []
    for i, title in enumerate(header):
        key = by_header.get(title) or by_header.get(title.lower())
        if key is None:
            continue  # extra columns (notes, colour codes) are left alone
        if key in index:
            issues.append(_issue(1, title, "column-duplicate", name=title))
        index[key] = i
    for key in sorted(REQUIRED - index.keys(), key=list(LABEL).index):
        issues.append(_issue(1, LABEL[key], "column-missing", name=f"{LABEL[key]} ({key})"))
    if issues:
        return Parsed([], issues, max(0, len(rows) - 1))
    items: list[ParsedItem] = []
    first_row: dict[str, int] = {}
    total = 0
    for excel_row, values in enumerate(rows[1:], start=2):
        cells = {key: _text(values[i]) if i < len(values) else "" for key, i in index.items()}
        if not any(cells.values()):
            continue
        total += 1
        result = parse_row(excel_row, cells)
        item = _validate(excel_row, result)
        code = cells.get("code", "")
        if code and code in first_row:
            result.issues.append(
                _issue(excel_row, LABEL["code"], "code-duplicate", first=first_row[code])
            )
        elif code:
            first_row[code] = excel_row
        issues.extend(result.issues)
        if item is not None and not result.issues:
            items.append((item, bool(result.values.get("active", True)), excel_row))
    if total == 0:
        issues.append(_issue(0, "", "file-empty"))
    return Parsed(items, issues, total)


async def _check_references(session: AsyncSession, items: list[ParsedItem]) -> list[ImportIssue]:
    depts = set(await session.scalars(select(Department.code).where(Department.active.is_(True))))
    groups = set(await session.scalars(select(SkillGroup.code).where(SkillGroup.active.is_(True))))
    issues = []
    for item, _, row in items:
        if item.department_code not in depts:
            issues.append(
                _issue(
                    row,
                    LABEL["department_code"],
                    "reference-missing",
                    kind_zh="部门",
                    kind_en="department",
                    value=item.department_code,
                )
            )
        if item.skill_group_code not in groups:
            issues.append(
                _issue(
                    row,
                    LABEL["skill_group_code"],
                    "reference-missing",
                    kind_zh="技能组",
                    kind_en="skill group",
                    value=item.skill_group_code,
                )
            )
    return issues


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["fee"] = Decimal(out["fee"]).quantize(Decimal("0.01"))
    return out


async def apply_items(
    session: AsyncSession, items: list[ParsedItem], write: bool
) -> tuple[int, int, int]:
    """Create or update ``items`` by code in ``session``; (created, updated, unchanged)."""
    existing = {
        i.code: i
        for i in await session.scalars(
            select(ServiceItem).where(ServiceItem.code.in_([it.code for it, _, _ in items]))
        )
    }
    created = updated = unchanged = 0
    for item, active, _ in items:
        values = item_values(item) | {"active": active}
        row = existing.get(item.code)
        if row is None:
            created += 1
            if write:
                session.add(ServiceItem(**values))
            continue
        current = _comparable({k: getattr(row, k) for k in values})
        if current == _comparable(values):
            unchanged += 1
            continue
        updated += 1
        if write:
            for k, val in values.items():
                setattr(row, k, val)
    return created, updated, unchanged


async def import_catalog(
    services: Services, actor: Principal | None, data: bytes, filename: str, *, dry_run: bool
) -> ImportReport:
    """Validate then import all rows or none. The report says what did or would happen."""
    settings = services.settings
    parsed = parse_file(data, filename, settings.import_max_bytes, settings.import_max_rows)
    report = ImportReport(
        dry_run=dry_run, ok=False, total_rows=parsed.total_rows, errors=list(parsed.issues)
    )
    if report.errors:
        return report
    async with services.db.transaction() as session:
        report.errors = await _check_references(session, parsed.items)
        if report.errors:
            return report
        report.created, report.updated, report.unchanged = await apply_items(
            session, parsed.items, write=not dry_run
        )
        report.ok = True
        if not dry_run:
            record(
                session,
                actor,
                "catalog.import",
                "service_item",
                filename or "-",
                {
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                },
            )
    return report


# Export --------------------------------------------------------------------------------
def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def item_cells(item: dict[str, Any]) -> list[Any]:
    """One item (as column values) in the file's cell formats."""
    materials = "\n".join(
        "|".join(
            [
                m["name"],
                MATERIAL_FORM_ZH[m.get("form", "original")],
                str(m.get("copies", 1)),
                _yes_no(m.get("required", True)),
                m.get("note", ""),
            ]
        ).rstrip("|")
        for m in item.get("materials", [])
    )
    return [
        item["code"],
        item["name"],
        "；".join(item.get("keywords", [])),
        item.get("category", ""),
        item["department_code"],
        REGION_LEVEL_ZH[item["level"]],
        ITEM_TYPE_ZH[item["type"]],
        "；".join(AUDIENCE_ZH[a] for a in item["audience"]),
        materials,
        item["legal_days"],
        item["promised_days"],
        f"{Decimal(str(item.get('fee', 0))):.2f}",
        item["skill_group_code"],
        _yes_no(item.get("cloud_capable", True)),
        _yes_no(item.get("cloud_enabled", False)),
        _yes_no(item.get("active", True)),
    ]


def rows_for_items(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [[label for _, label in COLUMNS], *(item_cells(i) for i in items)]


async def export_catalog(services: Services, fmt: ExportFormat | str) -> bytes:
    async with services.db.read() as session:
        items = (await session.scalars(select(ServiceItem).order_by(ServiceItem.code))).all()
    rows = rows_for_items([{k: getattr(i, k) for k, _ in COLUMNS} for i in items])
    return write_rows(rows, fmt)


def write_rows(rows: list[list[Any]], fmt: ExportFormat | str) -> bytes:
    if fmt == ExportFormat.CSV:
        buf = io.StringIO(newline="")
        csv.writer(buf).writerows(rows)
        return buf.getvalue().encode("utf-8-sig")  # BOM: Excel then reads it as UTF-8
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("事项目录")
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
