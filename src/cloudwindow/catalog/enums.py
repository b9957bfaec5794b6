"""Closed vocabularies of the catalogue, with their Chinese names for reports and files."""

from __future__ import annotations

from enum import StrEnum


class RegionLevel(StrEnum):
    CITY = "city"  # 市
    DISTRICT = "district"  # 区
    TOWN = "town"  # 镇街
    VILLAGE = "village"  # 村居


REGION_LEVEL_ZH = {"city": "市", "district": "区", "town": "镇街", "village": "村居"}
# Which level a region's parent must have.
PARENT_LEVEL = {"city": None, "district": "city", "town": "district", "village": "town"}


class ItemType(StrEnum):
    ADMINISTRATIVE_LICENSE = "administrative_license"  # 行政许可
    ADMINISTRATIVE_CONFIRMATION = "administrative_confirmation"  # 行政确认
    ADMINISTRATIVE_PAYMENT = "administrative_payment"  # 行政给付
    ADMINISTRATIVE_RULING = "administrative_ruling"  # 行政裁决
    ADMINISTRATIVE_AWARD = "administrative_award"  # 行政奖励
    OTHER_ADMINISTRATIVE = "other_administrative"  # 其他行政权力
    PUBLIC_SERVICE = "public_service"  # 公共服务


ITEM_TYPE_ZH = {
    "administrative_license": "行政许可",
    "administrative_confirmation": "行政确认",
    "administrative_payment": "行政给付",
    "administrative_ruling": "行政裁决",
    "administrative_award": "行政奖励",
    "other_administrative": "其他行政权力",
    "public_service": "公共服务",
}


class Audience(StrEnum):
    INDIVIDUAL = "individual"  # 个人
    LEGAL_PERSON = "legal_person"  # 法人


AUDIENCE_ZH = {"individual": "个人", "legal_person": "法人"}


class MaterialForm(StrEnum):
    ORIGINAL = "original"  # 原件
    COPY = "copy"  # 复印件
    ELECTRONIC = "electronic"  # 电子件
    ORIGINAL_AND_COPY = "original_and_copy"  # 原件及复印件


MATERIAL_FORM_ZH = {
    "original": "原件",
    "copy": "复印件",
    "electronic": "电子件",
    "original_and_copy": "原件及复印件",
}
