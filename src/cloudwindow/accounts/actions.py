"""Every write of accounts, one transaction each: sign-in, sign-out, user management."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.errors import InvalidCredentials, LoginThrottled
from cloudwindow.accounts.models import AgentSkill, AuthSession, LoginFailure, User
from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.schemas import SkillIn, UserCreate, UserUpdate
from cloudwindow.accounts.security import hash_password, new_token, token_hash, verify_password
from cloudwindow.audit.actions import record
from cloudwindow.catalog.models import Department, SkillGroup
from cloudwindow.crud import apply, changed_fields, check_ref, get_or_404
from cloudwindow.db import utcnow
from cloudwindow.errors import AlreadyExists, RuleViolation
from cloudwindow.fleet.models import Site
from cloudwindow.services import Services


@dataclass
class LoginResult:
    token: str
    expires_at: datetime
    user: User


async def _throttle_wait(
    session: AsyncSession,
    column: Any,
    value: str,
    limit: int,
    window_start: datetime,
    window: int,
) -> int:
    """Seconds until the caller may try again, or 0 when under ``limit`` failures."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == value,
                LoginFailure.at >= window_start,
            )
        )
    ).one()
    if count < limit or oldest is None:
        return 0
    return max(1, int((oldest + timedelta(seconds=window) - utcnow()).total_seconds()) + 1)


async def check_login(services: Services, username: str, password: str, ip: str) -> LoginResult:
    """Sign in with a password. Failures are recorded (and committed) before the error is
    raised, so throttling holds across every node sharing the database."""
    settings = services.settings
    window = settings.login_failure_window_seconds
    now = utcnow()
    failed = False
    async with services.db.transaction() as session:
        start = now - timedelta(seconds=window)
        wait = max(
            await _throttle_wait(
                session, LoginFailure.username, username, settings.login_max_failures, start, window
            ),
            await _throttle_wait(
                session, LoginFailure.client_ip, ip, settings.login_max_failures * 4, start, window
            )
            if ip
            else 0,
        )
        if wait:
            raise LoginThrottled(wait)
        user = await session.scalar(select(User).where(User.username == username))
        ok = await asyncio.to_thread(
            verify_password, user.password_hash if user else None, password
        )
        if user is None or not ok or not user.active:
            session.add(LoginFailure(username=username, client_ip=ip, at=now))
            failed = True
        else:
            await session.execute(delete(LoginFailure).where(LoginFailure.username == username))
            token = new_token("cw")
            expires = now + timedelta(seconds=settings.session_ttl_seconds)
            session.add(
                AuthSession(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires,
                    client_ip=ip,
                )
            )
            record(session, None, "login", "user", user.id, {"ip": ip})
    if failed:
        raise InvalidCredentials({"username": username})
    assert user is not None
    return LoginResult(token=token, expires_at=expires, user=user)


async def do_logout(services: Services, principal: Principal) -> None:
    async with services.db.transaction() as session:
        auth = await session.get(AuthSession, principal.token_hash)
        if auth is not None and auth.revoked_at is None:
            auth.revoked_at = utcnow()
            record(session, principal, "logout", "user", principal.id)


async def _check_user_refs(session: AsyncSession, values: dict[str, object]) -> None:
    if values.get("home_site_id") is not None:
        site = await check_ref(
            session, Site, values["home_site_id"], "home_site_id", "Site", "点位"
        )
        if site.type != "agent_office":
            raise RuleViolation(
                "home-site-not-agent-office",
                "坐席人员的所属服务中心必须是坐席办公点",
                "An agent's home service centre must be an agent-office site",
                {"home_site_id": site.id},
            )
    if values.get("department_code") is not None:
        await check_ref(
            session, Department, values["department_code"], "department_code", "Department", "部门"
        )


async def _set_skills(session: AsyncSession, user: User, skills: list[SkillIn]) -> None:
    for skill in skills:
        await check_ref(
            session, SkillGroup, skill.skill_group_code, "skills", "Skill group", "技能组"
        )
    await session.execute(delete(AgentSkill).where(AgentSkill.user_id == user.id))
    for skill in skills:
        session.add(
            AgentSkill(
                user_id=user.id,
                skill_group_code=skill.skill_group_code,
                proficiency=skill.proficiency,
            )
        )


async def do_create_user(services: Services, actor: Principal | None, body: UserCreate) -> int:
    """Create a user; agents' skills are stored alongside. Returns the new id."""
    async with services.db.transaction() as session:
        return await create_user_in(session, actor, body)


async def create_user_in(session: AsyncSession, actor: Principal | None, body: UserCreate) -> int:
    if await session.scalar(select(User.id).where(User.username == body.username)):
        raise AlreadyExists("User", "用户", body.username)
    values = body.model_dump(exclude={"password", "skills", "username"}, mode="json")
    await _check_user_refs(session, values)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    user = User(username=body.username, password_hash=password_hash, **values)
    session.add(user)
    await session.flush()
    await _set_skills(session, user, body.skills)
    record(session, actor, "user.create", "user", user.id, {"username": user.username})
    return user.id


async def do_update_user(
    services: Services, actor: Principal, user_id: int, body: UserUpdate
) -> None:
    async with services.db.transaction() as session:
        user = await get_or_404(session, User, user_id, "User", "用户")
        values = changed_fields(body)
        skills = values.pop("skills", None)
        if "roles" in values:
            if values["roles"] is None:
                raise RuleViolation(
                    "roles-required", "至少需要一个角色", "At least one role is required"
                )
            values["roles"] = [str(r) for r in values["roles"]]
        for required in ("display_name", "languages"):
            if required in values and values[required] is None:
                values.pop(required)
        await _check_user_refs(session, values)
        diff = apply(user, values)
        if skills is not None:
            await _set_skills(session, user, [SkillIn(**s) for s in skills])
            diff["skills"] = "replaced"
        record(session, actor, "user.update", "user", user.id, diff)


async def do_set_password(
    services: Services, actor: Principal, user_id: int, password: str
) -> None:
    async with services.db.transaction() as session:
        user = await get_or_404(session, User, user_id, "User", "用户")
        user.password_hash = await asyncio.to_thread(hash_password, password)
        # A reset signs the user out everywhere.
        sessions = await session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None)
            )
        )
        for auth in sessions:
            auth.revoked_at = utcnow()
        record(session, actor, "user.password", "user", user.id)


async def do_set_user_active(
    services: Services, actor: Principal, user_id: int, active: bool
) -> None:
    async with services.db.transaction() as session:
        user = await get_or_404(session, User, user_id, "User", "用户")
        if not active and user.id == actor.id and actor.kind == "user":
            raise RuleViolation(
                "cannot-deactivate-self",
                "不能停用当前登录的账号",
                "You cannot deactivate your own account",
            )
        user.active = active
        record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id)
