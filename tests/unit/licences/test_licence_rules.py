"""Which licence types satisfy which case materials, validity on a day, masking
(licences/rules.py; the table is in docs/licences.md)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from cloudwindow.licences.rules import (
    LICENCE_TYPES,
    LicenceStatus,
    mask_number,
    satisfies,
    status_on,
    types_for_material,
)
from cloudwindow.sample.load import SAMPLE


@pytest.mark.parametrize(
    ("material", "types"),
    [
        ("居民身份证", ["ID_CARD"]),
        ("申请人居民身份证", ["ID_CARD"]),
        (" 居民 身份证 ", ["ID_CARD"]),  # spaces ignored
        ("居民户口簿", ["HOUSEHOLD_REGISTER"]),
        ("营业执照正副本", ["BUSINESS_LICENCE"]),
        ("第二代残疾人证", ["DISABILITY"]),
        ("原社会保障卡", ["SOCIAL_SECURITY_CARD"]),
        ("不动产权证书", ["REAL_ESTATE"]),
        ("结婚证", ["MARRIAGE"]),
        ("广州市居住证", ["RESIDENCE_PERMIT"]),
        # someone else's document, or a form: no licence stands in for it
        ("监护人居民身份证", []),
        ("受托人居民身份证", []),
        ("双方居民身份证", []),
        ("社会保障卡申领登记表", []),
        ("授权委托书", []),
    ],
)
def test_material_names_map_to_types(material: str, types: list[str]) -> None:
    assert types_for_material(material) == types
    for code in types:
        assert satisfies(code, material)
    assert not satisfies("MARRIAGE", "居民身份证")


def test_every_type_covers_a_material_of_the_sample_catalogue() -> None:
    """The mapping is written against the catalogue's own names: each type satisfies
    materials that real items ask for."""
    items = json.loads(SAMPLE.read_text(encoding="utf-8"))["service_items"]
    asked = Counter(m["name"] for item in items for m in item["materials"])
    for kind in LICENCE_TYPES:
        assert sum(asked[name] for name in kind.materials) > 0, kind.code
    assert asked["居民身份证"] > 100  # the most common material by far


@pytest.mark.parametrize(
    ("stored", "until", "expected"),
    [
        ("valid", date(2030, 1, 1), LicenceStatus.VALID),
        ("valid", date(2026, 11, 27), LicenceStatus.VALID),  # valid through its last day
        ("valid", date(2026, 11, 26), LicenceStatus.EXPIRED),
        ("valid", None, LicenceStatus.VALID),  # 长期
        ("revoked", date(2030, 1, 1), LicenceStatus.REVOKED),
        ("revoked", date(2020, 1, 1), LicenceStatus.REVOKED),  # revoked wins
        ("expired", None, LicenceStatus.EXPIRED),
    ],
)
def test_status_on_a_day(stored: str, until: date | None, expected: LicenceStatus) -> None:
    assert status_on(stored, until, date(2026, 11, 27)) == expected


def test_numbers_are_masked_like_id_numbers() -> None:
    assert mask_number("440118196108040353") == "4401**********0353"
    assert mask_number("G44010235") == "G440*0235"
    assert "*" in mask_number("1234")
