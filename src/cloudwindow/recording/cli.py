"""``cloudwindow recording verify ID | sweep | purge``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from cloudwindow.config import Settings
from cloudwindow.errors import CloudWindowError

app = typer.Typer(help="Recordings (全程录音录像): verify, sweep, purge.", no_args_is_help=True)
T = TypeVar("T")


def _run(fn: Callable[..., Awaitable[T]]) -> T:
    from cloudwindow.services import Services

    async def go() -> T:
        services = Services.standalone(Settings())
        try:
            return await fn(services)
        finally:
            await services.db.dispose()

    return asyncio.run(go())


@app.command()
def verify(recording_id: Annotated[int, typer.Argument(help="Recording id")]) -> None:
    """Recompute a recording's SHA-256 hash chain from the stored bytes; exit 1 if it
    does not match the head recorded at upload time."""
    from cloudwindow.recording.actions import do_verify_recording

    try:
        report = _run(lambda s: do_verify_recording(s, None, recording_id))
    except CloudWindowError as exc:
        body = exc.body()
        typer.echo(f"错误：{body['message']['zh-CN']}\nError: {body['message']['en']}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    typer.echo(
        "哈希链校验通过 / hash chain verified"
        if report.ok
        else f"哈希链校验失败 / hash chain FAILED: {report.reason}"
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def sweep() -> None:
    """Flag recordings that stopped without a finish (normally done by every node)."""
    from cloudwindow.recording.actions import do_sweep_stale_recordings

    typer.echo(f"flagged incomplete: {_run(do_sweep_stale_recordings)}")


@app.command()
def purge() -> None:
    """Delete recordings past ``recording_retention_days`` (normally done by every node)."""
    from cloudwindow.recording.actions import do_purge_expired_recordings

    typer.echo(f"purged: {_run(do_purge_expired_recordings)}")
