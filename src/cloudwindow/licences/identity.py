"""What licences need from identity verification (engineer I's ``cloudwindow.identity``,
docs/identity.md): the citizen's consent to a licence fetch in this session, and the
session's verified ID number. Kept in one place so the contract is visible."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

PURPOSE = "licence_fetch"


def _queries() -> Any:
    try:
        return importlib.import_module("cloudwindow.identity.queries")
    except ModuleNotFoundError:  # identity not installed in this build
        return None


async def consent_given(session: AsyncSession, ticket_id: int) -> bool:
    """Has the citizen agreed, on the kiosk of this session, to a licence fetch?"""
    queries = _queries()
    if queries is None:
        return False
    return bool(await queries.has_consent(session, ticket_id, PURPOSE))


async def verified_id_number(session: AsyncSession, ticket_id: int) -> str | None:
    """The ID number read from the citizen's ID card in this session (clear, server-side
    only), or None when no card was read."""
    queries = _queries()
    if queries is None:
        return None
    found = await queries.current_identity(session, ticket_id)
    number = getattr(found, "id_number", None) if found is not None else None
    return str(number) if number else None
