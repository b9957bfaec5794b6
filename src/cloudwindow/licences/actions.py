"""免证办 during a session: the agent asks the citizen's consent on the kiosk, lists the
citizen's licences, and lets one stand in for a case material — docs/licences.md.

Every fetch (list or file) is written to the audit log before its result is returned
(no audit, no data). The provider call itself happens outside any database transaction
(it may be a provincial service across the network).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.actions import add_event, lock_case
from cloudwindow.cases.assist import Side
from cloudwindow.cases.errors import CaseNotFound
from cloudwindow.cases.forms import is_resident_id
from cloudwindow.cases.materials import (
    CaseNotTakingMaterials,
    MaterialOut,
    MaterialPdfInvalid,
    check_pdf,
    material_view,
    recipients,
    required_material,
    session_side,
)
from cloudwindow.cases.models import Case, CaseMaterial, FormVersion
from cloudwindow.cases.queries import mask_value
from cloudwindow.cases.states import CASE_EDITABLE, MaterialStatus
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.licences import identity
from cloudwindow.licences.errors import (
    LicenceConsentRequired,
    LicenceHolderUnknown,
    LicenceNotUsable,
    LicenceProviderError,
    LicenceTypeMismatch,
)
from cloudwindow.licences.providers import Requester, provider_for
from cloudwindow.licences.registry import applicant_id_number
from cloudwindow.licences.rules import LicenceStatus, licence_type, types_for_material
from cloudwindow.licences.schemas import CaseLicence, CaseLicences, ConsentRequested, LicenceView
from cloudwindow.queueing.models import Ticket
from cloudwindow.realtime.outbox import unit_of_work
from cloudwindow.services import Services


@dataclass(frozen=True)
class Holder:
    id_number: str
    source: Literal["identity", "application"]

    @property
    def masked(self) -> str:
        return mask_value("id_number", self.id_number)


async def _agent_case(session: AsyncSession, who: Principal, case_id: int) -> tuple[Case, Ticket]:
    """The case, if the caller is the agent serving its session (else ``case-not-found``
    / ``case-not-in-session``), with its ticket."""
    case = await session.get(Case, case_id)
    if case is None:
        raise CaseNotFound({"case_id": case_id})
    if await session_side(session, who, case) != Side.AGENT:
        raise CaseNotFound({"case_id": case_id})
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    assert ticket is not None  # session_side answers AGENT only for an in-session ticket
    return case, ticket


async def _holder(session: AsyncSession, settings: Settings, case: Case, ticket: Ticket) -> Holder:
    """Whose licences: the ID card read in this session, else the applicant on the form."""
    verified = await identity.verified_id_number(session, settings, ticket.id)
    if verified:
        return Holder(verified.upper(), "identity")
    form = await session.get(FormVersion, case.form_version_id)
    found = applicant_id_number(settings, case, form)
    # A draft's form is not checked yet: a half-typed number names nobody.
    if found and is_resident_id(found):
        return Holder(found, "application")
    raise LicenceHolderUnknown({"case_id": case.id})


async def _prepare(services: Services, who: Principal, case_id: int) -> tuple[Case, Holder]:
    """Agent in session, citizen's consent given, holder known."""
    async with services.db.read() as session:
        case, ticket = await _agent_case(session, who, case_id)
        if not await identity.consent_given(session, ticket.id):
            raise LicenceConsentRequired({"case_id": case_id, "purpose": identity.PURPOSE})
        return case, await _holder(session, services.settings, case, ticket)


def _requester(case: Case, who: Principal) -> Requester:
    return Requester(case_number=case.number, operator=who.name or who.ident)


# Consent ---------------------------------------------------------------------------------------
async def do_request_consent(services: Services, who: Principal, case_id: int) -> ConsentRequested:
    """Ask the citizen, on the kiosk of the case's session, to agree to a licence fetch:
    the kiosk gets ``licence.consent_requested`` (durable: a kiosk that reconnects still
    shows it) and answers through the identity consent endpoint (purpose
    ``licence_fetch``)."""
    async with unit_of_work(services) as (session, out):
        case, ticket = await _agent_case(session, who, case_id)
        names = [
            str(m.get("name", ""))
            for m in case.required_materials or []
            if types_for_material(str(m.get("name", "")))
        ]
        view = ConsentRequested(
            case_id=case.id,
            ticket_id=ticket.id,
            purpose="licence_fetch",
            requested_by=who.name or who.ident,
            materials=names,
        )
        out.emit(ticket.owner, "licence.consent_requested", view.model_dump(mode="json"))
        record(session, who, "licence.consent_request", "case", case.id, {"ticket_id": ticket.id})
        return view


# Listing ---------------------------------------------------------------------------------------
def usable_for(case: Case, view: LicenceView) -> list[str]:
    if view.status != LicenceStatus.VALID.value:
        return []
    return [
        str(m["code"])
        for m in case.required_materials or []
        if view.type_code in types_for_material(str(m.get("name", "")))
    ]


async def get_case_licences(services: Services, who: Principal, case_id: int) -> CaseLicences:
    """The citizen's licences, for the agent serving the session, once the citizen has
    consented; each says which of the case's materials it can satisfy. Audited."""
    case, holder = await _prepare(services, who, case_id)
    provider = provider_for(services)
    found = await provider.licences_of(holder.id_number, _requester(case, who))
    async with services.db.transaction() as session:
        record(
            session, who, "licence.fetch", "case", case.id,
            {"holder_id_masked": holder.masked, "holder_from": holder.source,
             "provider": provider.kind, "licence_ids": [v.id for v in found]},
        )  # fmt: skip
    return CaseLicences(
        case_id=case.id,
        holder_id_masked=holder.masked,
        holder_from=holder.source,
        provider=provider.kind,
        # What can be used first, then the other valid ones, then expired / revoked
        licences=sorted(
            (CaseLicence(**v.model_dump(), usable_for=usable_for(case, v)) for v in found),
            key=lambda x: (not x.usable_for, x.status != LicenceStatus.VALID.value),
        ),
    )


# Using one for a material ----------------------------------------------------------------------
def _check_usable(view: LicenceView, material: dict[str, Any]) -> None:
    if view.status != LicenceStatus.VALID.value:
        raise LicenceNotUsable(view.id, view.status)
    name = str(material.get("name", ""))
    accepted = types_for_material(name)
    if view.type_code not in accepted:
        kind = licence_type(view.type_code)
        raise LicenceTypeMismatch(
            view.type_code, kind.name if kind else view.type_code, name, accepted
        )


def _remove(services: Services, key: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        (Path(services.files.root) / key).resolve().unlink(missing_ok=True)


async def do_use_licence(
    services: Services, who: Principal, case_id: int, material_code: str, licence_id: str
) -> MaterialOut:
    """免证办: the licence's file becomes the case's material ``material_code`` (source
    ``licence``), accepted at once — it comes from the issuing authority's registry, so
    the agent has nothing to check on paper. Refused, nothing written: without consent,
    for an expired or revoked licence, for a type that doesn't fit the material."""
    case, holder = await _prepare(services, who, case_id)
    if case.state not in CASE_EDITABLE:
        raise CaseNotTakingMaterials(case.state)
    material = dict(required_material(case, material_code))
    provider = provider_for(services)
    asker = _requester(case, who)
    view = await provider.licence_of(holder.id_number, licence_id, asker)
    _check_usable(view, material)
    data = await provider.file_of(holder.id_number, licence_id, asker)
    try:
        check_pdf(data[:16], data[-1024:])
    except MaterialPdfInvalid as exc:
        raise LicenceProviderError("licence file is not a PDF") from exc
    key = f"materials/{case.id}/licence-{uuid.uuid4().hex}.pdf"
    await asyncio.to_thread(services.files.write, key, data)
    try:
        async with unit_of_work(services) as (session, out):
            locked = await lock_case(session, case.id)
            if locked is None:
                raise CaseNotFound({"case_id": case_id})
            case, ticket = await _agent_case(session, who, case_id)
            if case.state not in CASE_EDITABLE:
                raise CaseNotTakingMaterials(case.state)
            item = required_material(case, material_code)
            now = utcnow()
            ref = view.ref(provider.kind)
            row = CaseMaterial(
                case_id=case.id,
                material_code=material_code,
                name=str(item.get("name", material_code))[:200],
                source="licence",
                storage_key=key,
                original_name=f"{ref.type_name}（电子证照）"[:200],
                content_type="application/pdf",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                meta={"licence": ref.model_dump(mode="json")},
                status=MaterialStatus.ACCEPTED.value,
                added_by=who.ident,
                decided_by=who.id,
                decided_at=now,
            )
            session.add(row)
            add_event(
                session, case, "material", who, f"电子证照：{ref.type_name}",
                {"material_code": material_code, "name": row.name, "status": row.status,
                 "source": "licence", "licence_id": view.id},
            )  # fmt: skip
            await session.flush()
            record(
                session, who, "licence.use", "case_material", row.id,
                {"case_id": case.id, "material_code": material_code, "licence_id": view.id,
                 "type_code": view.type_code, "holder_id_masked": holder.masked,
                 "provider": provider.kind},
            )  # fmt: skip
            result = material_view(row)
            payload = {"case_id": case.id, "material": result.model_dump(mode="json")}
            for recipient in recipients(case, ticket):
                out.emit(recipient, "case.material.added", payload)
            return result
    except BaseException:
        _remove(services, key)
        raise
