"""Database infrastructure: the declarative base, engines, sessions and transactions.

Every write goes through ``Database.transaction()``: one unit of work, committed at the
end or rolled back on any exception, so a failed request leaves nothing half-written.
SQLite (the embedded default) and PostgreSQL run the same code and migrations.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    MetaData,
    Table,
    bindparam,
    event,
    insert,
    inspect,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    # No pre-ping: with asyncpg it costs three round trips (BEGIN, ";", ROLLBACK) on
    # every checkout, about as many as the queue's hot actions send for their own work
    # (docs/benchmarks.md, issue 3). Disconnects are handled optimistically instead: a
    # statement that fails on a dead connection invalidates the whole pool, so after a
    # database restart one transaction per node fails (and is rolled back) and the next
    # ones reconnect. Connections are also recycled hourly.
    kw.setdefault("pool_pre_ping", False)
    kw.setdefault("pool_recycle", 3600)
    return create_async_engine(url, **kw)


# Deferred writes ---------------------------------------------------------------------------
DEFERRED = "cloudwindow.deferred_writes"
Params = dict[str, Any]


class DeferredWrites:
    """Changes to a few hot tables, written at the end of the transaction in one batch.

    The live queue's actions change one ticket row and one or two agent rows and add a
    few history rows (ticket_log, agent_state_log) per action. Flushed by the ORM that is
    one statement per row, each a round trip, plus the unit of work's CPU. With a
    ``DeferredWrites`` in ``session.info`` (``Database.transaction(deferred=...)``), each
    ORM flush hands these changes over instead (``before_flush`` below): UPDATEs of rows
    of ``update_tables`` (one per row, changed columns only, later changes merged) and
    INSERTs of new rows of ``insert_tables`` (multi-row, ids never read). ``execute``
    then writes them, with the caller's last INSERT (the outbox events, whose ids it
    returns), as **one statement** on PostgreSQL (data-modifying CTEs) or as a few
    statements in order on SQLite.

    What an action reads back through SQL inside the same transaction does not see these
    changes until ``execute`` (the ORM objects in the session do): actions that use this
    must not depend on it. A row lock taken after a change with ``populate_existing``
    would reload the old values, so such actions lock their rows first (house order).
    """

    def __init__(self, update_tables: frozenset[str], insert_tables: frozenset[str]) -> None:
        self.update_tables = update_tables
        self.insert_tables = insert_tables
        self.updates: dict[tuple[Table, tuple[Any, ...]], dict[str, Any]] = {}
        self.inserts: dict[tuple[Table, tuple[str, ...]], list[Params]] = {}

    def harvest(self, session: Session) -> None:
        for obj in list(session.new):
            table = obj.__table__
            if table.name not in self.insert_tables:
                continue
            state = inspect(obj)
            # As the ORM does: a None leaves the column to its default (or NULL).
            row = {
                attr.key: value
                for attr in state.mapper.column_attrs
                if (value := state.dict.get(attr.key)) is not None
            }
            # Python-side defaults now: inside a CTE, SQLAlchemy does not apply them.
            for column in table.columns:
                default = column.default
                if column.key not in row and default is not None:
                    if default.is_scalar:
                        row[column.key] = default.arg
                    elif default.is_callable:
                        row[column.key] = default.arg(None)
            self.inserts.setdefault((table, tuple(sorted(row))), []).append(row)
            session.expunge(obj)
        for obj in list(session.dirty):
            table = obj.__table__
            if table.name not in self.update_tables:
                continue
            state = inspect(obj)
            changed = {key: state.dict[key] for key in state.committed_state if key in state.dict}
            if not changed or state.identity is None:
                continue
            self.updates.setdefault((table, state.identity), {}).update(changed)
            state._commit_all(state.dict, session.identity_map)

    # From this many rows of one table (with the same columns), one executemany instead
    # of a statement (CTE) per row: the matcher's rounds change many rows at once.
    MANY = 4
    # The returned rows (outbox events: 1–6 per queue action) go in one INSERT … SELECT
    # up to this many, in an executemany beyond.
    MANY_RETURNING = 16

    def _take(self) -> tuple[list[tuple[Executable, list[Params]]], list[Single]]:
        """(executemany statements with their parameters, single rows in order)."""
        many: list[tuple[Executable, list[Params]]] = []
        single: list[Single] = []
        groups: dict[tuple[Table, tuple[str, ...]], list[tuple[tuple[Any, ...], Params]]] = {}
        for (table, key), values in self.updates.items():
            groups.setdefault((table, tuple(sorted(values))), []).append((key, values))
        for (table, columns), rows in groups.items():
            if len(rows) >= self.MANY:
                stmt = _statement((("u", table, columns),), None)
                many.append((stmt, [_params(0, table, columns, k, v) for k, v in rows]))
                continue
            single.extend(("u", table, columns, key, values) for key, values in rows)
        for (table, columns), inserts in self.inserts.items():
            if len(inserts) >= self.MANY:
                many.append((insert(table), inserts))
            else:
                single.extend(("i", table, columns, (), row) for row in inserts)
        self.updates, self.inserts = {}, {}
        return many, single

    async def execute(
        self, session: AsyncSession, table: Table | None = None, rows: Sequence[Params] = ()
    ) -> list[int]:
        """Write everything collected, then ``rows`` into ``table`` (whose integer key
        is returned, in the order of ``rows``: ids ascending as they were given).

        Each statement is built once per shape (which tables, which columns, how many
        rows) with named parameters and kept (``_statement``): building a statement and
        its cache key anew costs more CPU here than sending it."""
        await session.flush()  # other pending ORM changes first (and a last harvest)
        many, single = self._take()
        conn = await session.connection()
        ids: list[int] = []
        if table is not None and len(rows) > self.MANY_RETURNING:
            result = await conn.execute(
                insert(table).returning(
                    next(iter(table.primary_key)), sort_by_parameter_order=True
                ),
                list(rows),
            )
            ids = list(result.scalars())
            table, rows = None, ()
        for stmt, many_params in many:
            await conn.execute(stmt, many_params)
        returning: tuple[Table, tuple[str, ...], int] | None = None
        params: Params = {}
        if table is not None and rows:
            names = tuple(rows[0])
            returning = (table, names, len(rows))
            for i, one in enumerate(rows):
                params.update({f"r{i}_{c}": one[c] for c in names})
        batches: list[tuple[tuple[Single, ...], tuple[Table, tuple[str, ...], int] | None]]
        if conn.dialect.name == "postgresql":
            batches = [(tuple(single), returning)] if single or returning else []
        else:  # no data-modifying CTEs: one statement each, the returned rows last
            batches = [((s,), None) for s in single]
            if returning is not None:
                batches.append(((), returning))
        for batch, last in batches:
            values = dict(params) if last is not None else {}
            for i, (_, t, columns, pk, row) in enumerate(batch):
                values.update(_params(i, t, columns, pk, row))
            shape = tuple((kind, t, columns) for kind, t, columns, _, _ in batch)
            result = await conn.execute(_statement(shape, last), values)
            if last is not None:
                ids = sorted(result.scalars())
        return ids


# ("u", table, changed columns, primary key, values) or ("i", table, columns, (), row)
Single = tuple[str, Table, tuple[str, ...], tuple[Any, ...], Params]


def _params(
    i: int, table: Table, columns: tuple[str, ...], key: tuple[Any, ...], values: Params
) -> Params:
    params = {f"w{i}_{c}": values[c] for c in columns}
    params.update({f"w{i}_k{j}": v for j, v in enumerate(key)})
    return params


@functools.cache
def _statement(
    shape: tuple[tuple[str, Table, tuple[str, ...]], ...],
    returning: tuple[Table, tuple[str, ...], int] | None,
) -> Insert | Update:
    """One statement for a batch of single-row writes (and the returned rows): the last
    one is the statement, the others its data-modifying CTEs (PostgreSQL). Parameters:
    ``w{i}_{column}`` (``w{i}_k{j}``: primary key) and ``r{i}_{column}``."""
    parts: list[Insert | Update] = []
    for i, (kind, table, columns) in enumerate(shape):
        values = {c: bindparam(f"w{i}_{c}", type_=table.c[c].type) for c in columns}
        if kind == "u":
            where = [
                c == bindparam(f"w{i}_k{j}", type_=c.type) for j, c in enumerate(table.primary_key)
            ]
            parts.append(update(table).where(*where).values(values))
        else:
            parts.append(insert(table).values(values))
    if returning is not None:
        parts.append(_ordered_insert(*returning))
    main = parts.pop()
    for i, part in enumerate(parts):
        main = main.add_cte(part.cte(f"w{i}"))
    return main


def _ordered_insert(table: Table, columns: tuple[str, ...], count: int) -> Insert:
    """INSERT … SELECT of ``count`` rows in their order (``r{i}_{column}``), returning
    the new keys."""
    selects = [
        select(
            *[bindparam(f"r{i}_{c}", type_=table.c[c].type).label(c) for c in columns],
            literal_column(str(i)).label("_n"),
        )
        for i in range(count)
    ]
    src = (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("v")
    key = next(iter(table.primary_key))
    return (
        insert(table)
        .from_select(list(columns), select(*[src.c[c] for c in columns]).order_by(src.c._n))
        .returning(key)
    )


@event.listens_for(Session, "before_flush")
def _defer_hot_writes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    deferred = session.info.get(DEFERRED)
    if deferred is not None:
        deferred.harvest(session)


class Database:
    """Owns the engine and hands out sessions; created once by ``create_app``."""

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 20) -> None:
        # SQLite (one node, one process): pysqlite only sends BEGIN at the first write and
        # ignores FOR UPDATE, so two transactions could both read a row and both write it
        # (a lost update). One in-process lock around every write transaction serialises
        # them, which is what PostgreSQL's row locks do across nodes.
        self._write_lock = asyncio.Lock() if url.startswith("sqlite") else None
        self.url = url
        self.engine = (
            make_engine(url)
            if url.startswith("sqlite")
            else make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit on success, roll back on any exception.
        Never nest: on SQLite a transaction inside another would wait for itself."""
        if self._write_lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
