"""The provincial licence interface this platform serves (docs/licences.md §Provincial
interface): what ``HttpLicenceProvider`` calls on another platform — or on this one, so
the HTTP implementation is tested against a real server. Bearer-token authenticated
(``licence_api_token``; unset: the interface answers ``licence-api-disabled``); every
answer is audited with the caller's stated purpose, case number and operator."""

from __future__ import annotations

import hmac

from cloudwindow.audit.actions import record
from cloudwindow.cases.queries import mask_value
from cloudwindow.licences.errors import LicenceApiDisabled, LicenceApiTokenInvalid
from cloudwindow.licences.providers import LocalLicenceProvider, Requester
from cloudwindow.licences.schemas import ProvincialLicences, ProvincialQuery
from cloudwindow.services import Services


def check_token(services: Services, presented: str | None) -> None:
    expected = services.settings.licence_api_token
    if not expected:
        raise LicenceApiDisabled()
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise LicenceApiTokenInvalid()


def _requester(query: ProvincialQuery) -> Requester:
    return Requester(query.case_number, query.operator, query.purpose)


async def _audit(
    services: Services, action: str, query: ProvincialQuery, client: str, **extra: object
) -> None:
    holder = mask_value("id_number", query.holder_id_number)
    async with services.db.transaction() as session:
        record(
            session, None, action, "licence_holder", holder,
            {"purpose": query.purpose, "case_number": query.case_number,
             "operator": query.operator, "client": client, **extra},
        )  # fmt: skip


async def search(services: Services, query: ProvincialQuery, client: str) -> ProvincialLicences:
    found = await LocalLicenceProvider(services).licences_of(
        query.holder_id_number.upper(), _requester(query)
    )
    await _audit(
        services, "licence.provincial.search", query, client, licence_ids=[v.id for v in found]
    )
    return ProvincialLicences(licences=found)


async def file(services: Services, licence_id: str, query: ProvincialQuery, client: str) -> bytes:
    data = await LocalLicenceProvider(services).file_of(
        query.holder_id_number.upper(), licence_id, _requester(query)
    )
    await _audit(services, "licence.provincial.file", query, client, licence_id=licence_id)
    return data
