"""Logs never carry an ID or phone number in clear (PIPL): the real ``cloudwindow serve``
process, at DEBUG, is sent personal data every way a client can — in URL paths (which
the request log writes), form values, a callback phone, a lookup — and its whole log
output is searched. The numbers appear only masked (``138****5678``,
``4401**********123X``), as the structlog processor ``logs.mask_personal_data`` writes
them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.cases_support import Desk, mobile, resident_id
from integration.test_queue_ws import kiosk_token
from integration.wsclient import WsClient

from cloudwindow.logs import mask_text
from conftest import LiveServer, free_port, make_database_url, prepare_database, settings_for

ITEM = "440118-GG-0002"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """``cloudwindow serve`` in a process of its own, its stderr (the log) in a file."""
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": url,
        "CLOUDWINDOW_DATA_DIR": str(tmp_path / "data"),
        "CLOUDWINDOW_LOG_LEVEL": "DEBUG",
        "CLOUDWINDOW_LOG_JSON": "true",
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloudwindow.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        server = LiveServer(
            url=base,
            settings=settings_for(url, tmp_path),
            server=None,  # type: ignore[arg-type]  # a process, not an in-thread server
            thread=None,  # type: ignore[arg-type]
        )
        yield server, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_server_log_holds_only_masked_numbers(served: tuple[LiveServer, Path]) -> None:
    srv, log = served
    phone, landline, id_number = mobile(), "020-8" + mobile()[-7:], resident_id()
    with srv.client() as anon:
        # Paths are logged: numbers in them, plain, spaced and dashed.
        for path in (
            f"/api/no-such-thing/{phone}",
            f"/api/cases/{id_number}",
            f"/api/no-such-thing/{phone[:3]} {phone[3:7]} {phone[7:]}",
            f"/api/no-such-thing/{landline}",
        ):
            assert anon.get(path).status_code in (401, 404, 422)
        anon.post("/api/case-lookup", json={"number": "CW20260101-000001", "phone": phone})
    kiosk = WsClient(srv.url, kiosk_token(srv))
    try:
        kiosk.request("callback.request", {"service_item_code": ITEM, "phone": landline})
    finally:
        kiosk.close()
    desk = Desk(srv)
    try:
        case = desk.open()
        values = {
            n: (id_number if p.get("x-pii") == "id_number" else phone)
            for n, p in case["form"]["schema"]["properties"].items()
            if p.get("x-pii") in ("id_number", "phone")
        }
        assert values
        desk.agent.patch(f"/api/desk/cases/{case['id']}/data", json={"values": values})
    finally:
        desk.close()

    time.sleep(0.5)  # the last lines flushed
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "http" for e in lines), text[-2000:]
    bare = text.replace(" ", "").replace("-", "")
    for clear in (phone, id_number, landline.replace("-", "")):
        assert clear not in bare, f"{clear} in the log"
    # What is there instead: the masks the screens show.
    assert mask_text(phone) == f"{phone[:3]}****{phone[-4:]}"
    paths = [e["path"] for e in lines if e.get("event") == "http"]
    assert f"/api/no-such-thing/{phone[:3]}****{phone[-4:]}" in paths
    assert f"/api/cases/{id_number[:4]}**********{id_number[-4:]}" in paths
    assert f"/api/no-such-thing/020****{landline[-4:]}" in paths
