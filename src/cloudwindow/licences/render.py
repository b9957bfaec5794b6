"""The PDF of a sample licence (样例电子证照): one card-shaped page with the type, the
holder (masked), the number (masked), the issuer's red seal mark, the dates. Licences
this platform issues from a case carry the case's sealed 办结通知书 instead
(trust/documents.py); this is for the demo and test registry only, and says so.

Pure: data in, bytes out. Uses the trust renderer's embedded CJK font and seal drawing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from cloudwindow.trust.render import FONT, SEAL_RED, chinese_date, draw_seal, register_font

PAGE = (160 * mm, 101 * mm)  # an ID card's proportions (85.6 × 54), printable size


@dataclass(frozen=True)
class LicenceCard:
    type_name: str
    holder_name_masked: str
    holder_id_masked: str
    number_masked: str
    issuer: str
    issued_on: date
    valid_until: date | None
    licence_id: str


def render_licence(card: LicenceCard, note: str = "样例数据，仅供演示") -> bytes:
    register_font()
    buf = io.BytesIO()
    width, height = PAGE
    c = Canvas(buf, pagesize=PAGE, pageCompression=1, initialFontName=FONT)
    c.setTitle(f"电子证照 {card.type_name}")
    c.setAuthor(card.issuer)
    c.setCreator("CloudWindow 云窗口")
    c.setKeywords(f"cloudwindow-licence:{card.licence_id}")
    c.setStrokeColorRGB(0.75, 0.6, 0.3)
    c.setLineWidth(2)
    c.roundRect(5 * mm, 5 * mm, width - 10 * mm, height - 10 * mm, 4 * mm)
    c.setFillColorRGB(*SEAL_RED)
    c.setFont(FONT, 18)
    c.drawCentredString(width / 2, height - 20 * mm, card.type_name)
    c.setFont(FONT, 9)
    c.setFillColorRGB(0.4, 0.4, 0.4)
    c.drawCentredString(width / 2, height - 26 * mm, "电子证照 Electronic licence")
    c.setFillColorRGB(0, 0, 0)
    rows = [
        ("持证人", card.holder_name_masked),
        ("公民身份号码", card.holder_id_masked),
        ("证照编号", card.number_masked),
        ("发证机关", card.issuer),
        ("签发日期", chinese_date(card.issued_on)),
        ("有效期至", chinese_date(card.valid_until) if card.valid_until else "长期"),
    ]
    y = height - 38 * mm
    for label, value in rows:
        c.setFont(FONT, 10)
        c.drawString(14 * mm, y, label)
        c.setFont(FONT, 11)
        c.drawString(44 * mm, y, value)
        y -= 8 * mm
    draw_seal(c, width - 32 * mm, 30 * mm, 16 * mm, card.issuer, "电子证照")
    c.setFont(FONT, 7)
    c.setFillColorRGB(0.5, 0.5, 0.5)
    c.drawString(14 * mm, 9 * mm, f"{note}  ·  {card.licence_id}")
    c.showPage()
    c.save()
    return buf.getvalue()
