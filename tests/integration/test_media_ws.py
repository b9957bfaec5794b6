"""Media sessions over the real WebSocket gateway (docs/protocol.md §Media): a call opens
when the agent accepts, signaling is relayed to the other participant only, bad
signaling gets a clear error that touches no other call, and the call closes with the
ticket's session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.test_queue_ws import kiosk_token, social_security_agents
from integration.wsclient import WsClient

from conftest import LiveServer, make_database_url, prepare_database, settings_for, start_server

ITEM = "440118-GG-0002"  # 社会保障卡补领
SECRET = "media-test-secret"
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture()
def media_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(
        settings_for(
            url,
            tmp_path,
            queue_tick_seconds=0.2,
            turn_urls=["turn:127.0.0.1:3478?transport=udp"],
            turn_secret=SECRET,
            turn_ttl_seconds=600,
            media_max_sdp_bytes=4096,
        )
    )
    yield server
    server.stop()


def open_call(live: LiveServer, agent_name: str) -> tuple[WsClient, WsClient, dict[str, Any]]:
    """A kiosk queues, the agent accepts: both ends get media.session."""
    kiosk = WsClient(live.url, kiosk_token(live))
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    agent = WsClient(live.url, live.login(agent_name))
    agent.request("agent.state", {"state": "ready"})
    offer = agent.wait(lambda e: e["type"] == "offer" and e["data"]["ticket"]["id"] == ticket["id"])
    assert agent.request("offer.accept", {"ticket_id": ticket["id"]})["data"]["state"] == (
        "in_session"
    )
    return kiosk, agent, offer["data"]["ticket"]


def test_call_opens_relays_signaling_records_first_frames_and_hangs_up(
    media_server: LiveServer,
) -> None:
    kiosk, agent, ticket = open_call(media_server, social_security_agents(media_server)[0])
    mine = agent.wait("media.session")
    theirs = kiosk.wait("media.session")
    assert mine["id"] is not None and theirs["id"] is not None  # durable: replayed on resume
    session_id = mine["data"]["session_id"]
    assert theirs["data"]["session_id"] == session_id
    assert mine["data"]["ticket_id"] == ticket["id"]
    assert (mine["data"]["role"], theirs["data"]["role"]) == ("caller", "callee")
    assert mine["data"]["peer"]["name"] == "测试柜台"
    assert theirs["data"]["peer"]["name"]  # the agent's display name
    assert mine["data"]["ice_transport_policy"] == "all"
    # TURN REST API credentials: <expiry>:<who>, base64(HMAC-SHA1(secret, username)).
    (turn,) = mine["data"]["ice_servers"]
    assert turn["urls"] == ["turn:127.0.0.1:3478?transport=udp"]
    expiry, who = turn["username"].split(":", 1)
    assert who == agent.welcome["data"]["principal"].replace(":", "-")
    assert 590 <= int(expiry) - time.time() <= 610
    expected = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()
    assert theirs["data"]["ice_servers"][0]["username"] != turn["username"]

    # Offer, answer and candidates reach the other participant, marked with the sender.
    assert agent.request("media.offer", {"session_id": session_id, "sdp": SDP})["type"] == (
        "media.sent"
    )
    relayed = kiosk.wait("media.offer")
    assert relayed["id"] is None  # ephemeral: a stale SDP is never replayed
    assert relayed["data"] == {
        "session_id": session_id,
        "from": "caller",
        "sdp": SDP,
        "ice_restart": False,
    }
    kiosk.request("media.answer", {"session_id": session_id, "sdp": SDP})
    assert agent.wait("media.answer")["data"]["from"] == "callee"
    cand = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host", "sdpMid": "0"}
    kiosk.request("media.candidate", {"session_id": session_id, "candidate": cand})
    got = agent.wait("media.candidate")["data"]["candidate"]
    assert got["candidate"] == cand["candidate"] and got["sdpMid"] == "0"
    # The agent switches the kiosk to its document camera; ICE restart requests go through.
    agent.request(
        "media.control",
        {"session_id": session_id, "action": "switch_camera", "camera": "document"},
    )
    control = kiosk.wait("media.control")["data"]
    assert control["action"] == "switch_camera" and control["camera"] == "document"
    kiosk.request("media.restart", {"session_id": session_id})
    assert agent.wait("media.restart")["data"]["from"] == "callee"

    # After a reload, media.get gives the open call again (with fresh credentials).
    again = kiosk.request("media.get")
    assert again["data"]["session"]["session_id"] == session_id
    assert again["data"]["session"]["role"] == "callee"

    # Time to first frame, measured on the server's clock from the accept.
    rec = agent.request("media.first_frame", {"session_id": session_id})
    assert rec["type"] == "media.first_frame_recorded" and rec["data"]["role"] == "caller"
    time.sleep(0.05)
    rec2 = kiosk.request("media.first_frame", {"session_id": session_id})["data"]
    assert rec2["ms"] >= rec["data"]["ms"] >= 0
    # Reported again (a reload): the first measurement stays.
    assert (
        agent.request("media.first_frame", {"session_id": session_id})["data"]["ms"]
        == (rec["data"]["ms"])
    )
    with media_server.as_user("supervisor") as sup:
        view = sup.get(f"/api/media/sessions/{session_id}").json()
        listed = sup.get("/api/media/sessions", params={"state": "open"}).json()
    assert view["state"] == "open" and view["ticket_id"] == ticket["id"]
    assert view["first_frame_ms"] == {"caller": rec["data"]["ms"], "callee": rec2["ms"]}
    assert view["caller"]["kind"] == "user" and view["callee"]["kind"] == "device"
    assert view["callee"]["name"] == "测试柜台"
    assert [s["id"] for s in listed["items"]] == [session_id]

    # Hang up: both ends learn it (durable), and late signaling is refused.
    hung = kiosk.request("media.hangup", {"session_id": session_id})
    assert hung["data"]["state"] == "closed"
    assert agent.wait("media.ended")["data"] == {
        "session_id": session_id,
        "ticket_id": ticket["id"],
        "reason": "hangup",
    }
    assert kiosk.wait("media.ended")["data"]["reason"] == "hangup"
    late = agent.request("media.candidate", {"session_id": session_id, "candidate": cand})
    assert late["type"] == "error" and late["data"]["error_id"] == "media-session-closed"
    assert kiosk.request("media.get")["data"]["session"] is None
    with media_server.as_user("supervisor") as sup:
        view = sup.get(f"/api/media/sessions/{session_id}").json()
        missing = sup.get("/api/media/sessions/999999")
    assert view["state"] == "closed" and view["end_reason"] == "hangup" and view["ended_at"]
    assert missing.status_code == 404
    assert missing.json()["error_id"] == "media-session-not-found"
    kiosk.close()
    agent.close()


def test_bad_signaling_gets_clear_errors_and_touches_no_other_call(
    media_server: LiveServer,
) -> None:
    first, second = social_security_agents(media_server)[:2]
    kiosk_a, agent_a, _ = open_call(media_server, first)
    call_a = agent_a.wait("media.session")["data"]["session_id"]
    kiosk_a.wait("media.session")
    kiosk_b, agent_b, _ = open_call(media_server, second)
    call_b = agent_b.wait("media.session")["data"]["session_id"]
    kiosk_b.wait("media.session")

    # SDP from someone not in the session (the other call's kiosk and agent).
    for outsider in (kiosk_b, agent_b):
        err = outsider.request("media.offer", {"session_id": call_a, "sdp": SDP})
        assert err["type"] == "error", err
        assert err["data"]["error_id"] == "media-not-a-participant"
        assert err["data"]["message"]["zh-CN"] and err["data"]["message"]["en"]
    # A session that does not exist.
    err = agent_a.request("media.candidate", {"session_id": 987654, "candidate": None})
    assert err["data"]["error_id"] == "media-session-not-found"
    # Oversized SDP (the limit is 4096 bytes here), and something that is not SDP.
    big = SDP + "a=x-padding:" + "x" * 5000 + "\r\n"
    err = agent_a.request("media.offer", {"session_id": call_a, "sdp": big})
    assert err["data"]["error_id"] == "media-sdp-too-large"
    assert err["data"]["details"] == {"size_bytes": len(big), "limit_bytes": 4096}
    err = agent_a.request("media.offer", {"session_id": call_a, "sdp": "hello"})
    assert err["data"]["error_id"] == "media-sdp-invalid"
    err = agent_a.request("media.control", {"session_id": call_a, "action": "self-destruct"})
    assert err["data"]["error_id"] == "validation-failed"
    # A supervisor is no participant of calls at all.
    sup = WsClient(media_server.url, media_server.login("supervisor"))
    err = sup.request("media.offer", {"session_id": call_a, "sdp": SDP})
    assert err["data"]["error_id"] == "permission-denied"
    sup.close()

    # None of it was relayed: each kiosk hears only its own call, which still works.
    agent_a.request("media.offer", {"session_id": call_a, "sdp": SDP + "a=call-a\r\n"})
    agent_b.request("media.offer", {"session_id": call_b, "sdp": SDP + "a=call-b\r\n"})
    got_a = kiosk_a.wait("media.offer")["data"]
    got_b = kiosk_b.wait("media.offer")["data"]
    assert (got_a["session_id"], got_a["sdp"].endswith("a=call-a\r\n")) == (call_a, True)
    assert (got_b["session_id"], got_b["sdp"].endswith("a=call-b\r\n")) == (call_b, True)
    assert not [e for e in kiosk_a.seen + kiosk_b.seen if e["type"] == "media.offer"]
    assert not [e for e in agent_a.seen + agent_b.seen if e["type"] in ("media.offer",)]
    for c in (kiosk_a, agent_a, kiosk_b, agent_b):
        c.close()


def test_call_closes_with_the_session_and_on_transfer(media_server: LiveServer) -> None:
    names = social_security_agents(media_server)
    kiosk, agent, ticket = open_call(media_server, names[0])
    call = agent.wait("media.session")["data"]["session_id"]
    kiosk.wait("media.session")
    other = WsClient(media_server.url, media_server.login(names[1]))
    other.request("agent.state", {"state": "ready"})
    moved = agent.request(
        "session.transfer",
        {
            "ticket_id": ticket["id"],
            "agent_id": int(other.welcome["data"]["principal"].split(":")[1]),
        },
    )
    assert moved["data"]["state"] == "wrap_up", moved
    ended = kiosk.wait("media.ended")["data"]
    assert (ended["session_id"], ended["reason"]) == (call, "transferred")
    assert agent.wait("media.ended")["data"]["reason"] == "transferred"
    # The next agent accepts: a new call for the same ticket, with the same kiosk.
    other.wait("offer")
    other.request("offer.accept", {"ticket_id": ticket["id"]})
    second = kiosk.wait("media.session")["data"]
    assert second["session_id"] != call and second["ticket_id"] == ticket["id"]
    other.wait("media.session")
    other.request("session.end", {"ticket_id": ticket["id"]})
    assert kiosk.wait("media.ended")["data"] == {
        "session_id": second["session_id"],
        "ticket_id": ticket["id"],
        "reason": "ended",
    }
    for c in (kiosk, agent, other):
        c.close()
