"""Materials (申请材料) of a case: a still from the kiosk's document camera (高拍仪), or a
file uploaded from the agent's PC — docs/protocol.md §Cases, docs/cases.md §Tables.

The agent asks the kiosk for a capture (``case.material.capture_requested``: the kiosk
shows a framing guide), the kiosk sends a high-resolution still; or the agent uploads a
file. Every file is:

- **received by streaming** into a temporary file, refused as soon as it passes the size
  limit (``material_max_bytes``) — never read whole into memory first;
- **checked by its content**, never by its name or declared type: JPEG, PNG or WebP that
  Pillow decodes completely (a truncated or corrupt image is refused), or a PDF (``%PDF-``
  header and an ``%%EOF`` marker at the end);
- **images re-encoded** as JPEG: orientation applied from EXIF, then every piece of
  metadata dropped (EXIF with its GPS position and camera serial, ICC, comments), large
  ones scaled down to ``material_max_side`` pixels;
- **stored** through the file store (``storage/``), its SHA-256 recorded.

The agent then marks each file accepted or rejected (with a reason); the kiosk sees the
result (``case.material.decided``). Every download of a file is written to the audit
log (``case.material.download``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Literal

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.cases.actions import add_event, lock_case, may_work
from cloudwindow.cases.approvals import department_of, may_see
from cloudwindow.cases.assist import CaseNotEditable, Side, side_of
from cloudwindow.cases.errors import CaseNotFound
from cloudwindow.cases.models import Case, CaseMaterial
from cloudwindow.cases.schemas import MaterialView
from cloudwindow.cases.states import CASE_EDITABLE, MaterialStatus
from cloudwindow.db import utcnow
from cloudwindow.errors import CloudWindowError
from cloudwindow.queueing.models import Ticket
from cloudwindow.realtime.outbox import Outbox, unit_of_work
from cloudwindow.services import Services

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
JPEG_QUALITY = 88
_HEAD = 16
_PDF_TAIL = 1024


class Source(StrEnum):
    CAPTURE = "capture"  # the kiosk's document camera
    UPLOAD = "upload"  # a file from the agent's PC
    LICENCE = "licence"  # an electronic licence (next issue)


# Errors ----------------------------------------------------------------------------------
class MaterialEmpty(CloudWindowError):
    error_id = "material-empty"
    status_code = 422
    message_zh = "上传的文件是空的"
    message_en = "The uploaded file is empty"


class MaterialTooLarge(CloudWindowError):
    error_id = "material-too-large"
    status_code = 413
    message_zh = "文件过大，最大 {limit_mb} MB"
    message_en = "The file is too large (at most {limit_mb} MB)"

    def __init__(self, limit: int) -> None:
        mb = f"{limit / (1024 * 1024):g}"
        super().__init__({"limit_bytes": limit}, limit_mb=mb)


class MaterialTypeUnsupported(CloudWindowError):
    error_id = "material-type-unsupported"
    status_code = 415
    message_zh = "文件内容不是支持的格式（JPEG、PNG、WebP 图片或 PDF 文档）"
    message_en = "The file's content is not a supported format (JPEG, PNG, WebP image or PDF)"


class MaterialImageCorrupt(CloudWindowError):
    error_id = "material-image-corrupt"
    status_code = 422
    message_zh = "图片已损坏或不完整，请重新拍摄或上传"
    message_en = "The image is damaged or incomplete; capture or upload it again"


class MaterialImageTooLarge(CloudWindowError):
    error_id = "material-image-too-large"
    status_code = 422
    message_zh = "图片像素过多（{width}×{height}）"
    message_en = "The image has too many pixels ({width}×{height})"

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(
            {"width": width, "height": height, "limit_pixels": limit}, width=width, height=height
        )


class MaterialPdfInvalid(CloudWindowError):
    error_id = "material-pdf-invalid"
    status_code = 422
    message_zh = "PDF 文件不完整或已损坏"
    message_en = "The PDF file is incomplete or damaged"


class MaterialUnknown(CloudWindowError):
    error_id = "material-unknown"
    status_code = 422
    message_zh = "该办件不需要此材料：{code}"
    message_en = "This case requires no material {code}"

    def __init__(self, code: str) -> None:
        super().__init__({"material_code": code}, code=code)


class MaterialNotFound(CloudWindowError):
    error_id = "material-not-found"
    status_code = 404
    message_zh = "材料不存在"
    message_en = "No such material"


class MaterialReasonRequired(CloudWindowError):
    error_id = "material-reason-required"
    status_code = 422
    message_zh = "不予通过须写明原因"
    message_en = "A rejection needs a reason"


class MaterialFileMissing(CloudWindowError):
    error_id = "material-file-missing"
    status_code = 410
    message_zh = "材料文件已不存在"
    message_en = "The material's file no longer exists"


class CaseNotTakingMaterials(CaseNotEditable):
    """Materials change only while the form may change (draft, returned)."""

    error_id = "case-not-taking-materials"
    message_zh = "办件当前状态（{state}）不能再收取或审核材料"
    message_en = "The case takes no materials in its current state ({state})"


# Pure checks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_side: int


@dataclass(frozen=True)
class Processed:
    """A checked file, ready to store: its bytes (re-encoded for images), type, facts."""

    data: bytes
    content_type: str
    extension: str
    meta: dict[str, Any]


def sniff(head: bytes) -> str | None:
    """The format a file's first bytes announce: jpeg, png, webp, pdf, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def check_pdf(head: bytes, tail: bytes) -> str:
    """The PDF version if the file has a PDF header and ends with ``%%EOF`` (a file cut
    off in transfer does not); else ``material-pdf-invalid``."""
    version = head[5:8]
    if not (head.startswith(b"%PDF-") and len(version) == 3 and version[1:2] == b"."):
        raise MaterialPdfInvalid()
    if not (version[:1].isdigit() and version[2:3].isdigit()) or b"%%EOF" not in tail:
        raise MaterialPdfInvalid()
    return version.decode()


def _flatten(img: Image.Image) -> Image.Image:
    """RGB (or grey) for JPEG: transparency over white, palettes expanded."""
    if img.mode in ("RGB", "L"):
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def reencode_image(raw: IO[bytes] | Path, limits: Limits) -> Processed:
    """Decode the whole image (so a truncated one is caught), apply its EXIF orientation,
    drop all metadata, scale down to ``max_side``, and encode as JPEG."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(raw) as img:
                fmt = img.format or ""
                if fmt not in IMAGE_FORMATS:
                    raise MaterialTypeUnsupported({"detected": fmt.lower()})
                width, height = img.size
                if width * height > limits.max_pixels:
                    raise MaterialImageTooLarge(width, height, limits.max_pixels)
                img.load()
                upright = ImageOps.exif_transpose(img)
                out_img = _flatten(upright)
                if max(out_img.size) > limits.max_side:
                    out_img.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                # No exif=, icc_profile= or comment=, and no info for save() to carry
                # over (Pillow writes a JPEG comment it finds there): no metadata.
                out_img.info = {}
                out_img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MaterialImageTooLarge(0, 0, limits.max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise MaterialImageCorrupt() from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow: "image file is truncated", "broken data stream", bad chunk CRCs …
        raise MaterialImageCorrupt({"reason": str(exc)[:120]}) from exc
    w, h = out_img.size
    meta = {
        "width": w,
        "height": h,
        "original_format": fmt.lower(),
        "original_size": [width, height],
    }
    return Processed(buf.getvalue(), "image/jpeg", "jpg", meta)


def process_file(path: Path, limits: Limits) -> Processed:
    """Check a received file by its content and prepare what is stored (blocking: call
    through ``asyncio.to_thread``)."""
    size = path.stat().st_size
    if size == 0:
        raise MaterialEmpty()
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
        kind = sniff(head)
        if kind is None:
            raise MaterialTypeUnsupported()
        if kind == "pdf":
            fh.seek(max(0, size - _PDF_TAIL))
            version = check_pdf(head, fh.read(_PDF_TAIL))
            return Processed(path.read_bytes(), "application/pdf", "pdf", {"pdf_version": version})
        fh.seek(0)
        return reencode_image(fh, limits)


def framing_guide(name: str) -> dict[str, Any]:
    """What the kiosk overlays on the document camera's picture: the document's shape
    (width / height) and what to put there. ID cards are 85.6 × 54 mm; other documents
    A4 portrait (210 × 297 mm)."""
    # By the last word: 受托人居民身份证 is a card, 社会保障卡补换申请表 is a page.
    if name.strip().endswith(("身份证", "社保卡", "社会保障卡", "银行卡", "驾驶证", "居住证")):
        return {
            "aspect_ratio": round(85.6 / 54, 3),
            "hint_zh": f"请将{name}平放在高拍仪下，对准框线",
            "hint_en": "Lay the card flat under the document camera, inside the frame",
        }
    return {
        "aspect_ratio": round(210 / 297, 3),
        "hint_zh": f"请将{name}平放在高拍仪下，整页对准框线",
        "hint_en": "Lay the page flat under the document camera, the whole page inside the frame",
    }


# Receiving -------------------------------------------------------------------------------
async def receive_to_file(
    chunks: AsyncIterator[bytes], declared_length: str | None, limit: int, folder: Path
) -> Path:
    """Stream a request body into a temporary file under ``folder``; refuse it as soon as
    it passes ``limit`` (or declares more), and refuse an empty one. The caller deletes
    the file."""
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise MaterialTooLarge(limit)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for part in chunks:
                size += len(part)
                if size > limit:
                    raise MaterialTooLarge(limit)
                out.write(part)
        if size == 0:
            raise MaterialEmpty()
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return path


def limits_of(services: Services) -> Limits:
    s = services.settings
    return Limits(s.material_max_bytes, s.material_max_pixels, s.material_max_side)


def upload_folder(services: Services) -> Path:
    return Path(services.settings.data_dir) / "tmp" / "uploads"


# Views -----------------------------------------------------------------------------------
class MaterialOut(MaterialView):
    """A case's material (docs/cases.md ``MaterialView``) with its case and, for images,
    the stored size in pixels."""

    case_id: int
    width: int | None = None
    height: int | None = None


def material_view(row: CaseMaterial) -> MaterialOut:
    meta = row.meta or {}
    return MaterialOut(
        case_id=row.case_id,
        width=meta.get("width"),
        height=meta.get("height"),
        **{name: getattr(row, name) for name in MaterialView.model_fields},
    )


async def get_materials(session: AsyncSession, case_id: int) -> list[MaterialOut]:
    """A case's files, oldest first (several per code when retaken)."""
    rows = await session.scalars(
        select(CaseMaterial).where(CaseMaterial.case_id == case_id).order_by(CaseMaterial.id)
    )
    return [material_view(r) for r in rows]


# Who may act -----------------------------------------------------------------------------
async def _locked_case(session: AsyncSession, case_id: int) -> Case:
    case = await lock_case(session, case_id)
    if case is None:
        raise CaseNotFound({"case_id": case_id})
    return case


async def session_side(session: AsyncSession, who: Principal, case: Case) -> Side:
    """The caller's side in the case's session (``case-not-found`` for outsiders,
    ``case-not-in-session`` once the session is over)."""
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    return side_of(
        who.kind,
        who.id,
        who.ident,
        case_agent_id=case.agent_id,
        ticket_state=ticket.state if ticket else None,
        ticket_agent_id=ticket.agent_id if ticket else None,
        ticket_owner=ticket.owner if ticket else None,
    )


def recipients(case: Case, ticket: Ticket | None) -> list[str]:
    """Who hears about the case's materials: its agent and its session's kiosk."""
    keys = [f"user:{ticket.agent_id}" if ticket and ticket.agent_id else f"user:{case.agent_id}"]
    if ticket is not None:
        keys.append(ticket.owner)
    return keys


def required_material(case: Case, code: str) -> Mapping[str, Any]:
    for item in case.required_materials or []:
        if item.get("code") == code:
            return item
    raise MaterialUnknown(code)


def _check_editable(case: Case) -> None:
    if case.state not in CASE_EDITABLE:
        raise CaseNotTakingMaterials(case.state)


# Actions ---------------------------------------------------------------------------------
async def do_request_capture(
    services: Services, who: Principal, case_id: int, material_code: str
) -> dict[str, Any]:
    """The agent asks the kiosk of the session for a document-camera capture of one
    required material: the kiosk shows the framing guide (durable event, replayed to a
    kiosk that reconnects)."""
    async with unit_of_work(services) as (session, out):
        case = await _locked_case(session, case_id)
        side = await session_side(session, who, case)
        if side != Side.AGENT:
            raise CaseNotFound({"case_id": case_id})
        _check_editable(case)
        item = required_material(case, material_code)
        ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
        assert ticket is not None  # side_of needs an in-session ticket
        data = {
            "case_id": case.id,
            "material_code": material_code,
            "name": str(item.get("name", "")),
            "guide": framing_guide(str(item.get("name", ""))),
            "requested_by": who.ident,
        }
        out.emit(ticket.owner, "case.material.capture_requested", data)
        return data


async def check_can_add(services: Services, who: Principal, case_id: int, code: str) -> None:
    """Before receiving a file: is this caller in the case's session, is the case taking
    materials, is the code one of its materials? (Checked again when the file is stored.)"""
    async with services.db.read() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseNotFound({"case_id": case_id})
        await session_side(session, who, case)
        _check_editable(case)
        required_material(case, code)


async def do_add_material(
    services: Services, who: Principal, case_id: int, code: str, source: Source, path: Path,
    original_name: str = "",
) -> MaterialOut:  # fmt: skip
    """Check the received file by its content, store it (re-encoded if an image) and
    record it as a pending material of the case; the agent and the kiosk are told."""
    processed = await asyncio.to_thread(process_file, path, limits_of(services))
    digest = hashlib.sha256(processed.data).hexdigest()
    key = f"materials/{case_id}/{uuid.uuid4().hex}.{processed.extension}"
    await asyncio.to_thread(services.files.write, key, processed.data)
    try:
        async with unit_of_work(services) as (session, out):
            case = await _locked_case(session, case_id)
            side = await session_side(session, who, case)
            _check_editable(case)
            item = required_material(case, code)
            row = CaseMaterial(
                case_id=case.id,
                material_code=code,
                name=str(item.get("name", code))[:200],
                source=source.value,
                storage_key=key,
                original_name=original_name[:200],
                content_type=processed.content_type,
                size=len(processed.data),
                sha256=digest,
                meta=processed.meta,
                status=MaterialStatus.PENDING.value,
                added_by=who.ident,
            )
            session.add(row)
            await session.flush()
            view = material_view(row)
            ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
            _emit(out, case, ticket, "case.material.added", view)
            record(
                session,
                who,
                "case.material.add",
                "case_material",
                row.id,
                {"case_id": case.id, "material_code": code, "side": side.value},
            )
            return view
    except BaseException:
        _remove(services, key)
        raise


def _remove(services: Services, key: str) -> None:
    """Delete a stored file whose row was never written (nothing half-written)."""
    with contextlib.suppress(OSError, ValueError):
        (Path(services.files.root) / key).resolve().unlink(missing_ok=True)


def _emit(out: Outbox, case: Case, ticket: Ticket | None, type_: str, view: MaterialOut) -> None:
    data = {"case_id": case.id, "material": view.model_dump(mode="json")}
    for key in recipients(case, ticket):
        out.emit(key, type_, data)


async def do_decide_material(
    services: Services, who: Principal, case_id: int, material_id: int, status: str, reason: str
) -> MaterialOut:
    """The agent accepts a material, or rejects it with a reason. Deciding again while the
    case still takes materials replaces the decision (the history keeps both)."""
    target = MaterialStatus(status)
    reason = reason.strip()
    if target == MaterialStatus.REJECTED and not reason:
        raise MaterialReasonRequired()
    async with unit_of_work(services) as (session, out):
        case = await _locked_case(session, case_id)
        if await session_side(session, who, case) != Side.AGENT:
            raise CaseNotFound({"case_id": case_id})
        _check_editable(case)
        row = await session.get(CaseMaterial, material_id)
        if row is None or row.case_id != case.id:
            raise MaterialNotFound({"material_id": material_id})
        now = utcnow()
        row.status = target.value
        row.reason = reason[:500] if target == MaterialStatus.REJECTED else ""
        row.decided_by = who.id
        row.decided_at = now
        add_event(
            session,
            case,
            "material",
            who,
            row.reason,
            {"material_id": row.id, "material_code": row.material_code, "name": row.name,
             "status": row.status},
        )  # fmt: skip
        await session.flush()
        view = material_view(row)
        ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
        _emit(out, case, ticket, "case.material.decided", view)
        return view


Audience = Literal["desk", "approver", "reader"]


async def _may_read(
    session: AsyncSession, who: Principal, case: Case, audience: Audience, department: str
) -> bool:
    if audience == "reader":
        return True  # case.read: supervisors, administrators, auditors
    if audience == "approver":
        return await may_see(session, case.id, department)
    ticket = await session.get(Ticket, case.ticket_id) if case.ticket_id else None
    return may_work(who, case, ticket)  # desk: the case's working agent


async def do_open_material(
    services: Services, who: Principal, case_id: int, material_id: int, audience: Audience
) -> tuple[Path, MaterialOut]:
    """The file of a material for one who may read the case, written to the audit log in
    the same transaction (no audit, no file)."""
    department = await department_of(services, who) if audience == "approver" else ""
    async with services.db.transaction() as session:
        case = await session.get(Case, case_id)
        if case is None or not await _may_read(session, who, case, audience, department):
            raise CaseNotFound({"case_id": case_id})
        row = await session.get(CaseMaterial, material_id)
        if row is None or row.case_id != case.id:
            raise MaterialNotFound({"material_id": material_id})
        path = Path(services.files.root) / row.storage_key
        if not row.storage_key or not path.is_file():
            raise MaterialFileMissing({"material_id": material_id})
        record(
            session,
            who,
            "case.material.download",
            "case_material",
            row.id,
            {"case_id": case.id, "number": case.number, "material_code": row.material_code,
             "audience": audience, "sha256": row.sha256},
        )  # fmt: skip
        return path, material_view(row)
