"""Shared fixtures: real servers (uvicorn on a free port) on SQLite and PostgreSQL.

Every integration test talks HTTP to a real uvicorn server holding the real app. The
``backend`` parameter runs each test on SQLite and, when ``CLOUDWINDOW_TEST_POSTGRES_URL``
is set, on PostgreSQL too. When ``CLOUDWINDOW_TEST_REQUIRE_SERVICES=1`` (CI sets it),
an unreachable PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from cloudwindow.app import create_app
from cloudwindow.config import Settings
from cloudwindow.migrate import upgrade
from cloudwindow.sample.load import DEMO_PASSWORD, load_sample
from cloudwindow.services import Services

POSTGRES_URL = os.environ.get("CLOUDWINDOW_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("CLOUDWINDOW_TEST_REDIS_URL", "")
REQUIRE = os.environ.get("CLOUDWINDOW_TEST_REQUIRE_SERVICES") == "1"
T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "src" / "cloudwindow" / "static"


def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread: Playwright's sync API holds an event loop in the
    main thread, and asyncio.run (here and in Alembic's env.py) refuses to nest."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def run_async(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return in_thread(lambda: asyncio.run(coro_fn()))


_FROZEN: list[bool] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first browser test: collect once, then freeze what is left (the
    integration tests' hundreds of MB of long-lived objects) out of the collector's
    scans. The same browser flow took 51–65 s alone and 99–148 s after the integration
    tests, with the process idle in between; full collections over that heap, stalling
    the in-process test servers, are the suspect."""
    if not _FROZEN and "/e2e/" in str(item.path):
        _FROZEN.append(True)
        gc.collect()
        gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: quick feedback first, and Playwright's event loop (which lives
    in the main thread for the rest of the session) starts after everything else."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


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


def need_tools(*names: str) -> None:
    """Skip when a Debian tool the test drives is missing; in CI (which installs them,
    see .ci/run) a missing tool is a failure, never a silent skip."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    if REQUIRE or os.environ.get("CI"):
        pytest.fail(f"required tools are not installed: {', '.join(missing)}")
    pytest.skip(f"not installed: {', '.join(missing)}")


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
        run_async(lambda: _pg_exec(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        run_async(lambda: _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Migrating and loading the sample district takes seconds; dozens of tests want a
# database of their own. The first request of each kind builds a template, later ones get
# a copy: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL. The data
# directory (it holds the data key that the sample's personal data is encrypted with)
# is copied along.
_TEMPLATES: dict[tuple[str, bool, bool], tuple[str, Path]] = {}


def prepare_database(url: str, tmp: Path, sample: bool = True, full: bool = False) -> None:
    kind = "sqlite" if url.startswith("sqlite") else "postgres"
    template = _TEMPLATES.get((kind, sample, full))
    if template is None:
        template_tmp = Path(tempfile.mkdtemp(prefix="cw-template-"))
        template_url = make_database_url(kind, template_tmp)
        _build_database(template_url, template_tmp, sample, full)
        template = _TEMPLATES[(kind, sample, full)] = (template_url, template_tmp)
    template_url, template_tmp = template
    if kind == "sqlite":
        target = Path(url.split(":///", 1)[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template_url.split(":///", 1)[1], target)
    else:
        name, source = url.rsplit("/", 1)[1], template_url.rsplit("/", 1)[1]
        run_async(lambda: _pg_exec(f'DROP DATABASE IF EXISTS "{name}"'))
        run_async(lambda: _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    if (template_tmp / "data").is_dir():
        shutil.copytree(template_tmp / "data", tmp / "data", dirs_exist_ok=True)


def _build_database(url: str, tmp: Path, sample: bool, full: bool) -> None:
    in_thread(lambda: upgrade(url))
    if not sample:
        return

    async def go() -> None:
        services = Services.standalone(Settings(database_url=url, data_dir=tmp / "data"))
        try:
            await load_sample(services, full_catalog=full)
        finally:
            await services.db.dispose()

    run_async(go)


@atexit.register
def _drop_templates() -> None:
    for url, tmp in _TEMPLATES.values():
        with contextlib.suppress(Exception):
            drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


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


@contextlib.contextmanager
def dedicated_server(backend: str, tmp: Path, **settings: Any) -> Iterator[LiveServer]:
    """A server of its own (sample district loaded) with these settings, for a test that
    changes what others would see; dropped with its database afterwards."""
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(settings_for(url, tmp, **settings))
    try:
        yield server
    finally:
        server.stop()
        drop_database(url)


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


def on_one_backend(name: str) -> pytest.MarkDecorator:
    """``pytestmark = on_one_backend(...)``: the module runs on one database only, for tests
    whose subject is the same code on both (the permission table, console pages); the
    integration modules cover each database. ``"postgres"`` falls back to SQLite where
    PostgreSQL is not configured, so the module still runs on a developer's machine."""
    if name == "postgres" and not POSTGRES_URL:
        name = "sqlite"
    return pytest.mark.parametrize("backend", [name], indirect=True)


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


# Browser (e2e) -------------------------------------------------------------------------
CHROMIUM = os.environ.get("CLOUDWINDOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CLOUDWINDOW_E2E_ARTIFACTS", "var/e2e"))


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    missing = [
        what
        for what, ok in (
            (f"Chromium at {CHROMIUM}", Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
            ("the built web pages (make web)", (STATIC / "console" / "index.html").exists()),
        )
        if not ok
    ]
    if missing:
        if REQUIRE or os.environ.get("CI"):
            pytest.fail("browser tests need " + ", ".join(missing))
        pytest.skip("browser tests need " + ", ".join(missing))
    with sync_playwright() as p:
        p.selectors.set_test_id_attribute("data-test")  # the web app's convention
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    """Keep a screenshot for people to look at (var/e2e/ by default)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
