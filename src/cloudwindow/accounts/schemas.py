"""API shapes of accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cloudwindow.accounts.permissions import Role
from cloudwindow.schemas import InputModel

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_.-]{2,39}$")
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
SkillCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
DepartmentCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{1,19}$")]


class LoginRequest(InputModel):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SkillIn(InputModel):
    skill_group_code: SkillCode
    proficiency: int = Field(ge=1, le=5)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    roles: list[str]
    home_site_id: int | None
    languages: list[str]
    skills: list[SkillIn]
    department_code: str | None
    active: bool


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class MeResponse(BaseModel):
    user: UserOut
    permissions: list[str]


def _unique(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"duplicate {what}")
    return values


class UserFields(InputModel):
    display_name: DisplayName
    roles: list[Role] = Field(min_length=1, max_length=5)
    home_site_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    languages: list[Language] = Field(default_factory=lambda: ["zh-CN"], max_length=10)
    skills: list[SkillIn] = Field(default_factory=list, max_length=50)
    department_code: DepartmentCode | None = None

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[Role]) -> list[Role]:
        _unique([r.value for r in v], "roles")
        return v

    @field_validator("skills")
    @classmethod
    def _skills(cls, v: list[SkillIn]) -> list[SkillIn]:
        _unique([s.skill_group_code for s in v], "skill groups")
        return v


class UserCreate(UserFields):
    username: Username
    password: Password


class UserUpdate(InputModel):
    display_name: DisplayName | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=5)
    home_site_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    languages: list[Language] | None = Field(default=None, max_length=10)
    skills: list[SkillIn] | None = Field(default=None, max_length=50)
    department_code: DepartmentCode | None = None

    @field_validator("skills")
    @classmethod
    def _skills(cls, v: list[SkillIn] | None) -> list[SkillIn] | None:
        if v is not None:
            _unique([s.skill_group_code for s in v], "skill groups")
        return v


class PasswordSet(InputModel):
    password: Password
