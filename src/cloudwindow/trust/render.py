"""PDF rendering of result documents (受理回执, 办结通知书, 不予许可决定书) with ReportLab:
an embedded CJK TrueType font, the layout of a Chinese government document, a red
round seal drawn as vector graphics and a QR code to the public verification page; the
applicant's signature image (申请人签名) on the receipt when the case has one.

Pure: data in, bytes out, no database (docs/trust.md §Documents). The seal drawn here
is only the visible mark; what makes the document genuine is the PAdES signature that
``trust.sign`` adds afterwards.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from cloudwindow.trust.errors import FontMissing

# TrueType-outline CJK fonts from Debian packages (ReportLab embeds TrueType, not CFF:
# Noto CJK, being CFF, cannot be used). First found wins; subfont index for collections.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # fonts-droid-fallback
)
FONT = "CloudWindowCJK"
SEAL_RED = (0.85, 0.05, 0.05)
_DIGITS = "〇一二三四五六七八九"
_NO_LINE_START = "，。、；：）》」”"


@dataclass
class DocumentContent:
    """What a result document says; ``rows`` are the label/value table."""

    title: str
    doc_number: str  # 增政务受〔2026〕CW20261127-000042号
    addressee: str  # 张*：
    paragraphs: list[str]
    rows: list[tuple[str, str]]
    department_name: str
    issued_on: date  # China-local date
    verify_url: str
    document_id: str
    check_code: str
    notes: list[str] = field(default_factory=list)
    # PNG of the applicant's signature (checked when attached: cases/signature.py)
    signature_png: bytes | None = None
    signature_label: str = "申请人签名"


@lru_cache(maxsize=1)
def register_font() -> str:
    """Register the first available CJK TrueType font with ReportLab (once)."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=index))
            return path
    raise FontMissing()


def chinese_date(day: date) -> str:
    """2026-11-27 → 二〇二六年十一月二十七日 (the way official documents date themselves)."""

    def small(n: int) -> str:
        if n < 10:
            return _DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")

    year = "".join(_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{small(day.month)}月{small(day.day)}日"


_CLOSING = "，。、；：）》」”"


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` at any character (CJK text has
    no spaces), keeping closing punctuation off the start of a line: one mark may hang
    past the margin; a second one pushes the last character down with both marks."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line = ""
            continue
        trial = line + ch
        if not line or pdfmetrics.stringWidth(trial, FONT, size) <= width:
            line = trial
        elif ch not in _CLOSING:
            lines.append(line)
            line = ch
        elif pdfmetrics.stringWidth(line, FONT, size) > width:
            # already hanging one mark: carry the last character and its marks down
            base = len(line.rstrip(_CLOSING)) - 1
            if base > 0:
                lines.append(line[:base])
                line = line[base:] + ch
            else:
                line = trial
        else:
            line = trial  # hangs past the margin
    if line:
        lines.append(line)
    return lines


def _bold(c: Canvas, x: float, y: float, text: str, size: float, centre: bool = False) -> None:
    """Fill + stroke: a bold face from a font that has only a regular one."""
    width = pdfmetrics.stringWidth(text, FONT, size)
    t = c.beginText()
    t.setFont(FONT, size)
    t.setTextRenderMode(2)
    t.setTextOrigin(x - width / 2 if centre else x, y)
    t.textOut(text)
    t.setTextRenderMode(0)  # the mode outlives the text object: back to plain fill
    c.setLineWidth(size / 30)
    c.drawText(t)


def draw_star(c: Canvas, cx: float, cy: float, r: float) -> None:
    path = c.beginPath()
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.382
        angle = math.pi / 2 + i * math.pi / 5
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def draw_seal(c: Canvas, cx: float, cy: float, r: float, name: str, label: str) -> None:
    """A red round seal: double ring, the department name around the upper arc, a
    five-pointed star in the middle, ``label`` (电子印章) below the star."""
    c.saveState()
    c.setStrokeColorRGB(*SEAL_RED)
    c.setFillColorRGB(*SEAL_RED)
    c.setFillAlpha(0.9)
    c.setStrokeAlpha(0.9)
    c.setLineWidth(r * 0.06)
    c.circle(cx, cy, r, stroke=1, fill=0)
    c.setLineWidth(r * 0.015)
    c.circle(cx, cy, r * 0.9, stroke=1, fill=0)
    draw_star(c, cx, cy, r * 0.3)
    # Name around the arc: characters upright towards the centre, from lower left over
    # the top to lower right (about 240 degrees), like a real official seal.
    n = max(len(name), 1)
    size = min(r * 0.28, (r * 0.72 * math.radians(240)) / n * 0.92)
    span = min(math.radians(240), (size * 1.08 * n) / (r * 0.72))
    start = math.pi / 2 + span / 2
    for i, ch in enumerate(name):
        angle = start - (span * (i + 0.5) / n)
        x = cx + r * 0.72 * math.cos(angle)
        y = cy + r * 0.72 * math.sin(angle)
        c.saveState()
        c.translate(x, y)
        c.rotate(math.degrees(angle) - 90)
        c.setFont(FONT, size)
        c.drawCentredString(0, -size * 0.35, ch)
        c.restoreState()
    label_size = r * 0.17
    c.setFont(FONT, label_size)
    c.drawCentredString(cx, cy - r * 0.55, label)
    c.restoreState()


def draw_qr(c: Canvas, x: float, y: float, size: float, value: str) -> None:
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    w, h = x1 - x0, y1 - y0
    drawing = Drawing(size, size, transform=[size / w, 0, 0, size / h, 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


SIGNATURE_ROW_H: float = 24 * mm


def draw_signature_row(
    c: Canvas, content: DocumentContent, left: float, y: float, label_w: float, width: float
) -> float:
    """One more row of the facts table: the label, and the signature image fitted into
    the value cell (aspect kept, transparency kept). Returns the new ``y``."""
    assert content.signature_png is not None
    h = SIGNATURE_ROW_H
    c.setFillColorRGB(0.95, 0.95, 0.95)
    c.rect(left, y - h, label_w, h, stroke=1, fill=1)
    c.rect(left + label_w, y - h, width - label_w, h, stroke=1, fill=0)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT, 11.5)
    c.drawCentredString(left + label_w / 2, y - h / 2 - 4, content.signature_label)
    image = ImageReader(io.BytesIO(content.signature_png))
    iw, ih = image.getSize()
    box_w, box_h = min(width - label_w - 6 * mm, 80 * mm), h - 4 * mm
    scale = min(box_w / iw, box_h / ih)
    w, ih_scaled = iw * scale, ih * scale
    c.drawImage(
        image,
        left + label_w + 3 * mm,
        y - h + (h - ih_scaled) / 2,
        width=w,
        height=ih_scaled,
        mask="auto",
    )
    return y - h


def render_document(content: DocumentContent) -> bytes:
    """One A4 page: title, document number, red rule, addressee and body, a table of
    the case's facts, notes, department and date with the seal over them, and the
    verification QR code with its check code."""
    register_font()
    buf = io.BytesIO()
    page_w, page_h = A4
    c = Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=FONT, initialFontSize=12)
    c.setTitle(content.title)
    c.setAuthor(content.department_name)
    c.setSubject(f"{content.title} {content.doc_number}")
    c.setCreator("CloudWindow 云窗口")
    c.setKeywords(f"cloudwindow-document:{content.document_id}")
    left, right = 25 * mm, page_w - 25 * mm
    width = right - left

    y = page_h - 30 * mm
    c.setFillColorRGB(*SEAL_RED)
    _bold(c, page_w / 2, y, content.title, 24, centre=True)
    c.setFillColorRGB(0, 0, 0)
    y -= 11 * mm
    c.setFont(FONT, 11)
    c.drawCentredString(page_w / 2, y, content.doc_number)
    y -= 4 * mm
    c.setStrokeColorRGB(*SEAL_RED)
    c.setLineWidth(1.6)
    c.line(left, y, right, y)
    c.setLineWidth(0.5)
    c.line(left, y - 2, right, y - 2)

    y -= 12 * mm
    body = 13.0
    lead = body * 1.75
    c.setFont(FONT, body)
    c.drawString(left, y, content.addressee)
    for para in content.paragraphs:
        for i, line in enumerate(wrap(para, body, width - (2 * body))):
            y -= lead
            c.drawString(left + (2 * body if i == 0 else 0), y, line)

    # Facts table: label column shaded, thin black grid.
    y -= 8 * mm
    row_h = 9 * mm
    label_w = 34 * mm
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(0.6)
    for label, value in content.rows:
        lines = wrap(value, 11.5, width - label_w - 6 * mm) or [""]
        h = max(row_h, (len(lines) * 6.2 + 2.8) * mm)
        c.setFillColorRGB(0.95, 0.95, 0.95)
        c.rect(left, y - h, label_w, h, stroke=1, fill=1)
        c.rect(left + label_w, y - h, width - label_w, h, stroke=1, fill=0)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(FONT, 11.5)
        c.drawCentredString(left + label_w / 2, y - h / 2 - 4, label)
        for i, line in enumerate(lines):
            c.drawString(left + label_w + 3 * mm, y - (6 + 6.2 * i) * mm, line)
        y -= h
    if content.signature_png:
        y = draw_signature_row(c, content, left, y, label_w, width)

    if content.notes:
        y -= 6 * mm
        c.setFont(FONT, 10.5)
        for note in content.notes:
            for i, line in enumerate(wrap(note, 10.5, width - 10.5)):
                y -= 10.5 * 1.7
                c.drawString(left + (0 if i == 0 else 10.5), y, line)

    # Signature block: department and date at the lower right, the seal over them.
    sig_y = max(min(y - 22 * mm, 95 * mm), 70 * mm)
    c.setFont(FONT, body)
    dept_w = pdfmetrics.stringWidth(content.department_name, FONT, body)
    date_text = chinese_date(content.issued_on)
    date_w = pdfmetrics.stringWidth(date_text, FONT, body)
    block_w = max(dept_w, date_w)
    block_x = right - block_w - 6 * mm
    c.drawCentredString(block_x + block_w / 2, sig_y, content.department_name)
    c.drawCentredString(block_x + block_w / 2, sig_y - lead, date_text)
    draw_seal(
        c, block_x + block_w / 2, sig_y - lead / 2, 21 * mm, content.department_name, "电子印章"
    )

    # Verification: QR code at the lower left with the check code beside it.
    qr = 30 * mm
    qr_y = 22 * mm
    draw_qr(c, left - 2 * mm, qr_y, qr, content.verify_url)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(FONT, 9.5)
    tx = left + qr + 2 * mm
    c.drawString(tx, qr_y + qr - 8 * mm, "扫描二维码核验本文书真伪 / Scan to verify")
    c.drawString(tx, qr_y + qr - 14 * mm, f"校验码 Check code：{content.check_code}")
    c.drawString(tx, qr_y + qr - 20 * mm, f"文书编号 Document：{content.document_id}")
    c.setFont(FONT, 8)
    c.drawString(
        tx,
        qr_y + qr - 26 * mm,
        "本文书已加盖电子印章（PAdES 数字签名），与纸质盖章文书具有同等效力。",
    )
    c.showPage()
    c.save()
    return buf.getvalue()
