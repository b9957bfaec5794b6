"""API shapes of the device relay (docs/protocol.md §Devices)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from cloudwindow.schemas import InputModel

DeviceName = Literal["id_reader", "signature_pad", "receipt_printer", "a4_printer"]
HealthDevice = Literal["bridge", "id_reader", "signature_pad", "receipt_printer", "a4_printer"]
HealthStatus = Literal["ok", "out_of_paper", "error", "absent", "offline"]
Command = Annotated[str, StringConstraints(min_length=1, max_length=24, pattern=r"^[a-z_]+$")]


class CommandRequest(InputModel):
    device: DeviceName
    command: Command
    params: dict[str, Any] = Field(default_factory=dict, max_length=8)
    # How long to wait for the kiosk's result; the device's default when absent.
    timeout_seconds: int | None = Field(default=None, ge=1, le=300)


class ErrorView(BaseModel):
    error_id: str
    message: dict[str, str]
    detail: str = ""


class CommandView(BaseModel):
    """A device command as its agent sees it. ``data``: the result (the signature image
    only in ``GET /api/desk/devices/commands/{id}``, never in events)."""

    command_id: str
    device: str
    command: str
    params: dict[str, Any]
    state: Literal["pending", "succeeded", "failed", "timed_out"]
    ok: bool | None = None
    data: dict[str, Any] | None = None
    error: ErrorView | None = None
    requested_by: str
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None = None


class KioskError(InputModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=48)]
    message: Annotated[str, StringConstraints(max_length=500)] = ""


class CommandResult(InputModel):
    """What the kiosk reports: ``{ok: true, data}`` or ``{ok: false, error}``."""

    ok: bool
    data: dict[str, Any] | None = None
    error: KioskError | None = None


class DeviceState(BaseModel):
    device: HealthDevice
    present: bool
    status: HealthStatus
    detail: str = ""
    updated_at: datetime | None = None
    changed_at: datetime | None = None


class DeviceReport(InputModel):
    device: HealthDevice
    present: bool
    status: HealthStatus
    detail: Annotated[str, StringConstraints(max_length=200)] = ""


class BridgeReport(InputModel):
    connected: bool
    protocol: Annotated[str, StringConstraints(max_length=40)] = ""
    version: Annotated[str, StringConstraints(max_length=40)] = ""
    model: Annotated[str, StringConstraints(max_length=80)] = ""


class HealthReport(InputModel):
    """The kiosk's report: its bridge, and (when the bridge is connected) its devices."""

    bridge: BridgeReport
    devices: list[DeviceReport] = Field(default_factory=list, max_length=8)


class TerminalHealth(BaseModel):
    terminal_id: int
    terminal_name: str
    serial_number: str
    site_name: str
    online: bool
    worst: HealthStatus
    devices: list[DeviceState]


class SessionDevices(BaseModel):
    """The devices of the kiosk in my session, and this session's commands (newest first)."""

    terminal_id: int
    terminal_name: str
    online: bool
    devices: list[DeviceState]
    commands: list[CommandView]


class Slip(BaseModel):
    """What the receipt printer prints for a sealed document (docs/bridge.md
    §receipt_printer): a title, lines, and the verification address as a QR code."""

    title: str
    lines: list[str]
    qr: str
