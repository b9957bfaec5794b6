"""The audit log (PIPL): append-only in the database itself, searchable by auditors, and
written for every read of a case's personal data.

On SQLite and PostgreSQL, an UPDATE, DELETE (and on PostgreSQL a TRUNCATE) of
``audit_events`` is refused by the trigger of migration 0013, whoever asks — the rows
are unchanged afterwards. Auditors search by actor, action (exact or ``prefix.*``),
entity and time range, page by page; others are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from integration.cases_support import Desk
from sqlalchemy import text

from cloudwindow.services import Services
from conftest import LiveServer, run_async


@pytest.fixture(scope="module")
def desk(live: LiveServer) -> Iterator[Desk]:
    d = Desk(live)
    yield d
    d.close()


def search(live: LiveServer, **params: Any) -> dict[str, Any]:
    with live.as_user("auditor") as auditor:
        r = auditor.get("/api/audit-events", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def sql(live: LiveServer, statement: str, row: int = 0) -> str:
    """Run ``statement`` straight on the server's database; the error text, or ''."""

    async def go() -> str:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                await session.execute(text(statement), {"id": row})
        except Exception as exc:
            return str(exc)
        finally:
            await services.db.dispose()
        return ""

    return run_async(go)


def test_the_database_refuses_to_change_or_delete_audit_rows(live: LiveServer, desk: Desk) -> None:
    case = desk.open()
    desk.get(case["id"])  # a read of the case's personal data: one more row
    rows = search(live, entity_type="case", entity_id=str(case["id"]))["items"]
    assert {r["action"] for r in rows} >= {"case.open", "case.data.read"}
    first = rows[-1]

    for statement in (
        "UPDATE audit_events SET action = 'nothing' WHERE id = :id",
        "UPDATE audit_events SET details = '{}' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events WHERE id >= :id",
    ):
        error = sql(live, statement, first["id"])
        assert "audit_events is append-only" in error, (statement, error)
    if live.settings.database_url.startswith("postgresql"):
        assert "append-only" in sql(live, "TRUNCATE audit_events")

    after = search(live, entity_type="case", entity_id=str(case["id"]))["items"]
    assert after == rows  # nothing changed, nothing gone
    # Adding still works: the application's own writes go on.
    desk.get(case["id"])
    assert search(live, entity_type="case", entity_id=str(case["id"]))["total"] == len(rows) + 1


def test_auditors_search_by_actor_action_entity_and_time(live: LiveServer, desk: Desk) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    case = desk.open()
    cid = str(case["id"])
    opened = search(live, entity_id=cid, entity_type="case")["total"]  # the open, its view
    for _ in range(3):
        desk.get(case["id"])
    with live.as_user("supervisor") as sup:
        assert sup.get(f"/api/cases/{case['id']}").status_code == 200  # masked, still audited
    agent_id = search(live, action="case.open", entity_id=cid)["items"][0]["actor_id"]

    reads = search(live, action="case.data.read", entity_type="case", entity_id=cid)
    assert reads["total"] == opened - 1 + 3
    assert all(r["actor_id"] == agent_id for r in reads["items"])
    assert [r["details"]["purpose"] for r in reads["items"][:3]] == ["work"] * 3
    # A prefix: every case.* action on this case (open, data reads, the supervisor's read).
    every = search(live, action="case.*", entity_id=cid)
    assert {r["action"] for r in every["items"]} == {"case.open", "case.data.read", "case.read"}
    assert every["total"] == opened + 3 + 1
    # By actor and time range; pages of 2, newest first, no row twice.
    mine = search(live, actor_id=agent_id, entity_id=cid, since=before.isoformat())
    assert mine["total"] == opened + 3
    paged = [
        r["id"]
        for page in (1, 2)
        for r in search(live, actor_id=agent_id, entity_id=cid, page=page, page_size=2)["items"]
    ]
    assert paged == sorted(paged, reverse=True) and len(set(paged)) == 4
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert search(live, entity_type="case", entity_id=cid, since=later.isoformat())["total"] == 0
    assert search(live, entity_type="case", entity_id=cid, until=before.isoformat())["total"] == 0
    assert (
        search(live, actor_type="user", entity_type="case", entity_id=cid)["total"]
        == every["total"]
    )
    # By the case number the auditor knows (it is in the details), in any case.
    by_number = search(live, q=case["number"].lower(), entity_type="case")
    assert by_number["total"] == every["total"]
    assert search(live, q="%", entity_id=cid, entity_type="case")["total"] == 0  # not a wildcard

    with live.as_user("auditor") as auditor:
        naive = auditor.get("/api/audit-events", params={"since": "2026-01-01T00:00:00"})
        assert naive.status_code == 422
        assert naive.json()["error_id"] == "audit-time-range-invalid"
        backwards = auditor.get(
            "/api/audit-events",
            params={"since": later.isoformat(), "until": before.isoformat()},
        )
        assert backwards.json()["error_id"] == "audit-time-range-invalid"
        edge = auditor.get("/api/audit-events", params={"since": "0001-01-01T00:00:00+14:00"})
        assert edge.status_code == 422 and edge.json()["error_id"] == "audit-time-range-invalid"
    with live.as_user("agent01") as agent:
        assert agent.get("/api/audit-events").status_code == 403
