"""Identity verification tables (docs/identity.md §Tables): ID card reads, consents, face
checks. Personal data is never stored in clear: the card's fields are one AES-GCM token
(``privacy.py``), the ID number has its own token and a blind index, and photos are
encrypted files in the file store (``photo_key`` / ``live_key``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class IdCardRead(Base):
    """读卡: one read of a second-generation resident ID card at the kiosk of a session."""

    __tablename__ = "identity_id_card_reads"
    __table_args__ = (Index("ix_identity_id_card_reads_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    read_by: Mapped[str] = mapped_column(String(40))  # the kiosk, "device:3"
    # name, sex, ethnicity, birth date, address, issuer, valid_from: one encrypted JSON
    card_enc: Mapped[str] = mapped_column(Text)
    id_number_enc: Mapped[str] = mapped_column(String(200))
    id_number_index: Mapped[str] = mapped_column(String(40), index=True)
    name_masked: Mapped[str] = mapped_column(String(40))
    id_number_masked: Mapped[str] = mapped_column(String(24))
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: 长期
    photo_key: Mapped[str | None] = mapped_column(String(300), nullable=True)  # None: purged
    photo_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Consent(Base):
    """知情同意: the citizen's answer on the kiosk to one purpose's consent text."""

    __tablename__ = "identity_consents"
    __table_args__ = (Index("ix_identity_consents_ticket", "ticket_id", "purpose", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    purpose: Mapped[str] = mapped_column(String(24))  # face_check | licence_fetch
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    given_by: Mapped[str] = mapped_column(String(40))  # the kiosk
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaceCheck(Base):
    """人证比对: the ID card photo against a still from the kiosk camera, with its result."""

    __tablename__ = "identity_face_checks"
    __table_args__ = (Index("ix_identity_face_checks_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    id_card_read_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_id_card_reads.id"), nullable=True
    )
    outcome: Mapped[str] = mapped_column(String(20))
    side: Mapped[str | None] = mapped_column(String(10), nullable=True)  # where no/2 faces
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(40))
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    card_expired: Mapped[bool] = mapped_column(Boolean, default=False)
    live_key: Mapped[str | None] = mapped_column(String(300), nullable=True)  # None: not kept
    live_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_by: Mapped[str] = mapped_column(String(40))  # the kiosk
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    override_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    override_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
