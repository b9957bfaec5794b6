"""Pure rules of the device relay: which commands exist, their time limits, the command
state machine, and what a kiosk's result may contain (no I/O)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cloudwindow.devices.errors import DeviceParamsInvalid, DeviceResultInvalid


class CommandState(StrEnum):
    PENDING = "pending"  # sent to the kiosk, no result yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the kiosk or its bridge reported an error, or the kiosk went away
    TIMED_OUT = "timed_out"


FINAL = frozenset({CommandState.SUCCEEDED, CommandState.FAILED, CommandState.TIMED_OUT})

# (device, command) → seconds the server waits for the kiosk's result. A little more
# than the bridge's own default timeout (docs/bridge.md), so the bridge's answer
# (e.g. ``no-card``) reaches the agent before the relay gives up.
COMMANDS: dict[tuple[str, str], int] = {
    ("id_reader", "read"): 45,
    ("signature_pad", "capture"): 150,
    ("receipt_printer", "print"): 90,
    ("a4_printer", "print"): 90,
}
PRINTERS = frozenset({"receipt_printer", "a4_printer"})
HEALTH_DEVICES = ("bridge", "id_reader", "signature_pad", "receipt_printer", "a4_printer")
HEALTH_STATUSES = frozenset({"ok", "out_of_paper", "error", "absent", "offline"})
_DOC_ID = re.compile(r"^[0-9a-f]{1,32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MASKED_ID = re.compile(r"^[0-9Xx*]{15,18}$")
_ERROR_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
MAX_SIGNATURE_BYTES = 300_000


def timeout_of(device: str, command: str) -> int:
    try:
        return COMMANDS[(device, command)]
    except KeyError:
        raise DeviceParamsInvalid(
            f"{device}.{command}", known=[f"{d}.{c}" for d, c in COMMANDS]
        ) from None


def check_params(device: str, command: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a command keeps (nothing else is passed on to the kiosk)."""
    timeout_of(device, command)
    if device in PRINTERS:
        doc = params.get("document_id")
        if not isinstance(doc, str) or not _DOC_ID.match(doc):
            raise DeviceParamsInvalid("document_id", field="document_id")
        return {"document_id": doc}
    if params:
        raise DeviceParamsInvalid("this command takes no parameters", fields=sorted(params))
    return {}


@dataclass(frozen=True)
class Result:
    """A checked result: ``summary`` is shown in events and lists; ``secret`` (personal
    data, e.g. the signature image) is stored encrypted and given to the agent only."""

    summary: dict[str, Any]
    secret: dict[str, Any]


def _int(data: dict[str, Any], name: str, low: int = 0, high: int = 2**31 - 1) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DeviceResultInvalid(name)
    return value


def _opt_str(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise DeviceResultInvalid(name)
    return value


def _only(data: dict[str, Any], allowed: set[str]) -> None:
    extra = set(data) - allowed
    if extra:
        # Above all for the ID reader: the card's clear data never reaches the relay.
        raise DeviceResultInvalid("unexpected fields: " + ", ".join(sorted(extra)))


def check_result(device: str, data: dict[str, Any]) -> Result:
    if device == "id_reader":
        _only(data, {"id_card_read_id", "expired", "name_masked", "id_number_masked"})
        summary: dict[str, Any] = {"id_card_read_id": _int(data, "id_card_read_id", 1)}
        if "expired" in data:
            if not isinstance(data["expired"], bool):
                raise DeviceResultInvalid("expired")
            summary["expired"] = data["expired"]
        name = _opt_str(data, "name_masked", 40)
        masked = _opt_str(data, "id_number_masked", 18)
        if masked is not None and (not _MASKED_ID.match(masked) or masked.count("*") < 6):
            raise DeviceResultInvalid("id_number_masked")
        if name is not None:
            summary["name_masked"] = name
        if masked is not None:
            summary["id_number_masked"] = masked
        return Result(summary, {})
    if device == "signature_pad":
        _only(data, {"png", "width", "height", "strokes"})
        png = data.get("png")
        if not isinstance(png, str) or len(png) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
            raise DeviceResultInvalid("png")
        try:
            raw = base64.b64decode(png, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeviceResultInvalid("png") from exc
        if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
            raise DeviceResultInvalid("png")
        summary = {
            "width": _int(data, "width", 1, 10_000),
            "height": _int(data, "height", 1, 10_000),
            "strokes": _int(data, "strokes", 0, 10_000),
        }
        return Result(summary, {"png": png})
    # printers
    _only(data, {"job_id", "file", "bytes", "sha256", "pages", "lines"})
    summary = {"job_id": _opt_str(data, "job_id", 80) or "", "bytes": _int(data, "bytes")}
    for name in ("pages", "lines"):
        if name in data:
            summary[name] = _int(data, name)
    file = _opt_str(data, "file", 200)
    if file is not None:
        summary["file"] = file
    digest = _opt_str(data, "sha256", 64)
    if digest is not None:
        if not _HEX64.match(digest):
            raise DeviceResultInvalid("sha256")
        summary["sha256"] = digest
    return Result(summary, {})


def failure_id(code: str) -> str:
    """The error id the agent sees for a failure code the kiosk reports: a bridge code
    (``out-of-paper``) or the kiosk page's own (``bridge-not-connected``), ``device-``
    prefixed."""
    if not _ERROR_CODE.match(code):
        raise DeviceResultInvalid("error.code")
    return code if code.startswith("device-") else f"device-{code}"
