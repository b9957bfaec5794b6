"""Sealed result documents (电子印章文书) — docs/trust.md §Tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class SealedDocument(Base):
    """A PDF the platform rendered and sealed (PAdES) for a case: 受理回执 (``receipt``),
    办结通知书 (``decision`` on a concluded case) or 不予许可决定书 (``decision`` on a
    rejected one). The file lives in the file store under ``file_key``; ``sha256`` is of
    the exact signed bytes, so any later change is detected. ``id`` is random (it is in
    the QR code and must not be guessable); ``check_code`` is printed on the paper."""

    __tablename__ = "sealed_documents"
    __table_args__ = (Index("ix_sealed_documents_case_kind", "case_id", "kind"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # receipt | decision
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    title: Mapped[str] = mapped_column(String(40))  # 受理回执 | 办结通知书 | 不予许可决定书
    file_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    check_code: Mapped[str] = mapped_column(String(16))
    signer: Mapped[str] = mapped_column(String(200))  # the seal certificate's subject CN
    cert_sha256: Mapped[str] = mapped_column(String(64))  # its fingerprint
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
