"""Data-key rotation end to end (docs/operations.md §Rotating the data key).

A server running under key K1 takes personal data through its API (appointment and
callback phones, a case with ID and phone numbers and its sealed receipt, an ID card
read with its photo where identity is served, an applicant's signature). It stops;
``cloudwindow privacy rotate-key`` runs with K2 as ``CLOUDWINDOW_DATA_KEY`` and K1 as the
previous key — first a slice (``--limit``), which ``--check`` reports unfinished, then the
rest. The server
starts again with K2 alone (K1 removed): the agent reads the case's clear values, the
citizen's lookup by phone finds it (blind index recomputed), a new acceptance is sealed
(seal keys re-wrapped), and no ``cw1.`` token under K1 is left in any table or file.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from integration.cases_support import Desk
from integration.signature_support import attached_case
from integration.test_pii_at_rest import (
    Planted,
    add_unmarked_fields,
    book_and_ask_callback,
    file_a_case,
    identity_reads,
    postgres_contents,
)

from cloudwindow.config import Settings
from cloudwindow.privacy import key_id
from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    settings_for,
    start_server,
)


@dataclass
class Setup:
    url: str
    tmp: Path
    old_key: str
    new_key: str


@pytest.fixture()
def setup(backend: str, tmp_path: Path) -> Iterator[Setup]:
    url = make_database_url(backend, tmp_path)
    prepare_database(url, tmp_path)
    # The sample district was encrypted with the template's generated key: that is K1.
    old = (tmp_path / "data" / "keys" / "data.key").read_text().strip()
    yield Setup(url, tmp_path, old, base64.b64encode(os.urandom(32)).decode())
    drop_database(url)


def rotate(s: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": s.url,
        "CLOUDWINDOW_DATA_DIR": str(s.tmp / "data"),
        "CLOUDWINDOW_DATA_KEY": s.new_key,
        "CLOUDWINDOW_DATA_KEYS_PREVIOUS": json.dumps([s.old_key]),
        "CLOUDWINDOW_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "cloudwindow.cli", "privacy", "rotate-key", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert out.stdout.strip(), out.stderr
    return dict(json.loads(out.stdout))


def sqlite_contents(settings: Settings) -> list[tuple[str, bytes]]:
    """Every row of every table (not the file: freed pages keep old bytes)."""
    path = settings.database_url.split(":///", 1)[1]
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            (f"table {n}", repr(conn.execute(f'SELECT * FROM "{n}"').fetchall()).encode())  # noqa: S608
            for n in names
        ]
    finally:
        conn.close()


def tokens_under(kid: str, server: LiveServer) -> list[str]:
    contents = (
        sqlite_contents(server.settings)
        if server.settings.database_url.startswith("sqlite")
        else postgres_contents(server)
    )
    mark = f"cw1.{kid}.".encode()
    found = [where for where, raw in contents if mark in raw]
    root = server.settings.data_dir
    found += [str(p) for p in root.rglob("*") if p.is_file() and p.read_bytes().startswith(mark)]
    return found


def test_rotation_re_encrypts_everything_and_the_old_key_can_go(setup: Setup) -> None:
    k1 = key_id(base64.b64decode(setup.old_key))
    before = start_server(settings_for(setup.url, setup.tmp, data_key=setup.old_key))
    planted = Planted()
    try:
        book_and_ask_callback(before, planted)
        add_unmarked_fields(before)
        case = file_a_case(before, planted)
        identity = identity_reads(before, planted)
        signed = attached_case(before)  # the applicant's signature, sealed for its case
        with before.as_user("supervisor") as sup:
            signature_before = sup.get(f"/api/cases/{signed}/signature").content
        with before.as_user("agent01") as agent:
            clear_before = agent.get(f"/api/desk/cases/{case['id']}").json()["data"]
        assert tokens_under(k1, before)  # everything is under K1 so far
    finally:
        before.stop()
    phone = next(v for v, where in planted.values.items() if where.startswith("case applicant"))

    # A slice first: the run stops, and the check says there is more to do.
    sliced = report(rotate(setup, "--batch", "3", "--limit", "5"))
    assert sliced["finished"] is False and sliced["total"] == 5, sliced
    left = rotate(setup, "--check")
    assert left.returncode == 3 and report(left)["total"] > 0
    # Meanwhile (step 2 done, rotation unfinished) a server with K2 and K1 as previous
    # still finds the case by phone: look-ups try the previous key's blind index too.
    during = start_server(
        settings_for(
            setup.url, setup.tmp, data_key=setup.new_key, data_keys_previous=[setup.old_key]
        )
    )
    try:
        with during.client() as anon:
            found = anon.post("/api/case-lookup", json={"number": case["number"], "phone": phone})
            assert found.status_code == 200, found.text
        with during.as_user("agent01") as agent:
            assert agent.get(f"/api/desk/cases/{case['id']}").json()["data"] == clear_before
    finally:
        during.stop()
    rest = report(rotate(setup, "--batch", "4"))
    assert rest["finished"] is True and rest["total"] > 0, rest
    assert rest["trust_keys"] >= 2  # the CA and the department's seal
    assert rest["columns"]["cases.pii"] > 0 and rest["columns"]["callbacks.phone_cipher"] >= 2
    if identity:
        assert rest["columns"]["identity_id_card_reads.photo_key (files)"] >= 1
    done = rotate(setup, "--check")
    assert done.returncode == 0 and report(done)["total"] == 0, done.stdout

    # K1 removed: the server knows only K2.
    after = start_server(settings_for(setup.url, setup.tmp, data_key=setup.new_key))
    try:
        assert tokens_under(k1, after) == []
        with after.as_user("agent01") as agent:
            assert agent.get(f"/api/desk/cases/{case['id']}").json()["data"] == clear_before
        with after.as_user("supervisor") as sup:
            r = sup.get(f"/api/cases/{signed}/signature")
            assert r.status_code == 200 and r.content == signature_before
        with after.client() as anon:
            found = anon.post("/api/case-lookup", json={"number": case["number"], "phone": phone})
            assert found.status_code == 200, found.text
            docs = anon.post(
                "/api/case-lookup/documents", json={"number": case["number"], "phone": phone}
            )
            assert len(docs.json()["documents"]) == 2
        desk = Desk(after)
        try:
            ready = desk.ready()
            assert desk.accept(ready["id"]).status_code == 200  # sealed with re-wrapped keys
            listed = desk.agent.get(f"/api/desk/cases/{ready['id']}/documents").json()
            assert [d["kind"] for d in listed] == ["receipt"]
        finally:
            desk.close()
    finally:
        after.stop()
