"""Messages and stable error codes of the bridge protocol — docs/bridge.md.

Pure: parsing and building messages, no I/O. Both the reference bridge and the tests use
these names, so a change here is a change of the documented protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PROTOCOL = "cloudwindow-bridge/1"
DEFAULT_PORT = 17800
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # an A4 PDF, base64, with room to spare
MAX_ID_LENGTH = 64
MAX_TIMEOUT_MS = 300_000


class Device(StrEnum):
    BRIDGE = "bridge"  # the service itself: status, wipe
    ID_READER = "id_reader"  # 二代身份证阅读器
    SIGNATURE_PAD = "signature_pad"  # 电子签名板
    RECEIPT_PRINTER = "receipt_printer"  # 凭条打印机 (80 mm)
    A4_PRINTER = "a4_printer"  # A4 激光打印机
    SIMULATOR = "simulator"  # reference bridge only: cards, health, for tests and demos


PERIPHERALS = (Device.ID_READER, Device.SIGNATURE_PAD, Device.RECEIPT_PRINTER, Device.A4_PRINTER)


class Health(StrEnum):
    OK = "ok"
    OUT_OF_PAPER = "out_of_paper"
    ERROR = "error"
    ABSENT = "absent"


# Commands each device answers, with their default timeout (ms) when the request names none.
COMMANDS: dict[Device, dict[str, int]] = {
    Device.BRIDGE: {"status": 5_000, "wipe": 5_000},
    Device.ID_READER: {"read": 30_000},
    Device.SIGNATURE_PAD: {"capture": 120_000, "feed": 5_000, "clear": 5_000},
    Device.RECEIPT_PRINTER: {"print": 60_000},
    Device.A4_PRINTER: {"print": 60_000},
    Device.SIMULATOR: {"set_health": 5_000, "insert_card": 5_000, "remove_card": 5_000},
}


class Code(StrEnum):
    """Stable error codes (docs/bridge.md §Errors). Never renamed; new ones may be added."""

    BAD_MESSAGE = "bad-message"
    UNKNOWN_DEVICE = "unknown-device"
    UNKNOWN_COMMAND = "unknown-command"
    BAD_PARAMS = "bad-params"
    DUPLICATE_ID = "duplicate-id"
    DEVICE_ABSENT = "device-absent"
    DEVICE_BUSY = "device-busy"
    DEVICE_ERROR = "device-error"
    OUT_OF_PAPER = "out-of-paper"
    NO_CARD = "no-card"
    CARD_UNREADABLE = "card-unreadable"
    SIGNATURE_EMPTY = "signature-empty"
    NOT_CAPTURING = "not-capturing"
    PRINT_DATA_INVALID = "print-data-invalid"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    UNSUPPORTED = "unsupported"


MESSAGES: dict[Code, tuple[str, str]] = {
    Code.BAD_MESSAGE: ("消息格式错误", "The message is not valid"),
    Code.UNKNOWN_DEVICE: ("没有该设备", "No such device"),
    Code.UNKNOWN_COMMAND: ("设备不支持该命令", "The device has no such command"),
    Code.BAD_PARAMS: ("命令参数错误", "The command's parameters are invalid"),
    Code.DUPLICATE_ID: ("请求编号重复", "A request with this id is still running"),
    Code.DEVICE_ABSENT: ("设备未连接", "The device is not connected"),
    Code.DEVICE_BUSY: ("设备正忙", "The device is busy with another request"),
    Code.DEVICE_ERROR: ("设备故障", "The device reported an error"),
    Code.OUT_OF_PAPER: ("打印机缺纸", "The printer is out of paper"),
    Code.NO_CARD: ("未检测到身份证", "No ID card was placed on the reader"),
    Code.CARD_UNREADABLE: ("身份证无法读取", "The ID card could not be read"),
    Code.SIGNATURE_EMPTY: ("未签名", "Nothing was signed"),
    Code.NOT_CAPTURING: ("签名板未在采集", "The signature pad is not capturing"),
    Code.PRINT_DATA_INVALID: ("打印内容无效", "The document to print is not valid"),
    Code.TIMEOUT: ("设备操作超时", "The device did not finish in time"),
    Code.CANCELLED: ("操作已取消", "The request was cancelled"),
    Code.SUPERSEDED: ("已有新的连接接管外设", "Another connection took over the bridge"),
    Code.UNSUPPORTED: ("该外设服务不支持此功能", "This bridge does not support that"),
}


class BridgeError(Exception):
    """A request failed with a stable code (and optional details)."""

    def __init__(self, code: Code, details: dict[str, Any] | None = None) -> None:
        super().__init__(code.value)
        self.code = code
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        zh, en = MESSAGES[self.code]
        return {
            "code": self.code.value,
            "message_zh": zh,
            "message_en": en,
            "details": self.details,
        }


@dataclass(frozen=True)
class Request:
    id: str
    device: Device
    command: str
    params: dict[str, Any] = field(default_factory=dict)
    timeout_ms: int = 0


@dataclass(frozen=True)
class Cancel:
    id: str


def _id_of(raw: dict[str, Any]) -> str:
    rid = raw.get("id")
    if not isinstance(rid, str) or not 1 <= len(rid) <= MAX_ID_LENGTH:
        raise BridgeError(Code.BAD_MESSAGE, {"field": "id"})
    return rid


def parse(text: str | bytes) -> Request | Cancel:
    """A client message, checked; ``BridgeError`` (``bad-message``, ``unknown-device``,
    ``unknown-command``, ``bad-params``) otherwise. Errors raised after the id is known
    carry it in ``details["id"]`` so the reply can name the request."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeError(Code.BAD_MESSAGE, {"reason": "not JSON"}) from exc
    if not isinstance(raw, dict):
        raise BridgeError(Code.BAD_MESSAGE, {"reason": "not an object"})
    kind = raw.get("type")
    if kind == "cancel":
        return Cancel(_id_of(raw))
    if kind != "request":
        raise BridgeError(Code.BAD_MESSAGE, {"field": "type"})
    rid = _id_of(raw)
    try:
        device = Device(str(raw.get("device")))
    except ValueError:
        raise BridgeError(Code.UNKNOWN_DEVICE, {"id": rid, "device": raw.get("device")}) from None
    command = raw.get("command")
    if not isinstance(command, str) or command not in COMMANDS[device]:
        raise BridgeError(Code.UNKNOWN_COMMAND, {"id": rid, "command": command})
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BridgeError(Code.BAD_PARAMS, {"id": rid, "field": "params"})
    timeout = raw.get("timeout_ms") or COMMANDS[device][command]
    if (
        not isinstance(timeout, int)
        or isinstance(timeout, bool)
        or not 1 <= timeout <= MAX_TIMEOUT_MS
    ):
        raise BridgeError(Code.BAD_PARAMS, {"id": rid, "field": "timeout_ms"})
    return Request(rid, device, command, params, timeout)


def result(rid: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": "result", "id": rid, "ok": True, "data": data}, ensure_ascii=False)


def failure(rid: str | None, error: BridgeError) -> str:
    body: dict[str, Any] = {"type": "result", "id": rid, "ok": False, "error": error.body()}
    if rid is None:
        body["type"] = "error"
        del body["id"], body["ok"]
    return json.dumps(body, ensure_ascii=False)


def progress(rid: str, stage: str) -> str:
    return json.dumps({"type": "progress", "id": rid, "stage": stage})


def health(device: Device, status: Health, detail: str = "") -> dict[str, Any]:
    return {
        "device": device.value,
        "present": status != Health.ABSENT,
        "status": status.value,
        "detail": detail,
    }
