"""API shapes of sealed documents — docs/trust.md §HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["genuine", "forged", "revoked"]


class DocumentRow(BaseModel):
    id: str
    kind: str  # receipt | decision
    title: str
    case_id: int
    department_code: str
    sha256: str
    size: int
    signer: str
    created_at: datetime
    revoked_at: datetime | None


class CitizenDocument(BaseModel):
    """A document the citizen may download (from case lookup): the link carries the
    check code printed on the paper."""

    id: str
    kind: str
    title: str
    created_at: datetime
    download_url: str
    verify_url: str


class CitizenDocuments(BaseModel):
    number: str
    documents: list[CitizenDocument]


class VerifiedDocument(BaseModel):
    """What a verifier may learn: no names, no personal data."""

    id: str
    kind: str
    title: str
    case_number_masked: str
    service_item_name: str
    department_name: str
    issued_at: datetime
    revoked_at: datetime | None


class SignatureReport(BaseModel):
    signed: bool
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    signer: str
    signing_time: datetime | None


class VerifyResult(BaseModel):
    verdict: Verdict
    message: dict[str, str] = Field(description="{zh-CN, en}")
    document: VerifiedDocument
    hash_matches: bool
    signature: SignatureReport | None = None  # uploads only
