"""Where a case list / detail request's time goes (issue 5), measured in-process: the
CPU time of each request (``time.process_time``: the app and the client in one process,
no other process's load in it), its SQL statements and their wall time.

    PYTHONPATH=<src> taskset -c 1 .venv/bin/python bench/cases_profile.py [--requests 50]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432/cw_bench_cases] [--sql]

Runs against the database ``bench/cases_bench.py --keep`` leaves (100,000 cases): the app
is created in this process and called through ``httpx.ASGITransport`` (no sockets, no
server process), so the numbers are the request's own cost — routing, authentication,
the handler, SQL round trips (their wall time includes PostgreSQL's work), validation
and JSON — not the machine's load. ``--sql`` lists every statement with how many times a
request runs it and its median time. Statements the app's background jobs run in the
same seconds are counted too when they fall inside a request (their count is < 1).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import event, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/cw_bench_cases"
    )
    parser.add_argument("--data-dir", default="/tmp/cwb/cases-postgres/data")  # noqa: S108
    parser.add_argument("--sql", action="store_true", help="list the statements")
    args = parser.parse_args()
    os.environ.update(
        CLOUDWINDOW_DATABASE_URL=args.url,
        CLOUDWINDOW_DATA_DIR=args.data_dir,
        CLOUDWINDOW_LOG_LEVEL="CRITICAL",
    )
    asyncio.run(profile(args.requests, args.sql))


async def profile(n: int, show_sql: bool) -> None:
    import cloudwindow
    from cloudwindow.app import create_app
    from cloudwindow.config import Settings
    from cloudwindow.sample.load import DEMO_PASSWORD

    print(f"code: {os.path.dirname(cloudwindow.__file__)}; {n} requests per row\n")
    app = create_app(Settings())
    statements: list[tuple[str, float]] = []
    started: dict[int, float] = {}
    engine = app.state.services.db.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(_c: Any, cursor: Any, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        t0 = started.pop(id(cursor), time.perf_counter())
        statements.append((statement, time.perf_counter() - t0))

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            auth = {}
            for user in ("supervisor", "approver", "agent01"):
                r = await c.post(
                    "/api/auth/login", json={"username": user, "password": DEMO_PASSWORD}
                )
                r.raise_for_status()
                auth[user] = {"Authorization": f"Bearer {r.json()['token']}"}
            first = (await c.get("/api/cases?page_size=50", headers=auth["supervisor"])).json()
            number = first["items"][25]["number"]
            dept = sorted({r["service_item"]["department_code"] for r in first["items"]})[0]
            async with app.state.services.db.read() as s:
                some = list(
                    await s.scalars(text("SELECT id FROM cases ORDER BY random() LIMIT 200"))
                )
                approver = list(
                    await s.scalars(
                        text(
                            "SELECT DISTINCT case_id FROM case_approvals "
                            "WHERE department_code = 'ZC-SBJ' LIMIT 200"
                        )
                    )
                )
                mine = list(
                    await s.scalars(
                        text(
                            "SELECT c.id FROM cases c JOIN users u ON u.id = c.agent_id "
                            "WHERE u.username = 'agent01' ORDER BY random() LIMIT 200"
                        )
                    )
                )
            p = "page_size=50"
            plan: list[tuple[str, str, Callable[[int], str]]] = [
                ("list, page 1", "supervisor", lambda i: f"/api/cases?{p}"),
                ("list, page 1000", "supervisor", lambda i: f"/api/cases?{p}&page=1000"),
                ("list, state", "supervisor", lambda i: f"/api/cases?{p}&state=under_approval"),
                (f"list, department {dept}", "supervisor",
                 lambda i: f"/api/cases?{p}&department_code={dept}"),
                ("list, overdue", "supervisor", lambda i: f"/api/cases?{p}&overdue=true"),
                ("list, q", "supervisor", lambda i: f"/api/cases?{p}&q={number[:10]}"),
                ("approver pending", "approver", lambda i: f"/api/approvals?{p}"),
                ("approver overdue", "approver", lambda i: f"/api/approvals?{p}&overdue=true"),
                ("agent01 my cases", "agent01", lambda i: f"/api/desk/cases?{p}"),
                ("detail, supervisor", "supervisor", lambda i: f"/api/cases/{some[i % 200]}"),
                ("detail, approver", "approver",
                 lambda i: f"/api/approvals/{approver[i % len(approver)]}"),
                ("detail, agent01", "agent01", lambda i: f"/api/desk/cases/{mine[i % 200]}"),
                ("/healthz", "supervisor", lambda i: "/healthz"),
            ]  # fmt: skip
            print("| request | CPU ms p50 | CPU ms p90 | SQL statements | SQL ms (wall) |")
            print("|---|---:|---:|---:|---:|")
            for name, user, path in plan:
                for i in range(5):
                    r = await c.get(path(i), headers=auth[user])
                    if r.status_code != 200:
                        raise SystemExit(f"{path(i)} → {r.status_code} {r.text[:300]}")
                cpu: list[float] = []
                count: list[int] = []
                sql: list[float] = []
                per: dict[str, list[float]] = collections.defaultdict(list)
                for i in range(n):
                    statements.clear()
                    c0 = time.process_time()
                    await c.get(path(i), headers=auth[user])
                    cpu.append(time.process_time() - c0)
                    count.append(len(statements))
                    sql.append(sum(t for _, t in statements))
                    for st, t in statements:
                        per[" ".join(st.split())[:110]].append(t)
                print(
                    f"| {name} | {statistics.median(cpu) * 1000:.1f} | "
                    f"{statistics.quantiles(cpu, n=10)[-1] * 1000:.1f} | "
                    f"{statistics.median(count):.0f} | {statistics.median(sql) * 1000:.1f} |"
                )
                if show_sql:
                    for st, ts in per.items():
                        print(
                            f"|   {len(ts) / n:.1f}× {statistics.median(ts) * 1000:.2f} ms "
                            f"`{st}` ||||"
                        )


if __name__ == "__main__":
    main()
