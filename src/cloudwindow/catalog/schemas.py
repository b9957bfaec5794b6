"""API shapes of the catalogue, with the validation every write goes through."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from cloudwindow.catalog.enums import Audience, ItemType, MaterialForm, RegionLevel
from cloudwindow.schemas import InputModel

RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
DepartmentCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{1,19}$")]
SkillGroupCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
ItemCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{3,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ItemName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Keyword = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^|\n;；]+$"),
]
Days = Annotated[int, Field(ge=0, le=365)]
Fee = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)]


# Regions -------------------------------------------------------------------------------
class RegionFields(InputModel):
    name: Name
    level: RegionLevel
    parent_code: RegionCode | None = None


class RegionCreate(RegionFields):
    code: RegionCode


class RegionUpdate(InputModel):
    name: Name | None = None
    parent_code: RegionCode | None = None


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    parent_code: str | None
    active: bool


# Departments ---------------------------------------------------------------------------
class DepartmentCreate(InputModel):
    code: DepartmentCode
    name: Name
    short_name: ShortText = ""
    region_code: RegionCode


class DepartmentUpdate(InputModel):
    name: Name | None = None
    short_name: ShortText | None = None
    region_code: RegionCode | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    short_name: str
    region_code: str
    active: bool


# Skill groups --------------------------------------------------------------------------
HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Hours = Annotated[list[tuple[HHMM, HHMM]], Field(max_length=6)]
# A group's own calendar days (open although the official calendar rests, or closed).
CalendarDays = Annotated[list[date], Field(max_length=400)]


def days_json(days: list[date] | None) -> list[str] | None:
    """Stored form of a day list: sorted, unique ISO dates; empty = none (null)."""
    return sorted({d.isoformat() for d in days}) if days else None


def _check_hours(value: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    from cloudwindow.queueing.hours import parse_hours

    if value is not None:
        parse_hours([list(pair) for pair in value])
    return value


class SkillGroupCreate(InputModel):
    code: SkillGroupCode
    name: Name
    name_en: ShortText = ""
    description: LongText = ""
    wrap_up_seconds: int = Field(default=30, ge=0, le=600)
    business_hours: Hours | None = None
    open_days: CalendarDays | None = None
    closed_days: CalendarDays | None = None

    _hours = field_validator("business_hours")(_check_hours)


class SkillGroupUpdate(InputModel):
    name: Name | None = None
    name_en: ShortText | None = None
    description: LongText | None = None
    wrap_up_seconds: int | None = Field(default=None, ge=0, le=600)
    business_hours: Hours | None = None
    # null or [] clears the list.
    open_days: CalendarDays | None = None
    closed_days: CalendarDays | None = None

    _hours = field_validator("business_hours")(_check_hours)


class SkillGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    name_en: str
    description: str
    wrap_up_seconds: int
    business_hours: list[list[str]] | None
    open_days: list[str] | None
    closed_days: list[str] | None
    active: bool


# Service items -------------------------------------------------------------------------
class Material(InputModel):
    """One required material (申请材料) of a service item."""

    name: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^|\n]+$"
        ),
    ]
    form: MaterialForm = MaterialForm.ORIGINAL
    copies: int = Field(default=1, ge=1, le=10)
    required: bool = True
    note: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^[^|\n]*$")
    ] = ""


class ServiceItemFields(InputModel):
    name: ItemName
    keywords: list[Keyword] = Field(default_factory=list, max_length=20)
    category: ShortText = ""
    department_code: DepartmentCode
    level: RegionLevel
    type: ItemType
    audience: list[Audience] = Field(min_length=1, max_length=2)
    materials: list[Material] = Field(default_factory=list, max_length=50)
    legal_days: Days
    promised_days: Days
    fee: Fee = Decimal("0")
    skill_group_code: SkillGroupCode
    cloud_capable: bool = True
    cloud_enabled: bool = False

    @field_validator("audience")
    @classmethod
    def _audience(cls, v: list[Audience]) -> list[Audience]:
        if len(set(v)) != len(v):
            raise ValueError("duplicate audience")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ServiceItemFields:
        check_item_consistency(
            self.legal_days, self.promised_days, self.cloud_capable, self.cloud_enabled
        )
        return self


def check_item_consistency(legal: int, promised: int, capable: bool, enabled: bool) -> None:
    if promised > legal:
        raise ValueError("promised_days must not exceed legal_days")
    if enabled and not capable:
        raise ValueError("cloud_enabled requires cloud_capable")


class ServiceItemCreate(ServiceItemFields):
    code: ItemCode


class ServiceItemUpdate(InputModel):
    name: ItemName | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=20)
    category: ShortText | None = None
    department_code: DepartmentCode | None = None
    level: RegionLevel | None = None
    type: ItemType | None = None
    audience: list[Audience] | None = Field(default=None, min_length=1, max_length=2)
    materials: list[Material] | None = Field(default=None, max_length=50)
    legal_days: Days | None = None
    promised_days: Days | None = None
    fee: Fee | None = None
    skill_group_code: SkillGroupCode | None = None
    cloud_capable: bool | None = None
    cloud_enabled: bool | None = None


class MaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    form: str
    copies: int
    required: bool
    note: str = ""


class ServiceItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    keywords: list[str]
    category: str
    department_code: str
    department_name: str = ""
    department_short_name: str = ""
    level: str
    type: str
    audience: list[str]
    materials: list[MaterialOut]
    legal_days: int
    promised_days: int
    fee: Decimal
    skill_group_code: str
    cloud_capable: bool
    cloud_enabled: bool
    active: bool
    updated_at: datetime

    @field_serializer("fee")
    def _fee(self, v: Decimal) -> str:
        return f"{v:.2f}"


class ImportIssue(BaseModel):
    row: int
    column: str
    error_id: str
    message: dict[str, str]


class ImportReport(BaseModel):
    dry_run: bool
    ok: bool
    total_rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportIssue] = Field(default_factory=list)


class CategoryOut(BaseModel):
    category: str
    count: int
