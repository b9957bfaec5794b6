"""Health, OpenAPI and sign-in through the real HTTP interface."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import (
    LiveServer,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
    unique,
)


def test_health_and_readiness(live: LiveServer) -> None:
    with live.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "bus": "ok", "files": "ok"}


def test_openapi_declares_a_permission_for_every_guarded_operation(live: LiveServer) -> None:
    with live.client() as c:
        schema = c.get("/openapi.json").json()
    from integration.test_permissions import PUBLIC as public  # one list of open doors

    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if not path.startswith("/api/"):
                continue
            if (method, path) in public:
                assert "x-permission" not in op
            else:
                assert op.get("x-permission"), f"{method} {path} has no permission"


def test_login_me_logout(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/auth/login", json={"username": "supervisor", "password": "Demo@2026"})
        assert r.status_code == 200
        body = r.json()
        assert body["user"]["roles"] == ["supervisor"]
        token = body["token"]
    with live.client(token) as c:
        me = c.get("/api/auth/me").json()
        assert me["user"]["username"] == "supervisor"
        assert "fleet.read" in me["permissions"] and "catalog.write" not in me["permissions"]
        assert c.post("/api/auth/logout").status_code == 204
        after = c.get("/api/auth/me")
        assert after.status_code == 401
        assert after.json()["error_id"] == "not-authenticated"


def test_wrong_password_is_a_stable_bilingual_error(live: LiveServer) -> None:
    with live.client() as c:
        r = c.post("/api/auth/login", json={"username": "agent01", "password": "nope-nope"})
    assert r.status_code == 401
    body = r.json()
    assert body["error_id"] == "invalid-credentials"
    assert body["message"]["zh-CN"] == "用户名或密码错误"
    assert body["message"]["en"] == "Wrong username or password"


def test_login_is_throttled_after_repeated_failures(live: LiveServer) -> None:
    # A user of its own, so the lock-out touches nobody else.
    name = unique("thr").lower()
    with live.as_user("admin") as admin:
        r = admin.post(
            "/api/users",
            json={
                "username": name,
                "display_name": "限流测试",
                "password": "Correct#123",
                "roles": ["agent"],
            },
        )
        assert r.status_code == 201, r.text
    with live.client() as c:
        for _ in range(live.settings.login_max_failures):
            r = c.post("/api/auth/login", json={"username": name, "password": "wrong-pass"})
            assert r.status_code == 401
        r = c.post("/api/auth/login", json={"username": name, "password": "Correct#123"})
        assert r.status_code == 429
        assert r.json()["error_id"] == "login-throttled"
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["details"]["retry_after_seconds"] > 0


def test_deactivated_user_cannot_sign_in_and_loses_sessions(live: LiveServer) -> None:
    name = unique("off").lower()
    with live.as_user("admin") as admin:
        uid = admin.post(
            "/api/users",
            json={
                "username": name,
                "display_name": "停用测试",
                "password": "Correct#123",
                "roles": ["auditor"],
            },
        ).json()["id"]
        token = live.login(name, "Correct#123")
        with live.client(token) as user:
            assert user.get("/api/auth/me").status_code == 200
            assert admin.post(f"/api/users/{uid}/deactivate").json()["active"] is False
            assert user.get("/api/auth/me").status_code == 401
    with live.client() as c:
        r = c.post("/api/auth/login", json={"username": name, "password": "Correct#123"})
        assert r.status_code == 401


def test_garbage_bearer_tokens_are_rejected(live: LiveServer) -> None:
    for token in ["x", "cw_" + "A" * 43, "cwd_1_forged", "Bearer"]:
        with live.client(token) as c:
            r = c.get("/api/service-items")
            assert r.status_code == 401, token
            assert r.json()["error_id"] == "not-authenticated"


def test_sessions_expire(tmp_path: Path) -> None:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, session_ttl_seconds=1))
    try:
        token = server.login("auditor")
        with server.client(token) as c:
            assert c.get("/api/auth/me").status_code == 200
            time.sleep(1.5)
            r = c.get("/api/auth/me")
            assert r.status_code == 401 and r.json()["error_id"] == "not-authenticated"
    finally:
        server.stop()


def test_every_response_carries_a_request_id(live: LiveServer) -> None:
    with live.client() as c:
        ids = {c.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
