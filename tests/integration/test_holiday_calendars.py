"""Next year's 节假日安排, entered by an administrator before the holiday package has it:
running cases whose working days reach into that year get the due date the notice
gives (in their history), bad notices are refused whole, and the published years of the
package cannot be overridden (catalog/calendar.py, docs/cases.md §Deadlines)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from integration.cases_support import ITEM, Desk

from cloudwindow.cases import deadlines
from conftest import LiveServer, dedicated_server


@pytest.fixture()
def srv(backend: str, tmp_path: Path) -> Iterator[LiveServer]:
    # Its own server: the calendar entered here changes due dates other tests would see.
    with dedicated_server(backend, tmp_path) as server:
        yield server


def weekdays_between(start: date, end: date) -> int:
    return sum(1 for i in range(1, (end - start).days + 1) if (start + timedelta(i)).weekday() < 5)


def sent(desk: Desk, case_id: int, note_id: int, timeout: float = 30) -> dict[str, object]:
    """The notification once the SMS retry job has sent it (every 5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        (note,) = [n for n in desk.get(case_id)["notifications"] if n["id"] == note_id]
        if note["state"] == "sent":
            return dict(note)
        assert note["state"] in ("queued", "sending") and time.monotonic() < deadline, note
        time.sleep(0.2)


def test_entering_next_years_notice_moves_the_due_dates_that_reach_into_it(
    srv: LiveServer,
) -> None:
    with srv.as_user("admin") as admin:
        years = admin.get("/api/holiday-calendars").json()
        assert years["entered"] == []
        year = max(years["package_years"]) + 1  # the first year the package lacks
        today = deadlines.china_date(datetime.now(deadlines.CHINA))
        # A promise long enough to end in mid-January of that year.
        promised = weekdays_between(today, date(year, 1, 15))
        r = admin.patch(
            f"/api/service-items/{ITEM}", json={"legal_days": 365, "promised_days": promised}
        )
        assert r.status_code == 200, r.text
    desk = Desk(srv)
    try:
        case = desk.ready()
        accepted = desk.accept(case["id"]).json()
        guessed = date.fromisoformat(accepted["due_date"])
        assert guessed.year == year  # counted Monday to Friday: no notice yet

        # The notice: New Year's Day and the first working week of January off, and a
        # make-up Saturday (made up for the test).
        off = [date(year, 1, d) for d in range(1, 9)]
        saturday = next(date(year, 1, d) for d in range(10, 17) if date(year, 1, d).weekday() == 5)
        with srv.as_user("admin") as admin:
            r = admin.put(
                f"/api/holiday-calendars/{year}",
                json={
                    "holidays": [d.isoformat() for d in off],
                    "workdays": [saturday.isoformat()],
                    "notice": "测试通知",
                },
            )
            assert r.status_code == 200, r.text
            assert r.json()["corrected_cases"] >= 1
            listed = admin.get("/api/holiday-calendars").json()["entered"]
            assert [y["year"] for y in listed] == [year]
        now = desk.get(case["id"])
        corrected = date.fromisoformat(now["due_date"])
        # The test servers share this process (and the module's calendar): compute the
        # expected day with the same notice, then put back what was in force.
        in_force = deadlines.entered_years()
        deadlines.set_entered_years(
            [deadlines.EnteredYear(year, frozenset(off), frozenset({saturday}))]
        )
        try:
            expected = deadlines.due_date(
                deadlines.china_date(datetime.fromisoformat(accepted["accepted_at"])), promised
            )
        finally:
            deadlines.set_entered_years(in_force)
        assert corrected == expected and corrected > guessed
        (event,) = [e for e in now["events"] if e["kind"] == "due_date"]
        assert event["details"] == {"from": guessed.isoformat(), "to": corrected.isoformat()}
        assert f"{year} 年节假日安排录入" in event["reason"]
        # The citizen is told the new date, on the number the acceptance SMS went to
        # (masked in the record), by the SMS retry job.
        (told,) = [n for n in now["notifications"] if n["kind"] == "due_date"]
        (first,) = [n for n in now["notifications"] if n["kind"] == "accepted"]
        assert told["text"] == (
            f"【增城政务】您的办件{case['number']}因节假日安排调整，"
            f"承诺办结日期变更为{corrected.isoformat()}。"
        )
        assert told["phone_masked"] == first["phone_masked"] and "*" in told["phone_masked"]
        assert sent(desk, case["id"], told["id"])["sent_at"]
        outbox = (srv.settings.data_dir / "sms" / "outbox.jsonl").read_text(encoding="utf-8")
        (line,) = [json.loads(x) for x in outbox.splitlines() if f"cw-sms-{told['id']}" in x]
        assert (line["text"], line["to"]) == (told["text"], told["phone_masked"])

        # Withdrawn again (entered by mistake): back to the Monday-to-Friday count, and
        # the citizen is told that too.
        with srv.as_user("admin") as admin:
            assert admin.delete(f"/api/holiday-calendars/{year}").status_code == 204
        back = desk.get(case["id"])
        assert back["due_date"] == guessed.isoformat()
        texts = [n["text"] for n in back["notifications"] if n["kind"] == "due_date"]
        assert len(texts) == 2 and texts[-1].endswith(f"变更为{guessed.isoformat()}。")
    finally:
        desk.close()


def test_a_bad_notice_is_refused_whole_and_published_years_stay(srv: LiveServer) -> None:
    with srv.as_user("admin") as admin:
        year = max(admin.get("/api/holiday-calendars").json()["package_years"]) + 1
        monday = next(date(year, 3, d) for d in range(1, 8) if date(year, 3, d).weekday() == 0)
        cases = [
            ({"holidays": [f"{year}-01-01"], "workdays": [monday.isoformat()]}, "workdays"),
            ({"holidays": [f"{year + 1}-01-01"]}, "holidays"),
            ({"holidays": [f"{year}-01-01"], "workdays": [f"{year}-01-01"]}, None),
        ]
        for body, field in cases:
            r = admin.put(f"/api/holiday-calendars/{year}", json=body)
            assert r.status_code == 422, r.text
            err = r.json()
            assert err["error_id"] == "holiday-calendar-invalid"
            assert err["message"]["zh-CN"].startswith("节假日安排有误")
            if field:
                assert err["details"]["field"] == field
        r = admin.put(f"/api/holiday-calendars/{year}", json={"holidays": []})
        assert r.status_code == 422
        published = max(admin.get("/api/holiday-calendars").json()["package_years"])
        r = admin.put(
            f"/api/holiday-calendars/{published}", json={"holidays": [f"{published}-01-01"]}
        )
        assert r.json()["error_id"] == "holiday-calendar-published"
        assert admin.get("/api/holiday-calendars").json()["entered"] == []
        assert admin.delete(f"/api/holiday-calendars/{year}").status_code == 404
    with srv.as_user("agent01") as agent:
        r = agent.put(f"/api/holiday-calendars/{year}", json={"holidays": [f"{year}-01-01"]})
        assert r.status_code == 403


def test_two_first_entries_of_a_year_at_once_both_succeed_and_one_stays(
    live: LiveServer,
) -> None:
    # Two administrators save the same new year at the same moment: neither sees an
    # error (the row the other inserted is locked and updated), and one notice stays whole.
    year = 2097
    bodies = [
        {"holidays": [f"{year}-01-01", f"{year}-10-01"], "notice": "甲"},
        {"holidays": [f"{year}-01-01", f"{year}-05-01"], "notice": "乙"},
    ]
    barrier = threading.Barrier(len(bodies))

    def put(body: dict[str, object]) -> tuple[int, str]:
        with live.as_user("admin") as admin:
            barrier.wait()
            r = admin.put(f"/api/holiday-calendars/{year}", json=body)
            return r.status_code, r.text

    try:
        with ThreadPoolExecutor(len(bodies)) as pool:
            results = list(pool.map(put, bodies))
        assert [status for status, _ in results] == [200, 200], results
        with live.as_user("admin") as admin:
            entered = [e for e in admin.get("/api/holiday-calendars").json()["entered"]
                       if e["year"] == year]  # fmt: skip
        assert len(entered) == 1
        kept = entered[0]
        assert (kept["notice"], kept["holidays"]) in [(b["notice"], b["holidays"]) for b in bodies]
    finally:
        with live.as_user("admin") as admin:
            admin.delete(f"/api/holiday-calendars/{year}")
