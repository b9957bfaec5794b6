"""Errors of cases (house rule 5) — the ids are listed in docs/cases.md."""

from __future__ import annotations

from typing import Any

from cloudwindow.errors import CloudWindowError


class CaseNotFound(CloudWindowError):
    """Also what a caller gets for a case they may not touch: nothing is revealed."""

    error_id = "case-not-found"
    status_code = 404
    message_zh = "办件不存在"
    message_en = "No such case"


class TicketNotServed(CloudWindowError):
    error_id = "case-ticket-not-served"
    status_code = 409
    message_zh = "只能在本人正在服务的会话中开立办件"
    message_en = "A case can only be opened in a session you are serving"

    def __init__(self, ticket_id: int) -> None:
        super().__init__({"ticket_id": ticket_id})


class CaseInAnotherSession(CloudWindowError):
    error_id = "case-in-another-session"
    status_code = 409
    message_zh = "该办件正在另一个会话中办理"
    message_en = "This case is being worked on in another session"

    def __init__(self, case_id: int) -> None:
        super().__init__({"case_id": case_id})


class FormInvalid(CloudWindowError):
    error_id = "case-form-invalid"
    status_code = 422
    message_zh = "申请表有 {n} 处需要修改"
    message_en = "The application form has {n} problem(s) to fix"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__({"errors": errors}, n=len(errors))


class NotConfirmed(CloudWindowError):
    error_id = "case-not-confirmed"
    status_code = 409
    message_zh = "申请人尚未在柜台确认当前填写的内容"
    message_en = "The citizen has not confirmed the current form data at the kiosk"

    def __init__(self, rev: int, confirmed_rev: int | None) -> None:
        super().__init__({"rev": rev, "confirmed_rev": confirmed_rev})


class MaterialsMissing(CloudWindowError):
    error_id = "case-materials-missing"
    status_code = 409
    message_zh = "还有 {n} 项必交材料未收取或未通过审核"
    message_en = "{n} required material(s) are missing or not accepted yet"

    def __init__(self, missing: list[dict[str, Any]]) -> None:
        super().__init__({"missing": missing}, n=len(missing))


class PhoneMissing(CloudWindowError):
    error_id = "case-phone-missing"
    status_code = 422
    message_zh = "请填写申请人的手机号码（用于短信通知和办件查询）"
    message_en = "Enter the applicant's phone number (for SMS notices and case lookup)"


class FieldConflict(CloudWindowError):
    """The edit was based on an older revision of the field: someone changed it first."""

    error_id = "case-field-conflict"
    status_code = 409
    message_zh = "字段 {field} 已被对方修改，请查看最新内容后再改"
    message_en = "Field {field} was changed by the other side; review it and try again"

    def __init__(self, field: str, rev: int, base_rev: int) -> None:
        super().__init__({"field": field, "rev": rev, "base_rev": base_rev}, field=field)


class ApprovalAlreadyDecided(CloudWindowError):
    error_id = "approval-already-decided"
    status_code = 409
    message_zh = "该审批环节已由{name}作出决定（{decision}）"
    message_en = "This approval step was already decided by {name} ({decision})"

    def __init__(
        self, approval_id: int, decision: str, by_id: int | None, name: str, at: object
    ) -> None:
        super().__init__(
            {
                "approval_id": approval_id,
                "decision": decision,
                "decided_by": by_id,
                "decided_at": at,
            },
            name=name,
            decision=decision,
        )


class ApprovalStepNotPending(CloudWindowError):
    error_id = "approval-step-not-pending"
    status_code = 409
    message_zh = "该审批环节尚未轮到或已取消"
    message_en = "This approval step is not open for a decision"

    def __init__(self, approval_id: int, state: str) -> None:
        super().__init__({"approval_id": approval_id, "state": state})


class ApprovalReasonRequired(CloudWindowError):
    error_id = "approval-reason-required"
    status_code = 422
    message_zh = "不予许可须写明理由；退回补正须写明理由并列出需补正的内容"
    message_en = "A rejection needs a reason; a return needs a reason and what is missing"

    def __init__(self, decision: str) -> None:
        super().__init__({"decision": decision})


class ApproverWithoutDepartment(CloudWindowError):
    error_id = "approver-without-department"
    status_code = 422
    message_zh = "当前账号未设置所属部门，无法审批"
    message_en = "This account has no department, so it cannot approve"


class LookupFailed(CloudWindowError):
    """A wrong phone number and a nonexistent case number get exactly this."""

    error_id = "case-lookup-failed"
    status_code = 404
    message_zh = "未查到办件，请核对办件编号和手机号码"
    message_en = "No case found; check the case number and the phone number"


class LookupRateLimited(CloudWindowError):
    error_id = "case-lookup-rate-limited"
    status_code = 429
    message_zh = "查询过于频繁，请 {seconds} 秒后再试"
    message_en = "Too many lookups; try again in {seconds} seconds"

    def __init__(self, seconds: int) -> None:
        super().__init__({"retry_after_seconds": seconds}, seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


# 申请人签名 (cases/signature.py) -------------------------------------------------------------
class SignatureCommandNotFound(CloudWindowError):
    """Also for another agent's command: nothing is revealed."""

    error_id = "case-signature-command-not-found"
    status_code = 404
    message_zh = "找不到该外设指令"
    message_en = "No such device command"

    def __init__(self, command_id: str) -> None:
        super().__init__({"command_id": command_id})


class SignatureCommandUnusable(CloudWindowError):
    error_id = "case-signature-command-unusable"
    status_code = 409
    message_zh = "只能附加已完成的签名板签名"
    message_en = "Only a finished signature from the signature pad can be attached"

    def __init__(self, command_id: str, device: str, state: str) -> None:
        super().__init__({"command_id": command_id, "device": device, "state": state})


class SignatureFromAnotherSession(CloudWindowError):
    error_id = "case-signature-other-session"
    status_code = 409
    message_zh = "该签名不是在本办件的会话中采集的，不能附到本办件"
    message_en = "This signature was not captured in the case's session"

    def __init__(self, command_id: str, case_id: int) -> None:
        super().__init__({"command_id": command_id, "case_id": case_id})


class SignatureNotAllowed(CloudWindowError):
    error_id = "case-signature-not-allowed"
    status_code = 409
    message_zh = "办件当前状态（{state}）不能附加签名：只有填写中或退回补正的办件可以"
    message_en = (
        "A signature cannot be attached in the case's current state ({state}): only a draft"
        " or a case returned for correction"
    )

    def __init__(self, state: str) -> None:
        super().__init__({"state": state}, state=state)


class SignatureImageInvalid(CloudWindowError):
    error_id = "case-signature-image-invalid"
    status_code = 422
    message_zh = "签名图片无法识别（不是有效的 PNG 图片），请申请人重新签名"
    message_en = "The signature image is not a valid PNG; ask the citizen to sign again"


class SignatureNotFound(CloudWindowError):
    error_id = "case-signature-not-found"
    status_code = 404
    message_zh = "该办件没有申请人签名"
    message_en = "This case has no signature of the applicant"

    def __init__(self, case_id: int) -> None:
        super().__init__({"case_id": case_id})
