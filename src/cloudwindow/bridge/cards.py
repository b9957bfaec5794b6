"""Test ID cards for the simulated reader: the sample people (``cloudwindow.sample.people``)
as the chip of a 二代身份证 gives them: the printed fields and the photo (JPEG)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cloudwindow.sample.people import PEOPLE, SamplePerson

Card = SamplePerson


def sample_cards() -> tuple[Card, ...]:
    return PEOPLE


def card(key: str) -> Card | None:
    return next((c for c in PEOPLE if c.key == key), None)


def chip_data(held: Card, today: date) -> dict[str, Any]:
    """What ``id_reader.read`` returns (docs/bridge.md §id_reader)."""
    return {**held.id_card(), "photo_type": "image/jpeg", "expired": held.expired(today)}
