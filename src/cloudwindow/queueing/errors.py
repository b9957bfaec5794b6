"""Errors of the queue."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError, RuleViolation


class TicketNotFound(CloudWindowError):
    """Also what a caller gets for someone else's ticket: nothing is revealed."""

    error_id = "ticket-not-found"
    status_code = 404
    message_zh = "排队号不存在"
    message_en = "No such ticket"


class TicketAlreadyActive(CloudWindowError):
    error_id = "ticket-already-active"
    status_code = 409
    message_zh = "本终端已有排队中的号码（{number}），请先办理或取消"
    message_en = "This kiosk already holds ticket {number}; finish or cancel it first"

    def __init__(self, ticket_id: int, number: str) -> None:
        super().__init__({"ticket_id": ticket_id, "number": number}, number=number)


class OfferNotFound(CloudWindowError):
    error_id = "offer-not-found"
    status_code = 409
    message_zh = "该呼入已失效（已超时、已被取消或已转给他人）"
    message_en = "This offer is no longer valid (timed out, cancelled or given to another agent)"


def item_not_on_cloud(code: str) -> RuleViolation:
    return RuleViolation(
        "service-item-not-on-cloud",
        "该事项暂未开通云办，请到窗口办理",
        "This service item is not offered on the cloud window yet",
        {"service_item_code": code},
    )


def outside_hours(group: str, next_open: str | None) -> RuleViolation:
    return RuleViolation(
        "outside-business-hours",
        "当前不在该类事项的服务时间，可申请回电或预约办理",
        "This service is closed now; you can ask for a callback or book an appointment",
        {
            "skill_group_code": group,
            "next_open": next_open,
            "alternatives": ["callback", "appointment"],
        },
    )


def transfer_target_unavailable(agent_id: int) -> RuleViolation:
    return RuleViolation(
        "transfer-target-unavailable",
        "目标坐席当前不在就绪状态，无法转接",
        "That agent is not ready to take a transfer",
        {"agent_id": agent_id},
    )


def not_an_agent() -> RuleViolation:
    return RuleViolation("not-an-agent", "当前账号不是坐席人员", "This account is not an agent")
