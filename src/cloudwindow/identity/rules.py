"""Pure rules of identity verification: consent texts and their versions, masks, card
validity. No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cloudwindow.cases.queries import mask_value

Purpose = Literal["face_check", "licence_fetch"]
PURPOSES: tuple[Purpose, ...] = ("face_check", "licence_fetch")
LONG_TERM = "长期"  # a card valid without end (people over 46 when issued)


@dataclass(frozen=True)
class ConsentText:
    """What the kiosk shows before it collects: what, why, how long kept (PIPL art. 14, 17).
    A change of wording is a new ``version``; each answer records the version it answered."""

    purpose: Purpose
    version: str
    title_zh: str
    title_en: str
    points_zh: tuple[str, ...]
    points_en: tuple[str, ...]

    @property
    def sha256(self) -> str:
        body = "\n".join([self.version, self.title_zh, *self.points_zh, *self.points_en])
        return hashlib.sha256(body.encode()).hexdigest()


CONSENT_TEXTS: dict[Purpose, ConsentText] = {
    "face_check": ConsentText(
        purpose="face_check",
        version="face_check-2026-11",
        title_zh="人脸识别核验身份",
        title_en="Identity check by face recognition",
        points_zh=(
            "收集什么：摄像头拍摄您的一张面部照片，与您身份证上的照片比对。",
            "为什么：确认是您本人在办理业务，防止他人冒用您的身份。",
            "保存多久：照片加密保存，随办件归档；没有办件的，90 天后删除。",
            "只用于本次办事，不会用于其他用途，也不会提供给其他单位。",
            "您可以不同意。不同意时，工作人员会用其他方式核验您的身份。",
        ),
        points_en=(
            "What: the camera takes one photo of your face and compares it with the photo "
            "on your ID card.",
            "Why: to confirm that it is you who is applying, so no one can use your identity.",
            "How long: the photo is stored encrypted with your case file; without a case it "
            "is deleted after 90 days.",
            "It is used for this service only and never given to anyone else.",
            "You may say no. The agent will then check your identity another way.",
        ),
    ),
    "licence_fetch": ConsentText(
        purpose="licence_fetch",
        version="licence_fetch-2026-11",
        title_zh="调取您的电子证照",
        title_en="Fetching your electronic licences",
        points_zh=(
            "收集什么：按您的身份证号码，从电子证照库调取您的证照（如户口簿、结婚证）。",
            "为什么：用电子证照代替纸质材料，您不用再提交复印件（免证办）。",
            "保存多久：调取的证照作为申请材料随办件归档保存。",
            "只调取本次办事需要的证照，不用于其他用途。",
            "您可以不同意。不同意时，请提供纸质材料拍照上传。",
        ),
        points_en=(
            "What: your licences (household register, marriage certificate …) are fetched "
            "from the electronic licence registry by your ID number.",
            "Why: electronic licences replace paper copies, so you need not bring them.",
            "How long: the fetched licences are kept with your case file as its materials.",
            "Only the licences this service needs are fetched, for this service only.",
            "You may say no. Then please show the paper documents to the camera.",
        ),
    ),
}


def consent_text(purpose: Purpose) -> ConsentText:
    return CONSENT_TEXTS[purpose]


def mask_name(name: str) -> str:
    return mask_value("name", name)


def mask_id_number(number: str) -> str:
    """440118196108040353 → 4401**********0353 (docs/trust.md §Personal data)."""
    return mask_value("id_number", number)


def is_expired(valid_until: date | None, today: date) -> bool:
    """A card is expired the day after its last valid day; a long-term card never is."""
    return valid_until is not None and valid_until < today
