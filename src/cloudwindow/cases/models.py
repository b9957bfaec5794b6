"""Tables of cases (办件) and everything around them — docs/cases.md §Tables.

One migration (0007) creates most of them: form versions (B fills), cases, their history,
materials (C fills), approval chains and per-case approval steps, notifications, the
daily case-number counter and the lookup rate-limit log; 0018 adds the applicant's
signature.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.db import Base, UTCDateTime, utcnow


class FormVersion(Base):
    """An application form (申请表) of a service item: JSON Schema 2020-12 + a layout hint.
    Versions are never edited; a change is a new version. A case keeps the version it was
    filed with, so a later schema change never breaks it."""

    __tablename__ = "form_versions"
    __table_args__ = (
        Index("ix_form_versions_item_version", "service_item_code", "version", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per item
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """办件: one application for one service item, opened by an agent in a session.

    ``data`` holds the form values; values of fields marked ``x-pii`` are kept there only
    masked, their ciphertexts in ``pii`` (privacy.py). ``rev`` counts data changes and
    ``field_revs`` the revision of each field's last change (co-editing, cases/assist.py);
    ``confirmed_rev`` is the data revision the citizen confirmed on the kiosk (any later
    edit makes it stale). ``version`` increases on every write (clients' ``If-Match``)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_due", "state", "due_date"),
        Index("ix_cases_department_state", "department_code", "state"),
        Index("ix_cases_agent_created", "agent_id", "created_at"),
        # The lists at 100,000 cases (migrations 0009 and 0014; docs/benchmarks.md):
        # each filter's index ends in id, so a newest-first page is read off the index.
        # (PostgreSQL also has ix_cases_number_pattern, varchar_pattern_ops, from 0009.)
        Index("ix_cases_state_id", "state", "id"),
        Index("ix_cases_department_id", "department_code", "id"),
        Index("ix_cases_item_id", "service_item_code", "id"),
        Index("ix_cases_agent_id_id", "agent_id", "id"),
        Index("ix_cases_accepted_at", "accepted_at"),
        Index("ix_cases_concluded_at", "concluded_at"),
        Index("ix_cases_state_due_id", "state", "due_date", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # CW20261127-000042
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    state: Mapped[str] = mapped_column(String(24), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pii: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # field → ciphertext
    rev: Mapped[int] = mapped_column(Integer, default=0)
    field_revs: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    confirmed_rev: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # device:3
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), nullable=True, index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    applicant_masked: Mapped[str] = mapped_column(String(60), default="")  # 张*
    phone_cipher: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone_index: Mapped[str | None] = mapped_column(String(40), nullable=True)
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    # What the item required when the case was opened: [{code, name, required, note}]
    required_materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    promised_days: Mapped[int] = mapped_column(Integer, default=0)  # working days
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Approval round (1 at acceptance, +1 at each resubmission) and its current step
    round: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 退回补正: {"reason": str, "missing": [str], "by": user id, "at": iso}
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseEvent(Base):
    """A case's history: every state transition, and other notable acts (opened, data
    confirmed, material decided, approval step decided), with who, when and why."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))  # transition | confirmed | material | …
    from_state: Mapped[str] = mapped_column(String(24), default="")
    to_state: Mapped[str] = mapped_column(String(24), default="")
    actor: Mapped[str] = mapped_column(String(40))  # user:5 | device:3 | system
    actor_name: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseMaterial(Base):
    """A file satisfying one required material of a case (kiosk capture, upload, or an
    electronic licence later), and the agent's decision on it. Written by
    cases/materials.py; acceptance needs every required material ``accepted``."""

    __tablename__ = "case_materials"
    __table_args__ = (Index("ix_case_materials_case_code", "case_id", "material_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    material_code: Mapped[str] = mapped_column(String(16))  # M01 … (Case.required_materials)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(12))  # capture | upload | licence
    storage_key: Mapped[str] = mapped_column(String(300), default="")
    original_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # width, height, …
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|accepted|rejected
    reason: Mapped[str] = mapped_column(String(500), default="")
    added_by: Mapped[str] = mapped_column(String(40), default="")  # user:5 | device:3
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def licence(self) -> dict[str, Any] | None:
        """The electronic licence a ``licence`` material came from (kept in ``meta``)."""
        ref = (self.meta or {}).get("licence")
        return ref if isinstance(ref, dict) else None


class CaseSignature(Base):
    """申请人签名: the citizen's signature from the kiosk's signature pad, attached to the
    case by the agent (cases/signature.py). One per case: attaching again replaces it,
    and the case's history keeps every attach. The PNG is kept only encrypted
    (privacy.py, purpose ``signature_purpose(case_id)``), a copy of the device command's
    result, so the case's record does not depend on how long commands are kept
    (``command_id`` is therefore a plain reference, not a foreign key)."""

    __tablename__ = "case_signatures"
    # ``id`` of its own (not the case's): the key rotation walks tables by ``id``.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    command_id: Mapped[str] = mapped_column(String(32))  # device_commands.id
    image_cipher: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)  # bytes of the PNG
    sha256: Mapped[str] = mapped_column(String(64))  # of the PNG
    attached_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalStep(Base):
    """One step of a service item's approval chain (云端批), decided by an approver of the
    step's department. An item without rows has the default chain: one step by the
    item's own department."""

    __tablename__ = "approval_steps"
    __table_args__ = (
        Index("ix_approval_steps_item_position", "service_item_code", "position", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, …
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    name: Mapped[str] = mapped_column(String(100))  # 初审, 复核, 审批 …


class CaseApproval(Base):
    """A case's approval step in one round: pending until an approver of its department
    decides approve | reject | return. Steps of a round are created together at
    acceptance (or resubmission); later steps wait for earlier ones."""

    __tablename__ = "case_approvals"
    __table_args__ = (
        Index("ix_case_approvals_case_round_step", "case_id", "round", "step", unique=True),
        Index("ix_case_approvals_department_state", "department_code", "state"),
        Index("ix_case_approvals_dept_state_id_case", "department_code", "state", "id", "case_id"),
        Index("ix_case_approvals_decided_by_at", "decided_by", "decided_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)  # position in the chain, 1-based
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(12))  # waiting|pending|approved|rejected|returned
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """A message to the citizen about a case (acceptance, correction, outcome): written
    in the transaction of the change, sent through the SMS gateway after the commit."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_state_created", "state", "created_at"),
        Index("ix_notifications_state_next", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # accepted | returned | concluded | rejected | due_date
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(12), default="sms")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    text: Mapped[str] = mapped_column(Text)
    # queued (waiting for its first or next attempt) | sending | sent | failed (given up)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    provider: Mapped[str] = mapped_column(String(20), default="")
    provider_ref: Mapped[str] = mapped_column(String(100), default="")
    error: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # queued: when the retry job may take it; sending: when its claim lapses (the sender
    # died mid-send: sent again, at least once); sent, failed: null.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseNumberCounter(Base):
    """The last case number handed out per day (China time), for CW<yyyymmdd>-<seq>."""

    __tablename__ = "case_number_counters"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # 20261127
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseLookupAttempt(Base):
    """One public case lookup (办件查询), kept for rate limiting across nodes: per client
    address and per case number."""

    __tablename__ = "case_lookup_attempts"
    __table_args__ = (Index("ix_case_lookup_attempts_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))  # ip:1.2.3.4 | number:CW…
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
