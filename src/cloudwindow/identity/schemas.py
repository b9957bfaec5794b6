"""API shapes of identity verification (docs/identity.md §API). Only masked personal data
leaves the server in these views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.schemas import InputModel

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class IdCardIn(InputModel):
    """What the kiosk's ID-card reader gave (docs/bridge.md §id_reader), posted by the
    kiosk page. Dates ISO; ``valid_until`` may be ``长期`` (no end); the photo is the
    chip's photo as base64 (JPEG, PNG or WebP)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    sex: Literal["男", "女"]
    ethnicity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = ""
    birth_date: date
    address: Text = ""
    id_number: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^\d{17}[\dX]$")
    ]
    issuer: Text = ""
    valid_from: date
    valid_until: date | Literal["长期"]
    photo: Annotated[str, StringConstraints(min_length=1, max_length=2_000_000)]


class IdCardReadOut(BaseModel):
    """A card read, masked (``4401**********0353``, ``陈**``)."""

    id: int
    ticket_id: int
    name_masked: str
    id_number_masked: str
    valid_until: date | None  # None: 长期
    expired: bool
    created_at: datetime


class IdCardCreated(IdCardReadOut):
    """The reply to the kiosk that posted the card (it already holds the card)."""

    birth_date: date


class ConsentIn(InputModel):
    purpose: Literal["face_check", "licence_fetch"]
    granted: bool
    # The version of the text the kiosk showed; when given, it must be the current one.
    text_version: Annotated[str, StringConstraints(max_length=40)] | None = None


class ConsentOut(BaseModel):
    id: int
    ticket_id: int
    purpose: str
    granted: bool
    text_version: str
    created_at: datetime


class ConsentTextOut(BaseModel):
    purpose: str
    version: str
    title_zh: str
    title_en: str
    points_zh: list[str]
    points_en: list[str]


class FaceCheckOut(BaseModel):
    id: int
    ticket_id: int
    case_id: int | None
    id_card_read_id: int | None
    outcome: Literal["match", "mismatch", "no_face", "multiple_faces", "no_id_card", "no_consent"]
    side: Literal["live", "portrait"] | None  # where no face / several faces were found
    score: float | None
    threshold: float
    card_expired: bool
    has_live_photo: bool
    overridden: bool
    override_reason: str | None
    overridden_at: datetime | None
    verified: bool  # matched, or overridden by the agent with a reason
    elapsed_ms: int
    created_at: datetime


class FaceCheckRequested(BaseModel):
    ticket_id: int
    consent_needed: bool
    consent: ConsentTextOut
    requested_by: str


class OverrideIn(InputModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class IdentityState(BaseModel):
    """What the agent's identity panel shows for the session it serves."""

    ticket_id: int
    id_card: IdCardReadOut | None
    consents: dict[str, ConsentOut]  # the latest answer per purpose
    face_check: FaceCheckOut | None
    verified: bool


class FillCaseIn(InputModel):
    # None: the newest case of the session the agent serves
    case_id: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None


class FillCaseOut(BaseModel):
    case_id: int
    filled: list[str]  # the form fields written (applicant_name, id_number)
