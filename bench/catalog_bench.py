"""Catalogue benchmarks: importing the 1,900+ item catalogue, and search latency.

    .venv/bin/python bench/catalog_bench.py [--postgres URL] [--requests N]

Prints the machine, then for each backend (SQLite always; PostgreSQL when a URL is
given): import time of the full generated catalogue from XLSX and CSV into an empty
catalogue (and a re-import where nothing changes), and the latency of catalogue
searches through the whole app in-process (HTTP handling, authentication, query,
serialisation; httpx's ASGI transport, no network), with `/healthz` measured in the same
run as the baseline cost of a request. Target: search p99 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from cloudwindow.app import create_app
from cloudwindow.catalog.transfer import import_catalog, rows_for_items, write_rows
from cloudwindow.config import Settings
from cloudwindow.migrate import upgrade_async
from cloudwindow.sample.load import DEMO_PASSWORD, catalog_items, load_sample
from cloudwindow.services import Services

QUERIES = [
    "sbk",
    "社保卡",
    "身份证",
    "shenfenzheng",
    "440118-XK",
    "dj",
    "低保",
    "gjj",
    "不动产",
    "营业执照",
    "新塘镇",
    "jmsfz",
    "补领",
    "xk",
    "医保",
    "残疾人",
]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python "
        f"{platform.python_version()} · {platform.system()} {platform.release()}"
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _services(url: str, tmp: Path) -> Services:
    settings = Settings(
        database_url=url, data_dir=tmp / "data", log_level="WARNING", import_max_rows=50_000
    )
    return Services.standalone(settings)


async def bench_import(url: str, tmp: Path) -> dict[str, Any]:
    items = catalog_items(full=True)
    files = {fmt: write_rows(rows_for_items(items), fmt) for fmt in ("xlsx", "csv")}
    services = await _services(url, tmp)
    out: dict[str, Any] = {"items": len(items)}
    try:
        await load_sample(services, with_items=False)
        for fmt, data in files.items():
            t0 = time.perf_counter()
            report = await import_catalog(services, None, data, f"c.{fmt}", dry_run=True)
            out[f"{fmt} dry run s"] = time.perf_counter() - t0
            assert report.ok, report.errors[:3]
        t0 = time.perf_counter()
        report = await import_catalog(services, None, files["xlsx"], "c.xlsx", dry_run=False)
        out["xlsx import s"] = time.perf_counter() - t0
        assert report.ok and report.created == len(items)
        t0 = time.perf_counter()
        report = await import_catalog(services, None, files["csv"], "c.csv", dry_run=False)
        out["csv re-import (unchanged) s"] = time.perf_counter() - t0
        assert report.ok and report.unchanged == len(items)
        out["xlsx bytes"] = len(files["xlsx"])
    finally:
        await services.db.dispose()
    return out


async def bench_search(url: str, tmp: Path, n: int) -> dict[str, Any]:
    settings = Settings(database_url=url, data_dir=tmp / "data", log_level="WARNING")
    app = create_app(settings, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = (
            await client.post(
                "/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}
            )
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        total = (await client.get("/api/service-items", headers=headers)).json()["total"]
        for q in QUERIES:  # warm up
            await client.get("/api/service-items", params={"q": q}, headers=headers)
        search: list[float] = []
        health: list[float] = []
        hits = 0
        for i in range(n):
            q = QUERIES[i % len(QUERIES)]
            t0 = time.perf_counter()
            r = await client.get(
                "/api/service-items", params={"q": q, "page_size": 20}, headers=headers
            )
            search.append((time.perf_counter() - t0) * 1000)
            hits += r.json()["total"] > 0
            t0 = time.perf_counter()
            await client.get("/healthz")
            health.append((time.perf_counter() - t0) * 1000)
    await app.state.services.db.dispose()
    return {
        "items in catalogue": total,
        "requests": n,
        "queries with hits": f"{hits}/{n}",
        "search p50 ms": pct(search, 50),
        "search p99 ms": pct(search, 99),
        "search mean ms": statistics.fmean(search),
        "healthz p50 ms": pct(health, 50),
        "healthz p99 ms": pct(health, 99),
    }


async def run_backend(name: str, url: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        await upgrade_async(url)
        result = {"backend": name} | await bench_import(url, tmp)
        result |= await bench_search(url, tmp, n)
        return result


async def _pg(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("CLOUDWINDOW_TEST_POSTGRES_URL"))
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    results = []
    with tempfile.TemporaryDirectory() as d:
        results.append(
            asyncio.run(run_backend("sqlite", f"sqlite+aiosqlite:///{d}/bench.db", args.requests))
        )
    if args.postgres:
        name = f"cw_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg(args.postgres, f'CREATE DATABASE "{name}"'))
        try:
            url = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
            results.append(asyncio.run(run_backend("postgresql", url, args.requests)))
        finally:
            asyncio.run(_pg(args.postgres, f'DROP DATABASE "{name}" WITH (FORCE)'))
    for result in results:
        print()
        for key, value in result.items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            print(f"  {key:<30} {shown}")


if __name__ == "__main__":
    main()
