"""Structured logging with structlog: JSON lines in production, readable in a terminal.

Personal data never reaches a log line in clear (PIPL, docs/trust.md §Personal data):
``mask_personal_data`` rewrites, in every field of every event (nested dicts and lists,
the rendered exception included), resident ID numbers (18 characters, last one a digit
or X, also written in groups), mainland mobile numbers (optionally +86, spaces or
dashes) and landlines with an area code, to the masks the screens show
(``4401**********1234``, ``138****5678``, ``020****5678``). The same rules apply to the
standard library's log records (uvicorn, SQLAlchemy) through ``MaskingFilter``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# A number stands alone: no digit — nor a hex letter, so a run of digits inside a request
# id, a hash or a UUID is left intact — on either side; timestamps, ids and ports are
# too short or too long to match. A single space or dash may separate any two digits
# ("138 1234 5678", "440118 1990…").
_SEP = r"[ -]?"
_B = r"(?<![0-9A-Fa-f])"  # before
_A = r"(?![0-9A-Fa-f])"  # after
_ID_NUMBER = re.compile(rf"{_B}(?:\d{_SEP}){{17}}[\dXx](?![0-9A-Fa-fXx])")
_MOBILE = re.compile(rf"{_B}(?:\+?86{_SEP})?1[3-9](?:{_SEP}\d){{9}}{_A}")
_LANDLINE = re.compile(rf"{_B}0\d{{2,3}}(?:{_SEP}\d){{7,8}}{_A}")


def _digits(m: re.Match[str]) -> str:
    return re.sub(r"[ -]", "", m.group(0))


def _id_mask(m: re.Match[str]) -> str:
    d = _digits(m)
    return d[:4] + "*" * 10 + d[-4:]


def _phone_mask(m: re.Match[str]) -> str:
    d = _digits(m)
    prefix = ""
    if d.startswith("+86") or (len(d) == 13 and d.startswith("86")):
        prefix, d = d[: len(d) - 11], d[-11:]
    return prefix + d[:3] + "*" * (len(d) - 7) + d[-4:]


def mask_text(text: str) -> str:
    """``text`` with every ID number and phone number in it masked."""
    if not any(c.isdigit() for c in text):
        return text
    text = _ID_NUMBER.sub(_id_mask, text)
    text = _MOBILE.sub(_phone_mask, text)
    return _LANDLINE.sub(_phone_mask, text)


def mask_value(value: Any) -> Any:
    """Strings masked; dicts, lists and tuples walked; other values (numbers too: an
    ID or phone number logged as an int) masked through their text when they look like one."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10**9:
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    return value


def mask_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: every field of the event masked (see the module docstring)."""
    for key, value in event.items():
        event[key] = mask_value(value)
    return event


class MaskingFilter(logging.Filter):
    """The same masking for standard-library log records (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        masked = mask_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


_FILTER = MaskingFilter()


_STDLIB_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "asyncio")


def install_stdlib_masking() -> None:
    """Mask the records of the standard library's loggers too (uvicorn's among them): the
    filter sits on those loggers themselves — uvicorn replaces their handlers when it
    starts (after the app is built), a logger's filters stay — and on the root logger's
    handlers, which see what other libraries' loggers propagate."""
    for name in _STDLIB_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,  # last before rendering: the exception text is masked too
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    install_stdlib_masking()


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
