"""``cloudwindow identity purge``: delete expired photos (docs/identity.md §Retention)."""

from __future__ import annotations

import asyncio

import typer

from cloudwindow.config import Settings

app = typer.Typer(help="Identity verification (人证比对): photo retention.", no_args_is_help=True)


@app.command()
def purge() -> None:
    """Delete card photos and kiosk stills of sessions without a case, older than
    ``face_photo_retention_days`` (run it daily, e.g. from a systemd timer or cron)."""
    from cloudwindow.identity.actions import do_purge_expired_photos
    from cloudwindow.services import Services

    async def go() -> int:
        services = Services.standalone(Settings())
        try:
            return await do_purge_expired_photos(services)
        finally:
            await services.db.dispose()

    typer.echo(f"purged photos: {asyncio.run(go())}")
