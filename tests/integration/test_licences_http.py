"""``HttpLicenceProvider`` against a real HTTP server: a second CloudWindow server plays
the provincial licence service (its ``/api/provincial/licences`` interface, token
``licence_api_token``), and a platform configured with ``licence_provider=http`` fetches
from it during a session. The province being down, slow, or refusing the token gives a
clear error, and nothing is written (docs/licences.md §Provincial interface)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.licences_support import consented_case, licences, use

from cloudwindow.config import Settings
from cloudwindow.errors import CloudWindowError
from cloudwindow.licences.providers import HttpLicenceProvider, Requester
from cloudwindow.sample.people import person
from conftest import (
    LiveServer,
    free_port,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
)

TOKEN = "province-secret-token-2026"


def _server(tmp: Path, name: str, **kw: object) -> LiveServer:
    folder = tmp / name
    url = make_database_url("sqlite", folder)
    prepare_database(url, folder)
    return start_server(settings_for(url, folder, **kw))


@pytest.fixture()
def province(tmp_path: Path) -> Iterator[LiveServer]:
    server = _server(tmp_path, "province", licence_api_token=TOKEN)
    yield server
    server.stop()


def provider(url: str, token: str = TOKEN, timeout: float = 5.0) -> HttpLicenceProvider:
    return HttpLicenceProvider(
        Settings(
            licence_provider="http",
            licence_provider_url=url,
            licence_provider_token=token,
            licence_provider_timeout_seconds=timeout,
        )
    )


def error_of(coro: object) -> CloudWindowError:
    with pytest.raises(CloudWindowError) as caught:
        asyncio.run(coro)  # type: ignore[arg-type]
    return caught.value


def test_the_http_provider_reads_a_real_provincial_server(province: LiveServer) -> None:
    chen = person("chen")
    asker = Requester(case_number="CW20261127-000001", operator="测试坐席")
    found = asyncio.run(provider(province.url).licences_of(chen.id_number, asker))
    assert {v.type_code for v in found} >= {"ID_CARD", "MARRIAGE", "DISABILITY"}
    assert all(v.source == "provincial" and "*" in v.holder_id_masked for v in found)
    card = next(v for v in found if v.type_code == "ID_CARD")
    data = asyncio.run(provider(province.url).file_of(chen.id_number, card.id, asker))
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == card.sha256
    # Another holder's licence id: not found, as if it did not exist
    li = person("li").id_number
    err = error_of(provider(province.url).file_of(li, card.id, asker))
    assert err.error_id == "licence-not-found"
    # The province logged who asked, for what case (holder masked)
    with province.as_user("auditor") as aud:
        rows = aud.get("/api/audit-events", params={"action": "licence.provincial.*"}).json()
    assert {r["action"] for r in rows["items"]} == {
        "licence.provincial.search",
        "licence.provincial.file",
    }
    assert rows["items"][0]["details"]["case_number"] == "CW20261127-000001"
    assert chen.id_number not in str(rows)


def test_the_provincial_interface_wants_its_token(province: LiveServer) -> None:
    body = {"holder_id_number": person("chen").id_number}
    with province.client() as c:
        r = c.post("/api/provincial/licences/search", json=body)
        assert r.status_code == 401 and r.json()["error_id"] == "licence-api-token-invalid"
    with province.client("wrong-token") as c:
        r = c.post("/api/provincial/licences/search", json=body)
        assert r.status_code == 401
    err = error_of(provider(province.url, token="wrong").licences_of(body["holder_id_number"],
                                                                     Requester()))  # fmt: skip
    assert err.error_id == "licence-provider-error" and err.status_code == 502
    assert err.details["status"] == 401


def test_unreachable_or_slow_province_is_unavailable(tmp_path: Path) -> None:
    chen = person("chen").id_number
    closed = f"http://127.0.0.1:{free_port()}"
    err = error_of(provider(closed).licences_of(chen, Requester()))
    assert err.error_id == "licence-provider-unavailable" and err.status_code == 503
    for wrong in ("not a url", "http://[::1", ""):  # a broken setting, not a crash
        assert error_of(provider(wrong).licences_of(chen, Requester())).status_code == 503
    # A server that accepts the connection and never answers: the timeout decides
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        err = error_of(provider(url, timeout=0.5).licences_of(chen, Requester()))
    assert err.error_id == "licence-provider-unavailable"
    assert err.details["reason"] == "timeout"


def test_a_platform_using_the_province_in_a_session(province: LiveServer, tmp_path: Path) -> None:
    platform = _server(
        tmp_path, "platform", licence_provider="http", licence_provider_url=province.url,
        licence_provider_token=TOKEN, licence_provider_timeout_seconds=3,
    )  # fmt: skip
    try:
        desk, case = consented_case(platform, "chen")
        try:
            r = licences(desk, case["id"])
            assert r.status_code == 200, r.text
            listing = r.json()
            assert listing["provider"] == "http"
            card = next(x for x in listing["licences"] if x["type_code"] == "ID_CARD")
            assert card["source"] == "provincial" and card["usable_for"] == ["M02"]
            r = use(desk, case["id"], "M02", card["id"])
            assert r.status_code == 201, r.text
            assert r.json()["licence"]["provider"] == "http"
            pdf = desk.agent.get(f"/api/desk/cases/{case['id']}/materials/{r.json()['id']}/file")
            assert hashlib.sha256(pdf.content).hexdigest() == card["sha256"]

            province.stop()  # the provincial service goes down
            r = licences(desk, case["id"])
            assert r.status_code == 503, r.text
            assert r.json()["error_id"] == "licence-provider-unavailable"
            assert "省级电子证照服务" in r.json()["message"]["zh-CN"]
            r = use(desk, case["id"], "M02", card["id"])
            assert r.status_code == 503
            assert len(desk.get(case["id"])["materials"]) == 1  # nothing more written
        finally:
            desk.close()
    finally:
        platform.stop()


def test_the_interface_is_off_without_a_token(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as c:
        r = c.post(
            "/api/provincial/licences/search",
            json={"holder_id_number": person("chen").id_number},
            headers={"Authorization": "Bearer anything"},
        )
    assert r.status_code == 404 and r.json()["error_id"] == "licence-api-disabled"
