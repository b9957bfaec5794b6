"""Reference rows the live queue reads on every action, cached per process.

Taking a ticket, matching, accepting and ending a session each need the service item's
name and skill group, the group's wrap-up time and hours, the home centres of the
item's department, the agents' skills, home centre and display name. These change a
few times a day; reading them again in every transaction was most of the queue's SQL
(docs/benchmarks.md). They are kept here for ``TTL`` seconds. The case lists and views
name each row's item, department and agent from here too (``*_names``).

Staleness: any ORM write to a watched table in this process (admin console, import,
tests) clears the cache at once, on commit or rollback of that session's flush; another
node sees a change within ``TTL`` seconds. Nothing that decides who gets a ticket is
cached: agent and ticket *state* is always read under row locks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from cloudwindow.accounts.models import AgentSkill, User
from cloudwindow.catalog.models import Department, ServiceItem, SkillGroup
from cloudwindow.fleet.models import Site, Terminal

TTL = 10.0
K = TypeVar("K", str, int)
WATCHED: tuple[type[Any], ...] = (
    ServiceItem,
    SkillGroup,
    Department,
    Site,
    Terminal,
    User,
    AgentSkill,
)
WATCHED_TABLES = frozenset(m.__tablename__ for m in WATCHED)


@dataclass(frozen=True)
class ItemInfo:
    code: str
    name: str
    skill_group_code: str
    department_code: str
    active: bool
    cloud_enabled: bool


@dataclass(frozen=True)
class GroupInfo:
    code: str
    name: str
    wrap_up_seconds: int
    business_hours: list[list[str]] | None
    open_days: list[str] | None = None
    closed_days: list[str] | None = None


@dataclass(frozen=True)
class AgentInfo:
    user_id: int
    display_name: str
    home_site_id: int | None
    skills: frozenset[str]


@dataclass(frozen=True)
class TerminalInfo:
    id: int
    name: str
    site_id: int | None


_store: dict[tuple[str, object], tuple[float, object]] = {}


def clear() -> None:
    _store.clear()


async def _cached(key: tuple[str, object], load: Callable[[], Awaitable[object]]) -> Any:
    hit = _store.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    value = await load()
    _store[key] = (now + TTL, value)
    return value


async def item(session: AsyncSession, code: str) -> ItemInfo | None:
    async def load() -> ItemInfo | None:
        row = (
            await session.execute(
                select(
                    ServiceItem.name,
                    ServiceItem.skill_group_code,
                    ServiceItem.department_code,
                    ServiceItem.active,
                    ServiceItem.cloud_enabled,
                ).where(ServiceItem.code == code)
            )
        ).first()
        return None if row is None else ItemInfo(code, *row)

    result: ItemInfo | None = await _cached(("item", code), load)
    return result


async def group(session: AsyncSession, code: str) -> GroupInfo | None:
    async def load() -> GroupInfo | None:
        row = (
            await session.execute(
                select(
                    SkillGroup.name,
                    SkillGroup.wrap_up_seconds,
                    SkillGroup.business_hours,
                    SkillGroup.open_days,
                    SkillGroup.closed_days,
                ).where(SkillGroup.code == code)
            )
        ).first()
        return None if row is None else GroupInfo(code, *row)

    result: GroupInfo | None = await _cached(("group", code), load)
    return result


async def home_centres(session: AsyncSession, department_code: str) -> frozenset[int]:
    """Agent offices at an item's own level: those in the handling department's region."""

    async def load() -> frozenset[int]:
        region = await session.scalar(
            select(Department.region_code).where(Department.code == department_code)
        )
        if region is None:
            return frozenset()
        return frozenset(
            await session.scalars(
                select(Site.id).where(
                    Site.type == "agent_office", Site.active.is_(True), Site.region_code == region
                )
            )
        )

    result: frozenset[int] = await _cached(("centres", department_code), load)
    return result


async def _names(
    session: AsyncSession, kind: str, keys: Iterable[K], stmt: Callable[[list[K]], Any]
) -> dict[K, str]:
    """Cached names of many keys (one query for the misses; ``stmt(missing)`` selects
    (key, name) rows)."""
    now = time.monotonic()
    found: dict[K, str] = {}
    missing: list[K] = []
    for key in set(keys):
        hit = _store.get((kind, key))
        if hit is not None and hit[0] > now:
            found[key] = hit[1]  # type: ignore[assignment]
        else:
            missing.append(key)
    if missing:
        for key, name in await session.execute(stmt(missing)):
            _store[(kind, key)] = (now + TTL, name)
            found[key] = name
    return found


async def item_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """Service item code → name (case lists: every row names its item)."""
    return await _names(
        session,
        "item-name",
        codes,
        lambda missing: select(ServiceItem.code, ServiceItem.name).where(
            ServiceItem.code.in_(missing)
        ),
    )


async def department_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """Department code → short name (or the full name when it has none)."""
    return await _names(
        session,
        "department-name",
        codes,
        lambda missing: select(
            Department.code, func.coalesce(func.nullif(Department.short_name, ""), Department.name)
        ).where(Department.code.in_(missing)),
    )


async def user_names(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """User id → display name."""
    return await _names(
        session,
        "user-name",
        user_ids,
        lambda missing: select(User.id, User.display_name).where(User.id.in_(missing)),
    )


async def agents(session: AsyncSession, user_ids: list[int]) -> dict[int, AgentInfo]:
    """Skills, home centre and display name of these users (one query for the misses)."""
    now = time.monotonic()
    found: dict[int, AgentInfo] = {}
    missing: list[int] = []
    for user_id in user_ids:
        hit = _store.get(("agent", user_id))
        if hit is not None and hit[0] > now:
            found[user_id] = hit[1]  # type: ignore[assignment]
        else:
            missing.append(user_id)
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000]
        skills: dict[int, set[str]] = {u: set() for u in chunk}
        for user_id, code in await session.execute(
            select(AgentSkill.user_id, AgentSkill.skill_group_code).where(
                AgentSkill.user_id.in_(chunk)
            )
        ):
            skills[user_id].add(code)
        for user_id, name, site in await session.execute(
            select(User.id, User.display_name, User.home_site_id).where(User.id.in_(chunk))
        ):
            info = AgentInfo(user_id, name, site, frozenset(skills[user_id]))
            _store[("agent", user_id)] = (now + TTL, info)
            found[user_id] = info
    return found


async def agent(session: AsyncSession, user_id: int) -> AgentInfo | None:
    return (await agents(session, [user_id])).get(user_id)


async def terminal(session: AsyncSession, terminal_id: int) -> TerminalInfo | None:
    async def load() -> TerminalInfo | None:
        row = (
            await session.execute(
                select(Terminal.name, Terminal.site_id).where(Terminal.id == terminal_id)
            )
        ).first()
        return None if row is None else TerminalInfo(terminal_id, *row)

    result: TerminalInfo | None = await _cached(("terminal", terminal_id), load)
    return result


# Invalidation: any write to a watched table through an ORM session of this process
# clears the cache at flush time and again when that transaction ends (so a value read
# by another transaction between the flush and the commit is not kept).
def _touched(session: Session) -> None:
    session.info["refcache_touched"] = True
    clear()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            _touched(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in WATCHED_TABLES:
        _touched(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _after_end(session: Session) -> None:
    if session.info.pop("refcache_touched", False):
        clear()
