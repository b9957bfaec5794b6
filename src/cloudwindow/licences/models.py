"""The electronic licence registry (电子证照库) — docs/licences.md §Tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class Licence(Base):
    """One electronic licence (电子证照) of one holder. The holder's ID number and the
    licence number are personal data: stored encrypted (privacy.py) with their masks,
    and the ID number with a blind index for "this person's licences". ``id`` is random
    (it travels to the kiosk's agent and to other platforms; not guessable). ``status``
    is ``valid`` or ``revoked``; expiry is computed from ``valid_until`` when read."""

    __tablename__ = "licences"
    __table_args__ = (Index("ix_licences_holder_type", "holder_index", "type_code"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type_code: Mapped[str] = mapped_column(String(40))  # licences.rules.LICENCE_TYPES
    holder_name_masked: Mapped[str] = mapped_column(String(40))
    holder_id_cipher: Mapped[str] = mapped_column(String(200))
    holder_index: Mapped[str] = mapped_column(String(40))  # blind index of the ID number
    holder_id_masked: Mapped[str] = mapped_column(String(24))
    number_cipher: Mapped[str] = mapped_column(String(300))
    number_masked: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(200))  # 发证机关
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: 长期
    status: Mapped[str] = mapped_column(String(12), default="valid")  # valid | revoked
    source: Mapped[str] = mapped_column(String(12), default="local")  # local | provincial
    file_key: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(60), default="application/pdf")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Issued by this platform at a case's conclusion (None for registry imports, samples)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, unique=True)
    sealed_document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LicenceProduct(Base):
    """A service item whose concluded cases issue a licence of a type (e.g. 残疾人证新办
    → 残疾人证), valid for ``valid_years`` (None: 长期)."""

    __tablename__ = "licence_products"
    service_item_code: Mapped[str] = mapped_column(
        ForeignKey("service_items.code"), primary_key=True
    )
    type_code: Mapped[str] = mapped_column(String(40))
    valid_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
