"""Settings from the environment (prefix ``CLOUDWINDOW_``), with embedded defaults.

With nothing set, the platform runs on one machine: a SQLite file under ``./var/``,
an in-process event bus, and files under ``./var/data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob in one place; ``create_app`` receives an instance, never a global."""

    model_config = SettingsConfigDict(env_prefix="CLOUDWINDOW_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/cloudwindow.db",
        description="SQLAlchemy async URL; postgresql+asyncpg://… for several nodes.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for cross-node events; unset = in-process bus."
    )
    data_dir: Path = Field(default=Path("./var/data"), description="Where files are stored.")
    db_pool_size: int = 10  # PostgreSQL connections kept per node
    db_max_overflow: int = 20  # extra connections under load (mind max_connections)
    static_dir: Path | None = Field(
        default=None, description="Built web assets; default: the package's static folder."
    )
    # Accounts
    session_ttl_seconds: int = 8 * 3600
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    enrollment_code_ttl_seconds: int = 24 * 3600
    # Catalogue import limits
    import_max_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 20_000
    # Realtime gateway
    ws_heartbeat_seconds: int = 20  # clients ping at this interval
    ws_idle_timeout_seconds: int = 60  # a socket silent this long is closed as dead
    ws_max_message_bytes: int = 64 * 1024
    ws_send_queue: int = 1000  # events buffered for a slow client before it is dropped
    ws_replay_limit: int = 1000  # more missed events than this: resync instead
    ws_handshake_batch: int = 500  # hellos resolved together in one read (a burst), per node
    presence_timeout_seconds: int = 60
    presence_flush_seconds: float = 0.05  # connects/disconnects are written in batches
    event_retention_seconds: int = 24 * 3600
    # Queue and routing
    offer_ring_seconds: int = 20  # an offer rings this long before it counts as missed
    routing_overflow_seconds: list[int] = Field(default_factory=lambda: [30])
    disconnect_grace_seconds: int = 60  # a vanished kiosk may come back this long
    queue_tick_seconds: float = 1.0  # matcher/sweeper timer (they also wake on changes)
    position_min_interval_seconds: float = 1.0  # position pushes at most this often
    position_refresh_seconds: float = 5.0  # and at least this often (changes on other nodes)
    # Callbacks and appointments (queueing/callbacks.py, queueing/appointments.py)
    callback_max_attempts: int = Field(default=3, ge=1, le=20)  # then it is unreachable
    appointment_slot_minutes: int = Field(default=30, ge=5, le=240)  # default per group
    appointment_capacity: int = Field(default=4, ge=1, le=500)  # bookings per slot, default
    appointment_days_ahead: int = Field(default=7, ge=1, le=60)
    appointment_early_minutes: int = 30  # a code is accepted this long before its slot
    appointment_late_minutes: int = 15  # ... and this long after the slot ends (no-show then)
    # Personal data at rest (privacy.py): base64 of 32 bytes; unset = a key generated once
    # into <data_dir>/keys/data.key. Earlier keys still decrypt after a rotation.
    data_key: str | None = Field(default=None, repr=False)
    data_keys_previous: list[str] = Field(default_factory=list, repr=False)
    # Recording for audit (recording/): 全程录音录像
    recording_retention_days: int = Field(default=180, ge=1)  # then the purge job deletes it
    recording_max_chunk_bytes: int = 8 * 1024 * 1024  # one uploaded chunk (~2 s of video)
    recording_max_bytes: int = 4 * 1024 * 1024 * 1024  # one recording, all chunks together
    recording_max_chunks: int = 20_000  # chunk indexes 0 … this-1 (11 h at 2 s per chunk)
    recording_stale_minutes: float = 10  # unfinished and silent this long: flagged incomplete
    recording_job_seconds: float = 60  # how often the sweep and purge jobs run
    recording_grant_seconds: int = 4 * 3600  # a playback link stays valid this long
    recording_ffmpeg: str = "ffmpeg"  # remuxes the assembled file (duration, cues); optional
    # Media (WebRTC calls, docs/operations.md §TURN). No ICE servers: LAN / one machine.
    stun_urls: list[str] = Field(default_factory=list)  # e.g. ["stun:turn.example:3478"]
    turn_urls: list[str] = Field(default_factory=list)  # e.g. ["turn:turn.example:3478"]
    turn_secret: str | None = None  # coturn static-auth-secret (TURN REST API)
    turn_ttl_seconds: int = 6 * 3600  # TURN credentials live this long (a call's length)
    ice_transport_policy: Literal["all", "relay"] = "all"  # relay: only through TURN
    media_backend: Literal["p2p"] = "p2p"  # an SFU backend follows
    media_max_sdp_bytes: int = 16 * 1024  # an offer/answer larger than this is refused
    log_json: bool = True
    log_level: str = "INFO"
    node_name: str = "node-1"
    # Media: site bandwidth budget (media/budget.py) and quality telemetry (media/quality.py)
    media_budget_headroom: float = Field(default=0.8, gt=0, le=1)  # share of a link calls use
    media_audio_kbps: int = 48  # per call and direction (Opus + packet overhead)
    media_video_floor_kbps: int = 300  # below this a call is held rather than admitted
    media_video_ceiling_kbps: int = 1500  # no call gets more, however idle the link
    # Caps: push each call's video cap (media.cap) to both ends; off = plain WebRTC, each
    # sender's own congestion control alone (bench/video_site_link.py arm A).
    media_caps_enabled: bool = True
    # Admission: hold tickets from (and agents at) a saturated site instead of starting a
    # call that would push every call there below the floor.
    media_admission_enabled: bool = True
    media_stats_interval_seconds: float = 2.0  # both ends sample getStats this often
    media_stats_burst: int = 3  # media.stats a connection may send at once before limiting
    media_stats_max_bytes: int = 2048  # one media.stats message, serialised
    media_quality_retention_days: int = 90  # quality samples older than this are purged
    # Case materials (cases/materials.py): uploads streamed and refused past the size limit
    material_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    material_max_pixels: int = Field(default=50_000_000, ge=10_000)  # refused before decoding
    material_max_side: int = Field(default=4096, ge=256)  # longer images are scaled down
    # Cases (cases/): SMS notices to citizens and the public case lookup (办件查询)
    # log: messages written to <data_dir>/sms/outbox.jsonl; http: POSTed to sms_http_url
    # (docs/cases.md §SMS: the provider's contract, retries and idempotency)
    sms_provider: Literal["log", "http"] = "log"
    sms_http_url: str | None = None  # the provider's (or 统一短信平台's) send endpoint
    sms_http_token: str | None = Field(default=None, repr=False)  # sent as a Bearer token
    sms_http_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_max_attempts: int = Field(default=6, ge=1)  # then the message is marked failed
    sms_retry_base_seconds: float = Field(default=30.0, gt=0)  # doubled per attempt, ≤ 1 h
    sms_retry_tick_seconds: float = Field(default=5.0, gt=0)  # the retry job's period
    sms_signature: str = "增城政务"  # the 【…】 signature SMS texts start with
    case_lookup_per_client: int = Field(default=30, ge=1)  # lookups per client address …
    case_lookup_per_number: int = Field(default=5, ge=1)  # … and per case number …
    case_lookup_window_seconds: int = Field(default=600, ge=1)  # … within this window
    # Sealed result documents (trust/, docs/trust.md): the address printed in their QR
    # codes (the public verification page), and the largest PDF accepted for verification
    public_base_url: str = "http://127.0.0.1:8000"
    document_verify_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Identity verification (identity/, docs/identity.md): a face check matches when its
    # score (1 − the distance of the two 128-d face descriptors) is at least this; checks
    # run on this many worker threads (the rest wait), stills larger than this are refused
    face_match_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    face_workers: int = Field(default=1, ge=1, le=16)
    face_image_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Photos of sessions that opened no case are deleted after this many days (the consent
    # text promises it; `cloudwindow identity purge`, run daily)
    face_photo_retention_days: int = Field(default=90, ge=1)
    # Electronic licences (licences/, docs/licences.md): where the agent's fetches go
    # (local: this platform's registry; http: a provincial licence service at this URL
    # with this bearer token), and the token that this platform's own provincial
    # interface (/api/provincial/licences) accepts (None: the interface is off)
    licence_provider: Literal["local", "http"] = "local"
    licence_provider_url: str = ""
    licence_provider_token: str = ""
    licence_provider_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    licence_api_token: str | None = None
