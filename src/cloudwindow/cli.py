"""``cloudwindow`` command line: serve, demo, db, catalog, user, openapi."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cloudwindow.bridge.cli import bridge as bridge_command
from cloudwindow.config import Settings
from cloudwindow.identity.cli import app as identity_app
from cloudwindow.privacy_rotation import app as privacy_app
from cloudwindow.recording.cli import app as recording_app
from cloudwindow.trust.cli import app as trust_app

app = typer.Typer(
    help="CloudWindow 云窗口 — remote government service platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
catalog_app = typer.Typer(help="Service catalogue import/export.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(user_app, name="user")
app.add_typer(recording_app, name="recording")
app.add_typer(trust_app, name="trust")
app.add_typer(identity_app, name="identity")
app.command(name="bridge")(bridge_command)
app.add_typer(privacy_app, name="privacy")

T = TypeVar("T")


def _fail(zh: str, en: str, code: int = 1) -> typer.Exit:
    typer.echo(f"错误：{zh}\nError: {en}", err=True)
    return typer.Exit(code)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _with_services(fn: Any) -> Any:
    """Build the platform's services (no HTTP), run ``fn(services)``, clean up."""
    from cloudwindow.services import Services

    services = Services.standalone(Settings())
    try:
        return await fn(services)
    finally:
        await services.db.dispose()


def _upgrade(settings: Settings) -> None:
    from cloudwindow.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:
        raise _fail(f"数据库迁移失败：{exc}", f"database migration failed: {exc}") from exc


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from cloudwindow.app import create_app

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        ws_per_message_deflate=False,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Serve the platform (run `cloudwindow db upgrade` first)."""
    _serve(Settings(), host, port)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    full_catalog: Annotated[bool, typer.Option(help="Load 1,900+ items, not 150+")] = False,
    serve: Annotated[bool, typer.Option(help="Serve after loading")] = True,
    bridge: Annotated[
        bool, typer.Option(help="Also run the reference peripheral bridge (docs/bridge.md)")
    ] = True,
    bridge_port: Annotated[int, typer.Option(help="The bridge's port")] = 17800,
) -> None:
    """Create/upgrade the database, load the sample district if empty, serve (with the
    simulated kiosk peripherals: ``cloudwindow bridge``)."""
    from cloudwindow.sample.load import DEMO_PASSWORD, is_empty, load_sample, sample_data

    settings = Settings()
    _upgrade(settings)

    async def load(services: Any) -> dict[str, int] | None:
        async with services.db.read() as session:
            if not await is_empty(session):
                return None
        result: dict[str, int] = await load_sample(services, full_catalog=full_catalog)
        return result

    counts = _run(_with_services(load))
    if counts:  # the sample's accepted and decided cases get their sealed documents
        from cloudwindow.trust.documents import do_backfill

        counts["documents"] = _run(_with_services(do_backfill))
    code = _run(_with_services(_demo_enrollment_code))
    if counts:
        typer.echo(
            "已载入增城区示例数据 / Sample district loaded: "
            + ", ".join(f"{k}={v}" for k, v in counts.items())
        )
    else:
        typer.echo("数据库已有数据，未重复载入 / Database not empty; sample not reloaded")
    base = f"http://{host}:{port}"
    typer.echo(
        f"\n管理控制台 Console:  {base}/console/\n"
        f"智能柜台 Kiosk:      {base}/kiosk/\n"
        f"坐席工作台 Agent:    {base}/agent/\n"
        f"API 文档 API docs:   {base}/docs\n"
    )
    typer.echo(f"演示账号 Demo logins (password / 密码: {DEMO_PASSWORD}):")
    for u in sample_data()["users"]:
        typer.echo(f"  {u['username']:<14} {'/'.join(u['roles']):<24} {u['display_name']}")
    if code:
        typer.echo(
            f"\n智能柜台注册码 Kiosk enrollment code (24 h): {code}  "
            "— 在 /kiosk/ 输入 / type it at /kiosk/"
        )
    if serve:
        proc = _spawn_bridge(settings, host, port, bridge_port) if bridge else None
        try:
            _serve(settings, host, port)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)


def _spawn_bridge(settings: Settings, host: str, port: int, bridge_port: int) -> Any:
    """The reference bridge with sample person chen's card on the reader, printing to
    <data_dir>/bridge, for the demo kiosk page (it finds it on its default port)."""
    import subprocess

    origins = {f"http://{host}:{port}", f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    out = settings.data_dir / "bridge"
    args = [sys.executable, "-m", "cloudwindow.bridge", "--port", str(bridge_port)]
    args += ["--out", str(out), "--card", "chen", "--control", str(out / "control.json")]
    for origin in sorted(origins):
        args += ["--origin", origin]
    typer.echo(
        f"外设桥 Peripheral bridge: ws://127.0.0.1:{bridge_port}/ (打印输出 printouts: {out})"
    )
    return subprocess.Popen(args)  # noqa: S603 (our own module, fixed arguments)


async def _demo_enrollment_code(services: Any) -> str | None:
    """A fresh one-time code for the first unenrolled kiosk, so the demo's kiosk page can
    be tried at once (a real installer gets it from the console)."""
    from sqlalchemy import select

    from cloudwindow.accounts.principal import Principal
    from cloudwindow.fleet.actions import do_issue_enrollment_code
    from cloudwindow.fleet.models import Terminal

    async with services.db.read() as session:
        terminal_id = await session.scalar(
            select(Terminal.id)
            .where(Terminal.status == "unenrolled", Terminal.active.is_(True))
            .order_by(Terminal.id)
            .limit(1)
        )
    if terminal_id is None:
        return None
    demo = Principal(kind="system", id=0, name="demo")
    issued = await do_issue_enrollment_code(services, demo, terminal_id)
    return issued.code


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (SQLite or PostgreSQL)."""
    _upgrade(Settings())
    typer.echo("数据库已是最新 / Database is up to date")


@catalog_app.command("import")
def catalog_import(
    path: Annotated[Path, typer.Argument(help=".xlsx or .csv file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing")] = False,
) -> None:
    """Import service items (all rows or none), created or updated by item code."""
    from cloudwindow.catalog.transfer import import_catalog

    if not path.is_file():
        raise _fail(f"文件不存在：{path}", f"no such file: {path}")
    settings = Settings()
    if path.stat().st_size > settings.import_max_bytes:
        data = path.read_bytes()[: settings.import_max_bytes + 1]
    else:
        data = path.read_bytes()

    async def go(services: Any) -> Any:
        return await import_catalog(services, None, data, path.name, dry_run=dry_run)

    report = _run(_with_services(go))
    for issue in report.errors:
        where = f"第{issue.row}行 row {issue.row}" if issue.row else "文件 file"
        col = f" [{issue.column}]" if issue.column else ""
        typer.echo(
            f"{where}{col}: {issue.message['zh-CN']} / {issue.message['en']} ({issue.error_id})",
            err=True,
        )
    summary = (
        f"rows={report.total_rows} created={report.created} updated={report.updated} "
        f"unchanged={report.unchanged} errors={len(report.errors)}"
        f"{' (dry run: nothing written / 试导入，未写入)' if dry_run else ''}"
    )
    if not report.ok:
        raise _fail(
            f"导入未执行，事项目录未修改。{summary}",
            f"import rejected; the catalogue is unchanged. {summary}",
            code=2,
        )
    typer.echo(("试导入通过 / Dry run passed: " if dry_run else "导入完成 / Imported: ") + summary)


@catalog_app.command("export")
def catalog_export(path: Annotated[Path, typer.Argument(help="Target .xlsx or .csv")]) -> None:
    """Export the whole catalogue; the format follows the file suffix."""
    from cloudwindow.catalog.transfer import ExportFormat, export_catalog

    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv"):
        raise _fail("文件后缀必须是 .xlsx 或 .csv", "the file must end in .xlsx or .csv")

    async def go(services: Any) -> bytes:
        return await export_catalog(services, ExportFormat(suffix))

    data = _run(_with_services(go))
    path.write_bytes(data)
    typer.echo(f"已导出 / Exported: {path}")


@catalog_app.command("generate")
def catalog_generate(path: Annotated[Path, typer.Argument(help="Target .xlsx or .csv")]) -> None:
    """Write the scaled sample catalogue (1,900+ items, town implementations) to a file,
    ready for `catalog import` (the sample district's departments must be loaded)."""
    from cloudwindow.catalog.transfer import rows_for_items, write_rows
    from cloudwindow.sample.load import catalog_items

    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv"):
        raise _fail("文件后缀必须是 .xlsx 或 .csv", "the file must end in .xlsx or .csv")
    items = catalog_items(full=True)
    path.write_bytes(write_rows(rows_for_items(items), suffix))
    typer.echo(f"已生成 {len(items)} 个事项 / Generated {len(items)} items: {path}")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name")],
    display_name: Annotated[str, typer.Option(help="Name shown on screen")],
    role: Annotated[
        list[str],
        typer.Option(help="administrator, supervisor, agent, approver or auditor; repeatable"),
    ],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a user account."""
    from pydantic import ValidationError

    from cloudwindow.accounts.actions import do_create_user
    from cloudwindow.accounts.schemas import UserCreate
    from cloudwindow.errors import CloudWindowError

    try:
        body = UserCreate(
            username=username, display_name=display_name, password=password, roles=role
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(f"输入不合法：{problems}", f"invalid input: {problems}") from exc

    async def go(services: Any) -> int:
        return await do_create_user(services, None, body)

    try:
        user_id = _run(_with_services(go))
    except CloudWindowError as exc:
        msg = exc.body()["message"]
        raise _fail(msg["zh-CN"], msg["en"]) from exc
    typer.echo(f"已创建用户 / Created user {username} (id {user_id})")


@app.command()
def openapi(path: Annotated[Path, typer.Argument(help="Where to write openapi.json")]) -> None:
    """Write the OpenAPI schema (the web client's types are generated from it)."""
    from cloudwindow.app import create_app

    schema = create_app(Settings(), configure_logs=False).openapi()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"OpenAPI → {path}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
