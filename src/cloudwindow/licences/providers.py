"""Where licences come from: ``LicenceProvider`` — this platform's registry
(``LocalLicenceProvider``) or a provincial licence service over HTTP
(``HttpLicenceProvider``, the contract in docs/licences.md §Provincial interface).

A provider answers only for the holder it is asked about: a licence id of someone else
is ``licence-not-found``, exactly like an id that does not exist. Auditing is the
caller's (licences/actions.py): a provider only fetches.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import httpx
from pydantic import ValidationError
from sqlalchemy import select

from cloudwindow.cases.deadlines import china_date
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.licences.errors import (
    LicenceNotFound,
    LicenceProviderError,
    LicenceProviderUnavailable,
)
from cloudwindow.licences.models import Licence
from cloudwindow.licences.rules import licence_type, status_on
from cloudwindow.licences.schemas import LicenceView, ProvincialLicences
from cloudwindow.privacy import keyring_for
from cloudwindow.services import Services

HOLDER_INDEX = "licence.holder"  # blind-index purpose of the holder's ID number
HOLDER_ID = "licence.holder_id"  # encryption purposes
NUMBER = "licence.number"


@dataclass(frozen=True)
class Requester:
    """On whose behalf a fetch is made (the provincial service logs it)."""

    case_number: str = ""
    operator: str = ""
    purpose: str = "licence_fetch"


class LicenceProvider(Protocol):
    kind: Literal["local", "http"]

    async def licences_of(self, id_number: str, who: Requester) -> list[LicenceView]:
        """Every licence of the holder with this ID number (any status), newest first."""
        ...

    async def licence_of(self, id_number: str, licence_id: str, who: Requester) -> LicenceView:
        """One licence of this holder; ``licence-not-found`` if it is not theirs."""
        ...

    async def file_of(self, id_number: str, licence_id: str, who: Requester) -> bytes:
        """The licence's file (PDF), checked against its SHA-256."""
        ...


def licence_view(row: Licence, today: date | None = None) -> LicenceView:
    kind = licence_type(row.type_code)
    day = today or china_date(utcnow())
    return LicenceView(
        id=row.id,
        type_code=row.type_code,
        type_name=kind.name if kind else row.type_code,
        holder_name_masked=row.holder_name_masked,
        holder_id_masked=row.holder_id_masked,
        number_masked=row.number_masked,
        issuer=row.issuer,
        issued_on=row.issued_on,
        valid_until=row.valid_until,
        status=status_on(row.status, row.valid_until, day).value,
        source="provincial" if row.source == "provincial" else "local",
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
    )


class LocalLicenceProvider:
    """The registry in this platform's database and file store."""

    kind: Literal["local", "http"] = "local"

    def __init__(self, services: Services) -> None:
        self.services = services

    def _indexes(self, id_number: str) -> list[str]:
        """Current key first; previous keys' too while a rotation runs (privacy.py)."""
        keys = keyring_for(self.services.settings)
        return keys.blind_indexes(id_number.upper(), HOLDER_INDEX)

    async def licences_of(self, id_number: str, who: Requester) -> list[LicenceView]:
        async with self.services.db.read() as session:
            rows = await session.scalars(
                select(Licence)
                .where(Licence.holder_index.in_(self._indexes(id_number)))
                .order_by(Licence.issued_on.desc(), Licence.id)
            )
            return [licence_view(r) for r in rows]

    async def _row(self, id_number: str, licence_id: str) -> Licence:
        async with self.services.db.read() as session:
            row = await session.get(Licence, licence_id[:32])
        if row is None or row.holder_index not in self._indexes(id_number):
            raise LicenceNotFound({"licence_id": licence_id})
        return row

    async def licence_of(self, id_number: str, licence_id: str, who: Requester) -> LicenceView:
        return licence_view(await self._row(id_number, licence_id))

    async def file_of(self, id_number: str, licence_id: str, who: Requester) -> bytes:
        row = await self._row(id_number, licence_id)
        try:
            data = await asyncio.to_thread(self.services.files.read, row.file_key)
        except OSError as exc:
            raise LicenceProviderError("licence file missing") from exc
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise LicenceProviderError("licence file altered")
        return data


class HttpLicenceProvider:
    """A provincial licence service (省电子证照库) over HTTP: base URL and bearer token
    from the settings, a timeout on every call. Unreachable / too slow / 503 →
    ``licence-provider-unavailable`` (503); a refused token, another error status or a
    body not in the contract → ``licence-provider-error`` (502)."""

    kind: Literal["local", "http"] = "http"

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.base = settings.licence_provider_url.rstrip("/")
        self.token = settings.licence_provider_token
        self.timeout = settings.licence_provider_timeout_seconds
        self.max_bytes = settings.material_max_bytes
        self.transport = transport

    def _body(self, id_number: str, who: Requester) -> dict[str, str]:
        return {
            "holder_id_number": id_number,
            "purpose": who.purpose,
            "case_number": who.case_number,
            "operator": who.operator,
        }

    async def _post(self, path: str, body: dict[str, str]) -> httpx.Response:
        if not self.base:
            raise LicenceProviderUnavailable({"reason": "no provider URL configured"})
        try:
            async with httpx.AsyncClient(
                base_url=self.base,
                timeout=self.timeout,
                transport=self.transport,
                headers={"Authorization": f"Bearer {self.token}"},
                follow_redirects=False,
            ) as client:
                reply = await client.post(path, json=body)
        except httpx.TimeoutException as exc:
            raise LicenceProviderUnavailable({"reason": "timeout"}) from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:  # incl. a malformed URL
            raise LicenceProviderUnavailable({"reason": type(exc).__name__}) from exc
        if reply.status_code == 404:
            raise LicenceNotFound()
        if reply.status_code in (502, 503, 504):
            raise LicenceProviderUnavailable({"status": reply.status_code})
        if reply.status_code in (401, 403):
            raise LicenceProviderError("token refused", reply.status_code)
        if reply.status_code != 200:
            raise LicenceProviderError(f"HTTP {reply.status_code}", reply.status_code)
        return reply

    async def licences_of(self, id_number: str, who: Requester) -> list[LicenceView]:
        reply = await self._post("/api/provincial/licences/search", self._body(id_number, who))
        try:
            found = ProvincialLicences.model_validate_json(reply.content)
        except ValidationError as exc:
            raise LicenceProviderError("malformed answer") from exc
        return [v.model_copy(update={"source": "provincial"}) for v in found.licences]

    async def licence_of(self, id_number: str, licence_id: str, who: Requester) -> LicenceView:
        for view in await self.licences_of(id_number, who):
            if view.id == licence_id:
                return view
        raise LicenceNotFound({"licence_id": licence_id})

    async def file_of(self, id_number: str, licence_id: str, who: Requester) -> bytes:
        view = await self.licence_of(id_number, licence_id, who)
        reply = await self._post(
            f"/api/provincial/licences/{licence_id}/file", self._body(id_number, who)
        )
        data = reply.content
        if len(data) > self.max_bytes:
            raise LicenceProviderError("file too large")
        if hashlib.sha256(data).hexdigest() != view.sha256:
            raise LicenceProviderError("file does not match its SHA-256")
        return data


def provider_for(services: Services) -> LicenceProvider:
    """The provider the settings choose (``licence_provider``)."""
    if services.settings.licence_provider == "http":
        return HttpLicenceProvider(services.settings)
    return LocalLicenceProvider(services)
