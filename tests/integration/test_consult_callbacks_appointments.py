"""Consult transfer, the callback list and appointments, over the real WebSocket and HTTP,
on SQLite and PostgreSQL (the ``backend`` fixture)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from integration.test_queue_ws import kiosk_token
from integration.wsclient import WsClient

from cloudwindow.queueing.hours import official_workday
from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
)

ITEM = "440118-GG-0002"  # 社会保障卡补领, skill group social-security
CHINA = timezone(timedelta(hours=8))
PHONE = "13812345678"


@pytest.fixture()
def srv(backend: str, tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url(backend, tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, offer_ring_seconds=2, queue_tick_seconds=0.2))
    yield server
    server.stop()
    drop_database(url)


def user_id(client: WsClient) -> int:
    return int(client.welcome["data"]["principal"].split(":")[1])


def serving(srv: LiveServer, agent_name: str) -> tuple[WsClient, WsClient, dict[str, Any]]:
    """A kiosk with a ticket in session with ``agent_name``."""
    kiosk = WsClient(srv.url, kiosk_token(srv))
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    agent = WsClient(srv.url, srv.login(agent_name))
    agent.request("agent.state", {"state": "ready"})
    assert agent.wait("offer")["data"]["ticket"]["id"] == ticket["id"]
    assert agent.request("offer.accept", {"ticket_id": ticket["id"]})["data"]["state"] == (
        "in_session"
    )
    return kiosk, agent, ticket


def ready(srv: LiveServer, name: str) -> WsClient:
    client = WsClient(srv.url, srv.login(name))
    assert client.request("agent.state", {"state": "ready"})["data"]["state"] == "ready"
    return client


def agent_state(client: WsClient, state: str, timeout: float = 10) -> dict[str, Any]:
    return client.wait(
        lambda e: e["type"] == "agent.state" and e["data"]["state"] == state, timeout
    )


def consult_event(client: WsClient, state: str, timeout: float = 10) -> dict[str, Any]:
    return client.wait(
        lambda e: e["type"] == "consult.updated" and e["data"]["consult"]["state"] == state,
        timeout,
    )["data"]["consult"]


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


# Consult transfer --------------------------------------------------------------------------
def test_consult_then_complete_hands_the_citizen_to_b(srv: LiveServer) -> None:
    kiosk, a, ticket = serving(srv, "agent01")
    b = ready(srv, "agent02")
    candidates = a.request("consult.candidates")["data"]["agents"]
    assert user_id(b) in [c["id"] for c in candidates]
    assert user_id(a) not in [c["id"] for c in candidates]

    started = a.request(
        "consult.start", {"ticket_id": ticket["id"], "agent_id": user_id(b), "note": "请协助核对"}
    )
    assert started["type"] == "consult.status", started
    consult = started["data"]["consult"]
    assert consult["state"] == "ringing" and consult["ring_seconds"] == 2
    offer = b.wait("consult.offer")["data"]["consult"]
    assert offer["note"] == "请协助核对" and offer["from_agent"]["id"] == user_id(a)
    assert offer["ticket"]["service_item_name"] == "社会保障卡补领"
    assert agent_state(b, "consult_offered")["data"]["ticket"]["id"] == ticket["id"]
    # B is ringing: the router does not offer B anything, and B cannot slip away.
    away = b.request("agent.state", {"state": "not_ready", "reason": "break"})
    assert away["data"]["error_id"] == "agent-in-consult"

    accepted = b.request("consult.accept", {"consult_id": consult["id"]})
    assert accepted["data"]["consult"]["state"] == "accepted"
    assert consult_event(a, "accepted")["to_agent"]["id"] == user_id(b)
    assert b.request("agent.get")["data"]["state"] == "consulting"
    # The citizen is still with A while they consult.
    assert kiosk.request("ticket.get")["data"]["ticket"]["agent"]["id"] == user_id(a)

    done = a.request("consult.complete", {"consult_id": consult["id"]})
    assert done["type"] == "agent.status" and done["data"]["state"] == "wrap_up", done
    now_b = agent_state(b, "in_session")
    assert now_b["data"]["ticket"]["id"] == ticket["id"]
    moved = kiosk.wait(
        lambda e: (
            e["type"] == "ticket.updated"
            and (e["data"]["ticket"]["agent"] or {}).get("id") == user_id(b)
        )
    )
    assert moved["data"]["ticket"]["state"] == "in_session"
    # The video call moves with the citizen: A's call ends, the kiosk and B get a new one.
    assert a.wait("media.ended")["data"]["ticket_id"] == ticket["id"]
    new_call = b.wait("media.session")["data"]
    assert new_call["role"] == "caller" and new_call["ticket_id"] == ticket["id"]
    joined = kiosk.wait(
        lambda e: e["type"] == "media.session" and e["data"]["session_id"] == new_call["session_id"]
    )
    assert joined["data"]["role"] == "callee"
    # A cannot end the session any more; B can.
    assert a.request("session.end", {"ticket_id": ticket["id"]})["type"] == "error"
    assert b.request("session.end", {"ticket_id": ticket["id"]})["data"]["state"] == "wrap_up"
    for c in (kiosk, a, b):
        c.close()


def test_consult_decline_ring_out_cancel_and_session_end(srv: LiveServer) -> None:
    kiosk, a, ticket = serving(srv, "agent01")
    b = ready(srv, "agent02")
    ask = {"ticket_id": ticket["id"], "agent_id": user_id(b), "note": ""}

    # Declined: A is told, B is simply ready again.
    first = a.request("consult.start", ask)["data"]["consult"]
    b.wait("consult.offer")
    declined = b.request("consult.decline", {"consult_id": first["id"]})
    assert declined["data"]["consult"]["state"] == "declined"
    assert consult_event(a, "declined")["id"] == first["id"]
    assert b.request("agent.get")["data"]["state"] == "ready"
    late = b.request("consult.accept", {"consult_id": first["id"]})
    assert late["data"]["error_id"] == "consult-not-found"

    # Rang out (2 s): A is told, B is not-ready like a missed offer.
    second = a.request("consult.start", ask)["data"]["consult"]
    assert consult_event(a, "rang_out", timeout=10)["id"] == second["id"]
    missed = agent_state(b, "not_ready")
    assert missed["data"]["reason"] == "missed_offer"
    assert b.request("consult.accept", {"consult_id": second["id"]})["type"] == "error"

    # Accepted, then cancelled by A: B ready, A still serving.
    b.request("agent.state", {"state": "ready"})
    third = a.request("consult.start", ask)["data"]["consult"]
    assert a.request("consult.start", ask)["data"]["error_id"] == "consult-target-unavailable"
    b.request("consult.accept", {"consult_id": third["id"]})
    cancelled = a.request("consult.cancel", {"consult_id": third["id"]})
    assert cancelled["data"]["consult"]["state"] == "cancelled"
    assert consult_event(b, "cancelled")["id"] == third["id"]
    assert b.request("agent.get")["data"]["state"] == "ready"
    assert a.request("agent.get")["data"]["state"] == "in_session"

    # A ends the session while B's desk rings: B is released too.
    fourth = a.request("consult.start", ask)["data"]["consult"]
    b.wait("consult.offer")
    assert a.request("session.end", {"ticket_id": ticket["id"]})["data"]["state"] == "wrap_up"
    ended = consult_event(b, "cancelled")
    assert ended["id"] == fourth["id"] and ended["end_reason"] == "session ended"
    assert b.request("agent.get")["data"]["state"] == "ready"
    # Someone else's consult: not found, nothing revealed.
    c = ready(srv, "agent03")
    assert c.request("consult.cancel", {"consult_id": fourth["id"]})["data"]["error_id"] == (
        "consult-not-found"
    )
    for client in (kiosk, a, b, c):
        client.close()


def test_two_agents_racing_for_one_colleague(srv: LiveServer) -> None:
    k1, a1, t1 = serving(srv, "agent01")
    k2, a2, t2 = serving(srv, "agent05")
    b = ready(srv, "agent02")
    r1, r2 = in_parallel(
        lambda: a1.request("consult.start", {"ticket_id": t1["id"], "agent_id": user_id(b)}),
        lambda: a2.request("consult.start", {"ticket_id": t2["id"], "agent_id": user_id(b)}),
    )
    types = sorted([r1["type"], r2["type"]])
    assert types == ["consult.status", "error"], (r1, r2)
    loser = r1 if r1["type"] == "error" else r2
    assert loser["data"]["error_id"] == "consult-target-unavailable"
    winner = (r2 if loser is r1 else r1)["data"]["consult"]
    offer = b.wait("consult.offer")["data"]["consult"]
    assert offer["id"] == winner["id"]
    with pytest.raises(TimeoutError):
        b.wait("consult.offer", timeout=1)  # exactly one rings
    for c in (k1, a1, k2, a2, b):
        c.close()


# Callbacks ---------------------------------------------------------------------------------
def test_callbacks_claim_race_outcomes_and_audit(srv: LiveServer) -> None:
    kiosk = WsClient(srv.url, kiosk_token(srv))
    ticket = kiosk.request("ticket.take", {"service_item_code": ITEM})["data"]["ticket"]
    bad = kiosk.request("ticket.callback", {"ticket_id": ticket["id"], "phone": "12345"})
    assert bad["data"]["error_id"] == "phone-invalid"
    assert kiosk.request("ticket.get")["data"]["ticket"]["state"] == "queued"  # unchanged
    asked = kiosk.request("ticket.callback", {"ticket_id": ticket["id"], "phone": PHONE})
    assert asked["data"]["ticket"]["state"] == "callback_requested"
    cb = asked["data"]["callback"]
    assert cb["phone_masked"] == "138****5678" and cb["state"] == "requested"
    assert PHONE not in str(asked)
    start = datetime.now(UTC) + timedelta(hours=2)
    other = kiosk.request(
        "callback.request",
        {
            "service_item_code": ITEM,
            "phone": "020-87654321",
            "preferred_start": start.isoformat(),
            "preferred_end": (start + timedelta(hours=2)).isoformat(),
        },
    )["data"]["callback"]
    assert other["phone_masked"] == "020****4321" and other["preferred_start"]
    backwards = kiosk.request(
        "callback.request",
        {
            "service_item_code": ITEM,
            "phone": PHONE,
            "preferred_start": start.isoformat(),
            "preferred_end": (start - timedelta(hours=1)).isoformat(),
        },
    )
    assert backwards["data"]["error_id"] == "callback-window-invalid"

    with srv.as_user("agent01") as a, srv.as_user("agent05") as b, srv.as_user("agent02") as x:
        listed = a.get("/api/callbacks").json()
        assert {c["id"] for c in listed["items"]} >= {cb["id"], other["id"]}
        assert PHONE not in listed.__repr__() and "87654321" not in listed.__repr__()
        # An agent without the skill group sees nothing of it.
        assert x.get(f"/api/callbacks/{cb['id']}").status_code == 404
        assert cb["id"] not in {c["id"] for c in x.get("/api/callbacks").json()["items"]}

        r1, r2 = in_parallel(
            lambda: a.post(f"/api/callbacks/{cb['id']}/claim"),
            lambda: b.post(f"/api/callbacks/{cb['id']}/claim"),
        )
        codes = sorted([r1.status_code, r2.status_code])
        assert codes == [200, 409], (r1.text, r2.text)
        winner, loser = (a, b) if r1.status_code == 200 else (b, a)
        lost = r2 if r1.status_code == 200 else r1
        assert lost.json()["error_id"] == "callback-already-claimed"
        assert loser.post(f"/api/callbacks/{cb['id']}/phone").json()["error_id"] == (
            "callback-not-claimed-by-you"
        )
        shown = winner.post(f"/api/callbacks/{cb['id']}/phone")
        assert shown.status_code == 200 and shown.json()["phone"] == PHONE
        for attempt in (1, 2):
            out = winner.post(
                f"/api/callbacks/{cb['id']}/outcome",
                json={"outcome": "no_answer", "note": "无人接听"},
            ).json()
            assert out["state"] == "no_answer" and out["attempts"] == attempt
            assert winner.post(f"/api/callbacks/{cb['id']}/claim").status_code == 200
        last = winner.post(f"/api/callbacks/{cb['id']}/outcome", json={"outcome": "no_answer"})
        assert last.json()["state"] == "unreachable" and last.json()["attempts"] == 3
        assert winner.post(f"/api/callbacks/{cb['id']}/claim").json()["error_id"] == (
            "callback-state-conflict"
        )
        assert a.post(f"/api/callbacks/{other['id']}/claim").status_code == 200
        done = a.post(f"/api/callbacks/{other['id']}/outcome", json={"outcome": "done"}).json()
        assert done["state"] == "done" and done["closed_at"]
        assert other["id"] not in {c["id"] for c in a.get("/api/callbacks").json()["items"]}
    with srv.as_user("supervisor") as sup:
        everything = sup.get("/api/callbacks", params={"open_only": False}).json()
        assert {c["id"] for c in everything["items"]} >= {cb["id"], other["id"]}
    with srv.as_user("admin") as admin:
        audit = admin.get(
            "/api/audit-events", params={"action": "callback.phone.read", "page_size": 50}
        ).json()
    reads = [e for e in audit["items"] if e["entity_id"] == str(cb["id"])]
    assert len(reads) == 1 and PHONE not in str(reads)
    kiosk.close()


# Appointments ------------------------------------------------------------------------------
def _closed_hours_now() -> list[list[str]]:
    """Two hours of opening that do not include the current time (China)."""
    hour = datetime.now(CHINA).hour
    return [["09:00", "11:00"]] if not 9 <= hour < 11 else [["14:00", "16:00"]]


def test_outside_hours_kiosk_books_and_last_place_goes_once(srv: LiveServer) -> None:
    with srv.as_user("admin") as admin:
        r = admin.patch(
            "/api/skill-groups/social-security", json={"business_hours": _closed_hours_now()}
        )
        assert r.status_code == 200
        policy = admin.put(
            "/api/skill-groups/social-security/appointment-policy",
            json={"slot_minutes": 30, "capacity": 1, "days_ahead": 7},
        )
        assert policy.json() == {
            "skill_group_code": "social-security",
            "slot_minutes": 30,
            "capacity": 1,
            "days_ahead": 7,
            "default": False,
        }
    k1 = WsClient(srv.url, kiosk_token(srv))
    k2 = WsClient(srv.url, kiosk_token(srv))
    closed = k1.request("ticket.take", {"service_item_code": ITEM})
    assert closed["data"]["error_id"] == "outside-business-hours"
    assert "appointment" in closed["data"]["details"]["alternatives"]
    slots = k1.request("appointment.slots", {"service_item_code": ITEM})["data"]
    assert slots["slot_minutes"] == 30 and slots["days"]
    for day in slots["days"]:
        assert official_workday(datetime.fromisoformat(day["date"]).date())
        assert len(day["slots"]) == 4  # 2 h of 30-minute slots
    slot = slots["days"][0]["slots"][0]
    assert slot["available"] == 1

    r1, r2 = in_parallel(
        lambda: k1.request(
            "appointment.book",
            {"service_item_code": ITEM, "slot_start": slot["start"], "phone": PHONE},
        ),
        lambda: k2.request(
            "appointment.book",
            {"service_item_code": ITEM, "slot_start": slot["start"], "phone": "13900001111"},
        ),
    )
    assert sorted([r1["type"], r2["type"]]) == ["appointment.booked", "error"], (r1, r2)
    loser = r1 if r1["type"] == "error" else r2
    assert loser["data"]["error_id"] == "appointment-slot-full"
    booked = (r2 if loser is r1 else r1)["data"]["appointment"]
    assert len(booked["code"]) == 6 and booked["code"].isdigit()
    assert booked["phone_masked"] in ("138****5678", "139****1111")
    again = k1.request("appointment.slots", {"service_item_code": ITEM})["data"]
    assert again["days"][0]["slots"][0]["available"] == 0

    bad_slot = k1.request(
        "appointment.book",
        {"service_item_code": ITEM, "slot_start": "2020-01-01T09:00:00+08:00", "phone": PHONE},
    )
    assert bad_slot["data"]["error_id"] == "appointment-slot-invalid"
    # A plain priority claim without a code is refused, and so is a code that is not valid.
    self_declared = k1.request(
        "ticket.take", {"service_item_code": ITEM, "priority": "appointment"}
    )
    assert self_declared["data"]["error_id"] == "appointment-code-required"
    wrong = k1.request("ticket.take", {"service_item_code": ITEM, "appointment_code": "000000"})
    assert wrong["data"]["error_id"] == "appointment-code-invalid"
    # Cancelling needs the code and the phone it was booked with.
    phone = PHONE if booked["phone_masked"] == "138****5678" else "13900001111"
    nope = k1.request("appointment.cancel", {"code": booked["code"], "phone": "13700000000"})
    assert nope["data"]["error_id"] == "appointment-code-invalid"
    gone = k1.request("appointment.cancel", {"code": booked["code"], "phone": phone})
    assert gone["data"]["appointment"]["state"] == "cancelled"
    freed = k1.request("appointment.slots", {"service_item_code": ITEM})["data"]
    assert freed["days"][0]["slots"][0]["available"] == 1
    k1.close()
    k2.close()


def test_code_redeemed_for_an_appointment_ticket_once(srv: LiveServer) -> None:
    now = datetime.now(CHINA)
    if now.hour == 23 and now.minute >= 45:
        # A slot belongs to one day and a code is good on its own day only: in the last
        # quarter hour (China time) wait for the new day (at most 15 minutes, ~1 % of runs).
        time.sleep(((23 - now.hour) * 60 + 60 - now.minute) * 60 - now.second + 5)
        now = datetime.now(CHINA)
    start = now.replace(second=0, microsecond=0)
    end = min(start + timedelta(hours=2), start.replace(hour=23, minute=59))
    today = now.date().isoformat()
    with srv.as_user("admin") as admin:
        # Today is a service day whatever the official calendar says (周末不打烊): the
        # test runs the same on a Sunday or a public holiday.
        r = admin.patch(
            "/api/skill-groups/social-security",
            json={
                "business_hours": [[start.strftime("%H:%M"), end.strftime("%H:%M")]],
                "open_days": [today],
            },
        )
        assert r.json()["open_days"] == [today], r.text
        admin.put(
            "/api/skill-groups/social-security/appointment-policy",
            json={"slot_minutes": 5, "capacity": 3, "days_ahead": 1},
        )
    kiosk = WsClient(srv.url, kiosk_token(srv))
    slots = kiosk.request("appointment.slots", {"service_item_code": ITEM})["data"]
    first = slots["days"][0]["slots"][0]  # starts within 5 minutes: inside the early window
    booked = kiosk.request(
        "appointment.book",
        {"service_item_code": ITEM, "slot_start": first["start"], "phone": PHONE},
    )["data"]["appointment"]
    twice = kiosk.request(
        "appointment.book",
        {"service_item_code": ITEM, "slot_start": first["start"], "phone": PHONE},
    )
    assert twice["data"]["error_id"] == "appointment-already-booked"

    other = WsClient(srv.url, kiosk_token(srv))  # any kiosk
    found = other.request("appointment.lookup", {"code": booked["code"]})["data"]["appointment"]
    assert found["service_item_name"] == "社会保障卡补领"
    mismatch = other.request(
        "ticket.take", {"service_item_code": "440118-GG-0001", "appointment_code": booked["code"]}
    )
    assert mismatch["type"] == "error"
    taken = other.request(
        "ticket.take", {"service_item_code": ITEM, "appointment_code": booked["code"]}
    )
    assert taken["type"] == "ticket.created", taken
    ticket = taken["data"]["ticket"]
    assert ticket["priority"] == "appointment" and ticket["number"].startswith("Y")
    third = WsClient(srv.url, kiosk_token(srv))
    reused = third.request(
        "ticket.take", {"service_item_code": ITEM, "appointment_code": booked["code"]}
    )
    assert reused["data"]["error_id"] == "appointment-code-invalid"
    with srv.as_user("supervisor") as sup:
        listed = sup.get("/api/appointments", params={"state": "redeemed"}).json()
    assert [a["ticket_id"] for a in listed["items"]] == [ticket["id"]]
    # The centre closes today after all: the kiosk gets no queue, with the next opening.
    with srv.as_user("admin") as admin:
        admin.patch("/api/skill-groups/social-security", json={"closed_days": [today]})
    closed = third.request("ticket.take", {"service_item_code": ITEM})
    assert closed["data"]["error_id"] == "outside-business-hours", closed
    for c in (kiosk, other, third):
        c.close()
