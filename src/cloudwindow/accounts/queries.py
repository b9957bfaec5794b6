"""Reads of accounts: resolving a bearer token, listing users."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Select, Text, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.models import AgentSkill, AuthSession, User
from cloudwindow.accounts.permissions import DEVICE_PERMISSIONS, permissions_for
from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.schemas import SkillIn, UserOut
from cloudwindow.accounts.security import token_hash
from cloudwindow.db import utcnow
from cloudwindow.errors import NotFound
from cloudwindow.fleet.models import Terminal
from cloudwindow.pagination import like_pattern

DEVICE_PREFIX = "cwd_"


async def get_principal(session: AsyncSession, token: str, ip: str = "") -> Principal | None:
    """The user or kiosk a bearer token belongs to, or None if unknown/expired/revoked."""
    return (await get_principals(session, [(token, ip)]))[0]


async def get_principals(
    session: AsyncSession, tokens: list[tuple[str, str]]
) -> list[Principal | None]:
    """``get_principal`` for many (token, client ip) pairs at once, in at most two
    statements (kiosks, users): a burst of WebSocket handshakes resolves together."""
    digests = [token_hash(token) for token, _ in tokens]
    devices = {d for (token, _), d in zip(tokens, digests, strict=True) if _is_device(token)}
    users = set(digests) - devices
    found: dict[str, Principal] = {}
    if devices:
        for terminal in await session.scalars(
            select(Terminal).where(Terminal.credential_hash.in_(devices), Terminal.active.is_(True))
        ):
            if terminal.status != "retired" and terminal.credential_hash:
                found[terminal.credential_hash] = Principal(
                    kind="device",
                    id=terminal.id,
                    name=terminal.serial_number,
                    permissions=DEVICE_PERMISSIONS,
                )
    if users:
        now = utcnow()
        for auth, user in (
            await session.execute(
                select(AuthSession, User)
                .join(User, User.id == AuthSession.user_id)
                .where(AuthSession.token_hash.in_(users))
            )
        ).all():
            if auth.revoked_at is None and auth.expires_at > now and user.active:
                found[auth.token_hash] = Principal(
                    kind="user",
                    id=user.id,
                    name=user.username,
                    roles=tuple(user.roles),
                    permissions=permissions_for(user.roles),
                )
    out: list[Principal | None] = []
    for (_, ip), digest in zip(tokens, digests, strict=True):
        principal = found.get(digest)
        out.append(
            None if principal is None else replace(principal, token_hash=digest, client_ip=ip)
        )
    return out


def _is_device(token: str) -> bool:
    return token.startswith(DEVICE_PREFIX)


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User", "用户", user_id)
    return user


async def get_skills(session: AsyncSession, user_ids: list[int]) -> dict[int, list[AgentSkill]]:
    out: dict[int, list[AgentSkill]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return out
    rows = await session.scalars(
        select(AgentSkill)
        .where(AgentSkill.user_id.in_(user_ids))
        .order_by(AgentSkill.skill_group_code)
    )
    for skill in rows:
        out[skill.user_id].append(skill)
    return out


def users_query(q: str | None, role: str | None, active: bool | None) -> Select[Any]:
    stmt = select(User).order_by(User.id)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.like(pattern, escape="\\"),
            )
        )
    if role:
        # JSON arrays are small; a LIKE on the serialised list works on both backends.
        stmt = stmt.where(cast(User.roles, Text).like(f'%"{role}"%'))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return stmt


async def user_out(session: AsyncSession, users: list[User]) -> list[UserOut]:
    """API view of users with their skills, in one extra query."""
    skills = await get_skills(session, [u.id for u in users])
    return [
        UserOut(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            roles=list(u.roles),
            home_site_id=u.home_site_id,
            languages=list(u.languages),
            skills=[
                SkillIn(skill_group_code=s.skill_group_code, proficiency=s.proficiency)
                for s in skills[u.id]
            ],
            department_code=u.department_code,
            active=u.active,
        )
        for u in users
    ]
