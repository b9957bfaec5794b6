"""The live queue over the real WebSocket gateway: take a number, be offered, be served."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.wsclient import WsClient

from conftest import LiveServer, make_database_url, prepare_database, settings_for, start_server

ITEM = "440118-GG-0002"  # 社会保障卡补领, skill group social-security


@pytest.fixture()
def queue_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(
        settings_for(
            url, tmp_path, offer_ring_seconds=2, disconnect_grace_seconds=2, queue_tick_seconds=0.2
        )
    )
    yield server
    server.stop()


def kiosk_token(live: LiveServer, site_type: str = "village") -> str:
    with live.as_user("admin") as admin:
        site = admin.get("/api/sites", params={"type": site_type}).json()["items"][0]["id"]
        tid = admin.post(
            "/api/terminals",
            json={
                "serial_number": f"WS-{time.monotonic_ns()}",
                "name": "测试柜台",
                "model": "basic",
                "site_id": site,
            },
        ).json()["id"]
        code = admin.post(f"/api/terminals/{tid}/enrollment-code").json()["code"]
    with live.client() as c:
        return str(c.post("/api/devices/enroll", json={"code": code}).json()["credential"])


def social_security_agents(live: LiveServer) -> list[str]:
    with live.as_user("admin") as admin:
        users = admin.get("/api/users", params={"role": "agent", "page_size": 50}).json()["items"]
    return [
        u["username"]
        for u in users
        if "social-security" in {s["skill_group_code"] for s in u["skills"]}
    ]


def test_a_group_without_wrap_up_makes_the_agent_ready_at_once(queue_server: LiveServer) -> None:
    """Wrap-up 0 s: ending the session leaves the agent ready (no wrap_up.done round
    trip), and the next citizen waiting is offered to them straight away."""
    with queue_server.as_user("admin") as admin:
        changed = admin.patch("/api/skill-groups/social-security", json={"wrap_up_seconds": 0})
        assert changed.status_code == 200, changed.text
    first = WsClient(queue_server.url, kiosk_token(queue_server))
    second = WsClient(queue_server.url, kiosk_token(queue_server))
    one = first.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    two = second.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    agent = WsClient(queue_server.url, queue_server.login(social_security_agents(queue_server)[0]))
    agent.request("agent.state", {"state": "ready"})
    assert agent.wait("offer")["data"]["ticket"]["id"] == one["id"]
    agent.request("offer.accept", {"ticket_id": one["id"]})
    ended = agent.request("session.end", {"ticket_id": one["id"]})
    assert ended["data"]["state"] == "ready", ended
    assert agent.wait("offer")["data"]["ticket"]["id"] == two["id"]
    for client in (first, second, agent):
        client.close()


def test_hello_is_required_and_tokens_are_checked(queue_server: LiveServer) -> None:
    from websockets.sync.client import connect

    url = queue_server.url.replace("http://", "ws://") + "/ws"
    with connect(url) as ws:
        ws.send(json.dumps({"type": "ticket.take", "data": {}}))
        assert json.loads(ws.recv(timeout=5))["data"]["error_id"] == "hello-required"
    with connect(url) as ws:
        ws.send(json.dumps({"type": "hello", "data": {"token": "cw_forged"}}))
        assert json.loads(ws.recv(timeout=5))["data"]["error_id"] == "not-authenticated"


def test_kiosk_queues_agent_answers_and_ends_with_wrap_up(queue_server: LiveServer) -> None:
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    assert kiosk.welcome["data"]["kind"] == "device"
    created = kiosk.request("ticket.take", {"service_item_code": ITEM})
    assert created["type"] == "ticket.created", created
    ticket = created["data"]["ticket"]
    assert ticket["state"] == "queued" and ticket["position"] == 1
    assert ticket["service_item_name"] == "社会保障卡补领"
    assert ticket["number"].startswith("A")

    name = social_security_agents(queue_server)[0]
    agent = WsClient(queue_server.url, queue_server.login(name))
    status = agent.request("agent.state", {"state": "ready"})
    assert status["type"] == "agent.status" and status["data"]["state"] == "ready"
    offer = agent.wait("offer")
    assert offer["data"]["ticket"]["id"] == ticket["id"]
    assert offer["id"] is not None  # durable: replayed if the agent reconnects
    accepted = agent.request("offer.accept", {"ticket_id": ticket["id"]})
    assert accepted["data"]["state"] == "in_session"
    in_session = kiosk.wait(
        lambda e: e["type"] == "ticket.updated" and e["data"]["ticket"]["state"] == "in_session"
    )
    assert in_session["data"]["ticket"]["agent"]["display_name"]

    ended = agent.request("session.end", {"ticket_id": ticket["id"]})
    assert ended["data"]["state"] == "wrap_up" and ended["data"]["wrap_up_until"]
    kiosk.wait(
        lambda e: e["type"] == "ticket.updated" and e["data"]["ticket"]["state"] == "completed"
    )
    ready = agent.request("wrap_up.done")
    assert ready["data"]["state"] == "ready"
    kiosk.close()
    agent.close()
    # The supervisor's figures count one answered session for the group and the site.
    with queue_server.as_user("supervisor") as sup:
        report = sup.get("/api/queue/metrics", params={"window": "15m"}).json()
    group = next(g for g in report["skill_groups"] if g["key"] == "social-security")
    assert group["offered"] == 1 and group["answered"] == 1
    assert group["answered_within_target"] == 1 and group["service_level"] == 1.0
    assert group["abandoned"] == 0 and group["average_handle_seconds"] is not None
    assert [s["answered"] for s in report["sites"]] == [1]


def test_missed_offer_returns_ticket_to_its_place(queue_server: LiveServer) -> None:
    names = social_security_agents(queue_server)
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    first = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    later_kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    later = later_kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    assert later["position"] == 2

    sleepy = WsClient(queue_server.url, queue_server.login(names[0]))
    sleepy.request("agent.state", {"state": "ready"})
    offer = sleepy.wait("offer")
    assert offer["data"]["ticket"]["id"] == first["id"]  # first come, first served
    # Do not answer: after the ring time the agent is set not-ready ...
    missed = sleepy.wait(
        lambda e: e["type"] == "agent.state" and e["data"]["state"] == "not_ready", timeout=10
    )
    assert missed["data"]["reason"] == "missed_offer"
    # ... and the ticket is back at the head of the line, not behind the later one.
    back = kiosk.wait(
        lambda e: e["type"] == "ticket.updated" and e["data"]["ticket"]["state"] == "queued",
        timeout=10,
    )
    assert back["data"]["ticket"]["position"] == 1
    assert back["data"]["ticket"]["enqueued_at"] == first["enqueued_at"]
    # Accepting the offer that already rang out is a clear error; the socket stays usable.
    late = sleepy.request("offer.accept", {"ticket_id": first["id"]})
    assert late["type"] == "error" and late["data"]["error_id"] == "offer-not-found"
    assert sleepy.request("ping")["type"] == "pong"

    other = WsClient(queue_server.url, queue_server.login(names[1]))
    other.request("agent.state", {"state": "ready"})
    assert other.wait("offer")["data"]["ticket"]["id"] == first["id"]
    for c in (kiosk, later_kiosk, sleepy, other):
        c.close()


def test_priority_class_goes_first(queue_server: LiveServer) -> None:
    normal = WsClient(queue_server.url, kiosk_token(queue_server))
    n = normal.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    elderly = WsClient(queue_server.url, kiosk_token(queue_server))
    e = elderly.request("ticket.take", {"service_item_code": ITEM, "priority": "elderly"})["data"][
        "ticket"
    ]
    assert e["number"].startswith("P") and e["position"] == 1
    moved = normal.wait(
        lambda ev: ev["type"] == "queue.position" and ev["data"]["position"] == 2, timeout=5
    )
    assert moved["data"] == {
        "ticket_id": n["id"],
        "position": 2,
        "expected_wait_seconds": None,
        "held": None,
    }
    agent = WsClient(queue_server.url, queue_server.login(social_security_agents(queue_server)[0]))
    agent.request("agent.state", {"state": "ready"})
    assert agent.wait("offer")["data"]["ticket"]["id"] == e["id"]
    for c in (normal, elderly, agent):
        c.close()


def test_bad_messages_get_errors_and_the_connection_survives(queue_server: LiveServer) -> None:
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    kiosk.send_raw("{not json")
    assert kiosk.wait("error")["data"]["error_id"] == "message-malformed"
    kiosk.send_raw(json.dumps({"type": "x" * 10, "data": {}}))
    assert kiosk.wait("error")["data"]["error_id"] == "unknown-message-type"
    kiosk.send_raw(json.dumps({"type": "ticket.take", "data": {"pad": "字" * 40_000}}))
    assert kiosk.wait("error")["data"]["error_id"] == "message-too-large"
    bad = kiosk.request("ticket.take", {"service_item_code": "nope nope"})
    assert bad["data"]["error_id"] == "validation-failed"
    not_cloud = kiosk.request("ticket.take", {"service_item_code": "440118-XK-0001"})
    assert not_cloud["type"] in ("error", "ticket.created")
    if not_cloud["type"] == "ticket.created":  # an item on cloud: cancel to go on
        kiosk.request("ticket.cancel", {"ticket_id": not_cloud["data"]["ticket"]["id"]})
    agent_only = kiosk.request("agent.state", {"state": "ready"})
    assert agent_only["data"]["error_id"] == "permission-denied"
    first = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    twice = kiosk.request("ticket.take", {"service_item_code": ITEM})
    assert twice["data"]["error_id"] == "ticket-already-active"
    assert twice["data"]["details"]["ticket_id"] == first["id"]
    # With an idempotency key, a resent take returns the same ticket instead.
    keyed = kiosk.request("ticket.cancel", {"ticket_id": first["id"]})
    assert keyed["data"]["ticket"]["state"] == "cancelled"
    k1 = kiosk.request("ticket.take", {"service_item_code": ITEM, "request_id": "take-0001"})
    k2 = kiosk.request("ticket.take", {"service_item_code": ITEM, "request_id": "take-0001"})
    assert k1["data"]["ticket"]["id"] == k2["data"]["ticket"]["id"]
    first = k1["data"]["ticket"]
    # Someone else's ticket: not found, nothing revealed, nothing changed.
    stranger = WsClient(queue_server.url, kiosk_token(queue_server))
    denied = stranger.request("ticket.cancel", {"ticket_id": first["id"]})
    assert denied["data"]["error_id"] == "ticket-not-found"
    assert kiosk.request("ticket.get")["data"]["ticket"]["state"] == "queued"
    assert kiosk.request("ping")["type"] == "pong"
    cancelled = kiosk.request("ticket.cancel", {"ticket_id": first["id"]})
    assert cancelled["data"]["ticket"]["state"] == "cancelled"
    again = kiosk.request("ticket.cancel", {"ticket_id": first["id"]})
    assert again["data"]["error_id"] == "ticket-state-conflict"
    kiosk.close()
    stranger.close()


def test_resume_replays_missed_events(queue_server: LiveServer) -> None:
    token = kiosk_token(queue_server)
    # Signed in first: the kiosk's grace period (2 s) must not be spent on a password hash.
    agent = WsClient(queue_server.url, queue_server.login(social_security_agents(queue_server)[0]))
    kiosk = WsClient(queue_server.url, token)
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    created = kiosk.wait(lambda e: e["type"] == "ticket.updated")
    last_id = created["id"]
    kiosk.close()
    # While the kiosk is away (within its grace period) an agent answers.
    agent.request("agent.state", {"state": "ready"})
    agent.wait("offer")
    agent.request("offer.accept", {"ticket_id": ticket["id"]})
    back = WsClient(queue_server.url, token, last_event_id=last_id)
    assert back.welcome["data"]["replayed"] >= 2
    states = []
    while len(states) < 2:
        ev = back.wait("ticket.updated")
        assert ev["id"] > last_id
        states.append(ev["data"]["ticket"]["state"])
    assert states == ["offered", "in_session"]
    back.close()
    agent.close()


def test_a_kiosk_that_vanishes_is_abandoned_after_grace(queue_server: LiveServer) -> None:
    token = kiosk_token(queue_server)
    kiosk = WsClient(queue_server.url, token)
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    kiosk.close()
    # Stay away longer than the grace period (2 s) plus a few timer ticks; coming back
    # earlier would (rightly) cancel the countdown.
    time.sleep(4)
    probe = WsClient(queue_server.url, token)
    current = probe.request("ticket.get")["data"]["ticket"]
    assert current is None  # no active ticket any more
    probe.close()
    assert ticket["state"] == "queued"  # it was waiting when the kiosk left


def test_staffing_plan_for_planners(queue_server: LiveServer) -> None:
    with queue_server.as_user("supervisor") as sup:
        plan = sup.get(
            "/api/staffing/erlang",
            params={
                "arrivals_per_hour": 120,
                "mean_handle_seconds": 300,
                "target_answer_seconds": 20,
                "target_level": 0.8,
                "mean_patience_seconds": 180,
            },
        ).json()
        # 120/h x 300 s = 10 erlangs; Erlang C needs 14 agents for 80 % in 20 s.
        assert plan["traffic_erlangs"] == 10 and plan["agents_needed"] == 14
        assert plan["agents_needed_with_abandonment"] <= 14
        levels = [r["service_level"] for r in plan["rows"]]
        assert levels == sorted(levels)
        bad = sup.get(
            "/api/staffing/erlang", params={"arrivals_per_hour": -1, "mean_handle_seconds": 300}
        )
        assert bad.status_code == 422 and bad.json()["error_id"] == "validation-failed"
    with queue_server.as_user("agent01") as agent:
        assert agent.get("/api/queue/overview").status_code == 403


def test_outside_business_hours_offers_callback_instead(queue_server: LiveServer) -> None:
    with queue_server.as_user("admin") as admin:
        # Open only one minute a day, at 03:00 China time: closed for this test's run
        # (unless it runs in that very minute, which the assertion allows for).
        r = admin.patch(
            "/api/skill-groups/social-security", json={"business_hours": [["03:00", "03:01"]]}
        )
        assert r.status_code == 200 and r.json()["business_hours"] == [["03:00", "03:01"]]
        bad = admin.patch(
            "/api/skill-groups/social-security", json={"business_hours": [["18:00", "09:00"]]}
        )
        assert bad.status_code == 422
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    reply = kiosk.request("ticket.take", {"service_item_code": ITEM})
    if reply["type"] == "ticket.created":  # ran in the one open minute: let it go
        kiosk.request("ticket.cancel", {"ticket_id": reply["data"]["ticket"]["id"]})
    else:
        err = reply["data"]
        assert err["error_id"] == "outside-business-hours"
        assert err["details"]["alternatives"] == ["callback", "appointment"]
        assert "T03:00:00+08:00" in err["details"]["next_open"]
    with queue_server.as_user("admin") as admin:
        r = admin.patch("/api/skill-groups/social-security", json={"business_hours": None})
        assert r.json()["business_hours"] is None
    assert kiosk.request("ticket.take", {"service_item_code": ITEM})["type"] == "ticket.created"
    kiosk.close()


def _agents_with(live: LiveServer, group: str) -> list[str]:
    with live.as_user("admin") as admin:
        users = admin.get("/api/users", params={"role": "agent", "page_size": 50}).json()["items"]
    return [u["username"] for u in users if group in {s["skill_group_code"] for s in u["skills"]}]


def test_blind_transfers_to_a_group_and_to_an_agent(queue_server: LiveServer) -> None:
    first = social_security_agents(queue_server)[0]
    second = next(n for n in _agents_with(queue_server, "medical-insurance") if n != first)
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    a = WsClient(queue_server.url, queue_server.login(first))
    a.request("agent.state", {"state": "ready"})
    a.wait("offer")
    a.request("offer.accept", {"ticket_id": ticket["id"]})
    b = WsClient(queue_server.url, queue_server.login(second))
    b.request("agent.state", {"state": "ready"})

    bad = a.request("session.transfer", {"ticket_id": ticket["id"]})
    assert bad["data"]["error_id"] == "validation-failed"  # needs exactly one target
    moved = a.request(
        "session.transfer", {"ticket_id": ticket["id"], "skill_group_code": "medical-insurance"}
    )
    assert moved["data"]["state"] == "wrap_up", moved
    offer = b.wait("offer")
    assert offer["data"]["ticket"]["id"] == ticket["id"]
    assert offer["data"]["ticket"]["skill_group_code"] == "medical-insurance"
    assert offer["data"]["ticket"]["enqueued_at"] == ticket["enqueued_at"]  # kept its place
    b.request("offer.accept", {"ticket_id": ticket["id"]})

    # Now straight back to the first agent, by name, once they are ready again.
    a.request("wrap_up.done")
    direct = b.request(
        "session.transfer",
        {"ticket_id": ticket["id"], "agent_id": a.welcome["data"]["principal"].split(":")[1]},
    )
    assert direct["type"] == "agent.status", direct
    back = a.wait(lambda e: e["type"] == "offer" and e["data"].get("transferred_by"))
    assert back["data"]["ticket"]["id"] == ticket["id"]
    assert a.request("offer.accept", {"ticket_id": ticket["id"]})["data"]["state"] == "in_session"
    # Transferring to someone who is not ready is refused and changes nothing.
    c = WsClient(queue_server.url, kiosk_token(queue_server))
    t2 = c.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    refused = a.request("session.transfer", {"ticket_id": ticket["id"], "agent_id": 1})
    assert refused["data"]["error_id"] == "transfer-target-unavailable"
    assert a.request("agent.get")["data"]["state"] == "in_session"
    for client in (kiosk, a, b, c):
        client.close()
    assert t2["state"] == "queued"


def test_taking_a_break_while_ringing_returns_the_ticket_at_once(
    queue_server: LiveServer,
) -> None:
    kiosk = WsClient(queue_server.url, kiosk_token(queue_server))
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    agent = WsClient(queue_server.url, queue_server.login(social_security_agents(queue_server)[0]))
    agent.request("agent.state", {"state": "ready"})
    assert agent.wait("offer")["data"]["ticket"]["id"] == ticket["id"]
    paused = agent.request("agent.state", {"state": "not_ready", "reason": "meal"})
    assert paused["data"]["state"] == "not_ready" and paused["data"]["reason"] == "meal"
    assert agent.wait("offer.withdrawn")["data"]["ticket_id"] == ticket["id"]
    back = kiosk.wait(
        lambda e: e["type"] == "ticket.updated" and e["data"]["ticket"]["state"] == "queued",
        timeout=5,
    )
    assert back["data"]["ticket"]["position"] == 1
    kiosk.close()
    agent.close()
