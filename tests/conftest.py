"""Shared fixtures: real servers (uvicorn on a free port) on SQLite and PostgreSQL.

Every integration test talks HTTP to a real uvicorn server holding the real app. The
``backend`` parameter runs each test on SQLite and, when ``CLOUDWINDOW_TEST_POSTGRES_URL``
is set, on PostgreSQL too. When ``CLOUDWINDOW_TEST_REQUIRE_SERVICES=1`` (CI sets it),
an unreachable PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cloudwindow.app import create_app
from cloudwindow.bus import MemoryBus
from cloudwindow.config import Settings
from cloudwindow.db import Database
from cloudwindow.migrate import upgrade
from cloudwindow.sample.load import DEMO_PASSWORD, load_sample
from cloudwindow.services import Services
from cloudwindow.storage import FileStore

POSTGRES_URL = os.environ.get("CLOUDWINDOW_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("CLOUDWINDOW_TEST_REDIS_URL", "")
REQUIRE = os.environ.get("CLOUDWINDOW_TEST_REQUIRE_SERVICES") == "1"
REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "src" / "cloudwindow" / "static"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_admin_url() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_exec(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_database_url(backend: str, tmp: Path) -> str:
    """A fresh, empty database of the given kind; PostgreSQL gets a new database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'cw.db'}"
    if not POSTGRES_URL:
        if REQUIRE:
            pytest.fail("CLOUDWINDOW_TEST_POSTGRES_URL is required but not set")
        pytest.skip("PostgreSQL not configured (CLOUDWINDOW_TEST_POSTGRES_URL)")
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def prepare_database(url: str, tmp: Path, sample: bool = True, full: bool = False) -> None:
    upgrade(url)
    if not sample:
        return

    async def go() -> None:
        settings = Settings(database_url=url, data_dir=tmp / "data")
        services = Services(
            settings=settings, db=Database(url), bus=MemoryBus(), files=FileStore(settings.data_dir)
        )
        try:
            await load_sample(services, full_catalog=full)
        finally:
            await services.db.dispose()

    asyncio.run(go())


@dataclass
class LiveServer:
    """A real uvicorn server in a thread, serving the real app."""

    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self.tokens:
            with self.client() as c:
                r = c.post("/api/auth/login", json={"username": username, "password": password})
                assert r.status_code == 200, r.text
                self.tokens[username] = r.json()["token"]
        return self.tokens[username]

    def as_user(self, username: str) -> httpx.Client:
        return self.client(self.login(username))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(settings: Settings) -> LiveServer:
    port = free_port()
    app = create_app(settings, configure_logs=False)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_per_message_deflate=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    return LiveServer(
        url=f"http://127.0.0.1:{port}", settings=settings, server=server, thread=thread
    )


def settings_for(url: str, tmp: Path, **kw: Any) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp / "data",
        log_level="WARNING",
        static_dir=STATIC if (STATIC / "console").is_dir() else None,
        **kw,
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def live(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per backend with the sample district loaded, shared by the session.
    Tests that change data create their own records (unique codes) so they don't collide."""
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(settings_for(url, tmp))
    yield server
    server.stop()
    drop_database(url)


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own on a new SQLite database with the sample loaded."""
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path))
    yield server
    server.stop()


@pytest.fixture()
def admin(live: LiveServer) -> Iterator[httpx.Client]:
    with live.as_user("admin") as c:
        yield c


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()
