"""Tables of accounts: users, agent skills, login sessions and failed logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudwindow.catalog.models import Timestamps
from cloudwindow.db import Base, UTCDateTime, utcnow


class User(Timestamps, Base):
    """A person who signs in: administrator, supervisor, agent (坐席人员), approver, auditor."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AgentSkill(Base):
    """An agent's membership of a skill group (技能组) with a proficiency of 1–5."""

    __tablename__ = "agent_skills"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"), primary_key=True)
    proficiency: Mapped[int] = mapped_column(Integer)


class AuthSession(Base):
    """A signed-in session; only the SHA-256 of its bearer token is stored."""

    __tablename__ = "auth_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")


class LoginFailure(Base):
    """One failed password attempt, kept for throttling across every node."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
