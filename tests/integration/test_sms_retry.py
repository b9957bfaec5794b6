"""SMS to citizens through an HTTP provider that fails: the message is retried by the
node's job until the provider takes it, a refusal for good is final, and the provider
can drop a repeat by the message's key (cases/notify.py, docs/cases.md §SMS)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from integration.cases_support import Desk

from conftest import LiveServer, dedicated_server

PHONE = "13712345670"
TOKEN = "sms-t0ken"


@dataclass
class Provider:
    """A stand-in SMS provider on a real socket: answers from ``script`` (status codes,
    then 200 for ever) and keeps every request it got."""

    script: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture()
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({**body, "auth": self.headers.get("Authorization")})
            status = state.script.pop(0) if state.script else 200
            payload = json.dumps({"id": f"p-{len(state.requests)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture()
def srv(backend: str, tmp_path: Path, provider: Provider) -> Iterator[LiveServer]:
    with dedicated_server(
        backend,
        tmp_path,
        sms_provider="http",
        sms_http_url=provider.url,
        sms_http_token=TOKEN,
        sms_retry_base_seconds=1,
        sms_retry_tick_seconds=0.2,
    ) as server:
        yield server


def notes_of(desk: Desk, case_id: int) -> list[dict[str, Any]]:
    return list(desk.get(case_id)["notifications"])


def test_an_sms_the_provider_could_not_take_is_sent_again_later(
    srv: LiveServer, provider: Provider
) -> None:
    provider.script = [503, 503]  # the provider is down for the first two attempts
    desk = Desk(srv)
    try:
        case = desk.ready(phone=PHONE)
        r = desk.accept(case["id"])
        assert r.status_code == 200, r.text  # the case is accepted whatever the SMS does
        (note,) = r.json()["notifications"]
        assert (note["state"], note["attempts"], note["error"]) == ("queued", 1, "HTTP 503")
        assert note["next_attempt_at"]
        deadline = time.monotonic() + 20
        while (note := notes_of(desk, case["id"])[0])["state"] != "sent":
            assert time.monotonic() < deadline, note
            time.sleep(0.3)
    finally:
        desk.close()
    assert note["attempts"] == 3 and note["error"] == "" and note["sent_at"]
    # Three requests for one message, all with its key; the number in clear only here.
    assert [q["key"] for q in provider.requests] == [f"cw-sms-{note['id']}"] * 3
    assert {q["to"] for q in provider.requests} == {PHONE}
    assert {q["auth"] for q in provider.requests} == {f"Bearer {TOKEN}"}
    assert case["number"] in provider.requests[-1]["text"]


def test_an_sms_the_provider_refuses_is_failed_and_not_sent_again(
    srv: LiveServer, provider: Provider
) -> None:
    provider.script = [400]  # e.g. a number the carrier does not know
    desk = Desk(srv)
    try:
        case = desk.ready(phone=PHONE)
        r = desk.accept(case["id"])
        assert r.status_code == 200, r.text
        (note,) = r.json()["notifications"]
        assert (note["state"], note["attempts"], note["error"]) == ("failed", 1, "HTTP 400")
        time.sleep(2.5)  # the retry job ran about ten times meanwhile
        assert notes_of(desk, case["id"])[0]["state"] == "failed"
    finally:
        desk.close()
    assert len(provider.requests) == 1
