"""The `cloudwindow` command line: exit codes and readable messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from conftest import LiveServer


def run(
    tmp: Path, *args: str, stdin: str | None = None, db: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": db or f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
        "CLOUDWINDOW_DATA_DIR": str(tmp / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "cloudwindow.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_twice_then_create_a_user(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    again = run(tmp_path, "db", "upgrade")
    assert again.returncode == 0 and "最新" in again.stdout
    made = run(
        tmp_path,
        "user",
        "create",
        "--username",
        "wangli",
        "--display-name",
        "王丽",
        "--role",
        "supervisor",
        "--role",
        "auditor",
        "--password",
        "Wang#2026li",
    )
    assert made.returncode == 0, made.stderr
    dup = run(
        tmp_path,
        "user",
        "create",
        "--username",
        "wangli",
        "--display-name",
        "王丽",
        "--role",
        "agent",
        "--password",
        "Wang#2026li",
    )
    assert dup.returncode == 1
    assert "用户已存在" in dup.stderr and "User already exists" in dup.stderr


def test_bad_user_input_is_explained(tmp_path: Path) -> None:
    run(tmp_path, "db", "upgrade")
    bad = run(
        tmp_path,
        "user",
        "create",
        "--username",
        "X",
        "--display-name",
        "",
        "--role",
        "emperor",
        "--password",
        "short",
    )
    assert bad.returncode == 1
    assert "输入不合法" in bad.stderr and "invalid input" in bad.stderr
    for field in ("username", "roles", "password"):
        assert field in bad.stderr


def test_unreachable_database_fails_readably(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", db="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "数据库迁移失败" in result.stderr and "database migration failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_import_file_and_bad_export_suffix(tmp_path: Path) -> None:
    run(tmp_path, "db", "upgrade")
    missing = run(tmp_path, "catalog", "import", str(tmp_path / "nope.xlsx"))
    assert missing.returncode == 1 and "文件不存在" in missing.stderr
    suffix = run(tmp_path, "catalog", "export", str(tmp_path / "out.pdf"))
    assert suffix.returncode == 1 and ".xlsx" in suffix.stderr


def test_openapi_command_writes_the_served_schema(live: LiveServer, tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    assert run(tmp_path, "openapi", str(out)).returncode == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    served = httpx.get(f"{live.url}/openapi.json").json()
    assert written["paths"].keys() == served["paths"].keys()
    assert written["paths"]["/api/users"]["get"]["x-permission"] == "users.read"
