"""Render + seal time per sealed document (受理回执, 办结通知书) on this CPU —
docs/benchmarks.md §Sealed documents.

What a case transition pays for its document (trust/documents.py ``_issue``), in one
process, sequentially, with a department seal already issued (its RSA key generation,
paid once per department, is timed separately):

1. layout: ``render.render_document`` (ReportLab, CJK font subset embedded, QR code, seal
   drawn as vectors) of the real content (``rules.receipt_content`` /
   ``decision_content``) of a case like the sample district's;
2. seal: ``sign.seal_pdf`` (pyHanko PAdES B-B, SHA-256, RSA 2048, chain embedded);
3. both together, as one document costs.

Reports n, p50, p95, p99 and max per kind, and the first document of a fresh process
(font registration and imports included). Nothing is written to a database.

    taskset -c 1 .venv/bin/python bench/seal_bench.py [--n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from cloudwindow.cases.models import Case
from cloudwindow.catalog.models import Department
from cloudwindow.config import Settings
from cloudwindow.trust import rules
from cloudwindow.trust.ca import seal_for
from cloudwindow.trust.render import render_document
from cloudwindow.trust.sign import seal_pdf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ws_bench import machine


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))] * 1000


def row(name: str, samples: list[float]) -> str:
    return (
        f"| {name} | {len(samples)} | {pct(samples, 50):.0f} | {pct(samples, 95):.0f} | "
        f"{pct(samples, 99):.0f} | {max(samples) * 1000:.0f} |"
    )


def sample_case(state: str) -> tuple[Case, Department]:
    case = Case(
        id=42,
        number="CW20261127-000042",
        state=state,
        applicant_masked="陈*玲",
        accepted_at=datetime(2026, 11, 20, 2, 30, tzinfo=UTC),
        concluded_at=datetime(2026, 11, 27, 3, 0, tzinfo=UTC) if state == "concluded" else None,
        due_date=date(2026, 12, 4),
        promised_days=10,
        outcome_reason="",
    )
    dept = Department(code="ZC-SBJ", name="广州市增城区社会保险基金管理局", short_name="增城社保")
    return case, dept


def content(kind: str) -> rules.DocumentContent:
    case, dept = sample_case("concluded" if kind == "decision" else "under_approval")
    issue = rules.Issue(
        case,
        "社会保障卡补领",
        dept,
        "4401**********0029",
        datetime.now(UTC),
        "0" * 32,
        "ABCDEFGH",
        rules.verify_url("https://zwfw.example.gov.cn", "0" * 32, "ABCDEFGH"),
    )
    return rules.receipt_content(issue) if kind == "receipt" else rules.decision_content(issue)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="documents per kind")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · n={args.n} per kind\n")
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="cw-seal-bench-")))
    dept_name = "广州市增城区社会保险基金管理局"

    start = time.perf_counter()
    seal = seal_for(settings, "ZC-SBJ", dept_name)  # the CA and the seal: keys generated
    keygen = time.perf_counter() - start

    start = time.perf_counter()
    first_pdf = render_document(content("receipt"))
    await seal_pdf(first_pdf, seal, reason="受理回执", location=dept_name)
    first = time.perf_counter() - start

    print("| step | n | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for kind in ("receipt", "decision"):
        doc = content(kind)
        layout: list[float] = []
        sealing: list[float] = []
        total: list[float] = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            pdf = render_document(doc)
            t1 = time.perf_counter()
            await seal_pdf(pdf, seal, reason=doc.title, location=dept_name)
            t2 = time.perf_counter()
            layout.append(t1 - t0)
            sealing.append(t2 - t1)
            total.append(t2 - t0)
        print(row(f"{kind}: layout (render_document)", layout))
        print(row(f"{kind}: seal (pyHanko PAdES)", sealing))
        print(row(f"**{kind}: render + seal**", total))
    print(
        f"\nfirst document of a fresh process (fonts, imports): {first * 1000:.0f} ms; "
        f"CA + department seal key generation (once per department): {keygen * 1000:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
