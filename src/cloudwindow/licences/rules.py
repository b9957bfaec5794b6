"""Pure rules of electronic licences (no I/O): the licence types, which case materials
each one satisfies, a licence's validity on a given day, masking. docs/licences.md
§Types and materials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cloudwindow.cases.queries import mask_value


class LicenceStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # computed: its expiry date has passed
    REVOKED = "revoked"  # 注销 / 吊销 by the issuer


class LicenceSource(StrEnum):
    LOCAL = "local"  # this platform's registry (sample data, licences it issued)
    PROVINCIAL = "provincial"  # the provincial licence service (广东省电子证照库)


@dataclass(frozen=True)
class LicenceType:
    """证照类型: a code, its names, and the material names (as the catalogue writes them)
    that a licence of this type satisfies. Only the holder's **own** document: 监护人 /
    受托人 / 父母 / 双方居民身份证 are someone else's and stay with the paper."""

    code: str
    name: str
    name_en: str
    materials: tuple[str, ...]


LICENCE_TYPES: tuple[LicenceType, ...] = (
    LicenceType(
        "ID_CARD", "居民身份证", "Resident identity card",
        ("居民身份证", "申领人居民身份证", "申请人居民身份证", "本人居民身份证"),
    ),
    LicenceType(
        "HOUSEHOLD_REGISTER", "居民户口簿", "Household register",
        ("居民户口簿", "户口簿", "本人居民户口簿"),
    ),
    LicenceType("MARRIAGE", "结婚证", "Marriage certificate", ("结婚证",)),
    LicenceType(
        "SOCIAL_SECURITY_CARD", "社会保障卡", "Social security card",
        ("社会保障卡", "原社会保障卡", "已启用的实体社会保障卡"),
    ),
    LicenceType(
        "BUSINESS_LICENCE", "营业执照", "Business licence",
        ("营业执照", "营业执照正副本", "原营业执照", "原营业执照正副本"),
    ),
    LicenceType("REAL_ESTATE", "不动产权证书", "Real estate title certificate", ("不动产权证书",)),
    LicenceType(
        "DISABILITY", "残疾人证", "Disability certificate",
        ("残疾人证", "第二代残疾人证", "原残疾人证", "第二代中华人民共和国残疾人证"),
    ),
    LicenceType(
        "RESIDENCE_PERMIT", "广州市居住证", "Guangzhou residence permit",
        ("广州市居住证", "居住证", "原居住证"),
    ),
)  # fmt: skip
TYPES_BY_CODE: dict[str, LicenceType] = {t.code: t for t in LICENCE_TYPES}


def licence_type(code: str) -> LicenceType | None:
    return TYPES_BY_CODE.get(code)


def _clean(name: str) -> str:
    return "".join(name.split())


def types_for_material(material_name: str) -> list[str]:
    """The codes of the licence types that satisfy a material of this name (by the
    catalogue's name, spaces ignored; empty: no licence can stand in for it)."""
    wanted = _clean(material_name)
    return [t.code for t in LICENCE_TYPES if wanted in {_clean(m) for m in t.materials}]


def satisfies(type_code: str, material_name: str) -> bool:
    return type_code in types_for_material(material_name)


def status_on(stored: str, valid_until: date | None, today: date) -> LicenceStatus:
    """A licence's status on ``today`` (China-local): revoked stays revoked; a valid one
    past its expiry date is expired (``valid_until`` None: 长期, never expires)."""
    if stored == LicenceStatus.REVOKED:
        return LicenceStatus.REVOKED
    if stored == LicenceStatus.EXPIRED or (valid_until is not None and valid_until < today):
        return LicenceStatus.EXPIRED
    return LicenceStatus.VALID


def mask_number(number: str) -> str:
    """A licence number as screens show it: the first 4 and last 4 characters, like an ID
    number (an ID card's licence number is the ID number itself: 4401**********1234)."""
    return mask_value("id_number", number)


def mask_name(name: str) -> str:
    return mask_value("name", name)
