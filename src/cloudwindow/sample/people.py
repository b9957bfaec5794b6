"""Sample people (示例人员): the ID cards, portraits and live camera stills that the demo,
the simulated ID-card reader, the fake kiosk camera and the tests share.

The photos are real people's photos taken from registry packages that permit their
redistribution (sources and licences in ``faces/README.md``); the names, ID numbers,
addresses and phone numbers are invented. ID numbers are 增城区 (440118) numbers with a
valid GB 11643 check character, and no real person's.

- ``chen``: a valid card, a portrait and two different live stills (the face check matches).
- ``li``: a valid card, a portrait only (her portrait against ``chen``'s live still: mismatch).
- ``wang``: an **expired** card (the "expired ID card" outcome).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cloudwindow.cases.forms import resident_id_check_char

FACES = Path(__file__).with_name("faces")


def _id_number(birth: date, sequence: int) -> str:
    """440118 + birth date + 3-digit sequence (odd: male, even: female) + check char."""
    first17 = f"440118{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


@dataclass(frozen=True)
class SamplePerson:
    """One sample citizen: what a second-generation ID card holds, plus a live still."""

    key: str
    name: str
    sex: str  # "男" / "女"
    ethnicity: str
    birth_date: date
    id_number: str
    address: str
    phone: str
    issuer: str
    valid_from: date
    valid_until: date
    portrait: Path  # the ID card photo (JPEG)
    live: Path | None  # a different photo of the same person (kiosk camera still)

    def expired(self, today: date) -> bool:
        return self.valid_until < today

    def id_card(self) -> dict[str, str]:
        """The card as an ID-card reader returns it and ``POST /api/kiosk/identity/id-card``
        takes it (dates ISO, the photo as base64 JPEG)."""
        return {
            "name": self.name,
            "sex": self.sex,
            "ethnicity": self.ethnicity,
            "birth_date": self.birth_date.isoformat(),
            "address": self.address,
            "id_number": self.id_number,
            "issuer": self.issuer,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "photo": base64.b64encode(self.portrait.read_bytes()).decode(),
        }


ISSUER = "广州市公安局增城分局"

PEOPLE: tuple[SamplePerson, ...] = (
    SamplePerson(
        key="chen",
        name="陈建国",
        sex="男",
        ethnicity="汉",
        birth_date=date(1961, 8, 4),
        id_number=_id_number(date(1961, 8, 4), 35),
        address="广州市增城区荔城街道府佑路98号",
        phone="13922334455",
        issuer=ISSUER,
        valid_from=date(2016, 3, 12),
        valid_until=date(2036, 3, 12),
        portrait=FACES / "chen-portrait.jpg",
        live=FACES / "chen-live.jpg",
    ),
    SamplePerson(
        key="li",
        name="李秀英",
        sex="女",
        ethnicity="汉",
        birth_date=date(1956, 11, 19),
        id_number=_id_number(date(1956, 11, 19), 42),
        address="广州市增城区新塘镇港口大道12号",
        phone="13711223344",
        issuer=ISSUER,
        valid_from=date(2018, 5, 20),
        valid_until=date(2038, 5, 20),
        portrait=FACES / "li-portrait.jpg",
        live=None,
    ),
    SamplePerson(
        key="wang",
        name="王志强",
        sex="男",
        ethnicity="汉",
        birth_date=date(1962, 11, 20),
        id_number=_id_number(date(1962, 11, 20), 17),
        address="广州市增城区朱村街道朱村大道中23号",
        phone="13533445566",
        issuer=ISSUER,
        valid_from=date(2005, 6, 1),
        valid_until=date(2025, 6, 1),  # expired
        portrait=FACES / "wang-portrait.jpg",
        live=None,
    ),
)

# A second, different live still of ``chen`` (another photo, another day and light).
CHEN_LIVE_2 = FACES / "chen-live-2.jpg"


def person(key: str) -> SamplePerson:
    """The sample person with this key (``chen``, ``li``, ``wang``); KeyError otherwise."""
    for p in PEOPLE:
        if p.key == key:
            return p
    raise KeyError(key)
