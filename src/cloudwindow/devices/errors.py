"""Stable errors of the device relay (house rule 5), and the messages of the failures a
command can end with (bridge error codes, docs/bridge.md §Errors, prefixed ``device-``)."""

from __future__ import annotations

from typing import Any

from cloudwindow.errors import CloudWindowError


class DeviceNoSession(CloudWindowError):
    error_id = "device-no-session"
    status_code = 409
    message_zh = "您当前没有正在服务的群众，不能操作终端外设"
    message_en = "You are not serving anyone now, so there is no kiosk device to use"


class DeviceNoKiosk(CloudWindowError):
    error_id = "device-no-kiosk"
    status_code = 409
    message_zh = "当前群众不在智能柜台办理（网上办理没有终端外设）"
    message_en = "The citizen is not at a kiosk (a web session has no kiosk devices)"


class DeviceKioskOffline(CloudWindowError):
    error_id = "device-kiosk-offline"
    status_code = 409
    message_zh = "终端当前未连接，无法操作外设"
    message_en = "The kiosk is not connected"


class DeviceBusy(CloudWindowError):
    error_id = "device-busy"
    status_code = 409
    message_zh = "该外设正在执行上一条指令，请稍候"
    message_en = "The device is still busy with the previous command"

    def __init__(self, command_id: str) -> None:
        super().__init__({"command_id": command_id})


class DeviceParamsInvalid(CloudWindowError):
    error_id = "device-params-invalid"
    status_code = 422
    message_zh = "外设指令参数错误：{why}"
    message_en = "Invalid device command: {why}"

    def __init__(self, why: str, **details: Any) -> None:
        super().__init__(details, why=why)


class DeviceDocumentUnknown(CloudWindowError):
    error_id = "device-document-unknown"
    status_code = 404
    message_zh = "没有可打印的该文书（不存在、已作废或不属于您办理的办件）"
    message_en = "No such printable document (unknown, revoked, or not of a case you handle)"


class DeviceCommandNotFound(CloudWindowError):
    error_id = "device-command-not-found"
    status_code = 404
    message_zh = "外设指令不存在"
    message_en = "No such device command"


class DeviceCommandFinished(CloudWindowError):
    error_id = "device-command-finished"
    status_code = 409
    message_zh = "该外设指令已结束（{state}），结果未被接收"
    message_en = "The device command has already ended ({state}); the result was not taken"

    def __init__(self, state: str) -> None:
        super().__init__({"state": state}, state=state)


class DeviceResultInvalid(CloudWindowError):
    error_id = "device-result-invalid"
    status_code = 422
    message_zh = "终端报告的外设结果格式错误：{why}"
    message_en = "The kiosk's device result is invalid: {why}"

    def __init__(self, why: str) -> None:
        super().__init__({"why": why}, why=why)


# How a command can end without a result: our own failures, then the bridge's codes.
FAILURES: dict[str, tuple[str, str]] = {
    "device-timeout": ("终端未在规定时间内完成外设操作", "The kiosk did not finish in time"),
    "device-kiosk-disconnected": (
        "终端在操作外设时断开连接，未收到结果",
        "The kiosk disconnected while using the device; no result was received",
    ),
    "device-kiosk-restarted": (
        "柜台页面已重新载入，请重新发起",
        "The kiosk page reloaded; please ask again",
    ),
    "device-session-ended": (
        "服务已结束，外设指令取消",
        "The session ended; the command was dropped",
    ),
    "device-bridge-not-connected": (
        "终端外设服务未连接（请检查外设桥）",
        "The kiosk's device bridge is not connected",
    ),
    "device-bridge-disconnected": (
        "终端外设服务在操作中断开，未收到结果",
        "The kiosk's device bridge disconnected during the operation",
    ),
    "device-identity-rejected": (
        "身份证信息未能保存，请重新读取",
        "The ID card data could not be stored; read it again",
    ),
    "device-document-unavailable": (
        "终端未能取得要打印的文书",
        "The kiosk could not fetch the document to print",
    ),
    "device-device-absent": ("外设未连接", "The device is not connected"),
    "device-device-busy": ("外设正忙", "The device is busy"),
    "device-device-error": ("外设故障", "The device reported an error"),
    "device-out-of-paper": ("打印机缺纸", "The printer is out of paper"),
    "device-no-card": ("未检测到身份证，请将身份证放在读卡区", "No ID card on the reader"),
    "device-card-unreadable": ("身份证无法读取，请重新放置", "The ID card could not be read"),
    "device-signature-empty": ("群众未签名", "Nothing was signed"),
    "device-print-data-invalid": ("打印内容无效", "The document to print is not valid"),
    "device-cancelled": ("外设操作已取消", "The device operation was cancelled"),
    "device-superseded": ("终端页面已重新连接外设，操作中断", "The kiosk page reconnected"),
}
GENERIC_FAILURE = ("外设操作失败", "The device operation failed")


def failure_message(error_id: str) -> dict[str, str]:
    zh, en = FAILURES.get(error_id, GENERIC_FAILURE)
    return {"zh-CN": zh, "en": en}
