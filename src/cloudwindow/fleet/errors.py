"""Errors of the fleet."""

from __future__ import annotations

from cloudwindow.errors import RuleViolation


def seat_site_not_office(site_id: int) -> RuleViolation:
    return RuleViolation(
        "seat-site-not-agent-office",
        "云坐席只能设在坐席办公点",
        "A cloud seat can only be placed at an agent-office site",
        {"site_id": site_id},
    )


def terminal_site_is_office(site_id: int) -> RuleViolation:
    return RuleViolation(
        "terminal-site-is-agent-office",
        "智能柜台不能部署在坐席办公点",
        "A kiosk cannot be placed at an agent-office site",
        {"site_id": site_id},
    )


def terminal_retired(terminal_id: int) -> RuleViolation:
    return RuleViolation(
        "terminal-retired",
        "终端已报废或停用，不能生成注册码",
        "The terminal is retired or inactive; no enrollment code can be issued",
        {"terminal_id": terminal_id},
    )
