"""Writing the registry: a new licence row (personal data sealed), and the licence a
concluded case issues — called from cases/approvals.py in the final decision's own
transaction, next to the sealed 办结通知书 (so this module imports nothing from the case
workflow's actions: approvals imports it)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.audit.actions import record
from cloudwindow.cases.deadlines import china_date
from cloudwindow.cases.forms import pii_fields
from cloudwindow.cases.models import Case, FormVersion
from cloudwindow.cases.queries import clear_data
from cloudwindow.cases.states import CaseState
from cloudwindow.catalog.models import Department
from cloudwindow.config import Settings
from cloudwindow.db import utcnow
from cloudwindow.licences.models import Licence, LicenceProduct
from cloudwindow.licences.providers import HOLDER_ID, HOLDER_INDEX, NUMBER
from cloudwindow.licences.rules import LicenceSource, LicenceStatus, mask_number
from cloudwindow.privacy import keyring_for
from cloudwindow.trust.models import SealedDocument


def new_licence(
    settings: Settings,
    *,
    type_code: str,
    holder_name_masked: str,
    holder_id_number: str,
    number: str,
    issuer: str,
    issued_on: date,
    valid_until: date | None,
    file_key: str,
    data: bytes,
    status: LicenceStatus = LicenceStatus.VALID,
    source: LicenceSource = LicenceSource.LOCAL,
    licence_id: str | None = None,
) -> Licence:
    """A registry row (not yet added): ID number and licence number encrypted, masks
    and the holder's blind index beside them. ``data`` is the file already stored
    under ``file_key``."""
    keys = keyring_for(settings)
    id_number = holder_id_number.strip().upper()
    return Licence(
        id=licence_id or secrets.token_hex(16),
        type_code=type_code,
        holder_name_masked=holder_name_masked[:40],
        holder_id_cipher=keys.encrypt(id_number, HOLDER_ID),
        holder_index=keys.blind_index(id_number, HOLDER_INDEX),
        holder_id_masked=mask_number(id_number),
        number_cipher=keys.encrypt(number, NUMBER),
        number_masked=mask_number(number)[:80],
        issuer=issuer[:200],
        issued_on=issued_on,
        valid_until=valid_until,
        status=status.value,
        source=source.value,
        file_key=file_key,
        content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def applicant_id_number(settings: Settings, case: Case, form: FormVersion | None) -> str | None:
    """The applicant's ID number from the case's form: the ``id_number`` field, else the
    first field marked ``x-pii: id_number`` (decrypted; server-side only)."""
    fields = [n for n, k in pii_fields(form.schema if form else {}).items() if k == "id_number"]
    fields.sort(key=lambda n: n != "id_number")
    for name in fields:
        if name in case.pii:
            value = clear_data(settings, case, [name]).get(name)
            if value:
                return str(value).upper()
    return None


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def issue_case_licence(
    settings: Settings, session: AsyncSession, case: Case, document: SealedDocument
) -> Licence | None:
    """The licence a concluded case of a licence-issuing item (``licence_products``)
    adds to the registry, in the caller's transaction: its file is the case's sealed
    办结通知书, its number the case number, its holder the applicant. Idempotent (one
    licence per case); None when the item issues none, the case is not concluded, or
    the form has no applicant ID number."""
    if case.state != CaseState.CONCLUDED.value:
        return None
    product = await session.get(LicenceProduct, case.service_item_code)
    if product is None:
        return None
    existing = await session.scalar(select(Licence).where(Licence.case_id == case.id))
    if existing is not None:
        return existing
    form = await session.get(FormVersion, case.form_version_id)
    holder = applicant_id_number(settings, case, form)
    if holder is None:
        return None
    dept = await session.get(Department, case.department_code)
    issued = china_date(case.concluded_at or utcnow())
    row = new_licence(
        settings,
        type_code=product.type_code,
        holder_name_masked=case.applicant_masked or "",
        holder_id_number=holder,
        number=case.number,
        issuer=dept.name if dept else case.department_code,
        issued_on=issued,
        valid_until=_years_later(issued, product.valid_years) if product.valid_years else None,
        file_key=document.file_key,
        data=b"",
    )
    row.size, row.sha256 = document.size, document.sha256
    row.case_id, row.sealed_document_id = case.id, document.id
    session.add(row)
    record(
        session, None, "licence.issued", "licence", row.id,
        {"case_id": case.id, "type_code": product.type_code, "document_id": document.id},
    )  # fmt: skip
    await session.flush()
    return row


async def revoke_for_document(session: AsyncSession, document: SealedDocument) -> int:
    """A licence whose file is a sealed document is revoked with it (``cloudwindow trust
    revoke``: a decision overturned, wrong content), in the caller's transaction; returns
    how many. It stays in the registry, listed as ``revoked``, and satisfies nothing."""
    rows = list(
        await session.scalars(
            select(Licence).where(
                Licence.sealed_document_id == document.id, Licence.status != "revoked"
            )
        )
    )
    for row in rows:
        row.status, row.revoked_at = LicenceStatus.REVOKED.value, document.revoked_at or utcnow()
        record(session, None, "licence.revoked", "licence", row.id, {"document_id": document.id})
    return len(rows)
