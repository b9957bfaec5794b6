"""API shapes of electronic licences — docs/licences.md §HTTP API. ``LicenceView`` is
also the shape of the provincial interface (a provider answers with it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.cases.schemas import MaterialLicence
from cloudwindow.schemas import InputModel

LicenceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IdNumber = Annotated[str, StringConstraints(pattern=r"^\d{17}[\dXx]$")]


class LicenceView(BaseModel):
    """One licence as the agent (and another platform) sees it: personal data masked."""

    id: str
    type_code: str
    type_name: str
    holder_name_masked: str
    holder_id_masked: str
    number_masked: str
    issuer: str
    issued_on: date
    valid_until: date | None  # None: 长期
    status: Literal["valid", "expired", "revoked"]  # on the day it is read (China-local)
    source: Literal["local", "provincial"]
    content_type: str
    size: int
    sha256: str

    def ref(self, provider: str) -> MaterialLicence:
        """What a case material keeps of the licence it came from."""
        return MaterialLicence(
            id=self.id,
            type_code=self.type_code,
            type_name=self.type_name,
            number_masked=self.number_masked,
            holder_name_masked=self.holder_name_masked,
            issuer=self.issuer,
            issued_on=self.issued_on,
            valid_until=self.valid_until,
            provider=provider,
        )


class CaseLicence(LicenceView):
    """A licence listed for a case: which of the case's materials it can satisfy
    (``usable_for``: material codes; empty when none, or when it is expired/revoked)."""

    usable_for: list[str] = Field(default_factory=list)


class CaseLicences(BaseModel):
    case_id: int
    holder_id_masked: str
    holder_from: Literal["identity", "application"]  # verified ID card, or the form
    provider: Literal["local", "http"]
    licences: list[CaseLicence]


class ConsentRequested(BaseModel):
    case_id: int
    ticket_id: int
    purpose: Literal["licence_fetch"]
    requested_by: str
    materials: list[str]  # names of the case's materials a licence could satisfy


class UseLicence(InputModel):
    licence_id: LicenceId


# The provincial interface (served at /api/provincial/licences, called by HttpLicenceProvider)
class ProvincialQuery(InputModel):
    """Whose licences, and on whose behalf (the province logs both)."""

    holder_id_number: IdNumber
    purpose: Annotated[str, StringConstraints(max_length=40)] = "licence_fetch"
    case_number: Annotated[str, StringConstraints(max_length=40)] = ""
    operator: Annotated[str, StringConstraints(max_length=100)] = ""


class ProvincialLicences(BaseModel):
    licences: list[LicenceView]


# Configuration: licence types, and the items that issue licences
class LicenceTypeView(BaseModel):
    code: str
    name: str
    name_en: str
    materials: list[str]  # the catalogue material names a licence of this type satisfies


class LicenceProductIn(InputModel):
    type_code: Annotated[str, StringConstraints(max_length=40)] | None
    valid_years: Annotated[int, Field(ge=1, le=100)] | None = None


class LicenceProductView(BaseModel):
    service_item_code: str
    type_code: str | None  # None: the item issues no licence
    type_name: str | None
    valid_years: int | None
