"""Video on a shaped site link (issue 4): stutter against concurrent calls, three arms.

    .venv/bin/python bench/video_site_link.py                       # R 2000,4000 × K 2,4,6
    .venv/bin/python bench/video_site_link.py --rates 2000 --calls 1 --seconds 20   # smoke

Needs root (network namespaces, tc), Debian's chromium, ffmpeg and node (web/node_modules).

Topology (``ip netns``; torn down at exit)::

    vsl-site: kiosk browsers   vsl-rtr: router             vsl-core: server, agent browsers
    10.77.1.2 site0 ────── rs0 10.77.1.1 │ rc0 10.77.2.1 ────── cr0 10.77.2.2
                  HTB R + bfifo on rs0 (site downlink) and rc0 (site uplink)
    10.77.9.2 sctl0 ──────────── unshaped control link ──────────── cctl0 10.77.9.1

The site link is shaped on the router in the middle (HTB at R kbit/s with a bfifo of
``--buffer-ms`` of data at R behind it, on both of the router's veths), so a full link
drops and queues like a real one instead of back-pressuring the sender's socket. The
browsers load the harness page and hold their WebSocket (signaling, ``media.stats``,
``media.cap``) over the unshaped control link (``http://10.77.9.1:PORT``); media must take
the shaped path. Chromium gathers host candidates on every interface (real addresses:
mDNS hiding is off), so the harness page drops remote candidates outside 10.77.1/24 and
10.77.2/24 (in SDP and trickled), and the router drops packets from the control subnet
(strict reverse-path filter, no route back), so a check sent from a control address
cannot reach the peer through the router either. The run records each end's selected
candidate pair and the control link's byte counters, and discards a cell where media
bypassed the shaper.

Per cell (arm × R × K) the bench starts ``cloudwindow serve`` in vsl-core on a fresh copy
of a prepared SQLite database (sample district, K extra kiosks at one kiosk site, K
extra agents at the agent office), sets that kiosk site's uplink and downlink to R (the
agent office: 1 Gbit/s), opens K kiosk pages (site) and K agent pages (core) in headless
Chromium (≤ ``--per-browser`` pages per browser process), and starts K calls
``--stagger`` seconds apart through the real queue: the kiosk page sends ``ticket.take``,
the agent page (ready) accepts the ``offer``, the server opens the media session and the
call runs on web/src/lib/call.ts, mediaCaps.ts and mediaStats.ts (the harness page in
bench/video_site_link_harness/ — no Vue UI). Chromium captures a generated high-entropy
640×360@30 y4m clip (``--use-file-for-fake-video-capture``).

Arms, in the same run (their order rotates from cell to cell):
  A  plain WebRTC: ``media_caps_enabled = false``, ``media_admission_enabled = false``
  B  budget: caps pushed as ``media.cap`` and applied with setParameters; no admission
  C  budget + admission: the matcher holds tickets at a saturated site

Measured over ``--seconds`` after the last call connected plus ``--warmup``: the
``media.stats`` rows the server stored (both ends, every 2 s), summarised per call and
direction with the product's own ``cloudwindow.media.quality.summarize_samples``: freeze
ratio, share of seconds under 15 fps, p10 fps, mean jitter-buffer delay; plus link use
per direction (tc counters), drops, bfifo backlog, and the sender's bitrate.

CPU guard: /proc/stat is sampled every second; a cell where the machine was busier than
``--cpu-limit`` (75 %) on average, or where senders reported ``qualityLimitationReason``
``cpu`` for more than 5 % of their seconds, is marked DISCARDED (reported, not used).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ws_bench import BenchDB, code_state, machine, run_loop, say, seed

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HARNESS_SRC = ROOT / "bench" / "video_site_link_harness"
WORK = Path("/tmp/cwb/video")  # noqa: S108 - the bench's private scratch folder
CHROMIUM = "/usr/bin/chromium"
ITEM = "440118-GG-0002"
AGENT_OFFICE = "S-ZC-AGENT-01"
NS_SITE, NS_RTR, NS_CORE = "vsl-site", "vsl-rtr", "vsl-core"
CTL_SERVER = "10.77.9.1"
MEDIA_PREFIXES = "10.77.1.,10.77.2."
PORT = 8791
ARMS = {
    "A": {"caps": False, "admission": False, "label": "plain WebRTC"},
    "B": {"caps": True, "admission": False, "label": "budget (caps)"},
    "C": {"caps": True, "admission": True, "label": "budget + admission"},
}


# Shell helpers ----------------------------------------------------------------------------
def sh(*cmd: str, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def ns(name: str, *cmd: str, check: bool = True) -> str:
    return sh("ip", "netns", "exec", name, *cmd, check=check)


# Topology ---------------------------------------------------------------------------------
def topology_down() -> None:
    for name in (NS_SITE, NS_RTR, NS_CORE):
        sh("ip", "netns", "del", name, check=False)


def topology_up() -> None:
    topology_down()
    for name in (NS_SITE, NS_RTR, NS_CORE):
        sh("ip", "netns", "add", name)
        ns(name, "ip", "link", "set", "lo", "up")
    links = [  # (ns a, dev a, addr a, ns b, dev b, addr b)
        (NS_SITE, "site0", "10.77.1.2/24", NS_RTR, "rs0", "10.77.1.1/24"),
        (NS_RTR, "rc0", "10.77.2.1/24", NS_CORE, "cr0", "10.77.2.2/24"),
        (NS_SITE, "sctl0", "10.77.9.2/24", NS_CORE, "cctl0", "10.77.9.1/24"),
    ]
    for na, da, aa, nb, db, ab in links:
        sh("ip", "link", "add", da, "netns", na, "type", "veth", "peer", db, "netns", nb)
        for n, d, a in ((na, da, aa), (nb, db, ab)):
            ns(n, "ip", "addr", "add", a, "dev", d)
            ns(n, "ip", "link", "set", d, "up")
    ns(NS_SITE, "ip", "route", "add", "default", "via", "10.77.1.1")
    ns(NS_CORE, "ip", "route", "add", "default", "via", "10.77.2.1")
    ns(NS_RTR, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for key in ("all", "default", "rs0", "rc0"):  # no route back to 10.77.9/24: dropped
        ns(NS_RTR, "sysctl", "-qw", f"net.ipv4.conf.{key}.rp_filter=1")


# Where each direction of the site link is shaped: (namespace, device). "router": on the
# router's veths (the default, a real link's behaviour). "endpoints" (--shape-at, for the
# ~30 kbit/s floor question only): on the sending namespaces' own veths, which
# back-pressures the sender's socket instead of dropping.
SHAPED = {
    "router": {"up": (NS_RTR, "rc0"), "down": (NS_RTR, "rs0")},
    "endpoints": {"up": (NS_SITE, "site0"), "down": (NS_CORE, "cr0")},
}
shaped = SHAPED["router"]


def shape(rate_kbps: int, buffer_ms: int) -> int:
    """HTB at ``rate_kbps`` + a bfifo of ``buffer_ms`` at that rate on both directions'
    devices; returns the bfifo size in bytes."""
    limit = max(3 * 1514, rate_kbps * 1000 // 8 * buffer_ms // 1000)
    for name, dev in shaped.values():
        ns(name, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        ns(name, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10")
        ns(
            name, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb",
            "rate", f"{rate_kbps}kbit", "ceil", f"{rate_kbps}kbit", "quantum", "1514",
        )  # fmt: skip
        ns(
            name, "tc", "qdisc", "add", "dev", dev, "parent", "1:10", "handle", "10:",
            "bfifo", "limit", str(limit),
        )  # fmt: skip
    return limit


@dataclasses.dataclass
class LinkCounters:
    at: float
    sent: dict[str, int]  # bytes sent by the bfifo, per direction (up, down)
    drops: dict[str, int]
    backlog: dict[str, int]  # bytes queued now
    ctl: int  # bytes through the control veth (both directions)


def link_counters() -> LinkCounters:
    sent, drops, backlog = {}, {}, {}
    for direction, (name, dev) in shaped.items():
        for q in json.loads(ns(name, "tc", "-s", "-j", "qdisc", "show", "dev", dev)):
            if q.get("kind") == "bfifo":
                sent[direction], drops[direction] = int(q["bytes"]), int(q["drops"])
                backlog[direction] = int(q.get("backlog", 0))
    ctl = 0
    for name in ("rx_bytes", "tx_bytes"):
        ctl += int(ns(NS_CORE, "cat", f"/sys/class/net/cctl0/statistics/{name}").strip())
    return LinkCounters(time.monotonic(), sent, drops, backlog, ctl)


# The clip ---------------------------------------------------------------------------------
def make_clip(seconds: int, size: str) -> Path:
    """A y4m clip at 30 fps (640x360 by default), high entropy: testsrc2's moving pattern
    under strong temporal noise, so the encoder cannot compress it much and sends what
    its bandwidth estimate allows, up to Chromium's default maximum for the resolution
    (1.7 Mbit/s up to 640×480, 600 kbit/s up to 320×240)."""
    clip = WORK / f"clip-{size}-30-{seconds}s.y4m"
    if clip.exists():
        return clip
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = clip.with_suffix(".part.y4m")
    sh(
        "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
        "-vf", "noise=alls=30:allf=t+u,format=yuv420p", "-f", "yuv4mpegpipe", str(tmp),
    )  # fmt: skip
    tmp.rename(clip)
    return clip


# Harness page and static files --------------------------------------------------------------
BUILD_SCRIPT = """
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
const [root, out, web] = process.argv.slice(2)
const require = createRequire(web + '/package.json')
const { build } = await import(pathToFileURL(require.resolve('vite')).href)
await build({
  configFile: false, root, base: '/bench-harness/', logLevel: 'warn',
  resolve: { alias: { '@': web + '/src' } },
  build: { outDir: out, emptyOutDir: true, minify: false },
})
"""


def build_static() -> Path:
    """The package's built web assets plus the harness page at /bench-harness/."""
    static = WORK / "static"
    shutil.rmtree(static, ignore_errors=True)
    package_static = ROOT / "src" / "cloudwindow" / "static"
    if (package_static / "console").is_dir():
        shutil.copytree(package_static, static)
    else:
        (static / "console").mkdir(parents=True)  # the app mounts static files only then
    script = WORK / "build-harness.mjs"
    script.write_text(BUILD_SCRIPT)
    web = ROOT / "web"
    sh("node", str(script), str(HARNESS_SRC), str(static / "bench-harness"), str(web))
    return static


# Database ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Template:
    path: Path
    kiosk_creds: list[str]
    agent_tokens: list[str]
    site_id: int
    office_id: int


def prepare_template(max_calls: int) -> Template:
    db = BenchDB("sqlite", "video-template", "")
    db.create()  # cloudwindow demo --no-serve: migrations + sample district
    creds, tokens = run_loop(seed(db.url, kiosks=max_calls, agents=max_calls))
    path = db.dir / "cw.db"
    with contextlib.closing(sqlite3.connect(path)) as con:
        site_id = con.execute(
            "SELECT site_id FROM terminals WHERE serial_number LIKE 'WSB%' LIMIT 1"
        ).fetchone()[0]
        office = con.execute("SELECT id FROM sites WHERE code = ?", (AGENT_OFFICE,)).fetchone()
    return Template(path, creds, tokens, site_id, office[0])


def cell_database(tpl: Template, cell: str, rate_kbps: int) -> Path:
    folder = WORK / "cells" / cell
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "cw.db"
    shutil.copy(tpl.path, path)
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute(
            "UPDATE sites SET uplink_kbps = ?, downlink_kbps = ? WHERE id = ?",
            (rate_kbps, rate_kbps, tpl.site_id),
        )
        con.execute(
            "UPDATE sites SET uplink_kbps = 1000000, downlink_kbps = 1000000 WHERE id = ?",
            (tpl.office_id,),
        )
        con.commit()
    return path


# Server -----------------------------------------------------------------------------------
class CoreServer:
    """``cloudwindow serve`` inside vsl-core, listening on every address there."""

    def __init__(self, db: Path, static: Path, arm: dict[str, Any], log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDWINDOW_")}
        env.update(
            CLOUDWINDOW_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
            CLOUDWINDOW_DATA_DIR=str(db.parent / "data"),
            CLOUDWINDOW_STATIC_DIR=str(static),
            CLOUDWINDOW_LOG_LEVEL="WARNING",
            CLOUDWINDOW_QUEUE_TICK_SECONDS="0.5",
            CLOUDWINDOW_MEDIA_CAPS_ENABLED=str(arm["caps"]).lower(),
            CLOUDWINDOW_MEDIA_ADMISSION_ENABLED=str(arm["admission"]).lower(),
        )
        self.log = log
        cmd = [str(VENV_BIN / "cloudwindow"), "serve", "--host", "0.0.0.0", "--port", str(PORT)]  # noqa: S104
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", NS_CORE, *cmd],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(db.parent),
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {log}")
            probe = subprocess.run(
                ["ip", "netns", "exec", NS_CORE, "curl", "-sf", "-o", "/dev/null",
                 f"http://{CTL_SERVER}:{PORT}/healthz"],
                check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError("server not listening after 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def problems(self) -> list[str]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if '"level": "error"' in line or '"level":"error"' in line or line.startswith("ERROR"):
                out.append(line[:200])
        return out


# Browsers ---------------------------------------------------------------------------------
def chromium_args(clip: Path) -> list[str]:
    origin = f"http://{CTL_SERVER}:{PORT}"
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
        f"--unsafely-treat-insecure-origin-as-secure={origin}",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ]


def launcher(name: str) -> Path:
    """A chromium that runs inside network namespace ``name`` (Playwright keeps its pipe
    file descriptors across ``ip netns exec``)."""
    path = WORK / f"chromium-{name}.sh"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {name} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


class Pages:
    """K call ends of one kind (kiosk or agent) in ceil(K / per_browser) browsers."""

    def __init__(self, pw: Any, kind: str, netns: str, tokens: list[str], args: Any) -> None:
        self.kind = kind
        self.browsers: list[Any] = []
        self.pages: list[Any] = []
        exe = str(launcher(netns))
        for start in range(0, len(tokens), args.per_browser):
            browser = pw.chromium.launch(
                executable_path=exe, args=chromium_args(args.clip), headless=True
            )
            self.browsers.append(browser)
            for token in tokens[start : start + args.per_browser]:
                page = browser.new_context().new_page()
                page.goto(
                    f"http://{CTL_SERVER}:{PORT}/bench-harness/?role={kind}&token={token}"
                    f"&media={MEDIA_PREFIXES}&item={ITEM}{'&render=1' if args.render else ''}"
                    f"{'&videoOff=1' if args.video_from not in ('both', kind) else ''}"
                )
                self.pages.append(page)

    def wait(self, expr: str, timeout: float, pages: list[Any] | None = None) -> bool:
        deadline = time.monotonic() + timeout
        for page in pages if pages is not None else self.pages:
            while not page.evaluate(f"() => !!window.H && ({expr})"):
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)
        return True

    def read(self) -> list[dict[str, Any]]:
        return [
            page.evaluate(
                "async () => ({phase: H.phase, sessionId: H.sessionId, ticketId: H.ticketId,"
                " ticketState: H.ticketState, held: H.held, caps: H.caps, applied: H.applied,"
                " samples: H.samples.length, errors: H.errors, pair: await H.pair(),"
                " sessionAt: H.sessionAt, connectedAt: H.connectedAt})"
            )
            for page in self.pages
        ]

    def raw(self) -> list[dict[str, float] | None]:
        return [page.evaluate("() => H.raw()") for page in self.pages]

    def close(self) -> None:
        for b in self.browsers:
            with contextlib.suppress(Exception):
                b.close()


# CPU -------------------------------------------------------------------------------------
class CpuSampler(threading.Thread):
    """Machine-wide CPU busy share, once a second (/proc/stat), plus link counters."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.busy: list[float] = []
        self.links: list[LinkCounters] = []
        self.stop_event = threading.Event()
        self.own: float | None = None

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields[:8]), idle

    @staticmethod
    def own_ticks() -> int:
        """CPU ticks (user + system) used so far by every process in the site and core
        namespaces: the bench's browsers and server (exited children not counted)."""
        ticks = 0
        for name in (NS_SITE, NS_CORE):
            for pid in sh("ip", "netns", "pids", name, check=False).split():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    ticks += int(fields[11]) + int(fields[12])
        return ticks

    def run(self) -> None:
        total0, idle0 = self._read()
        own0, t0 = self.own_ticks(), time.monotonic()
        while not self.stop_event.wait(1.0):
            total, idle = self._read()
            if total > total0:
                self.busy.append(1 - (idle - idle0) / (total - total0))
            total0, idle0 = total, idle
            with contextlib.suppress(Exception):
                self.links.append(link_counters())
        # The bench's own share of the machine (of all cores) over the window.
        span = (time.monotonic() - t0) * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
        self.own = (self.own_ticks() - own0) / span if span > 0 else None


# Results ---------------------------------------------------------------------------------
def read_samples(
    db: Path, since: datetime.datetime, until: datetime.datetime
) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT session_id, side, t, dt_ms, in_fps, in_kbps, freeze_count, freeze_ms,"
            " jitter_buffer_ms, out_kbps, limitation, in_width, in_height, loss, rtt_ms,"
            " available_kbps"
            " FROM media_quality_samples ORDER BY id"
        ).fetchall()
    out = []
    for r in rows:
        t = datetime.datetime.fromisoformat(str(r["t"]))
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.UTC)
        if since <= t <= until:
            out.append(dict(r))
    return out


def direction(rows: list[dict[str, Any]], sender_rows: list[dict[str, Any]]) -> dict[str, Any]:
    from cloudwindow.media.quality import Sample, summarize_samples

    summary = summarize_samples(
        Sample(
            dt=r["dt_ms"] / 1000,
            fps=r["in_fps"],
            freeze_ms=r["freeze_ms"] or 0,
            freeze_count=r["freeze_count"] or 0,
            jitter_buffer_ms=r["jitter_buffer_ms"],
        )
        for r in rows
    )
    secs = sum(r["dt_ms"] for r in rows) / 1000
    recv = [r["in_kbps"] * r["dt_ms"] for r in rows if r["in_kbps"] is not None]
    send = [r["out_kbps"] * r["dt_ms"] for r in sender_rows if r["out_kbps"] is not None]
    send_secs = sum(r["dt_ms"] for r in sender_rows) or 1
    # One direction of one call over the window: the product's quality summary (freeze
    # ratio, share under 15 fps, p10 fps, mean jitter-buffer delay), the mean received
    # and sent video bitrate, and the share of the sender's time it was cpu- or
    # bandwidth-limited (qualityLimitationReason).
    return {
        **dataclasses.asdict(summary),
        "recv_kbps": sum(recv) / (secs * 1000) if recv and secs else None,
        "send_kbps": sum(send) / send_secs if send else None,
        "cpu_limited": sum(r["dt_ms"] for r in sender_rows if r["limitation"] == "cpu") / send_secs,
        "bw_limited": sum(r["dt_ms"] for r in sender_rows if r["limitation"] == "bandwidth")
        / send_secs,
        "loss": mean_of(rows, "loss"),
        "rtt_ms": mean_of(sender_rows, "rtt_ms"),
        "avail_kbps": mean_of(sender_rows, "available_kbps"),
        "height": mean_of(rows, "in_height"),
    }


def mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r[key] is not None]
    return statistics.fmean(vals) if vals else None


def raw_delta(
    a: dict[str, float] | None, b: dict[str, float] | None, seconds: float
) -> dict[str, float | None]:
    """The harness's raw video counters over the window: per minute for events, kbit/s
    for bytes, ms per frame for encode/decode time; the encoder's target at the end."""
    if not a or not b:
        return {}

    def d(key: str) -> float:
        return b.get(key, 0.0) - a.get(key, 0.0)

    def per_frame(time_key: str, frames_key: str) -> float | None:
        return d(time_key) * 1000 / d(frames_key) if d(frames_key) > 0 else None

    minute = 60 / seconds
    return {
        "out_target_kbps": b["out.targetBitrate"] / 1000 if "out.targetBitrate" in b else None,
        "out_keyframes_per_min": d("out.keyFramesEncoded") * minute,
        "out_pli_per_min": d("out.pliCount") * minute,
        "out_nack_per_min": d("out.nackCount") * minute,
        "out_rtx_kbps": d("out.retransmittedBytesSent") * 8 / seconds / 1000,
        "out_encode_ms": per_frame("out.totalEncodeTime", "out.framesEncoded"),
        "out_limit_cpu_s": d("out.limit.cpu"),
        "out_limit_bw_s": d("out.limit.bandwidth"),
        "in_keyframes_per_min": d("in.keyFramesDecoded") * minute,
        "in_dropped_frames": d("in.framesDropped"),
        "in_lost_packets": d("in.packetsLost"),
        "in_loss": d("in.packetsLost") / (d("in.packetsLost") + d("in.packetsReceived"))
        if d("in.packetsLost") + d("in.packetsReceived") > 0
        else None,
        "in_decode_ms": per_frame("in.totalDecodeTime", "in.framesDecoded"),
    }


def fmt(v: float | None, spec: str = ".1f", pct_: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v * 100:{spec}}%" if pct_ else f"{v:{spec}}"


# One cell ----------------------------------------------------------------------------------
def run_cell(
    pw: Any, tpl: Template, static: Path, arm_name: str, rate: int, k: int, args: Any
) -> dict[str, Any]:
    arm = ARMS[arm_name]
    cell = f"{arm_name}-R{rate}-K{k}"
    say(f"\n## {cell}: {arm['label']}, R = {rate} kbit/s, K = {k}")
    db = cell_database(tpl, cell, rate)
    server = CoreServer(db, static, arm, db.parent / "server.log")
    kiosks = agents = None
    result: dict[str, Any] = {"cell": cell, "arm": arm_name, "rate": rate, "k": k}
    try:
        agents = Pages(pw, "agent", NS_CORE, tpl.agent_tokens[:k], args)
        kiosks = Pages(pw, "kiosk", NS_SITE, tpl.kiosk_creds[:k], args)
        if not (agents.wait("H.online", 60) and kiosks.wait("H.online", 60)):
            raise RuntimeError("pages did not come online")
        time.sleep(1.0)  # agents' ready reaches the matcher
        t_take = []
        for i, page in enumerate(kiosks.pages):
            if i:
                time.sleep(args.stagger)
            page.evaluate("() => H.take()")
            t_take.append(time.monotonic())
            say(f"  call {i + 1}: ticket taken")
        # Admitted calls connect within the timeout; held ones (arm C) stay queued.
        deadline = time.monotonic() + args.connect_timeout
        while time.monotonic() < deadline:
            states = [p.evaluate("() => H.held ? 'held' : H.phase") for p in kiosks.pages]
            if all(s in ("connected", "held") for s in states):
                break
            time.sleep(0.5)
        states = [p.evaluate("() => H.phase") for p in kiosks.pages]
        say(f"  phases after takes: {states}")
        time.sleep(args.warmup)
        sampler = CpuSampler()
        sampler.start()
        raw0 = (kiosks.raw(), agents.raw())
        since = datetime.datetime.now(datetime.UTC)
        time.sleep(args.seconds)
        until = datetime.datetime.now(datetime.UTC)
        raw1 = (kiosks.raw(), agents.raw())
        sampler.stop_event.set()
        sampler.join()
        # One more stats tick lands after `until`; it is outside the window anyway.
        kiosk_view, agent_view = kiosks.read(), agents.read()
        for views, before, after in (
            (kiosk_view, raw0[0], raw1[0]),
            (agent_view, raw0[1], raw1[1]),
        ):
            for view, a, b in zip(views, before, after, strict=True):
                view["raw"] = raw_delta(a, b, args.seconds)
    finally:
        for pages in (kiosks, agents):
            if pages is not None:
                pages.close()
        server.stop()
    result.update(summarise_cell(db, since, until, sampler, kiosk_view, agent_view, rate, args))
    result["server_errors"] = server.problems()[:5]
    return result


def summarise_cell(
    db: Path,
    since: datetime.datetime,
    until: datetime.datetime,
    sampler: CpuSampler,
    kiosk_view: list[dict[str, Any]],
    agent_view: list[dict[str, Any]],
    rate: int,
    args: Any,
) -> dict[str, Any]:
    rows = read_samples(db, since, until)
    window = (until - since).total_seconds()
    sessions = sorted({v["sessionId"] for v in kiosk_view if v["sessionId"] is not None})
    calls = []
    for sid in sessions:
        citizen = [r for r in rows if r["session_id"] == sid and r["side"] == "citizen"]
        agent = [r for r in rows if r["session_id"] == sid and r["side"] == "agent"]
        kv = next(v for v in kiosk_view if v["sessionId"] == sid)
        av = next((v for v in agent_view if v["sessionId"] == sid), None)
        calls.append(
            {
                "session_id": sid,
                # up: kiosk → agent (the site uplink), received by the agent
                "up": direction(agent, citizen),
                # down: agent → kiosk (the site downlink), received by the kiosk
                "down": direction(citizen, agent),
                "kiosk_cap_kbps": kv["caps"][-1]["max_bitrate_kbps"] if kv["caps"] else None,
                "agent_cap_kbps": av["caps"][-1]["max_bitrate_kbps"] if av and av["caps"] else None,
                "pair": kv["pair"],
                "agent_pair": av["pair"] if av else None,
                # The last setParameters of each end: cap and video senders capped (0: the
                # cap could not be applied yet).
                "applied": [kv["applied"][-1:], av["applied"][-1:] if av else []],
                "raw_kiosk": kv.get("raw", {}),
                "raw_agent": av.get("raw", {}) if av else {},
                "phase": [kv["phase"], av["phase"] if av else None],
            }
        )
    held = [v for v in kiosk_view if v["sessionId"] is None]
    links = sampler.links
    use: dict[str, float | None] = {"up": None, "down": None}
    drops = {"up": 0, "down": 0}
    backlog: dict[str, float | None] = {"up": None, "down": None}
    ctl_kbps = None
    if len(links) >= 2:
        a, b = links[0], links[-1]
        span = b.at - a.at
        for d in ("up", "down"):
            use[d] = (b.sent[d] - a.sent[d]) * 8 / span / 1000 / rate
            drops[d] = b.drops[d] - a.drops[d]
            backlog[d] = statistics.fmean(x.backlog[d] for x in links)
        ctl_kbps = (b.ctl - a.ctl) * 8 / span / 1000
    bypass = [
        c["session_id"]
        for c in calls
        if not c["pair"]
        or not c["agent_pair"]
        or not str(c["pair"].get("local", "")).startswith("10.77.1.")
        or not str(c["agent_pair"].get("local", "")).startswith("10.77.2.")
    ]
    if ctl_kbps is not None and ctl_kbps > 20 * max(1, len(calls)):
        bypass.append(f"control link carried {ctl_kbps:.0f} kbit/s")
    cpu_mean = statistics.fmean(sampler.busy) if sampler.busy else None
    dirs = measured(args.video_from)
    cpu_lim = max([max(c[d]["cpu_limited"] for d in dirs) for c in calls] or [0.0])
    reasons = []
    if cpu_mean is not None and cpu_mean > args.cpu_limit:
        reasons.append(f"CPU {cpu_mean:.0%} > {args.cpu_limit:.0%}")
    if cpu_lim > 0.05:
        reasons.append(f"sender cpu-limited {cpu_lim:.0%} of its time")
    if bypass:
        reasons.append(f"media not on the shaped path for sessions {bypass}")
    if not calls:
        reasons.append("no call connected")
    return {
        "video_from": args.video_from,
        "window_s": round(window, 1),
        "calls": calls,
        "held": len(held),
        "held_info": [v["held"] for v in held],
        "link_use": use,
        "drops": drops,
        "backlog_bytes": backlog,
        "control_kbps": ctl_kbps,
        "cpu_mean": cpu_mean,
        "cpu_max": max(sampler.busy) if sampler.busy else None,
        "cpu_own": sampler.own,
        "cpu_limited_max": cpu_lim,
        "discarded": reasons,
        "samples": len(rows),
    }


def measured(video_from: str) -> tuple[str, ...]:
    """The directions a run measures: both, or only the one whose sender has video
    (``--video-from kiosk``: the site uplink; ``agent``: the site downlink)."""
    return {"both": ("up", "down"), "kiosk": ("up",), "agent": ("down",)}[video_from]


def worst(calls: list[dict[str, Any]], d: str, key: str, lowest: bool = False) -> Any:
    vals = [c[d][key] for c in calls if c[d][key] is not None]
    if not vals:
        return None
    return min(vals) if lowest else max(vals)


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| arm | R kbit/s | K | calls (held) | dir | freeze ratio (worst) | <15 fps share "
        "(worst) | p10 fps (lowest) | mean fps (mean) | jitter buffer ms (worst) | "
        "video kbit/s per call (mean) | link use | drops | CPU mean (bench's own) | valid |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        calls = r["calls"]
        for d in measured(r.get("video_from", "both")):
            mean_fps = [c[d]["mean_fps"] for c in calls if c[d]["mean_fps"] is not None]
            kbps = [c[d]["recv_kbps"] for c in calls if c[d]["recv_kbps"] is not None]
            lines.append(
                f"| {r['arm']} | {r['rate']} | {r['k']} | {len(calls)} ({r['held']}) | {d} | "
                f"{fmt(worst(calls, d, 'freeze_ratio'), '.2f', True)} | "
                f"{fmt(worst(calls, d, 'low_fps_share'), '.0f', True)} | "
                f"{fmt(worst(calls, d, 'p10_fps', lowest=True), '.0f')} | "
                f"{fmt(statistics.fmean(mean_fps) if mean_fps else None)} | "
                f"{fmt(worst(calls, d, 'jitter_buffer_ms'), '.0f')} | "
                f"{fmt(statistics.fmean(kbps) if kbps else None, '.0f')} | "
                f"{fmt(r['link_use'][d], '.0f', True)} | {r['drops'][d]} | "
                f"{fmt(r['cpu_mean'], '.0f', True)} ({fmt(r.get('cpu_own'), '.0f', True)}) | "
                f"{'yes' if not r['discarded'] else 'DISCARDED: ' + '; '.join(r['discarded'])} |"
            )
    return "\n".join(lines)


def per_call(r: dict[str, Any]) -> str:
    backlog = r["backlog_bytes"]
    out = [
        f"{r['cell']}: window {r['window_s']} s, {r['samples']} samples, control link "
        f"{fmt(r['control_kbps'])} kbit/s, CPU mean {fmt(r['cpu_mean'], '.0%')} (bench's own "
        f"{fmt(r.get('cpu_own'), '.0%')}) max "
        f"{fmt(r['cpu_max'], '.0%')}, mean backlog up/down "
        f"{fmt(backlog['up'], '.0f')}/{fmt(backlog['down'], '.0f')} B"
    ]
    if r["held"]:
        out.append(f"  held kiosks: {r['held']}, told {r['held_info']}")
    for c in r["calls"]:
        for d in ("up", "down"):
            x = c[d]
            out.append(
                f"  session {c['session_id']} {d:4}: fps mean {fmt(x['mean_fps'])} p10 "
                f"{fmt(x['p10_fps'], '.0f')} <15 {fmt(x['low_fps_share'], '.0f', True)} "
                f"freeze {fmt(x['freeze_ratio'], '.2f', True)} "
                f"jb {fmt(x['jitter_buffer_ms'], '.0f')} ms "
                f"recv {fmt(x['recv_kbps'], '.0f')} kbit/s sent {fmt(x['send_kbps'], '.0f')} "
                f"cpu-lim {fmt(x['cpu_limited'], '.0f', True)} bw-lim "
                f"{fmt(x['bw_limited'], '.0f', True)} seconds {x['seconds']}"
            )
        for d, sender, receiver in (
            ("up", "raw_kiosk", "raw_agent"),
            ("down", "raw_agent", "raw_kiosk"),
        ):
            x, snd, rcv = c[d], c[sender], c[receiver]
            out.append(
                f"  session {c['session_id']} {d:4}: loss {fmt(x['loss'], '.1f', True)} rtt "
                f"{fmt(x['rtt_ms'], '.0f')} ms avail {fmt(x['avail_kbps'], '.0f')} target "
                f"{fmt(snd.get('out_target_kbps'), '.0f')} kbit/s height {fmt(x['height'], '.0f')} "
                f"keyframes/min {fmt(snd.get('out_keyframes_per_min'), '.0f')} PLI/min "
                f"{fmt(snd.get('out_pli_per_min'), '.0f')} NACK/min "
                f"{fmt(snd.get('out_nack_per_min'), '.0f')} encode "
                f"{fmt(snd.get('out_encode_ms'))} ms decode {fmt(rcv.get('in_decode_ms'))} ms"
            )
        out.append(
            f"  session {c['session_id']} caps kiosk/agent {c['kiosk_cap_kbps']}/"
            f"{c['agent_cap_kbps']} kbit/s (applied {c['applied']}), pair {c['pair']}, "
            f"agent pair {c['agent_pair']}, "
            f"phases {c['phase']}"
        )
    return "\n".join(out)


# Main ------------------------------------------------------------------------------------
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rates", default="2000,4000", help="site link rates R, kbit/s")
    p.add_argument("--calls", default="2,4,6", help="concurrent calls K")
    p.add_argument("--arms", default="A,B,C")
    p.add_argument("--seconds", type=float, default=45, help="measurement window per cell")
    p.add_argument("--warmup", type=float, default=10, help="after the last call connected")
    p.add_argument("--stagger", type=float, default=4, help="seconds between call starts")
    p.add_argument("--connect-timeout", type=float, default=20)
    p.add_argument("--buffer-ms", type=int, default=100, help="bfifo size, ms of data at R")
    p.add_argument("--per-browser", type=int, default=3, help="call ends per Chromium")
    p.add_argument("--cpu-limit", type=float, default=0.75)
    p.add_argument("--clip-seconds", type=int, default=10)
    p.add_argument("--size", default="640x360", help="camera clip size (30 fps)")
    p.add_argument("--render", action="store_true", help="also render remote video")
    p.add_argument(
        "--video-from",
        choices=("both", "kiosk", "agent"),
        default="both",
        help="one-way video: kiosk measures the site uplink, agent the downlink (the other "
        "end turns its camera off once connected: half the encoders and decoders)",
    )
    p.add_argument(
        "--shape-at",
        choices=sorted(SHAPED),
        default="router",
        help="endpoints: shape the senders' own veths (diagnosis of the ~30 kbit/s floor)",
    )
    p.add_argument("--out", default=str(WORK / "results.json"))
    p.add_argument("--report", metavar="JSON", help="only print the table of an earlier run")
    args = p.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()), args.report)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (ip netns, tc)")
    global shaped
    shaped = SHAPED[args.shape_at]
    rates = [int(x) for x in args.rates.split(",")]
    ks = [int(x) for x in args.calls.split(",")]
    arms = args.arms.split(",")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    say("# video_site_link")
    say(f"date:    {now}")
    say(f"machine: {machine()}")
    say(f"code:    {code_state()}")
    say(f"command: {' '.join(sys.argv)}")
    say(f"options: {vars(args)}")
    WORK.mkdir(parents=True, exist_ok=True)
    args.clip = make_clip(args.clip_seconds, args.size)
    static = build_static()
    tpl = prepare_template(max(ks))
    results: list[dict[str, Any]] = []
    from playwright.sync_api import sync_playwright

    topology_up()
    try:
        with sync_playwright() as pw:
            n = 0
            for rate in rates:
                limit = shape(rate, args.buffer_ms)
                say(f"\n# R = {rate} kbit/s each way, bfifo {limit} B ({args.buffer_ms} ms)")
                for k in ks:
                    order = arms[n % len(arms) :] + arms[: n % len(arms)]
                    n += 1
                    for arm in order:
                        started = time.monotonic()
                        try:
                            r = run_cell(pw, tpl, static, arm, rate, k, args)
                        except Exception as exc:  # a failed cell is reported, the run goes on
                            say(f"  ! {arm}-R{rate}-K{k} failed: {exc}")
                            continue
                        r["cell_seconds"] = round(time.monotonic() - started)
                        results.append(r)
                        say(per_call(r))
                        say(f"  (cell took {r['cell_seconds']} s)")
                        Path(args.out).write_text(json.dumps(results, indent=1, default=str))
    finally:
        topology_down()
        report(results, args.out)


def report(results: list[dict[str, Any]], out: str) -> None:
    results.sort(key=lambda r: (r["rate"], r["k"], r["arm"]))
    say("\n" + table(results))
    if Path(out).exists():
        digest = hashlib.sha256(Path(out).read_bytes()).hexdigest()[:12]
        say(f"\nper-call results: {out} (sha256 {digest})")


if __name__ == "__main__":
    main()
