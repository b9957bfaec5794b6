"""What licences need from identity verification (``cloudwindow.identity``,
docs/identity.md): the citizen's consent to a licence fetch in this session, and the
session's verified ID number. Kept in one place so the contract is visible."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.config import Settings
from cloudwindow.identity.queries import current_identity, has_consent

PURPOSE = "licence_fetch"


async def consent_given(session: AsyncSession, ticket_id: int) -> bool:
    """Has the citizen agreed, on the kiosk of this session, to a licence fetch (and not
    withdrawn it since)?"""
    return await has_consent(session, ticket_id, PURPOSE)


async def verified_id_number(
    session: AsyncSession, settings: Settings, ticket_id: int
) -> str | None:
    """The ID number read from the citizen's ID card in this session (clear, server-side
    only), or None when no card was read."""
    found = await current_identity(session, ticket_id, settings)
    return found.id_number if found is not None else None
