"""API shapes of the fleet: sites, terminals, seats, enrollment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cloudwindow.schemas import InputModel

SiteCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{2,39}$")]
Serial = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z][0-9A-Z-]{2,39}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Kbps = Annotated[int, Field(ge=64, le=100_000_000)]


class SiteType(StrEnum):
    SERVICE_HALL = "service_hall"  # 政务服务大厅
    VILLAGE = "village"  # 村居
    INDUSTRIAL_PARK = "industrial_park"  # 产业园区
    MALL = "mall"  # 商圈
    METRO_STATION = "metro_station"  # 地铁站
    AGENT_OFFICE = "agent_office"  # 坐席办公点


class TerminalModel(StrEnum):
    BASIC = "basic"  # 基础款
    EXTENDED = "extended"  # 拓展款


class TerminalStatus(StrEnum):
    UNENROLLED = "unenrolled"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class Peripheral(StrEnum):
    ID_CARD_READER = "id_card_reader"  # 身份证读卡器
    DOCUMENT_CAMERA = "document_camera"  # 高拍仪
    PRINTER = "printer"
    SIGNATURE_PAD = "signature_pad"
    FINGERPRINT_READER = "fingerprint_reader"
    FACE_CAMERA = "face_camera"
    RECEIPT_PRINTER = "receipt_printer"
    CARD_ISSUER = "card_issuer"  # 社保卡即时制卡


class SeatEquipment(StrEnum):
    PC = "pc"
    MONITOR = "monitor"
    FILL_LIGHT = "fill_light"
    HEADSET = "headset"
    CAMERA = "camera"
    DOCUMENT_SCANNER = "document_scanner"


T = TypeVar("T")


def _unique(values: list[T]) -> list[T]:
    if len(set(values)) != len(values):
        raise ValueError("values must not repeat")
    return values


class SiteFields(InputModel):
    name: Name
    type: SiteType
    region_code: RegionCode
    address: Address = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    uplink_kbps: Kbps
    downlink_kbps: Kbps


class SiteCreate(SiteFields):
    code: SiteCode


class SiteUpdate(InputModel):
    name: Name | None = None
    type: SiteType | None = None
    region_code: RegionCode | None = None
    address: Address | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    uplink_kbps: Kbps | None = None
    downlink_kbps: Kbps | None = None


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    type: str
    region_code: str
    address: str
    latitude: float | None
    longitude: float | None
    uplink_kbps: int
    downlink_kbps: int
    active: bool


class TerminalCreate(InputModel):
    serial_number: Serial
    name: Name
    model: TerminalModel
    site_id: int = Field(ge=1, le=2_147_483_647)
    peripherals: list[Peripheral] = Field(default_factory=list, max_length=8)

    @field_validator("peripherals")
    @classmethod
    def _peripherals(cls, v: list[Peripheral]) -> list[Peripheral]:
        return _unique(v)


class TerminalUpdate(InputModel):
    name: Name | None = None
    model: TerminalModel | None = None
    site_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    peripherals: list[Peripheral] | None = Field(default=None, max_length=8)
    status: TerminalStatus | None = None

    @field_validator("peripherals")
    @classmethod
    def _peripherals(cls, v: list[Peripheral] | None) -> list[Peripheral] | None:
        return _unique(v) if v is not None else v


class TerminalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    serial_number: str
    name: str
    model: str
    site_id: int
    site_name: str = ""
    peripherals: list[str]
    status: str
    enrolled_at: datetime | None
    last_seen_at: datetime | None
    active: bool


class EnrollmentCodeOut(BaseModel):
    code: str
    expires_at: datetime


class EnrollRequest(InputModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=20)]


class EnrollResponse(BaseModel):
    terminal_id: int
    serial_number: str
    credential: str


class SeatCreate(InputModel):
    code: SiteCode
    name: Name
    site_id: int = Field(ge=1, le=2_147_483_647)
    equipment: list[SeatEquipment] = Field(default_factory=list, max_length=6)

    @field_validator("equipment")
    @classmethod
    def _equipment(cls, v: list[SeatEquipment]) -> list[SeatEquipment]:
        return _unique(v)


class SeatUpdate(InputModel):
    name: Name | None = None
    site_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    equipment: list[SeatEquipment] | None = Field(default=None, max_length=6)

    @field_validator("equipment")
    @classmethod
    def _equipment(cls, v: list[SeatEquipment] | None) -> list[SeatEquipment] | None:
        return _unique(v) if v is not None else v


class SeatOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    site_id: int
    site_name: str = ""
    equipment: list[str]
    active: bool


class DeviceMe(BaseModel):
    terminal: TerminalOut
    site: SiteOut
