"""Property-based fuzzing of every API operation from its OpenAPI schema (schemathesis).

A server of its own (the fuzzer creates and deactivates things at random) is driven as
the administrator, who holds every permission; the one check is that nothing answers
5xx: every bad input must get a stable 4xx error instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from cloudwindow.accounts.actions import do_create_user
from cloudwindow.accounts.permissions import Role
from cloudwindow.accounts.schemas import UserCreate
from cloudwindow.config import Settings
from cloudwindow.services import Services
from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    run_async,
    settings_for,
    start_server,
)


@schemathesis.serializer("application/pdf")
def _pdf_body(_ctx: Any, value: Any) -> bytes:
    """Raw PDF uploads (public document verification): the fuzzer's bytes as they are."""
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture(scope="module")
def fuzz_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(settings_for(url, tmp, login_max_failures=1_000_000))
    yield server
    server.stop()
    drop_database(url)


@pytest.mark.timeout(900)
def test_no_operation_answers_5xx(fuzz_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            token = _admin_token(fuzz_server)
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code in (401, 403):
                # The fuzzer may have hit its own administrator (deactivated, roles
                # changed, logged out): check it before the next call.
                fuzz_server.tokens.pop("fuzz-admin-checked", None)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> "
                    f"{response.status_code}: {response.text[:300]}\n"
                    f"{case.as_curl_command()}"
                )

        run()
    assert operations >= 50
    assert not failures, "\n\n".join(failures[:10])


def _admin_token(server: LiveServer) -> str:
    """A token of a working administrator. The fuzzer deactivates users, resets
    passwords and changes roles at random, so when the current one has been hit, a new
    administrator is made straight in the database (not through the API under test)."""
    token = server.tokens.get("fuzz-admin")
    if token and server.tokens.get("fuzz-admin-checked"):
        return token  # worked last time; re-checked after a 401/403 or a user change
    if token:
        with server.client(token) as c:
            me = c.get("/api/auth/me")
            if me.status_code == 200 and "users.write" in me.json()["permissions"]:
                server.tokens["fuzz-admin-checked"] = "1"
                return token
    name = f"fz{uuid.uuid4().hex[:8]}"
    run_async(lambda: _create_admin(server.settings, name))
    with server.client() as c:
        r = c.post("/api/auth/login", json={"username": name, "password": "Fuzz#12345"})
        assert r.status_code == 200, r.text
        server.tokens["fuzz-admin"] = str(r.json()["token"])
    server.tokens["fuzz-admin-checked"] = "1"
    return server.tokens["fuzz-admin"]


async def _create_admin(settings: Settings, name: str) -> None:
    services = Services.standalone(settings)
    try:
        await do_create_user(
            services,
            None,
            UserCreate(
                username=name,
                display_name="fuzz",
                password="Fuzz#12345",
                roles=[Role.ADMINISTRATOR],
            ),
        )
    finally:
        await services.db.dispose()


EXAMPLES = 6  # per operation; ~150 operations × 2 databases: the suite must stay well under 20 min
