"""The devices domain's part of the realtime gateway: no client messages, one presence
hook. A kiosk's fresh page (a reload) ends the device commands sent to its page before
it (``device-kiosk-restarted``), so the agent is told at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.devices.actions import do_fail_commands_of_fresh_pages
from cloudwindow.realtime.dispatch import Dispatcher
from cloudwindow.realtime.outbox import Outbox

messages = Dispatcher()


async def _fresh_kiosk_pages(
    session: AsyncSession, out: Outbox, fresh: dict[Principal, datetime]
) -> None:
    kiosks = {p.id: since for p, since in fresh.items() if p.kind == "device"}
    await do_fail_commands_of_fresh_pages(session, out, kiosks)


messages.on_fresh_page.append(_fresh_kiosk_pages)
