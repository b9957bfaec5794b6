"""The device relay through HTTP and the WebSocket gateway (docs/protocol.md §Devices):
the agent serving a session triggers a kiosk device, the kiosk reports, the agent hears;
a kiosk gone mid-read, a kiosk page reloaded mid-read, a kiosk not in a session, someone
else's command, a timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, end_session, new_kiosk, session_ticket
from integration.devices_support import wait_present
from integration.wsclient import WsClient

from cloudwindow.sample.people import person
from conftest import LiveServer


@pytest.fixture()
def desk(live: LiveServer) -> Iterator[Desk]:
    d = Desk(live)
    yield d
    d.close()


def request(agent: httpx.Client, device: str, command: str = "read", **body: Any) -> httpx.Response:
    """Ask for a command; a kiosk that just connected may not be recorded present yet."""
    deadline = time.monotonic() + 5
    while True:
        r = agent.post("/api/desk/devices/commands",
                       json={"device": device, "command": command, **body})  # fmt: skip
        if r.status_code != 409 or r.json()["error_id"] != "device-kiosk-offline":
            return r
        if time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def result(kiosk: httpx.Client, command_id: str, **body: Any) -> httpx.Response:
    return kiosk.post(f"/api/kiosk/devices/commands/{command_id}/result", json=body)


def sockets(live: LiveServer, desk: Desk) -> tuple[WsClient, WsClient]:
    return WsClient(live.url, desk.kiosk_token), WsClient(live.url, live.login("agent01"))


def result_of(agent_ws: WsClient, command_id: str, timeout: float = 10) -> dict[str, Any]:
    """The agent's ``device.command_result`` for this command. The agent's socket hears
    every command of that user on the shared server (another test's command timing out
    meanwhile), so the one awaited is picked by its id."""
    event = agent_ws.wait(
        lambda e: (
            e.get("type") == "device.command_result" and e["data"].get("command_id") == command_id
        ),
        timeout=timeout,
    )
    return dict(event["data"])


def test_id_read_is_relayed_to_the_kiosk_and_its_result_to_the_agent(
    live: LiveServer, desk: Desk
) -> None:
    kiosk_ws, agent_ws = sockets(live, desk)
    try:
        r = request(desk.agent, "id_reader")
        assert r.status_code == 202, r.text
        cmd = r.json()
        assert (cmd["state"], cmd["ok"], cmd["device"]) == ("pending", None, "id_reader")
        asked = kiosk_ws.wait("device.command_requested")["data"]
        assert asked["command_id"] == cmd["command_id"]
        assert (asked["device"], asked["command"], asked["params"]) == ("id_reader", "read", {})

        # Only one read at a time on the kiosk's reader.
        busy = request(desk.agent, "id_reader")
        assert busy.status_code == 409 and busy.json()["error_id"] == "device-busy"

        # The kiosk stores the card it read with identity, and reports only the read's id.
        chen = person("chen")
        stored = desk.kiosk.post("/api/kiosk/identity/id-card", json=chen.id_card())
        assert stored.status_code == 201, stored.text
        read_id = stored.json()["id"]

        # The card's clear data never reaches the relay: refused, nothing written.
        clear = result(desk.kiosk, cmd["command_id"], ok=True,
                       data={"id_card_read_id": read_id, "id_number": chen.id_number})  # fmt: skip
        assert clear.status_code == 422 and clear.json()["error_id"] == "device-result-invalid"
        # Nor is another session's read taken for this one.
        other = result(desk.kiosk, cmd["command_id"], ok=True, data={"id_card_read_id": 2**30})
        assert other.status_code == 422 and other.json()["error_id"] == "device-result-invalid"
        still = desk.kiosk.get(f"/api/kiosk/devices/commands/{cmd['command_id']}").json()
        assert still["state"] == "pending"

        # What the agent is shown comes from the stored read (masked), not the kiosk's word.
        done = result(desk.kiosk, cmd["command_id"], ok=True,
                      data={"id_card_read_id": read_id, "name_masked": "某某"})  # fmt: skip
        assert done.status_code == 200, done.text
        heard = result_of(agent_ws, cmd["command_id"])
        assert heard["command_id"] == cmd["command_id"]
        assert (heard["state"], heard["ok"]) == ("succeeded", True)
        masked = chen.id_number[:4] + "*" * 10 + chen.id_number[-4:]
        assert heard["data"]["id_card_read_id"] == read_id
        assert heard["data"]["id_number_masked"] == masked
        assert heard["data"]["name_masked"] == chen.name[0] + "*" * (len(chen.name) - 1)
        assert heard["data"]["expired"] is False
        assert chen.id_number not in str(heard)

        again = result(desk.kiosk, cmd["command_id"], ok=True, data={"id_card_read_id": read_id})
        assert again.status_code == 409
        assert again.json()["error_id"] == "device-command-finished"
        view = desk.agent.get(f"/api/desk/devices/commands/{cmd['command_id']}").json()
        assert view["data"]["id_card_read_id"] == read_id
    finally:
        kiosk_ws.close()
        agent_ws.close()


def test_a_kiosk_that_disconnects_mid_read_gives_the_agent_a_clear_error(
    live: LiveServer, desk: Desk
) -> None:
    kiosk_ws, agent_ws = sockets(live, desk)
    try:
        cmd = request(desk.agent, "id_reader").json()
        kiosk_ws.wait("device.command_requested")
        kiosk_ws.close()  # the kiosk (or its network) is gone mid-read
        heard = result_of(agent_ws, cmd["command_id"], timeout=15)
        assert heard["command_id"] == cmd["command_id"]
        assert (heard["state"], heard["ok"]) == ("failed", False)
        assert heard["error"]["error_id"] == "device-kiosk-disconnected"
        assert "断开" in heard["error"]["message"]["zh-CN"]
        assert heard["data"] is None

        # Its result, arriving late, is refused and changes nothing.
        late = result(desk.kiosk, cmd["command_id"], ok=True, data={"id_card_read_id": 9})
        assert late.status_code == 409 and late.json()["details"]["state"] == "failed"
        view = desk.agent.get(f"/api/desk/devices/commands/{cmd['command_id']}").json()
        assert (view["state"], view["data"]) == ("failed", None)

        # And with the kiosk offline, a new command is refused at once.
        time.sleep(0.3)
        offline = desk.agent.post("/api/desk/devices/commands",
                                  json={"device": "id_reader", "command": "read"})  # fmt: skip
        assert offline.status_code == 409 and offline.json()["error_id"] == "device-kiosk-offline"
    finally:
        agent_ws.close()


def test_a_kiosk_page_that_reloads_mid_read_ends_the_command_at_once_a_resume_does_not(
    live: LiveServer, desk: Desk
) -> None:
    """A fresh kiosk page (hello without last_event_id) never heard of the commands sent
    before it: the agent is told at once, not after the time limit (45 s for a read). A
    page that only resumes its socket (last_event_id) still has them."""
    key = desk.kiosk_key

    def kiosk_presence_written(sup: WsClient) -> None:
        # The presence writer ends a fresh page's commands in the transaction that
        # records the socket, and tells supervisors after it commits.
        sup.wait(lambda e: e["type"] == "presence" and e["data"]["principal"] == key
                 and e["data"]["online"])  # fmt: skip

    sup_ws = WsClient(live.url, live.login("supervisor"))
    kiosk_ws, agent_ws = sockets(live, desk)
    resumed: WsClient | None = None
    fresh: WsClient | None = None
    try:
        kiosk_presence_written(sup_ws)
        cmd = request(desk.agent, "id_reader").json()
        assert cmd["state"] == "pending", cmd
        kiosk_ws.wait("device.command_requested")

        # A network blip: the same page reconnects with the last event id it saw.
        last = max(kiosk_ws.last_event_id, kiosk_ws.welcome["data"]["latest_event_id"])
        resumed = WsClient(live.url, desk.kiosk_token, last_event_id=last)
        kiosk_ws.close()
        kiosk_presence_written(sup_ws)
        view = desk.agent.get(f"/api/desk/devices/commands/{cmd['command_id']}").json()
        assert view["state"] == "pending", view
        with pytest.raises(TimeoutError):
            result_of(agent_ws, cmd["command_id"], timeout=0.5)

        # The page reloads: its new socket says hello without a last event id.
        started = time.monotonic()
        fresh = WsClient(live.url, desk.kiosk_token)
        resumed.close()
        heard = result_of(agent_ws, cmd["command_id"], timeout=15)
        assert time.monotonic() - started < 15  # not the read's 45 s
        assert heard["command_id"] == cmd["command_id"]
        assert (heard["state"], heard["ok"], heard["data"]) == ("failed", False, None)
        assert heard["error"]["error_id"] == "device-kiosk-restarted"
        assert heard["error"]["message"] == {
            "zh-CN": "柜台页面已重新载入，请重新发起",
            "en": "The kiosk page reloaded; please ask again",
        }
        view = desk.agent.get(f"/api/desk/devices/commands/{cmd['command_id']}").json()
        assert (view["state"], view["error"]["error_id"]) == ("failed", "device-kiosk-restarted")
        # The old page's late result is refused; the new page gets new commands.
        late = result(desk.kiosk, cmd["command_id"], ok=False, error={"code": "no-card"})
        assert late.status_code == 409 and late.json()["details"]["state"] == "failed"
        again = request(desk.agent, "id_reader")
        assert again.status_code == 202, again.text
        asked = fresh.wait("device.command_requested")["data"]
        assert asked["command_id"] == again.json()["command_id"]
    finally:
        for ws in (kiosk_ws, agent_ws, sup_ws, resumed, fresh):
            if ws is not None:
                ws.close()


def test_bridge_errors_and_timeouts_reach_the_agent(live: LiveServer, desk: Desk) -> None:
    kiosk_ws, agent_ws = sockets(live, desk)
    try:
        cmd = request(desk.agent, "signature_pad", "capture").json()
        kiosk_ws.wait("device.command_requested")
        r = result(desk.kiosk, cmd["command_id"], ok=False,
                   error={"code": "bridge-not-connected", "message": "ws closed"})  # fmt: skip
        assert r.status_code == 200, r.text
        heard = result_of(agent_ws, cmd["command_id"])
        assert heard["error"]["error_id"] == "device-bridge-not-connected"
        assert heard["error"]["message"]["zh-CN"] == "终端外设服务未连接（请检查外设桥）"

        # Nobody answers: the command times out (here after 1 s).
        cmd = request(desk.agent, "id_reader", timeout_seconds=1).json()
        heard = result_of(agent_ws, cmd["command_id"], timeout=10)
        assert heard["command_id"] == cmd["command_id"]
        assert (heard["state"], heard["error"]["error_id"]) == ("timed_out", "device-timeout")
        late = result(desk.kiosk, cmd["command_id"], ok=True, data={"id_card_read_id": 3})
        assert late.status_code == 409 and late.json()["details"]["state"] == "timed_out"

        bad = request(desk.agent, "id_reader", "format")
        assert bad.status_code == 422 and bad.json()["error_id"] == "device-params-invalid"
    finally:
        kiosk_ws.close()
        agent_ws.close()


def test_someone_elses_command_and_no_kiosk_in_session(live: LiveServer, desk: Desk) -> None:
    kiosk_ws = WsClient(live.url, desk.kiosk_token)
    other_token, _ = new_kiosk(live)
    try:
        cmd = request(desk.agent, "id_reader").json()
        with live.client(other_token) as other:
            r = result(other, cmd["command_id"], ok=True, data={"id_card_read_id": 1})
            assert r.status_code == 404 and r.json()["error_id"] == "device-command-not-found"
            assert other.get(f"/api/kiosk/devices/commands/{cmd['command_id']}").status_code == 404
        with live.as_user("agent07") as stranger:
            seen = stranger.get(f"/api/desk/devices/commands/{cmd['command_id']}")
            assert seen.status_code == 404
            # agent07 serves nobody: no kiosk to command.
            r = stranger.post("/api/desk/devices/commands",
                              json={"device": "id_reader", "command": "read"})  # fmt: skip
            assert r.status_code == 409 and r.json()["error_id"] == "device-no-session"
        # An agent can't report results, a kiosk can't ask for commands.
        assert result(desk.agent, cmd["command_id"], ok=False,
                      error={"code": "x"}).status_code == 403  # fmt: skip
        r = desk.kiosk.post("/api/desk/devices/commands",
                            json={"device": "id_reader", "command": "read"})  # fmt: skip
        assert r.status_code == 403
        # The command itself is untouched by all this.
        assert (
            desk.kiosk.get(f"/api/kiosk/devices/commands/{cmd['command_id']}").json()["state"]
            == "pending"
        )
    finally:
        kiosk_ws.close()

    # A citizen served on the web has no kiosk devices.
    session_ticket(live, "citizen:web-test", "agent06")
    with live.as_user("agent06") as web_agent:
        r = web_agent.post("/api/desk/devices/commands",
                           json={"device": "id_reader", "command": "read"})  # fmt: skip
        assert r.status_code == 409 and r.json()["error_id"] == "device-no-kiosk"


def test_printing_a_sealed_document_on_the_kiosk(live: LiveServer, desk: Desk) -> None:
    case = desk.ready()
    assert desk.accept(case["id"]).status_code == 200
    docs = desk.agent.get(f"/api/desk/cases/{case['id']}/documents").json()
    receipt = next(d for d in docs if d["kind"] == "receipt")
    sealed = desk.agent.get(f"/api/desk/documents/{receipt['id']}/pdf").content
    kiosk_ws, agent_ws = sockets(live, desk)
    other_token, _ = new_kiosk(live)
    try:
        unknown = request(desk.agent, "a4_printer", "print", params={"document_id": "ab" * 16})
        assert unknown.status_code == 404
        assert unknown.json()["error_id"] == "device-document-unknown"
        assert request(desk.agent, "a4_printer", "print").status_code == 422

        cmd = request(desk.agent, "a4_printer", "print",
                      params={"document_id": receipt["id"]}).json()  # fmt: skip
        asked = kiosk_ws.wait("device.command_requested")["data"]
        assert asked["params"] == {"document_id": receipt["id"]}
        url = f"/api/kiosk/devices/commands/{cmd['command_id']}/document"
        with live.client(other_token) as other:
            assert other.get(url).status_code == 404  # only the kiosk it was sent to
        pdf = desk.kiosk.get(url)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == sealed  # byte for byte: the seal still validates
        r = result(desk.kiosk, cmd["command_id"], ok=True,
                   data={"job_id": "a4-1", "bytes": len(sealed), "pages": 1})  # fmt: skip
        assert r.status_code == 200, r.text
        heard = result_of(agent_ws, cmd["command_id"])
        assert heard["ok"] and heard["data"]["bytes"] == len(sealed)
        assert desk.kiosk.get(url).status_code == 409  # the job is over: no more copies

        # The receipt printer gets a slip of the same document, with its check code.
        cmd = request(desk.agent, "receipt_printer", "print",
                      params={"document_id": receipt["id"]}).json()  # fmt: skip
        slip = desk.kiosk.get(f"/api/kiosk/devices/commands/{cmd['command_id']}/slip").json()
        assert slip["title"] == "受理回执"
        assert any(case["number"] in line for line in slip["lines"])
        assert f"/verify/{receipt['id']}" in slip["qr"]
        r = result(desk.kiosk, cmd["command_id"], ok=False, error={"code": "out-of-paper"})
        heard = result_of(agent_ws, cmd["command_id"])
        assert heard["error"]["error_id"] == "device-out-of-paper"
        assert heard["error"]["message"]["zh-CN"] == "打印机缺纸"
    finally:
        kiosk_ws.close()
        agent_ws.close()


def test_device_health_reaches_supervisors(live: LiveServer, desk: Desk) -> None:
    kiosk_ws = WsClient(live.url, desk.kiosk_token)
    sup_ws = WsClient(live.url, live.login("supervisor"))
    wait_present(live, desk.kiosk_key)  # a kiosk not present reports as offline
    try:
        devices = [
            {"device": "id_reader", "present": True, "status": "ok"},
            {"device": "signature_pad", "present": True, "status": "ok"},
            {"device": "receipt_printer", "present": True, "status": "out_of_paper"},
            {"device": "a4_printer", "present": False, "status": "absent"},
        ]
        body = {"bridge": {"connected": True, "version": "0.1.0"}, "devices": devices}
        r = desk.kiosk.post("/api/kiosk/devices/health", json=body)
        assert r.status_code == 200, r.text
        assert sorted(r.json()["changed"]) == sorted(["bridge", *(d["device"] for d in devices)])
        tid = int(desk.kiosk_key.split(":")[1])
        event = sup_ws.wait(
            lambda e: e["type"] == "device.health" and e["data"]["terminal_id"] == tid
        )["data"]
        assert event["worst"] == "out_of_paper"
        # Unchanged: nothing to tell anyone.
        assert desk.kiosk.post("/api/kiosk/devices/health", json=body).json()["changed"] == []
        with live.as_user("supervisor") as sup:
            rows = sup.get("/api/devices/health").json()
            mine = next(t for t in rows if t["terminal_id"] == tid)
            states = {d["device"]: d["status"] for d in mine["devices"]}
            assert states["receipt_printer"] == "out_of_paper" and states["a4_printer"] == "absent"
        # The agent sees the same on the session's kiosk.
        session = desk.agent.get("/api/desk/devices").json()
        assert session["terminal_id"] == tid and session["online"] is True
        assert {d["device"]: d["present"] for d in session["devices"]}["a4_printer"] is False

        # The bridge goes away: the kiosk says so; the supervisor sees it.
        r = desk.kiosk.post("/api/kiosk/devices/health", json={"bridge": {"connected": False}})
        assert r.json()["changed"] == ["bridge"]
        event = sup_ws.wait(
            lambda e: e["type"] == "device.health" and e["data"]["terminal_id"] == tid
        )["data"]
        assert event["worst"] == "offline"
        bad = desk.kiosk.post("/api/kiosk/devices/health",
                              json={"bridge": {"connected": True},
                                    "devices": [{"device": "fax", "present": True,
                                                 "status": "ok"}]})  # fmt: skip
        assert bad.status_code == 422
        with live.as_user("agent01") as agent:
            assert agent.get("/api/devices/health").status_code == 403
    finally:
        kiosk_ws.close()
        sup_ws.close()


def test_a_kiosk_whose_session_ended_gets_no_commands_and_its_pending_ones_end(
    live: LiveServer,
) -> None:
    desk = Desk(live, "agent08")  # an agent with no other session on the shared server
    kiosk_ws = WsClient(live.url, desk.kiosk_token)
    agent_ws = WsClient(live.url, live.login("agent08"))
    try:
        cmd = request(desk.agent, "signature_pad", "capture").json()
        kiosk_ws.wait("device.command_requested")
        end_session(live, desk.ticket)  # the session is over; the kiosk serves nobody now
        heard = result_of(agent_ws, cmd["command_id"], timeout=15)
        assert heard["command_id"] == cmd["command_id"]
        assert (heard["state"], heard["error"]["error_id"]) == ("failed", "device-session-ended")
        late = result(desk.kiosk, cmd["command_id"], ok=False, error={"code": "cancelled"})
        assert late.status_code == 409 and late.json()["details"]["state"] == "failed"
        # The kiosk is no longer in a session with this agent: nothing to command.
        r = desk.agent.post("/api/desk/devices/commands",
                            json={"device": "id_reader", "command": "read"})  # fmt: skip
        assert r.status_code == 409 and r.json()["error_id"] == "device-no-session"
    finally:
        kiosk_ws.close()
        agent_ws.close()
        desk.close()
