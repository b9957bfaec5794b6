"""Catalogue import/export through the CLI and the HTTP API.

Each malformed file must give a report naming row, column and reason, a non-zero exit
code, and leave the catalogue exactly as it was (compared by a full export).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from conftest import LiveServer


def cli(live: LiveServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": live.settings.database_url,
        "CLOUDWINDOW_DATA_DIR": str(live.settings.data_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "cloudwindow.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def export_csv(live: LiveServer) -> bytes:
    with live.as_user("admin") as a:
        r = a.get("/api/service-items/export", params={"format": "csv"})
        assert r.status_code == 200
        return r.content


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_export_import_round_trips_exactly(fresh: LiveServer, tmp_path: Path) -> None:
    original = export_csv(fresh)
    xlsx, csv_path = tmp_path / "cat.xlsx", tmp_path / "cat.csv"
    assert cli(fresh, "catalog", "export", str(xlsx)).returncode == 0
    assert cli(fresh, "catalog", "export", str(csv_path)).returncode == 0
    assert csv_path.read_bytes() == original
    # Change some items through the API, then import the export: it restores them.
    with fresh.as_user("admin") as a:
        a.patch("/api/service-items/440118-GG-0001", json={"name": "改过的名字", "fee": "9"})
        a.post("/api/service-items/440118-GG-0002/deactivate")
    result = cli(fresh, "catalog", "import", str(xlsx))
    assert result.returncode == 0, result.stderr
    assert "updated=2" in result.stdout and "created=0" in result.stdout
    assert export_csv(fresh) == original
    # Importing again changes nothing (idempotent by item code).
    again = cli(fresh, "catalog", "import", str(csv_path))
    assert again.returncode == 0
    n = len(rows_of(original)) - 1
    assert f"unchanged={n}" in again.stdout and "updated=0" in again.stdout
    # The XLSX holds the same cells as the CSV.
    wb = load_workbook(xlsx, read_only=True)
    ws = wb.worksheets[0]
    cells = [["" if c is None else str(c) for c in row] for row in ws.iter_rows(values_only=True)]
    assert cells == rows_of(original)


def test_generated_full_catalogue_imports_to_1900_plus(fresh: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "full.xlsx"
    gen = cli(fresh, "catalog", "generate", str(big))
    assert gen.returncode == 0, gen.stderr
    dry = cli(fresh, "catalog", "import", "--dry-run", str(big))
    assert dry.returncode == 0, dry.stderr
    with fresh.as_user("admin") as a:
        before = a.get("/api/service-items").json()["total"]
        assert before < 1900  # the dry run wrote nothing
        result = cli(fresh, "catalog", "import", str(big))
        assert result.returncode == 0, result.stderr
        assert a.get("/api/service-items").json()["total"] >= 1900
        town = a.get("/api/service-items", params={"q": "社会保障卡补领", "page_size": 50}).json()
        assert town["total"] >= 14  # district item + one per town and street


def _mutations(header: list[str], body: list[list[str]], tmp: Path) -> dict[str, tuple[Path, str]]:
    """Malformed variants of a valid file → (path, expected error id)."""
    col = {name: i for i, name in enumerate(header)}
    out: dict[str, tuple[Path, str]] = {}

    missing = [[c for i, c in enumerate(r) if i != col["技能组编码"]] for r in [header, *body]]
    out["missing column"] = (write_csv(tmp / "missing.csv", missing), "column-missing")

    bad_code = [r[:] for r in body]
    bad_code[3][col["事项编码"]] = "bad code!"
    out["bad code"] = (write_csv(tmp / "badcode.csv", [header, *bad_code]), "value-invalid")

    dup = [r[:] for r in body]
    dup[5][col["事项编码"]] = dup[4][col["事项编码"]]
    out["duplicate code"] = (write_csv(tmp / "dup.csv", [header, *dup]), "code-duplicate")

    text_num = [r[:] for r in body]
    text_num[2][col["法定时限（工作日）"]] = "十个工作日"
    out["text in number"] = (write_csv(tmp / "num.csv", [header, *text_num]), "not-an-integer")

    bad_ref = [r[:] for r in body]
    bad_ref[7][col["实施部门编码"]] = "ZC-NOPE"
    out["unknown department"] = (
        write_csv(tmp / "ref.csv", [header, *bad_ref]),
        "reference-missing",
    )

    bad_level = [r[:] for r in body]
    bad_level[1][col["办理层级"]] = "省"
    out["unknown level"] = (write_csv(tmp / "level.csv", [header, *bad_level]), "unknown-value")

    bad_mat = [r[:] for r in body]
    bad_mat[1][col["申请材料"]] = "身份证|原件|很多份|是"
    out["bad material"] = (write_csv(tmp / "mat.csv", [header, *bad_mat]), "material-invalid")

    out["empty sheet"] = (write_xlsx(tmp / "empty.xlsx", []), "file-empty")
    out["header only"] = (write_xlsx(tmp / "header.xlsx", [header]), "file-empty")
    fake = tmp / "fake.xlsx"
    fake.write_text("这不是 Excel 文件，只是文本。\n", encoding="utf-8")
    out["not xlsx"] = (fake, "file-unreadable")
    truncated = tmp / "truncated.xlsx"
    write_xlsx(truncated, [header, *body])
    truncated.write_bytes(truncated.read_bytes()[:3000])
    out["truncated xlsx"] = (truncated, "file-unreadable")
    other = tmp / "catalog.json"
    other.write_text("{}")
    out["wrong type"] = (other, "file-type-unsupported")
    return out


def test_malformed_files_are_rejected_and_change_nothing(fresh: LiveServer, tmp_path: Path) -> None:
    original = export_csv(fresh)
    header, *body = rows_of(original)
    # Put a real change in row 2, so a partial import would be visible.
    body[0][header.index("事项名称")] = "若被部分导入就会出现的名字"
    for label, (path, error_id) in _mutations(header, body, tmp_path).items():
        result = cli(fresh, "catalog", "import", str(path))
        assert result.returncode == 2, (label, result.stdout, result.stderr)
        assert error_id in result.stderr, (label, result.stderr)
        assert "事项目录未修改" in result.stderr and "catalogue is unchanged" in result.stderr
        assert export_csv(fresh) == original, label


def test_report_names_row_and_column(fresh: LiveServer, tmp_path: Path) -> None:
    header, *body = rows_of(export_csv(fresh))
    body[2][header.index("法定时限（工作日）")] = "十个工作日"
    result = cli(fresh, "catalog", "import", str(write_csv(tmp_path / "x.csv", [header, *body])))
    assert result.returncode == 2
    # Header is row 1, so the third data row is Excel row 4.
    assert "第4行 row 4 [法定时限（工作日）]" in result.stderr
    assert "应为整数" in result.stderr and "Expected a whole number" in result.stderr


def test_very_large_files_are_refused(fresh: LiveServer, tmp_path: Path) -> None:
    original = export_csv(fresh)
    header, *body = rows_of(original)
    huge = tmp_path / "huge.csv"
    with huge.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        row = body[0][:]
        n = 0
        while fh.tell() < 11 * 1024 * 1024:
            n += 1
            row[0] = f"440118-BIG-{n:06d}"
            writer.writerow(row)
    result = cli(fresh, "catalog", "import", str(huge))
    assert result.returncode == 2 and "file-too-large" in result.stderr
    many = write_csv(tmp_path / "many.csv", [header, *body])
    result = cli(fresh, "catalog", "import", str(many), CLOUDWINDOW_IMPORT_MAX_ROWS="50")
    assert result.returncode == 2 and "too-many-rows" in result.stderr
    assert export_csv(fresh) == original


def test_gbk_csv_from_chinese_excel_imports(fresh: LiveServer, tmp_path: Path) -> None:
    header, *body = rows_of(export_csv(fresh))
    body[0][header.index("事项名称")] = "社会保障卡申领（GBK 文件）"
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([header, *body[:3]])
    path = tmp_path / "gbk.csv"
    path.write_bytes(buf.getvalue().encode("gb18030"))
    result = cli(fresh, "catalog", "import", str(path))
    assert result.returncode == 0, result.stderr
    with fresh.as_user("admin") as a:
        code = body[0][0]
        assert a.get(f"/api/service-items/{code}").json()["name"] == "社会保障卡申领（GBK 文件）"


def test_api_import_dry_run_and_rejection(fresh: LiveServer) -> None:
    original = export_csv(fresh)
    header, *body = rows_of(original)
    body[0][header.index("事项名称")] = "试导入不应写入"
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([header, *body])
    data = buf.getvalue().encode("utf-8")
    with fresh.as_user("admin") as a:
        r = a.post(
            "/api/service-items/import",
            params={"dry_run": "true"},
            files={"file": ("c.csv", data, "text/csv")},
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["ok"] and report["dry_run"] and report["updated"] == 1
        assert export_csv(fresh) == original
        body[1][header.index("收费（元）")] = "免费"
        buf = io.StringIO(newline="")
        csv.writer(buf).writerows([header, *body])
        r = a.post(
            "/api/service-items/import",
            files={"file": ("c.csv", buf.getvalue().encode(), "text/csv")},
        )
        assert r.status_code == 422
        err = r.json()
        assert err["error_id"] == "import-rejected"
        issue = err["details"]["report"]["errors"][0]
        assert issue == {
            "row": 3,
            "column": "收费（元）",
            "error_id": "not-a-decimal",
            "message": {"zh-CN": "应为金额，实际为“免费”", "en": "Expected an amount, got '免费'"},
        }
        assert export_csv(fresh) == original
        # A real import through the API applies the change.
        ok = a.post("/api/service-items/import", files={"file": ("c.csv", data, "text/csv")})
        assert ok.status_code == 200 and ok.json()["updated"] == 1


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_api_export_downloads(admin: httpx.Client, fmt: str) -> None:
    r = admin.get("/api/service-items/export", params={"format": fmt})
    assert r.status_code == 200
    assert f"service-items.{fmt}" in r.headers["content-disposition"]
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(r.content), read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        assert rows[0][0] == "事项编码" and len(rows) > 150
