"""Recording for audit over HTTP: chunked resumable uploads, the hash chain, flags for
incomplete recordings, playback with range requests (audited), verification and purge."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.recording_support import EBML, served_ticket, split, start, webm
from integration.wsclient import WsClient

from conftest import (
    LiveServer,
    drop_database,
    make_database_url,
    prepare_database,
    run_async,
    settings_for,
    start_server,
)

MAX_CHUNK = 256 * 1024


@pytest.fixture(scope="module")
def rec_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose recordings go stale after 6 s, swept every half second."""
    tmp = tmp_path_factory.mktemp(f"rec-{backend}")
    url = make_database_url(backend, tmp)
    prepare_database(url, tmp)
    server = start_server(
        settings_for(
            url,
            tmp,
            recording_stale_minutes=0.1,
            recording_job_seconds=0.5,
            recording_max_chunk_bytes=MAX_CHUNK,
        )
    )
    yield server
    server.stop()
    drop_database(url)


def chain_head(recording_id: int, chunks: list[bytes]) -> str:
    """The documented chain, computed independently of the server's code."""
    h = hashlib.sha256(f"cloudwindow-recording-v1:{recording_id}".encode()).digest()
    for n, chunk in enumerate(chunks):
        h = hashlib.sha256(h + hashlib.sha256(chunk).digest() + n.to_bytes(8, "big")).digest()
    return h.hex()


def put(c: httpx.Client, rid: object, seq: int, data: bytes) -> httpx.Response:
    return c.put(
        f"/api/recordings/{rid}/chunks/{seq}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def record(live: LiveServer, chunks: list[bytes], order: list[int] | None = None) -> int:
    """Agent01 records a served ticket: uploads the chunks (in ``order``) and finishes."""
    with live.as_user("agent01") as agent:
        rec = start(agent, served_ticket(live), mime_type="video/webm;codecs=vp8,opus")
        for seq in order or range(len(chunks)):
            assert put(agent, rec["id"], seq, chunks[seq]).status_code == 200
        done = agent.post(f"/api/recordings/{rec['id']}/finish", json={"chunk_count": len(chunks)})
        assert done.status_code == 200, done.text
    return int(str(rec["id"]))


def recording_dir(live: LiveServer, rid: int) -> Path:
    return live.settings.data_dir / "recordings" / str(rid)


def test_in_order_upload_assembles_a_playable_file_with_a_verified_chain(
    rec_server: LiveServer,
) -> None:
    chunks = split(webm(4.0), 6)
    with rec_server.as_user("agent01") as agent:
        ticket = served_ticket(rec_server)
        rec = start(
            agent,
            ticket,
            mime_type="video/webm;codecs=vp8,opus",
            client_key=f"key-{ticket:08d}",
        )
        assert rec["state"] == "recording" and rec["chunk_count"] == 0
        again = agent.post(
            "/api/recordings",
            json={"ticket_id": ticket, "client_key": f"key-{ticket:08d}"},
        )
        assert again.status_code == 200 and again.json()["id"] == rec["id"]  # no second row
        rid = rec["id"]
        for seq, chunk in enumerate(chunks):
            ack = put(agent, rid, seq, chunk)
            assert ack.status_code == 200, ack.text
            assert ack.json()["contiguous"] == seq + 1 and not ack.json()["duplicate"]
        status = agent.get(f"/api/recordings/{rid}/upload-status").json()
        assert status["contiguous"] == 6 and status["missing"] == []
        assert status["chain_head"] == chain_head(int(str(rid)), chunks)
        done = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 6})
        assert done.status_code == 200, done.text
        finished = done.json()
    assert finished["state"] == "finished" and finished["complete"] is True
    assert finished["chain_head"] == chain_head(int(str(rid)), chunks)
    if finished["remuxed"]:  # ffmpeg present: the length is known and both streams found
        assert abs(finished["duration_ms"] - 4000) < 600, finished
        assert finished["has_video"] and finished["has_audio"]

    with rec_server.as_user("supervisor") as sup:
        listed = sup.get("/api/recordings", params={"ticket_id": ticket}).json()["items"]
        assert [r["id"] for r in listed] == [rid]
        assert listed[0]["agent_name"] and listed[0]["ticket_number"]
        assert listed[0]["site_name"] and listed[0]["missing_count"] == 0
        report = sup.post(f"/api/recordings/{rid}/verify").json()
        assert report["ok"] is True and report["checked_chunks"] == 6 and report["file_ok"]
        assert sup.get(f"/api/recordings/{rid}").json()["verified_ok"] is True
        grant = sup.post(f"/api/recordings/{rid}/playback", json={"purpose": "play"}).json()
    with rec_server.client() as anon:  # what a <video> element does: no bearer header
        whole = anon.get(grant["url"])
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/webm"
        assert whole.content[:4] == EBML
        assert hashlib.sha256(whole.content).hexdigest() == finished["file_sha256"]
        part = anon.get(grant["url"], headers={"Range": "bytes=100-299"})
        assert part.status_code == 206 and part.content == whole.content[100:300]
        assert part.headers["content-range"] == f"bytes 100-299/{len(whole.content)}"
        forged = anon.get(f"/api/recordings/{rid}/media", params={"grant": "x" * 43})
        assert forged.status_code == 403
        assert forged.json()["error_id"] == "recording-grant-invalid"
    with rec_server.as_user("auditor") as auditor:
        events = auditor.get(
            "/api/audit-events", params={"entity_type": "recording", "entity_id": str(rid)}
        ).json()["items"]
    actions = {e["action"] for e in events}
    assert {"recording.start", "recording.finish", "recording.verify", "recording.play"} <= actions
    # Each fetch of the bytes from the start is audited too; the player's ranges are not.
    assert [e["details"]["purpose"] for e in events if e["action"] == "recording.fetch"] == ["play"]


def test_out_of_order_repeats_and_conflicts(rec_server: LiveServer) -> None:
    # Chromium's first blob can be the single byte 0x1A; the header goes on in chunk 1.
    data = webm(4.0)
    chunks = [data[:1], *split(data[1:], 2)]
    with rec_server.as_user("agent01") as agent:
        rid = start(agent, served_ticket(rec_server))["id"]
        assert put(agent, rid, 2, chunks[2]).json()["contiguous"] == 0
        status = agent.get(f"/api/recordings/{rid}/upload-status").json()
        assert status["contiguous"] == 0 and status["missing"] == [0, 1]
        assert put(agent, rid, 0, chunks[0]).json()["contiguous"] == 1
        assert put(agent, rid, 1, chunks[1]).json()["contiguous"] == 3
        repeat = put(agent, rid, 1, chunks[1])  # a retry after a lost answer
        assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
        conflict = put(agent, rid, 1, chunks[1][::-1])
        assert conflict.status_code == 409
        body = conflict.json()
        assert body["error_id"] == "recording-chunk-conflict" and body["details"]["seq"] == 1
        assert body["message"]["zh-CN"] and body["message"]["en"]
        done = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 3}).json()
        assert done["state"] == "finished"
        assert done["chain_head"] == chain_head(int(str(rid)), chunks)
        # After finish: the same bytes are still fine, new chunks are refused.
        assert put(agent, rid, 2, chunks[2]).status_code == 200
        late = put(agent, rid, 3, chunks[2])
        assert late.status_code == 409 and late.json()["error_id"] == "recording-closed"
        resent = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 3})
        assert resent.status_code == 200 and resent.json()["state"] == "finished"
    raw = (recording_dir(rec_server, int(str(rid))) / "raw.webm").read_bytes()
    assert raw == b"".join(chunks)  # what the browser sent, byte for byte


def test_bad_uploads_get_clear_errors_and_store_nothing(rec_server: LiveServer) -> None:
    with rec_server.as_user("agent01") as agent:
        ticket = served_ticket(rec_server)
        rid = start(agent, ticket)["id"]
        cases = [
            (put(agent, rid, 0, b"not a webm file"), 422, "recording-not-webm"),
            (put(agent, rid, 0, b""), 422, "recording-empty-chunk"),
            (put(agent, rid, 1, b"x" * (MAX_CHUNK + 1)), 413, "recording-chunk-too-large"),
            (
                agent.post("/api/recordings", json={"ticket_id": ticket, "mime_type": "video/mp4"}),
                422,
                "validation-failed",
            ),
            (
                agent.post(
                    "/api/recordings", json={"ticket_id": served_ticket(rec_server, "agent02")}
                ),
                409,
                "recording-not-your-session",
            ),
            (put(agent, 2_000_000_000, 0, EBML), 404, "recording-not-found"),
        ]
        for response, status, error_id in cases:
            assert response.status_code == status, (error_id, response.text)
            assert response.json()["error_id"] == error_id
        status = agent.get(f"/api/recordings/{rid}/upload-status").json()
        assert status["received"] == 0 and status["bytes_total"] == 0
        assert put(agent, rid, 5, b"later chunk").status_code == 200
        short = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 3})
        assert short.status_code == 422
        assert short.json()["error_id"] == "recording-chunk-count-mismatch"
    with rec_server.as_user("agent02") as other:  # another agent's recording: not theirs
        r = put(other, rid, 0, EBML + b"x")
        assert r.status_code == 404 and r.json()["error_id"] == "recording-not-found"
        assert other.get(f"/api/recordings/{rid}/upload-status").status_code == 404
    with rec_server.as_user("supervisor") as sup:  # supervisors watch, they don't upload
        assert put(sup, rid, 0, EBML + b"x").status_code == 403


def test_gap_at_finish_is_flagged_and_a_late_chunk_completes_it(rec_server: LiveServer) -> None:
    chunks = split(webm(4.0), 4)
    watcher = WsClient(rec_server.url, rec_server.login("supervisor"))
    try:
        with rec_server.as_user("agent01") as agent:
            rid = start(agent, served_ticket(rec_server))["id"]
            for seq in (0, 1, 3):
                assert put(agent, rid, seq, chunks[seq]).status_code == 200
            flagged = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 4})
            assert flagged.status_code == 200
            assert flagged.json()["state"] == "incomplete"
            assert flagged.json()["incomplete_reason"] == "gaps"
            event = watcher.wait(
                lambda e: e["type"] == "recording.incomplete" and e["data"]["recording_id"] == rid
            )
            assert event["data"]["reason"] == "gaps"
            with rec_server.as_user("supervisor") as sup:
                detail = sup.get(f"/api/recordings/{rid}").json()
                assert detail["missing"] == [2] and detail["complete"] is False
                ids = [
                    r["id"]
                    for r in sup.get("/api/recordings", params={"flagged": True}).json()["items"]
                ]
                assert rid in ids
                # The contiguous part (chunks 0-1) is assembled and can be played.
                grant = sup.post(f"/api/recordings/{rid}/playback").json()
                with rec_server.client() as anon:
                    assert anon.get(grant["url"]).content[:4] == EBML
            assert put(agent, rid, 2, chunks[2]).status_code == 200
            done = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 4}).json()
            assert done["state"] == "finished" and done["missing_count"] == 0
            assert done["chain_head"] == chain_head(int(str(rid)), chunks)
    finally:
        watcher.close()


def test_a_recording_never_finished_is_flagged_not_lost(rec_server: LiveServer) -> None:
    chunks = split(webm(4.0), 4)
    with rec_server.as_user("agent01") as agent:
        rid = start(agent, served_ticket(rec_server))["id"]
        for seq in (0, 1):
            assert put(agent, rid, seq, chunks[seq]).status_code == 200
    # The browser went away. After the stale period (6 s here) the sweep flags it.
    deadline = time.monotonic() + 30
    with rec_server.as_user("supervisor") as sup:
        while True:
            rec = sup.get(f"/api/recordings/{rid}").json()
            if rec["state"] != "recording" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert rec["state"] == "incomplete" and rec["incomplete_reason"] == "not-finished"
        assert rec["contiguous"] == 2 and rec["file_sha256"]
        assert sup.post(f"/api/recordings/{rid}/verify").json()["ok"] is True


def _cli(live: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLOUDWINDOW_DATABASE_URL": live.settings.database_url,
        "CLOUDWINDOW_DATA_DIR": str(live.settings.data_dir),
        "CLOUDWINDOW_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "cloudwindow.cli", "recording", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_one_flipped_byte_fails_the_hash_chain(rec_server: LiveServer) -> None:
    chunks = split(webm(4.0), 5)
    rid = record(rec_server, chunks)
    ok = _cli(rec_server, "verify", str(rid))
    assert ok.returncode == 0, ok.stderr
    assert "verified" in ok.stdout

    raw = recording_dir(rec_server, rid) / "raw.webm"
    data = bytearray(raw.read_bytes())
    where = len(chunks[0]) + len(chunks[1]) + 10  # inside chunk 2
    data[where] ^= 0x01
    raw.write_bytes(bytes(data))
    with rec_server.as_user("supervisor") as sup:
        report = sup.post(f"/api/recordings/{rid}/verify").json()
        assert report["ok"] is False and report["reason"] == "chunk-hash"
        assert report["first_bad_chunk"] == 2
        assert sup.get(f"/api/recordings/{rid}").json()["verified_ok"] is False
    failed = _cli(rec_server, "verify", str(rid))
    assert failed.returncode == 1 and "FAILED" in failed.stdout
    missing = _cli(rec_server, "verify", "999999")
    assert missing.returncode == 2 and "No such recording" in missing.stderr


def test_purge_deletes_files_after_retention_and_is_audited(rec_server: LiveServer) -> None:
    rid = record(rec_server, split(webm(4.0), 2))
    kept = record(rec_server, split(webm(4.0), 2))
    assert recording_dir(rec_server, rid).exists()
    _backdate(rec_server, rid, days=400)
    # The node's purge job (every 0.5 s here) or the CLI, whichever comes first.
    purged = _cli(rec_server, "purge")
    assert purged.returncode == 0 and "purged:" in purged.stdout, purged.stderr
    deadline = time.monotonic() + 20
    while recording_dir(rec_server, rid).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not recording_dir(rec_server, rid).exists()
    assert recording_dir(rec_server, kept).exists()
    with rec_server.as_user("supervisor") as sup:
        row = sup.get(f"/api/recordings/{rid}").json()
        assert row["state"] == "purged" and row["purged_at"] and row["chain_head"]
        gone = sup.post(f"/api/recordings/{rid}/playback")
        assert gone.status_code == 410 and gone.json()["error_id"] == "recording-purged"
        assert sup.get(f"/api/recordings/{kept}").json()["state"] == "finished"
    with rec_server.as_user("auditor") as auditor:
        events = auditor.get(
            "/api/audit-events", params={"action": "recording.purge", "entity_id": str(rid)}
        ).json()["items"]
    assert len(events) == 1 and events[0]["actor_type"] == "system"


def _backdate(live: LiveServer, rid: int, days: int) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from cloudwindow.recording.models import Recording
    from cloudwindow.services import Services

    async def go() -> None:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                await session.execute(
                    update(Recording)
                    .where(Recording.id == rid)
                    .values(started_at=datetime.now(UTC) - timedelta(days=days))
                )
        finally:
            await services.db.dispose()

    run_async(go)


def test_who_may_do_what(rec_server: LiveServer) -> None:
    rid = record(rec_server, split(webm(4.0), 2))
    with rec_server.as_user("agent01") as agent:  # agents record, they don't browse
        assert agent.get("/api/recordings").status_code == 403
        assert agent.post(f"/api/recordings/{rid}/playback").status_code == 403
    with rec_server.as_user("admin") as admin:  # sees the flags, cannot watch
        assert admin.get("/api/recordings").status_code == 200
        assert admin.post(f"/api/recordings/{rid}/playback").status_code == 403
    with rec_server.as_user("auditor") as auditor:
        grant = auditor.post(f"/api/recordings/{rid}/playback", json={"purpose": "download"})
        assert grant.status_code == 200
    with rec_server.client() as anon:
        got = anon.get(grant.json()["url"])
        assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
        assert anon.get("/api/recordings").status_code == 401


def test_a_call_the_recorder_never_joined_is_flagged(rec_server: LiveServer) -> None:
    """全程录音录像: the agent's recorder never started (blocked, crashed, an old page).
    After the stale period the call still gets a recording row, flagged incomplete
    (never-started), so the gap shows on the supervisors' list instead of nowhere."""
    from integration.test_media_quality import open_call
    from integration.test_queue_ws import social_security_agents

    name = next(n for n in social_security_agents(rec_server) if n != "agent01")
    kiosk, agent, _ = open_call(rec_server, name)
    ticket_id = int(agent.request("agent.get")["data"]["ticket"]["id"])
    assert agent.request("session.end", {"ticket_id": ticket_id})["type"] == "agent.status"
    deadline = time.monotonic() + 30
    with rec_server.as_user("supervisor") as sup:
        while True:
            items = sup.get("/api/recordings", params={"ticket_id": ticket_id}).json()["items"]
            if items or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(items) == 1, items
        assert items[0]["state"] == "incomplete"
        assert items[0]["incomplete_reason"] == "never-started"
        # It cannot be played (there is nothing), and says so clearly.
        r = sup.post(f"/api/recordings/{items[0]['id']}/playback")
        assert r.status_code >= 400 and r.json()["error_id"], r.text
    kiosk.close()
    agent.close()
