"""Reference bridge round trips (docs/bridge.md): a WebSocket client against the bridge
process, as the kiosk page talks to it.

    .venv/bin/python bench/bridge_bench.py [--requests 500] [--pdf-kib 200]

Starts ``python -m cloudwindow.bridge`` (``--read-delay 0 --print-delay 0``, so the protocol and
the work are timed, not the simulated devices), then times sequentially: ``bridge.status``
round trips, ``id_reader.read`` (the sample card with its JPEG portrait), and
``a4_printer.print`` of a PDF of ``--pdf-kib`` KiB (base64, SHA-256 checked, written
byte-identical). Prints p50/p99 per request and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from websockets.asyncio.client import connect

ORIGIN = "http://127.0.0.1:8000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(port: int, requests: int, pdf_kib: int) -> dict[str, list[float]]:
    pdf = b"%PDF-1.7\n" + os.urandom(pdf_kib * 1024) + b"\n%%EOF\n"
    params_pdf = {"pdf": base64.b64encode(pdf).decode(), "sha256": hashlib.sha256(pdf).hexdigest()}
    cases: list[tuple[str, str, str, dict[str, Any], int]] = [
        ("status", "bridge", "status", {}, requests),
        ("id_reader.read", "id_reader", "read", {}, max(20, requests // 5)),
        ("a4_printer.print", "a4_printer", "print", params_pdf, max(20, requests // 10)),
    ]
    out: dict[str, list[float]] = {}
    async with connect(f"ws://127.0.0.1:{port}/", origin=ORIGIN, max_size=None) as ws:  # type: ignore[arg-type]
        json.loads(await ws.recv())  # hello
        n = 0
        for name, device, command, params, count in cases:
            times: list[float] = []
            for _ in range(count + 5):
                n += 1
                msg = {"type": "request", "id": f"b{n}", "device": device, "command": command,
                       "params": params}  # fmt: skip
                start = time.perf_counter()
                await ws.send(json.dumps(msg))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("type") == "result" and reply["id"] == f"b{n}":
                        break
                assert reply["ok"], reply
                times.append((time.perf_counter() - start) * 1000)
            out[name] = times[5:]  # warm-up dropped
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--pdf-kib", type=int, default=200)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloudwindow.bridge", "--port", str(port), "--out", out,
             "--card", "chen", "--origin", ORIGIN, "--read-delay", "0", "--print-delay", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            for _ in range(2):
                proc.stdout.readline()
            results = asyncio.run(run(port, args.requests, args.pdf_kib))
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")  # fmt: skip
    for name, times in results.items():
        print(f"{name:18} n={len(times):4}  p50 {statistics.median(times):7.2f} ms  "
              f"p99 {pct(times, 99):7.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
