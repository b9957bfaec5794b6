"""Simulated peripherals of the reference bridge (docs/bridge.md §Reference bridge).

- ID-card reader: the card "on the reader" is one of the sample people (``--card`` or
  ``simulator.insert_card``); reading takes ``read_delay`` seconds.
- Signature pad: strokes come from pointer input (the kiosk page forwards what the
  citizen draws with ``signature_pad.feed``); the result is a PNG.
- Receipt printer: a narrow (80 mm) PDF of the slip's lines in the output folder.
- A4 printer: the PDF exactly as sent (a sealed PDF stays byte-identical and still
  validates).
- Health: each device ``ok`` / ``out_of_paper`` / ``error`` / ``absent``, set by
  ``simulator.set_health`` or by the control file.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import itertools
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cloudwindow.bridge.cards import Card, card, chip_data, sample_cards
from cloudwindow.bridge.protocol import PERIPHERALS, BridgeError, Code, Device, Health, health

Progress = Callable[[str], Awaitable[None]]
HealthListener = Callable[[dict[str, Any]], Awaitable[None]]
PAD_WIDTH, PAD_HEIGHT = 800, 300
MAX_STROKES, MAX_POINTS = 200, 20_000
RECEIPT_WIDTH_MM = 80
_PAGE = re.compile(rb"/Type\s*/Page(?!s)")


def _today() -> date:
    return datetime.now(UTC).astimezone().date()


@dataclass
class Signature:
    """The pad while capturing: strokes so far, and whether the citizen finished."""

    strokes: list[list[tuple[float, float]]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def points(self) -> int:
        return sum(len(s) for s in self.strokes)


class Simulation:
    """The simulated devices' state. One per bridge process."""

    def __init__(
        self,
        out_dir: Path,
        card_key: str | None = None,
        read_delay: float = 0.8,
        print_delay: float = 0.3,
        control_file: Path | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.read_delay = read_delay
        self.print_delay = print_delay
        self.control_file = control_file
        self.health: dict[Device, Health] = dict.fromkeys(PERIPHERALS, Health.OK)
        self.card: Card | None = None
        self.card_unreadable = False
        self.card_changed = asyncio.Event()
        self.signature: Signature | None = None
        self.listeners: list[HealthListener] = []
        self._jobs = itertools.count(1)
        self._control_mtime: float | None = None
        if card_key:
            self.insert_card(card_key)

    # Health -----------------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        return [health(d, s) for d, s in self.health.items()]

    async def set_health(self, device: Device, status: Health) -> None:
        if device not in self.health:
            raise BridgeError(Code.UNKNOWN_DEVICE, {"device": device.value})
        if self.health[device] == status:
            return
        self.health[device] = status
        for listener in list(self.listeners):
            await listener(health(device, status))

    def _usable(self, device: Device) -> None:
        status = self.health[device]
        if status == Health.ABSENT:
            raise BridgeError(Code.DEVICE_ABSENT, {"device": device.value})
        if status == Health.ERROR:
            raise BridgeError(Code.DEVICE_ERROR, {"device": device.value})
        if status == Health.OUT_OF_PAPER:
            raise BridgeError(Code.OUT_OF_PAPER, {"device": device.value})

    async def poll_control(self) -> None:
        """Apply the control file if it changed: ``{"health": {"receipt_printer":
        "out_of_paper"}, "card": "chen" | null}`` (docs/bridge.md §Control file)."""
        path = self.control_file
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == self._control_mtime:
            return
        self._control_mtime = mtime
        try:
            wanted = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # half-written: the next poll reads it whole
        for name, status in (wanted.get("health") or {}).items():
            try:
                await self.set_health(Device(name), Health(status))
            except (ValueError, BridgeError):
                continue
        if "card" in wanted:
            if wanted["card"]:
                self.insert_card(str(wanted["card"]))
            else:
                self.remove_card()

    # ID card reader ---------------------------------------------------------------------
    def insert_card(self, key: str, unreadable: bool = False) -> Card:
        found = card(key)
        if found is None:
            known = [c.key for c in sample_cards()]
            raise BridgeError(Code.BAD_PARAMS, {"field": "key", "known": known})
        self.card, self.card_unreadable = found, unreadable
        self.card_changed.set()
        return found

    def remove_card(self) -> None:
        self.card = None
        self.card_changed.set()

    async def read_card(self, progress: Progress) -> dict[str, Any]:
        self._usable(Device.ID_READER)
        while self.card is None:
            await progress("waiting_for_card")
            self.card_changed.clear()
            await self.card_changed.wait()
            self._usable(Device.ID_READER)
        await progress("reading")
        held = self.card
        await asyncio.sleep(self.read_delay)
        self._usable(Device.ID_READER)
        if self.card is not held or self.card_unreadable:
            raise BridgeError(Code.CARD_UNREADABLE)
        return chip_data(held, _today())

    # Signature pad ----------------------------------------------------------------------
    async def capture_signature(self, progress: Progress) -> dict[str, Any]:
        self._usable(Device.SIGNATURE_PAD)
        self.signature = Signature()
        try:
            await progress("waiting_for_signature")
            await self.signature.done.wait()
            if not self.signature.points():
                raise BridgeError(Code.SIGNATURE_EMPTY)
            png = await asyncio.to_thread(render_signature, self.signature.strokes)
            return {
                "png": base64.b64encode(png).decode("ascii"),
                "width": PAD_WIDTH,
                "height": PAD_HEIGHT,
                "strokes": len(self.signature.strokes),
            }
        finally:
            self.signature = None

    def feed_signature(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.signature is None:
            raise BridgeError(Code.NOT_CAPTURING)
        strokes = params.get("strokes", [])
        if not isinstance(strokes, list):
            raise BridgeError(Code.BAD_PARAMS, {"field": "strokes"})
        for stroke in strokes:
            if not isinstance(stroke, list) or not all(_point(p) for p in stroke):
                raise BridgeError(Code.BAD_PARAMS, {"field": "strokes"})
        sig = self.signature
        if len(sig.strokes) + len(strokes) > MAX_STROKES:
            raise BridgeError(Code.BAD_PARAMS, {"field": "strokes", "max_strokes": MAX_STROKES})
        if sig.points() + sum(len(s) for s in strokes) > MAX_POINTS:
            raise BridgeError(Code.BAD_PARAMS, {"field": "strokes", "max_points": MAX_POINTS})
        sig.strokes.extend([[(float(x), float(y)) for x, y in s] for s in strokes if s])
        if params.get("done") is True:
            sig.done.set()
        return {"strokes": len(sig.strokes), "points": sig.points()}

    def clear_signature(self) -> dict[str, Any]:
        if self.signature is None:
            raise BridgeError(Code.NOT_CAPTURING)
        self.signature.strokes.clear()
        return {"strokes": 0, "points": 0}

    # Printers ---------------------------------------------------------------------------
    def _job_path(self, prefix: str) -> tuple[str, Path]:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        job = f"{prefix}-{stamp}-{os.getpid()}-{next(self._jobs):04d}"
        return job, self.out_dir / f"{job}.pdf"

    async def _write(self, path: Path, data: bytes) -> None:
        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # whole or not at all

        await asyncio.to_thread(write)

    async def print_a4(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        pdf = _pdf_param(params)
        self._usable(Device.A4_PRINTER)
        await progress("printing")
        await asyncio.sleep(self.print_delay)
        self._usable(Device.A4_PRINTER)
        job, path = self._job_path("a4")
        await self._write(path, pdf)
        return {
            "job_id": job,
            "file": path.name,
            "bytes": len(pdf),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "pages": await asyncio.to_thread(page_count, pdf),
        }

    async def print_receipt(self, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        title, lines, qr = _slip_params(params)
        self._usable(Device.RECEIPT_PRINTER)
        await progress("printing")
        pdf = await asyncio.to_thread(render_slip, title, lines, qr)
        await asyncio.sleep(self.print_delay)
        self._usable(Device.RECEIPT_PRINTER)
        job, path = self._job_path("receipt")
        await self._write(path, pdf)
        return {"job_id": job, "file": path.name, "bytes": len(pdf), "lines": len(lines)}

    def wipe(self) -> list[str]:
        """Forget everything personal the bridge holds: a signature being drawn. (A card
        read is never kept after its result is sent.)"""
        wiped = []
        if self.signature is not None:
            self.signature.strokes.clear()
            wiped.append(Device.SIGNATURE_PAD.value)
        return wiped


def page_count(pdf: bytes) -> int:
    """Pages of the document (its page tree's /Count; incremental updates, as a seal
    adds, rewrite page objects, so counting them would overcount)."""
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
    except Exception:  # a printer prints what it can; the count is only informative
        return max(1, len(set(_PAGE.findall(pdf))))


def _point(p: Any) -> bool:
    return (
        isinstance(p, list | tuple)
        and len(p) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        and 0 <= p[0] <= PAD_WIDTH
        and 0 <= p[1] <= PAD_HEIGHT
    )


def _pdf_param(params: dict[str, Any]) -> bytes:
    raw = params.get("pdf")
    if not isinstance(raw, str):
        raise BridgeError(Code.BAD_PARAMS, {"field": "pdf"})
    try:
        pdf = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BridgeError(Code.PRINT_DATA_INVALID, {"reason": "not base64"}) from exc
    if not pdf.startswith(b"%PDF-") or b"%%EOF" not in pdf[-1024:]:
        raise BridgeError(Code.PRINT_DATA_INVALID, {"reason": "not a whole PDF"})
    want = params.get("sha256")
    if want is not None and want != hashlib.sha256(pdf).hexdigest():
        raise BridgeError(Code.PRINT_DATA_INVALID, {"reason": "sha256 differs"})
    return pdf


def _slip_params(params: dict[str, Any]) -> tuple[str, list[str], str]:
    title, lines, qr = params.get("title", ""), params.get("lines"), params.get("qr", "")
    if not isinstance(title, str) or len(title) > 40:
        raise BridgeError(Code.BAD_PARAMS, {"field": "title"})
    if (
        not isinstance(lines, list)
        or not 1 <= len(lines) <= 60
        or not all(isinstance(x, str) and len(x) <= 200 for x in lines)
    ):
        raise BridgeError(Code.BAD_PARAMS, {"field": "lines"})
    if not isinstance(qr, str) or len(qr) > 500:
        raise BridgeError(Code.BAD_PARAMS, {"field": "qr"})
    return title, lines, qr


def render_signature(strokes: list[list[tuple[float, float]]]) -> bytes:
    """The strokes as a black-on-white PNG the size of the pad."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (PAD_WIDTH, PAD_HEIGHT), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        if len(stroke) == 1:
            x, y = stroke[0]
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=0)
        else:
            draw.line(stroke, fill=0, width=4, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _wrap(text: str, width: float, size: float, font: str) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    out, line = [], ""
    for ch in text:
        if stringWidth(line + ch, font, size) > width:
            out.append(line)
            line = ch
        else:
            line += ch
    return [*out, line]


def render_slip(title: str, lines: list[str], qr: str) -> bytes:
    """An 80 mm receipt slip (凭条): title, wrapped lines, an optional QR code."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from cloudwindow.trust.render import FONT, draw_qr, register_font

    register_font()
    width, margin, size, lead = RECEIPT_WIDTH_MM * mm, 4 * mm, 9.0, 12.0
    body: list[str] = []
    for line in lines:
        body.extend(_wrap(line, width - 2 * margin, size, FONT))
    qr_size = 34 * mm if qr else 0
    height = 16 * mm + len(body) * lead + (qr_size + 6 * mm if qr else 0) + 10 * mm
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), pageCompression=1)
    c.setTitle(title or "receipt")
    y = height - 12 * mm
    c.setFont(FONT, 13)
    c.drawCentredString(width / 2, y, title)
    y -= 8 * mm
    c.setFont(FONT, size)
    for line in body:
        c.drawString(margin, y, line)
        y -= lead
    if qr:
        draw_qr(c, (width - qr_size) / 2, y - qr_size - 2 * mm, qr_size, qr)
    c.showPage()
    c.save()
    return buf.getvalue()
