"""Recording for audit end to end in Chromium with fake devices: the browser recorder
(web/src/lib/recorder.ts) composites two camera streams and mixes their audio, uploads
1-second chunks while recording ~6 s, and finishes; the server's file has a video and an
audio stream of the right length (ffprobe), its hash chain verifies, and the same
endpoint plays it back in a <video> element. Then the supervisor's recordings page."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.test_call import start_call
from e2e.test_console import login
from integration.recording_support import served_ticket, split, webm
from playwright.sync_api import Browser, Page, expect

from conftest import (
    CHROMIUM,
    REPO,
    LiveServer,
    make_database_url,
    need_tools,
    prepare_database,
    settings_for,
    shot,
    start_server,
)

RECORD_SECONDS = 6


def recorder_module() -> str:
    """recorder.ts as a browser module (TypeScript's transpiler strips the types) that
    puts its exports on ``window.CWRecorder``."""
    web = REPO / "web"
    script = (
        "const ts = require('typescript');"
        "const src = require('fs').readFileSync('src/lib/recorder.ts', 'utf8');"
        "process.stdout.write(ts.transpileModule(src, {compilerOptions: "
        "{target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext}}).outputText);"
    )
    js = subprocess.run(
        ["node", "-e", script], cwd=web, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    names = "SessionRecorder, httpTransport, MemoryChunkStore, IdbChunkStore"
    return js + f"\nwindow.CWRecorder = {{ {names} }};\n"


@pytest.fixture(scope="module")
def av_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium with a fake camera and microphone, prompts accepted, autoplay allowed."""
    b = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield b
    b.close()


@pytest.fixture()
def rec_live(tmp_path: Path) -> Iterator[LiveServer]:
    url = make_database_url("sqlite", tmp_path)
    prepare_database(url, tmp_path)
    server = start_server(settings_for(url, tmp_path, queue_tick_seconds=0.3))
    yield server
    server.stop()


RECORD = """async ({ ticketId, token, seconds }) => {
  const { SessionRecorder, httpTransport } = window.CWRecorder;
  const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const remote = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const rec = new SessionRecorder({
    ticketId, local, remote, timesliceMs: 1000, label: 'E2E 测试',
    transport: httpTransport({ token: () => token }),
  });
  const seen = [];
  rec.onStatus((s) => seen.push([s.state, s.chunks, s.ackedSeq]));
  await rec.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const final = await rec.stop();
  return { final, seen };
}"""

PLAY = """async (url) => {
  const v = document.createElement('video');
  v.muted = true; v.src = url; v.style.width = '960px';
  document.body.appendChild(v);
  await new Promise((ok, fail) => {
    v.onloadedmetadata = ok;
    v.onerror = () => fail(new Error('video error ' + (v.error && v.error.code)));
  });
  await v.play();
  await new Promise((r) => setTimeout(r, 1500));
  return { duration: v.duration, width: v.videoWidth, height: v.videoHeight, time: v.currentTime };
}"""


def ffprobe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return dict(json.loads(out))


def test_browser_recorder_uploads_and_the_recording_plays_back(
    av_browser: Browser, rec_live: LiveServer, tmp_path: Path
) -> None:
    need_tools("ffprobe", "node")
    ticket = served_ticket(rec_live, "agent01")
    token = rec_live.login("agent01")
    context = av_browser.new_context(viewport={"width": 1100, "height": 700}, locale="zh-CN")
    page: Page = context.new_page()
    try:
        page.goto(f"{rec_live.url}/healthz")  # same origin as the API; a secure context
        page.add_script_tag(content=recorder_module(), type="module")
        page.wait_for_function("() => window.CWRecorder !== undefined")
        result = page.evaluate(
            RECORD, {"ticketId": ticket, "token": token, "seconds": RECORD_SECONDS}
        )
        final = result["final"]
        assert final["state"] == "finished", result
        assert final["chunks"] >= RECORD_SECONDS - 1 and final["pendingChunks"] == 0
        assert final["mimeType"].startswith("video/webm") and final["rejected"] == []
        rid = final["recordingId"]
        # Chunks were acknowledged while recording, not all at the end.
        assert any(state == "recording" and acked >= 2 for state, _, acked in result["seen"])

        with rec_live.as_user("supervisor") as sup:
            rec = sup.get(f"/api/recordings/{rid}").json()
            assert rec["state"] == "finished" and rec["complete"] and rec["missing"] == []
            assert rec["chunk_count"] == final["chunks"] and rec["ticket_id"] == ticket
            assert abs(rec["duration_ms"] - RECORD_SECONDS * 1000) <= 2000, rec
            assert rec["has_video"] and rec["has_audio"]
            assert sup.post(f"/api/recordings/{rid}/verify").json()["ok"] is True
            url = sup.post(f"/api/recordings/{rid}/playback").json()["url"]
        with rec_live.client() as anon:
            downloaded = tmp_path / "recording.webm"
            downloaded.write_bytes(anon.get(url).content)
        info = ffprobe(downloaded)
        kinds = {s["codec_type"]: s["codec_name"] for s in info["streams"]}  # type: ignore[attr-defined]
        assert kinds.get("video") in {"vp8", "vp9"} and kinds.get("audio") == "opus", info
        assert abs(float(info["format"]["duration"]) - RECORD_SECONDS) <= 2, info  # type: ignore[index]

        played = page.evaluate(PLAY, f"{rec_live.url}{url}")
        assert abs(played["duration"] - RECORD_SECONDS) <= 2, played
        assert (played["width"], played["height"]) == (1280, 480)  # both videos, side by side
        assert played["time"] > 0.5, played  # it actually plays
        shot(page, "recording-playback")
    finally:
        context.close()


def test_supervisor_sees_flags_verifies_and_plays_a_recording(
    av_browser: Browser, rec_live: LiveServer
) -> None:
    """The console's recordings page: a complete and an incomplete recording with their
    flags; verify the chain; play one in the page's <video> (the playback is audited)."""
    chunks = split(webm(4.0), 4)
    ids = []
    with rec_live.as_user("agent01") as agent:
        for sent in ([0, 1, 2, 3], [0, 1, 3]):  # the second has a gap: flagged
            rid = agent.post("/api/recordings", json={"ticket_id": served_ticket(rec_live)}).json()[
                "id"
            ]
            for seq in sent:
                agent.put(f"/api/recordings/{rid}/chunks/{seq}", content=chunks[seq])
            agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 4})
            ids.append(rid)
    complete, flagged = ids
    context = av_browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, rec_live, "supervisor")
        page.goto(f"{rec_live.url}/console/#/recordings")
        expect(page.get_by_test_id(f"recording-flag-{complete}")).to_have_text("完整")
        expect(page.get_by_test_id(f"recording-flag-{flagged}")).to_have_text("不完整")
        expect(page.get_by_test_id("recordings-table")).to_contain_text("有缺段")
        expect(page.get_by_test_id(f"recording-chain-{complete}")).to_have_text("未校验")
        page.get_by_test_id(f"recording-verify-{complete}").click()
        expect(page.get_by_test_id("recording-verify-result")).to_contain_text("校验通过")
        shot(page, "recordings-verify")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id(f"recording-chain-{complete}")).to_have_text("已校验")
        shot(page, "recordings-list")
        page.get_by_test_id(f"recording-play-{complete}").click()
        video = page.get_by_test_id("recording-video")
        expect(video).to_be_visible()
        page.wait_for_function(
            "() => { const v = document.querySelector('[data-test=recording-video]');"
            " return v && v.readyState >= 2 && v.currentTime > 0.3; }"
        )
        shot(page, "recordings-player")
    finally:
        context.close()
    with rec_live.as_user("auditor") as auditor:
        events = auditor.get(
            "/api/audit-events", params={"action": "recording.play", "entity_id": str(complete)}
        ).json()["items"]
    assert events and events[0]["actor_id"].startswith("user:")


def test_the_agents_call_is_recorded_from_first_frame_to_hang_up(
    av_browser: Browser, rec_live: LiveServer
) -> None:
    """The whole flow: kiosk queues, agent accepts, the call connects and the agent's
    desk shows 录制中 ● REC; after hang-up the recording is finished, has video and
    audio of the call's length, and its hash chain verifies."""
    kiosk, agent = start_call(rec_live, av_browser)
    indicator = agent.get_by_test_id("rec-indicator")
    expect(indicator).to_have_attribute("data-state", "recording", timeout=15_000)
    expect(indicator).to_contain_text("录制中")
    started = time.monotonic()
    time.sleep(5)
    shot(agent, "call-agent-recording")
    agent.get_by_test_id("call-hangup").click()
    length = time.monotonic() - started
    expect(agent.get_by_test_id("call")).to_have_attribute("data-phase", "ended")
    expect(indicator).to_have_attribute("data-state", "finished", timeout=30_000)
    with rec_live.as_user("supervisor") as sup:
        deadline = time.monotonic() + 20
        while True:
            items = sup.get("/api/recordings").json()["items"]
            if (items and items[0]["state"] != "recording") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        (rec,) = items
        assert rec["state"] == "finished" and rec["has_video"] and rec["has_audio"], rec
        assert rec["media_session_id"] and rec["agent_name"]
        assert abs(rec["duration_ms"] / 1000 - length) <= 2.5, (rec["duration_ms"], length)
        assert sup.post(f"/api/recordings/{rec['id']}/verify").json()["ok"] is True
    kiosk.close()
