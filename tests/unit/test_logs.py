"""Masking of personal data in log output (logs.py): the structlog processor on real
structlog output, and the standard-library filter on uvicorn's loggers after uvicorn's
own logging configuration replaced their handlers (as ``cloudwindow serve`` does)."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
import structlog
from uvicorn.config import LOGGING_CONFIG

from cloudwindow.logs import configure_logging, get_logger, mask_text

CASES = [
    ("身份证 44011819900101123X 已读取", "身份证 4401**********123X 已读取"),
    ("id 440118199001011234", "id 4401**********1234"),
    ("440118 19900101 123x", "4401**********123x"),
    ("phone 13812345678.", "phone 138****5678."),
    ("+86 138-1234-5678", "+86138****5678"),
    ("138 1234 5678", "138****5678"),
    ("tel 020-87654321", "tel 020****4321"),
    ("0755 1234567", "075****4567"),
    ("手机13812345678，身份证440118199001011234。", "手机138****5678，身份证4401**********1234。"),
    ("/api/x/13812345678?p=1", "/api/x/138****5678?p=1"),
]
LEFT_ALONE = [
    "2026-11-27T12:43:16.123456+00:00",
    "CW20261127-000042",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "port 8000, 123 ms, ticket A007, id 123456789012",
    "request_id=4f13812345678d2a",  # digits inside a hex id are not a phone
    "uuid 8f0e2a13-8123-4567-9abc-def012345678",
]


@pytest.mark.parametrize(("clear", "masked"), CASES)
def test_numbers_are_masked(clear: str, masked: str) -> None:
    assert mask_text(clear) == masked


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_structlog_events_are_masked_in_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    try:
        get_logger("t").info(
            "lookup 13912345678",
            phone="13912345678",
            nested={"ids": ["440118199001011234"], "n": 13912345678},
        )
        try:
            raise ValueError("bad id 440118199001011234")
        except ValueError:
            get_logger("t").exception("failed")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    first, second = lines
    assert first["event"] == "lookup 139****5678" and first["phone"] == "139****5678"
    assert first["nested"] == {"ids": ["4401**********1234"], "n": "139****5678"}
    assert "440118199001011234" not in second["exception"]
    assert "4401**********1234" in second["exception"]


def test_uvicorn_loggers_stay_masked_after_uvicorn_configures_logging() -> None:
    configure_logging("INFO", json=True)
    try:
        logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn.run does after create_app
        out = io.StringIO()
        logger = logging.getLogger("uvicorn.error")
        handler = logging.StreamHandler(out)
        logger.addHandler(handler)
        logger.warning("client sent %s", "13712345678")
        try:
            raise RuntimeError("card 440118199001011234")
        except RuntimeError:
            logger.exception("boom")
        logger.removeHandler(handler)
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert "137****5678" in text and "13712345678" not in text
    assert "440118199001011234" not in text and "4401**********1234" in text
