"""Tables of the service catalogue: regions, departments, skill groups, service items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudwindow.db import Base, UTCDateTime, utcnow


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Region(Timestamps, Base):
    """区划: a city (市), district (区), town or street (镇街) or community/village (村居)."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True, nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Department(Timestamps, Base):
    """实施主体 / 办理部门: the department that handles service items."""

    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SkillGroup(Timestamps, Base):
    """技能组: the agents' competence a service item needs; routing matches on it."""

    __tablename__ = "skill_groups"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # After-session work time before the agent is offered the next ticket.
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Daily service intervals on official working days, [["08:30", "12:00"], ...];
    # null = always open (see queueing/hours.py).
    business_hours: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    # The group's own calendar on top of the official one (ISO dates): days it serves
    # although the State Council's calendar rests (周末不打烊, extended service days), and
    # days it is closed although they are working days (a centre's closure).
    open_days: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    closed_days: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceItem(Timestamps, Base):
    """政务服务事项: one item of the service catalogue, keyed by its item code."""

    __tablename__ = "service_items"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    legal_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    skill_group_code: Mapped[str] = mapped_column(ForeignKey("skill_groups.code"), index=True)
    cloud_capable: Mapped[bool] = mapped_column(Boolean, default=True)
    cloud_enabled: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Loaded in the same query (a join), so lists show department names without a
    # second round trip.
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True, viewonly=True)
    # Lower-case haystack of code, name, pinyin and pinyin initials of the name and its
    # keywords, so one LIKE finds "sbk" → 社保卡 on SQLite and PostgreSQL alike.
    search_key: Mapped[str] = mapped_column(Text, default="")


class HolidayCalendar(Base):
    """节假日安排 of a year the holiday package does not know yet, entered by an
    administrator from the State Council's notice (catalog/calendar.py): the days off
    and the make-up working days. Deadlines, service hours and appointment slots follow
    it on every node."""

    __tablename__ = "holiday_calendars"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSON)  # ISO dates off
    workdays: Mapped[list[str]] = mapped_column(JSON)  # ISO weekend dates worked (调休)
    notice: Mapped[str] = mapped_column(String(200), default="")  # 国办发明电〔2026〕N号
    updated_by: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
