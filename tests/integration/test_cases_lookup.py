"""Case lookup (办件查询) by number + phone: what the citizen sees, that a wrong phone
learns nothing (same answer as a nonexistent number), and the rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from integration.cases_support import Desk, decide, new_kiosk, pending_step

from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
)


@pytest.fixture(scope="module")
def limited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with small lookup limits: 6 per client, 3 per case number, per 60 s."""
    tmp = tmp_path_factory.mktemp(f"lookup-{backend}")
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(
        settings_for(
            url, tmp, case_lookup_per_client=6, case_lookup_per_number=3,
            case_lookup_window_seconds=60,
        )
    )  # fmt: skip
    yield server
    server.stop()
    drop_database(url)


def lookup(client: httpx.Client, number: str, phone: str) -> httpx.Response:
    return client.post("/api/case-lookup", json={"number": number, "phone": phone})


def accepted(live: LiveServer, phone: str) -> dict[str, Any]:
    d = Desk(live)
    try:
        case = d.ready(phone=phone)
        r = d.accept(case["id"])
        assert r.status_code == 200, r.text
        return dict(r.json())
    finally:
        d.close()


def test_lookup_shows_progress_and_what_is_missing(live: LiveServer) -> None:
    phone = "13655556666"
    case = accepted(live, phone)
    with live.client() as anon:
        r = lookup(anon, case["number"], phone)
        assert r.status_code == 200, r.text
        seen = r.json()
        assert seen["state"] == "under_approval" and seen["due_date"] == case["due_date"]
        assert seen["service_item_name"] == case["service_item"]["name"]
        assert [h["state"] for h in seen["history"]] == ["accepted", "under_approval"]
        # Typed loosely at a kiosk: lower case, spaces, no hyphen, +86.
        loose = case["number"].lower().replace("-", " ")
        assert lookup(anon, loose, "+86 136-5555-6666").status_code == 200
    with live.as_user("approver") as approver:
        r = decide(
            approver, case["id"], pending_step(case), "return",
            reason="照片不清晰", missing=["近期免冠照片"],
        )  # fmt: skip
        assert r.status_code == 200, r.text
    with live.client() as anon:
        seen = lookup(anon, case["number"], phone).json()
    assert seen["state"] == "returned"
    assert seen["correction"] == {
        "reason": "照片不清晰",
        "missing": ["近期免冠照片"],
        "at": seen["correction"]["at"],
    }


def test_wrong_phone_looks_exactly_like_no_such_case(live: LiveServer) -> None:
    phone = "13777778888"
    case = accepted(live, phone)
    d = Desk(live)
    try:
        draft = d.fill(d.open(), phone=phone)  # drafts are not found either
        gone = d.fill(d.open(), phone=phone)  # nor drafts withdrawn before acceptance
        r = d.agent.post(f"/api/desk/cases/{gone['id']}/withdraw", json={"reason": "不办了"})
        assert r.status_code == 200
    finally:
        d.close()
    with live.client() as anon:
        wrong = lookup(anon, case["number"], "13777778889")
        missing = lookup(anon, "CW20990101-000001", phone)
        garbage = lookup(anon, "not a number", "nonsense")
        hidden = lookup(anon, draft["number"], phone)
        withdrawn = lookup(anon, gone["number"], phone)
    for r in (wrong, missing, garbage, hidden, withdrawn):
        assert r.status_code == 404
        assert r.json() == wrong.json()
        assert set(r.headers) - {"date", "content-length"} == set(wrong.headers) - {
            "date",
            "content-length",
        }
    assert wrong.json()["error_id"] == "case-lookup-failed"
    assert case["number"] not in wrong.text and phone not in wrong.text


def test_rate_limits_per_case_number_and_per_client(limited: LiveServer) -> None:
    phone = "13522223333"
    case = accepted(limited, phone)
    with limited.client() as anon:
        # Per number: guessing phones for one case stops after 3 tries, right or wrong.
        for tail in ("0", "1", "2"):
            assert lookup(anon, case["number"], "1352222333" + tail).status_code == 404
        r = lookup(anon, case["number"], phone)
        assert r.status_code == 429 and r.json()["error_id"] == "case-lookup-rate-limited"
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 61 and r.json()["details"]["retry_after_seconds"] == wait
        # Per client: sweeping numbers from one address stops too (6 attempts in all;
        # the refused one above did not count).
        codes = [lookup(anon, f"CW20990101-{n:06d}", phone).status_code for n in range(1, 6)]
        assert codes == [404, 404, 404, 429, 429]
    # A kiosk sending its device credential counts as itself, not as the shared address
    # (a community hall behind NAT); a made-up credential does not escape the limit.
    token, _ = new_kiosk(limited)
    with limited.client(token) as kiosk:
        assert lookup(kiosk, "CW20990101-000009", phone).status_code == 404
    with limited.client("cwd_not-a-real-credential") as forger:
        assert lookup(forger, "CW20990101-000010", phone).status_code == 429
