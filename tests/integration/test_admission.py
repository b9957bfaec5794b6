"""Admission (issue 4, site bandwidth budget): when one more call would push the calls at
a kiosk's site below the quality floor, routing holds that site's tickets — the kiosk is
told why and how long, keeps its place, and is offered as soon as a call there ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.test_media_quality import open_call, quality_server
from integration.test_queue_ws import kiosk_token, social_security_agents
from integration.wsclient import WsClient

from conftest import LiveServer

ITEM = "440118-GG-0002"  # 社会保障卡补领


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = quality_server(tmp_path, position_min_interval_seconds=0.2)
    yield live
    live.stop()


def _thin_village_uplink(live: LiveServer) -> int:
    """The kiosks' village site on a 1 Mbit/s uplink: room for two calls at the floor."""
    with live.as_user("admin") as admin:
        site_id = int(admin.get("/api/sites", params={"type": "village"}).json()["items"][0]["id"])
        r = admin.patch(f"/api/sites/{site_id}", json={"uplink_kbps": 1000, "downlink_kbps": 8000})
        assert r.status_code == 200, r.text
    return site_id


def _no_offer_for(agent: WsClient, seconds: float) -> bool:
    try:
        agent.wait("offer", timeout=seconds)
    except TimeoutError:
        return True
    return False


def test_a_saturated_site_holds_its_tickets_until_a_call_there_ends(server: LiveServer) -> None:
    _thin_village_uplink(server)
    names = social_security_agents(server)
    assert len(names) >= 3
    kiosk1, agent1, _ = open_call(server, names[0])
    kiosk2, agent2, _ = open_call(server, names[1])

    # A third citizen at the same village: an agent is ready, yet no call starts.
    kiosk3 = WsClient(server.url, kiosk_token(server))
    ticket = kiosk3.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    agent3 = WsClient(server.url, server.login(names[2]))
    agent3.request("agent.state", {"state": "ready"})
    held = kiosk3.wait(
        lambda e: (
            e["type"] == "queue.position"
            and e["data"]["ticket_id"] == ticket["id"]
            and e["data"].get("held") is not None
        )
    )
    assert held["data"]["held"]["reason"] == "site-saturated"
    assert held["data"]["held"]["expected_seconds"] >= 30
    assert held["data"]["expected_wait_seconds"] >= held["data"]["held"]["expected_seconds"]
    assert _no_offer_for(agent3, 2.0)
    state = kiosk3.request("ticket.get", {})["data"]["ticket"]
    assert state["state"] == "queued" and state["position"] == 1

    # One of the two calls there ends: the held ticket is offered at once, and the kiosk
    # is told the hold is over.
    ended = agent2.request("session.end", {"ticket_id": _ticket_of(agent2)})
    assert ended["type"] == "agent.status", ended
    offer = agent3.wait("offer", timeout=10)
    assert offer["data"]["ticket"]["id"] == ticket["id"]
    for c in (kiosk1, agent1, kiosk2, agent2, kiosk3, agent3):
        c.close()


def test_admission_can_be_switched_off(tmp_path: Path) -> None:
    live = quality_server(tmp_path, media_admission_enabled=False)
    try:
        _thin_village_uplink(live)
        names = social_security_agents(live)
        calls = [open_call(live, names[0]), open_call(live, names[1])]
        kiosk3 = WsClient(live.url, kiosk_token(live))
        ticket = kiosk3.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
        agent3 = WsClient(live.url, live.login(names[2]))
        agent3.request("agent.state", {"state": "ready"})
        offer = agent3.wait("offer", timeout=10)
        assert offer["data"]["ticket"]["id"] == ticket["id"]
        for kiosk, agent, _ in calls:
            kiosk.close()
            agent.close()
        kiosk3.close()
        agent3.close()
    finally:
        live.stop()


def _ticket_of(agent: WsClient) -> int:
    status = agent.request("agent.get", {})["data"]
    assert status["state"] == "in_session", status
    return int(status["ticket"]["id"])
