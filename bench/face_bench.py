"""Face verification (人证比对) time per check on this CPU — docs/benchmarks.md §Face
verification.

Measures, with the model that ships in dlib-bin + face_recognition_models:

1. the first check in a fresh process (model load included);
2. one check = ID card photo (358×441 JPEG) against a kiosk still (640×480 JPEG), both
   decoded, searched for faces, aligned and described, sequentially (p50 / p95 / p99);
3. its parts: one ID photo alone, one 640×480 still alone, one 1280×960 still;
4. throughput with 1 and 2 worker threads (``FaceEngine.run``, as the server does) for a
   burst of concurrent checks;
5. one check through the real HTTP endpoint (``POST /api/kiosk/identity/face-checks``,
   with a kiosk in session) against a server on this machine (``--http``), so the
   storage, encryption and audit costs are in the figure too.

    .venv/bin/python bench/face_bench.py [--n 60] [--http]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from cloudwindow.identity.faces import FaceEngine, decode
from cloudwindow.sample.people import person

THRESHOLD = 0.4


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python "
        f"{platform.python_version()} · Linux {platform.release()} · load {load}"
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k] * 1000


def report(name: str, samples: tuple[list[float], list[float]]) -> None:
    wall, cpu = samples
    print(
        f"| {name} | {len(wall)} | {pct(wall, 50):.0f} | {pct(wall, 95):.0f} | "
        f"{pct(wall, 99):.0f} | {max(wall) * 1000:.0f} | {pct(cpu, 50):.0f} |"
    )


def timed(fn: Callable[[], object], n: int) -> tuple[list[float], list[float]]:
    """Wall-clock seconds per call, and this process's CPU seconds per call (less
    sensitive to the other load on a shared machine)."""
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def scaled(data: bytes, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").resize(size).save(buf, "JPEG", quality=88)
    return buf.getvalue()


async def burst(workers: int, portrait: bytes, live: bytes, count: int) -> float:
    engine = FaceEngine(workers)
    # Each worker thread loads its own copy of the model: load them all before timing.
    await asyncio.gather(
        *(engine.run(engine.compare, portrait, live, THRESHOLD) for _ in range(workers * 2))
    )
    start = time.perf_counter()
    await asyncio.gather(
        *(engine.run(engine.compare, portrait, live, THRESHOLD) for _ in range(count))
    )
    return count / (time.perf_counter() - start)


def http_checks(n: int, live: bytes) -> list[float]:
    """Checks through the real endpoint: a test server (SQLite, sample district) on this
    machine, a kiosk in session with chen's card read and consent given."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import httpx
    from integration.cases_support import new_kiosk, session_ticket

    from conftest import make_database_url, prepare_database, settings_for, start_server

    tmp = Path(tempfile.mkdtemp(prefix="face-bench-"))
    url = make_database_url("sqlite", tmp)
    prepare_database(url, tmp)
    server = start_server(settings_for(url, tmp))
    try:
        token, key = new_kiosk(server)
        session_ticket(server, key)
        with httpx.Client(base_url=server.url, timeout=60) as c:
            auth = {"Authorization": f"Bearer {token}"}
            assert (
                c.post(
                    "/api/kiosk/identity/id-card", json=person("chen").id_card(), headers=auth
                ).status_code
                == 201
            )
            consent = {"purpose": "face_check", "granted": True}
            c.post("/api/kiosk/identity/consents", json=consent, headers=auth)
            headers = {**auth, "Content-Type": "image/jpeg"}

            def one() -> None:
                r = c.post("/api/kiosk/identity/face-checks", content=live, headers=headers)
                assert r.status_code == 201 and r.json()["outcome"] == "match", r.text

            one()  # warm-up (model load)
            return timed(one, n)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="timed checks per measurement")
    parser.add_argument("--http", action="store_true", help="also through the HTTP endpoint")
    args = parser.parse_args()

    chen = person("chen")
    assert chen.live is not None
    portrait, live = chen.portrait.read_bytes(), chen.live.read_bytes()
    big = scaled(live, (1280, 960))
    print(f"machine: {machine()}")
    print(f"images: ID photo {decode(portrait).size} {len(portrait)} B, "
          f"kiosk still {decode(live).size} {len(live)} B")  # fmt: skip

    engine = FaceEngine(1)
    start = time.perf_counter()
    first = engine.compare(portrait, live, THRESHOLD)
    print(f"first check in a fresh process (model load included): "
          f"{(time.perf_counter() - start) * 1000:.0f} ms, outcome {first.outcome}, "
          f"score {first.score}")  # fmt: skip

    print("\n| measurement | n | p50 ms | p95 ms | p99 ms | max ms | CPU p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    report(
        "one check: ID photo 358×441 + still 640×480",
        timed(lambda: engine.compare(portrait, live, THRESHOLD), args.n),
    )
    report(
        "ID photo alone (decode, detect, describe)", timed(lambda: engine.analyse(portrait), args.n)
    )
    report("640×480 still alone", timed(lambda: engine.analyse(live), args.n))
    report("1280×960 still alone", timed(lambda: engine.analyse(big), max(10, args.n // 3)))
    if args.http:
        report("HTTP POST /api/kiosk/identity/face-checks", http_checks(args.n, live))

    for workers in (1, 2):
        rate = asyncio.run(burst(workers, portrait, live, 16 * workers))
        print(f"burst of {16 * workers} concurrent checks, {workers} worker thread(s): "
              f"{rate:.2f} checks/s")  # fmt: skip


if __name__ == "__main__":
    main()
