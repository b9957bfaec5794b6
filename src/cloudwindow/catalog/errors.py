"""Errors of the catalogue that are more than not-found/exists."""

from __future__ import annotations

from cloudwindow.errors import RuleViolation


def region_hierarchy_error(reason: str, code: str) -> RuleViolation:
    return RuleViolation(
        "region-hierarchy-invalid",
        "区划层级不正确（市→区→镇街→村居，编码须与上级一致）",
        f"Invalid region hierarchy: {reason}",
        {"code": code, "reason": reason},
    )


def item_inconsistent(reason: str) -> RuleViolation:
    return RuleViolation(
        "service-item-inconsistent",
        "事项信息自相矛盾：承诺时限不得超过法定时限，可云办才能开通云办",
        f"Service item is inconsistent: {reason}",
        {"reason": reason},
    )
