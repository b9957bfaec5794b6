"""The Redis event bus: two nodes' buses see each other's events; readiness reports it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudwindow.bus import RedisBus
from conftest import (
    REDIS_URL,
    REQUIRE,
    LiveServer,
    make_database_url,
    prepare_database,
    run_async,
    settings_for,
    start_server,
)


@pytest.fixture()
def redis_url() -> str:
    if not REDIS_URL:
        if REQUIRE:
            pytest.fail("CLOUDWINDOW_TEST_REDIS_URL is required but not set")
        pytest.skip("Redis not configured (CLOUDWINDOW_TEST_REDIS_URL)")

    async def ping() -> None:
        bus = RedisBus(REDIS_URL)
        try:
            await bus.ping()
        finally:
            await bus.stop()

    try:
        run_async(ping)
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"Redis unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return REDIS_URL


def test_events_cross_between_two_buses(redis_url: str) -> None:
    async def go() -> list[tuple[str, dict[str, Any]]]:
        node_a, node_b = RedisBus(redis_url), RedisBus(redis_url)
        got: list[tuple[str, dict[str, Any]]] = []
        arrived = asyncio.Event()

        async def on_b(channel: str, event: dict[str, Any]) -> None:
            got.append((channel, event))
            arrived.set()

        node_b.subscribe(on_b)
        await node_a.start()
        await node_b.start()
        try:
            tag = uuid.uuid4().hex
            # Subscription is asynchronous: publish until node B has it (bounded).
            for _ in range(50):
                await node_a.publish(f"test.{tag}", {"tag": tag, "text": "排队号 A001"})
                try:
                    await asyncio.wait_for(arrived.wait(), 0.1)
                    break
                except TimeoutError:
                    continue
        finally:
            await node_a.stop()
            await node_b.stop()
        return [g for g in got if g[1].get("tag") == tag]

    got = run_async(go)
    assert got, "node B never received node A's event"
    channel, event = got[0]
    assert channel.startswith("test.") and event["text"] == "排队号 A001"


@pytest.fixture()
def redis_server(redis_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path, sample=False)
    server = start_server(settings_for(url, tmp_path, redis_url=redis_url))
    yield server
    server.stop()


def test_readiness_checks_redis(redis_server: LiveServer) -> None:
    with redis_server.client() as c:
        r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["bus"] == "ok"


def test_readiness_fails_clearly_when_redis_is_down(tmp_path: Path) -> None:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path, sample=False)
    # Nothing listens on port 1: the node starts but must not claim to be ready.
    server = start_server(settings_for(url, tmp_path, redis_url="redis://127.0.0.1:1/0"))
    try:
        with server.client() as c:
            r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["error_id"] == "not-ready"
        assert r.json()["details"]["checks"]["bus"].startswith("error")
    finally:
        server.stop()
