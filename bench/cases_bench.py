"""Case list and case detail latency with 100,000 cases in PostgreSQL (issue 5).

    taskset -c 1 .venv/bin/python bench/cases_bench.py [--cases 100000] [--requests 300]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432] [--keep]

A fresh PostgreSQL database ``cw_bench_cases`` (dropped afterwards unless ``--keep``) gets
the demo district (``cloudwindow demo --no-serve``), then N cases inserted with Core bulk
inserts (set-up, not measured): spread over ~80 service items of several departments,
all the agents, a year of filing dates (running cases in the last weeks, some overdue),
states like a live district (concluded, under approval, returned, rejected, withdrawn,
draft), each with its history (``case_events``), approval steps, materials and the SMS
notification. Personal data is written by the real ``actions.apply_edits`` (AES-GCM
ciphertext bound to the case id and field, blind-indexed phone, masks), so clear reads
decrypt for real.

``cloudwindow serve`` then runs as a separate process pinned to core 0 (``taskset``);
this process is the load generator on core 1. Real users sign in over HTTP (supervisor,
the ZC-SBJ approver, agent01) and each endpoint is called sequentially (keep-alive
connection): warm-up, then ``--requests`` timed calls; ``/healthz`` is timed in the same
run, interleaved, as the baseline cost of a request. Target: p99 ≤ 50 ms for a page of 50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ws_bench import (
    CLIENT_CPU,
    SERVER_CPU,
    BenchDB,
    Server,
    code_state,
    machine,
    pct,
    pin_self,
)

PG_DB = "cw_bench_cases"
PAGE = 50
TARGET_MS = 50.0
APPROVER_DEPT = "ZC-SBJ"  # the demo approver's department
# state → share of cases (resubmitted is a recorded move straight into under_approval)
STATES = [
    ("concluded", 0.46),
    ("under_approval", 0.27),
    ("returned", 0.06),
    ("rejected", 0.06),
    ("withdrawn", 0.05),
    ("draft", 0.10),
]
RUNNING = {"under_approval", "returned"}


def say(*parts: object) -> None:
    print(*parts, flush=True)


def measured_code() -> str:
    """The cloudwindow package the server runs (``PYTHONPATH`` may put another tree in
    front of the working tree): its folder, git commit and whether it has changes."""
    import cloudwindow

    src = Path(cloudwindow.__file__).resolve().parent.parent

    def git(*a: str) -> str:
        return subprocess.run(
            ["git", "-C", str(src), *a], capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    changed = git("status", "--porcelain", "--", ".")
    return f"{src} at {head}" + (" + uncommitted changes" if changed else "")


def header(args: argparse.Namespace) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    say("# cases_bench")
    say(f"date:    {now}")
    say(f"machine: {machine()}")
    say(f"code:    {code_state()} (the working tree)")
    say(f"measured: {measured_code()}")
    say(f"pinning: cloudwindow serve on core {SERVER_CPU} (taskset), load generator on core "
        f"{CLIENT_CPU}")  # fmt: skip
    say(f"command: {' '.join(sys.argv)}")
    say(f"options: {vars(args)}")
    say()


# Seeding -------------------------------------------------------------------------------------
async def seed(url: str, data_dir: Path, n_cases: int, rng: random.Random) -> dict[str, Any]:
    """Insert ``n_cases`` cases with history, steps, materials and notifications."""
    from sqlalchemy import delete, func, insert, select, text

    from cloudwindow.accounts.models import User
    from cloudwindow.cases import actions, deadlines, formstore, queries
    from cloudwindow.cases.models import (
        Case,
        CaseApproval,
        CaseEvent,
        CaseMaterial,
        CaseNumberCounter,
        Notification,
    )
    from cloudwindow.catalog.models import ServiceItem
    from cloudwindow.config import Settings
    from cloudwindow.db import Database
    from cloudwindow.sample.cases import sample_values

    settings = Settings(database_url=url, data_dir=data_dir, log_level="WARNING")
    db = Database(url)
    t0 = time.perf_counter()
    try:
        async with db.transaction() as s:
            all_items = list(
                await s.scalars(
                    select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)
                )
            )
            mine = [i for i in all_items if i.department_code == APPROVER_DEPT][:20]
            others = [i for i in all_items if i.department_code != APPROVER_DEPT]
            items = mine + rng.sample(others, min(60, len(others)))
            forms = {i.code: await formstore.ensure_current_form(s, i) for i in items}
            chains = {i.code: await queries.chain_of(s, i) for i in items}
            agents = [
                u
                for u in await s.scalars(select(User).order_by(User.id))
                if "agent" in (u.roles or [])
            ]
            approver = await s.scalar(select(User).where(User.username == "approver"))
            assert approver is not None and agents
            start_id = int(await s.scalar(select(func.coalesce(func.max(Case.id), 0))) or 0) + 1
        now = dt.datetime.now(dt.UTC)
        today = deadlines.china_date(now)
        # (created_at, state), sorted so that ids follow filing order
        plan: list[tuple[dt.datetime, str]] = []
        for _ in range(n_cases):
            state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
            days = (
                rng.uniform(0, 40) if state in RUNNING or state == "draft" else rng.uniform(5, 365)
            )
            plan.append((now - dt.timedelta(days=days, minutes=rng.uniform(0, 600)), state))
        plan.sort()
        due_cache: dict[tuple[dt.date, int], dt.date] = {}
        async with db.read() as s:  # numbers continue the demo's daily sequences
            seq = {c.day: c.last for c in await s.scalars(select(CaseNumberCounter))}
        agent01 = next(a for a in agents if a.username == "agent01")
        cases: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        materials: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        for k, (created, state) in enumerate(plan):
            cid = start_id + k
            # a few items draw most cases, as in real halls
            item = items[min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)] if rng.random(
            ) < 0.5 else rng.choice(items)  # fmt: skip
            form = forms[item.code]
            agent = agent01 if rng.random() < 0.08 else rng.choice(agents)
            day = deadlines.china_date(created).strftime("%Y%m%d")
            seq[day] = seq.get(day, 0) + 1
            shell = Case(id=cid, state="draft", data={}, pii={}, rev=0, field_revs={}, version=1)
            phone = f"139{rng.randrange(10**8):08d}"
            values = sample_values(form.schema, k % 40, phone)
            actions.apply_edits(settings, shell, form.schema, values)
            required = actions.required_of(item)
            accepted = created + dt.timedelta(minutes=20) if state not in ("draft",) else None
            if state == "withdrawn" and rng.random() < 0.5:
                accepted = None  # withdrawn while still a draft
            due = None
            if accepted is not None:
                key = (deadlines.china_date(accepted), item.promised_days)
                if key not in due_cache:
                    due_cache[key] = deadlines.due_date(key[0], key[1], estimate=True)
                due = due_cache[key]
            final = state in ("concluded", "rejected", "withdrawn")
            ended = created + dt.timedelta(days=rng.uniform(1, 4)) if final else None
            pending_step = 1 if state == "under_approval" else None
            row: dict[str, Any] = {
                "id": cid, "number": f"CW{day}-{seq[day]:06d}",
                "service_item_code": item.code, "department_code": item.department_code,
                "form_version_id": form.id, "state": state, "data": shell.data,
                "pii": shell.pii, "rev": shell.rev, "field_revs": shell.field_revs,
                "confirmed_rev": shell.rev if accepted else None,
                "confirmed_at": accepted, "confirmed_by": "device:1" if accepted else None,
                "ticket_id": None, "agent_id": agent.id,
                "applicant_masked": shell.applicant_masked, "phone_cipher": shell.phone_cipher,
                "phone_index": shell.phone_index, "phone_masked": shell.phone_masked,
                "required_materials": required, "promised_days": item.promised_days,
                "accepted_at": accepted, "due_date": due,
                "concluded_at": ended if state in ("concluded", "rejected") else None,
                "round": 1 if accepted else 0, "current_step": pending_step,
                "correction": {"reason": "材料不清晰", "missing": ["身份证复印件"],
                               "by": approver.id, "at": created.isoformat(), "rev": shell.rev}
                if state == "returned" else None,
                "outcome_reason": "不符合申请条件" if state == "rejected" else "",
                "version": 3, "created_at": created, "updated_at": ended or accepted or created,
            }  # fmt: skip
            cases.append(row)
            who = f"user:{agent.id}"

            def ev(kind: str, frm: str, to: str, at: dt.datetime, actor: str = who,
                   reason: str = "", cid: int = cid) -> None:  # fmt: skip
                events.append({"case_id": cid, "kind": kind, "from_state": frm, "to_state": to,
                               "actor": actor, "actor_name": "", "reason": reason,
                               "details": {}, "at": at})  # fmt: skip

            ev("opened", "draft", "draft", created, reason=item.name)
            ev("confirmed", "draft", "draft", created + dt.timedelta(minutes=15), "device:1")
            if accepted is None:
                if state == "withdrawn":
                    ev("transition", "draft", "withdrawn", created + dt.timedelta(minutes=30))
                continue
            ev("transition", "draft", "accepted", accepted, reason="受理")
            ev(
                "transition",
                "accepted",
                "under_approval",
                accepted,
                "system",
                chains[item.code][0][1],
            )
            for m in required:
                if m["required"]:
                    materials.append({
                        "case_id": cid, "material_code": m["code"], "name": m["name"],
                        "source": "capture", "storage_key": f"materials/{cid}/{m['code']}.jpg",
                        "original_name": "", "content_type": "image/jpeg", "size": 182_000,
                        "sha256": f"{cid:064x}", "meta": {"width": 1200, "height": 900},
                        "status": "accepted", "reason": "", "added_by": "device:1",
                        "decided_by": agent.id, "decided_at": created, "created_at": created,
                    })  # fmt: skip
            notes.append({
                "case_id": cid, "kind": "accepted", "channel": "sms",
                "phone_masked": shell.phone_masked, "text": f"【增城政务】{item.name}已受理",
                "state": "sent", "provider": "log", "provider_ref": "", "error": "",
                "attempts": 1, "created_at": accepted, "sent_at": accepted,
            })  # fmt: skip
            for pos, (dept, name) in enumerate(chains[item.code], start=1):
                st = {"concluded": "approved", "rejected": "rejected" if pos == 1 else "cancelled",
                      "returned": "returned" if pos == 1 else "cancelled",
                      "withdrawn": "returned" if pos == 1 else "cancelled",
                      "under_approval": "pending" if pos == 1 else "waiting"}[state]  # fmt: skip
                decided = st in ("approved", "rejected", "returned")
                steps.append({
                    "case_id": cid, "round": 1, "step": pos, "department_code": dept,
                    "name": name, "state": st, "decided_by": approver.id if decided else None,
                    "decided_at": ended or accepted if decided else None,
                    "reason": "", "missing": [], "created_at": accepted,
                })  # fmt: skip
            if state in ("concluded", "rejected", "returned", "withdrawn"):
                target = "returned" if state == "withdrawn" else state
                ev("approval", "under_approval", target, ended or accepted,
                   f"user:{approver.id}", "审批")  # fmt: skip
                if state == "withdrawn":
                    ev("transition", "returned", "withdrawn", ended or accepted, reason="撤回")
        built = time.perf_counter() - t0
        async with db.transaction() as s:
            conn = await s.connection()
            for table, rows in (
                (Case.__table__, cases),
                (CaseEvent.__table__, events),
                (CaseApproval.__table__, steps),
                (CaseMaterial.__table__, materials),
                (Notification.__table__, notes),
            ):
                for i in range(0, len(rows), 5000):
                    await conn.execute(insert(table), rows[i : i + 5000])
            await conn.execute(delete(CaseNumberCounter))
            await conn.execute(
                insert(CaseNumberCounter), [{"day": d, "last": n} for d, n in seq.items()]
            )
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :v)"),
                {"v": start_id + n_cases},
            )
        await vacuum(url)
        return {
            "cases": len(cases), "case_events": len(events), "case_approvals": len(steps),
            "case_materials": len(materials), "notifications": len(notes),
            "items": len(items), "agents": len(agents),
            "overdue (running, due < today)": sum(
                1 for c in cases
                if c["state"] in RUNNING and c["due_date"] and c["due_date"] < today
            ),
            "build s": round(built, 1), "insert s": round(time.perf_counter() - t0 - built, 1),
        }  # fmt: skip
    finally:
        await db.dispose()


# Every index migration 0009 has created in any of its versions (--redo-0009).
INDEXES_0009 = (
    "ix_cases_state_id", "ix_cases_department_id", "ix_cases_item_id", "ix_cases_agent_id_id",
    "ix_cases_accepted_at", "ix_cases_concluded_at", "ix_case_approvals_dept_state_id",
    "ix_case_approvals_decided_by_at", "ix_cases_number_pattern", "ix_cases_state_due_id",
    "ix_case_approvals_dept_state_case", "ix_case_approvals_dept_state_id_case",
)  # fmt: skip


async def drop_indexes(url: str, names: tuple[str, ...]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for name in names:
            await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    finally:
        await conn.close()


async def vacuum(url: str) -> None:
    """VACUUM ANALYZE: statistics and the visibility map a live database has from
    autovacuum (index-only scans skip the heap)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# Measuring -----------------------------------------------------------------------------------
class Prober:
    """Sequential timed requests over one keep-alive connection per user."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.clients: dict[str, httpx.Client] = {}
        self.health = httpx.Client(base_url=base, timeout=30)

    def login(self, username: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=30)
        r = client.post("/api/auth/login", json={"username": username, "password": password})
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        self.clients[username] = client
        return client

    def run(
        self,
        client: httpx.Client,
        path: Callable[[int], str],
        n: int,
        warm: int,
        warmed: Callable[[], None] = lambda: None,
    ) -> tuple[list[float], list[float], dict[str, Any]]:
        """(endpoint seconds, /healthz seconds, last body); ``warmed`` is called between
        the warm-up and the timed requests."""
        body: dict[str, Any] = {}
        for i in range(warm):
            r = client.get(path(i))
            r.raise_for_status()
        warmed()
        lat: list[float] = []
        base: list[float] = []
        for i in range(n):
            t0 = time.perf_counter()
            r = client.get(path(warm + i))
            lat.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"GET {path(warm + i)} → {r.status_code} {r.text[:300]}")
            body = r.json()
            t0 = time.perf_counter()
            self.health.get("/healthz")
            base.append(time.perf_counter() - t0)
        return lat, base, body


def backend_cpu(url: str) -> float:
    """CPU seconds (user + system) so far of the PostgreSQL backends connected to the
    bench database: the database's share of a request, which wall-clock latency on a
    shared machine hides among the neighbours' load."""
    db = url.rsplit("/", 1)[1]
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-AtF", " ", "-c",
         "SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'client backend'"],
        capture_output=True, text=True, check=False,
    ).stdout.splitlines()  # fmt: skip
    total = 0.0
    for pid in (line.split(" ")[0] for line in out if line.endswith(f" {db}")):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def fmt_ms(values: list[float], p: float) -> str:
    return f"{pct(values, p) * 1000:.1f}"


async def ids_for(url: str, agent: str) -> dict[str, list[int]]:
    """Case ids for the detail calls: any case; a case with a step of the approver's
    department; a case agent01 opened."""
    from sqlalchemy import select

    from cloudwindow.accounts.models import User
    from cloudwindow.cases.models import Case, CaseApproval
    from cloudwindow.db import Database

    db = Database(url)
    try:
        async with db.read() as s:
            uid = await s.scalar(select(User.id).where(User.username == agent))
            return {
                "any": list(await s.scalars(select(Case.id))),
                "approver": list(
                    await s.scalars(
                        select(CaseApproval.case_id)
                        .where(CaseApproval.department_code == APPROVER_DEPT)
                        .distinct()
                    )
                ),
                "agent": list(await s.scalars(select(Case.id).where(Case.agent_id == uid))),
            }
    finally:
        await db.dispose()


def measure(
    port: int, url: str, n: int, warm: int, rng: random.Random, server: Server
) -> list[list[str]]:
    from cloudwindow.sample.load import DEMO_PASSWORD

    ids = asyncio.run(ids_for(url, "agent01"))
    probe = Prober(f"http://127.0.0.1:{port}")
    sup = probe.login("supervisor", DEMO_PASSWORD)
    appr = probe.login("approver", DEMO_PASSWORD)
    agent = probe.login("agent01", DEMO_PASSWORD)
    first = sup.get("/api/cases", params={"page_size": PAGE}).json()
    depts = sorted({row["service_item"]["department_code"] for row in first["items"]})
    some_number = first["items"][len(first["items"]) // 2]["number"]
    deep = max(1, len(ids["any"]) // PAGE // 2)
    pick = {k: [rng.choice(v) for _ in range(n + warm)] for k, v in ids.items()}
    p = f"page_size={PAGE}"
    plan: list[tuple[str, httpx.Client, Callable[[int], str]]] = [
        ("supervisor list, page 1", sup, lambda i: f"/api/cases?{p}"),
        (f"supervisor list, page {deep} (middle)", sup, lambda i: f"/api/cases?{p}&page={deep}"),
        ("supervisor list, state=under_approval", sup,
         lambda i: f"/api/cases?{p}&state=under_approval"),
        (f"supervisor list, department {depts[0]}", sup,
         lambda i: f"/api/cases?{p}&department_code={depts[0]}"),
        ("supervisor list, overdue=true", sup, lambda i: f"/api/cases?{p}&overdue=true"),
        ("supervisor list, q=number prefix (day)", sup,
         lambda i: f"/api/cases?{p}&q={some_number[:10]}"),
        ("supervisor metrics", sup, lambda i: "/api/cases/metrics"),
        ("approver pending list", appr, lambda i: f"/api/approvals?{p}"),
        ("approver pending, overdue=true", appr, lambda i: f"/api/approvals?{p}&overdue=true"),
        ("agent01 my cases", agent, lambda i: f"/api/desk/cases?{p}"),
        ("supervisor detail (masked, audited)", sup,
         lambda i: f"/api/cases/{pick['any'][i]}"),
        ("approver detail (clear, audited)", appr,
         lambda i: f"/api/approvals/{pick['approver'][i]}"),
        ("agent01 detail (clear, audited)", agent,
         lambda i: f"/api/desk/cases/{pick['agent'][i]}"),
        ("/healthz alone (CPU baseline)", sup, lambda i: "/healthz"),
    ]  # fmt: skip
    table = []
    all_health: list[float] = []
    for name, client, path in plan:
        start: list[float] = []

        def warmed(start: list[float] = start) -> None:
            start.extend((*server.sched(), backend_cpu(url)))

        lat, base, body = probe.run(client, path, n, warm, warmed)
        cpu1, wait1 = server.sched()
        # CPU ms per timed request (with its interleaved /healthz: see the last row)
        cpu = f"{(cpu1 - start[0]) * 1000 / n:.1f}"
        waited = f"{(wait1 - start[1]) * 1000 / n:.1f}"
        db_cpu = f"{(backend_cpu(url) - start[2]) * 1000 / n:.1f}"
        all_health += base
        total = body.get("total", "")
        rows = len(body["items"]) if "items" in body else ""
        ok = "✓" if pct(lat, 99) * 1000 <= TARGET_MS else "✗"
        table.append([name, str(total), str(rows), fmt_ms(lat, 50), fmt_ms(lat, 95),
                      fmt_ms(lat, 99), f"{max(lat) * 1000:.1f}", ok, cpu, db_cpu,
                      waited])  # fmt: skip
        say(f"  {name:<42} total {total!s:>7} rows {rows!s:>3}  p50 {fmt_ms(lat, 50):>6} · "
            f"p95 {fmt_ms(lat, 95):>6} · p99 {fmt_ms(lat, 99):>6} ms {ok} · server CPU "
            f"{cpu} · db CPU {db_cpu} · waited {waited} ms/req")  # fmt: skip
    table.append(["/healthz (baseline, interleaved)", "", "", fmt_ms(all_health, 50),
                  fmt_ms(all_health, 95), fmt_ms(all_health, 99),
                  f"{max(all_health) * 1000:.1f}", "", "", "", ""])  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--pg-url",
        default=(os.environ.get("CLOUDWINDOW_TEST_POSTGRES_URL", "") or
                 "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0],
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the database (EXPLAIN)")
    parser.add_argument(
        "--server-src",
        help="run demo set-up and server from this src/ folder (a before/after comparison)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database kept by --keep (migrated)"
    )
    parser.add_argument(
        "--setup-only", action="store_true", help="with --reuse: migrate, vacuum and stop"
    )
    parser.add_argument(
        "--redo-0009",
        action="store_true",
        help="with --reuse: drop every index any version of migration 0009 made, stamp "
        "0008 and upgrade again, so the database has the indexes of the code measured",
    )
    args = parser.parse_args()
    header(args)
    pin_self()
    rng = random.Random(args.seed)
    import ws_bench

    ws_bench.PG_DB = PG_DB
    db = BenchDB("postgres", "cases", args.pg_url)
    if args.server_src:  # e.g. the code before a change: git archive HEAD src | tar -x -C DIR
        env = db.env | {"PYTHONPATH": str(Path(args.server_src).resolve())}
        type(db).env = property(lambda _self: env)  # type: ignore[assignment,method-assign]
        say(f"server code: {args.server_src} (PYTHONPATH), not the working tree")
    if args.reuse:
        say(f"set-up: reusing the kept database {PG_DB}, migrated to head")
        from cloudwindow.migrate import alembic_config, upgrade_async

        if args.redo_0009:
            from alembic import command

            say("set-up: the indexes of 0009 (any version) dropped, stamped 0008, upgraded")
            asyncio.run(drop_indexes(db.url, INDEXES_0009))
            command.stamp(alembic_config(db.url), "0008")
        asyncio.run(upgrade_async(db.url))
        asyncio.run(vacuum(db.url))
        if args.setup_only:  # e.g. before bench/cases_profile.py on the same indexes
            return
    else:
        say("set-up: fresh database, demo district (cloudwindow demo --no-serve) …")
        db.create()
    server = Server("cw", args.port, db.env, db.dir)
    try:
        if not args.reuse:
            stats = asyncio.run(seed(db.url, db.dir / "data", args.cases, rng))
            say("seeded: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
        server.start()
        say(f"load avg before measuring: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        say(f"\n{args.requests} sequential requests per endpoint after {args.warmup} warm-up, "
            f"page_size {PAGE}:")  # fmt: skip
        t0 = time.perf_counter()
        table = measure(args.port, db.url, args.requests, args.warmup, rng, server)
        cpu, wait = server.sched()
        say(f"\nload avg after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"server on CPU {cpu:.1f} s, runnable-but-waiting {wait:.1f} s "
            f"over {time.perf_counter() - t0:.0f} s of measuring")  # fmt: skip
        say("\n| endpoint | total | rows | p50 ms | p95 ms | p99 ms | max ms | ≤ 50 ms | "
            "server CPU ms/req | db CPU ms/req | server waited ms/req |")  # fmt: skip
        say("|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|")
        for row in table:
            say("| " + " | ".join(row) + " |")
    finally:
        server.stop()
        say(f"server warnings/errors: {server.log_problems()}")
        if not args.keep:
            db.drop()
        else:
            say(f"kept database {db.url}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
