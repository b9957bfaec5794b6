"""Stable errors of identity verification (docs/identity.md §Errors)."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class IdentityNotInSession(CloudWindowError):
    error_id = "identity-not-in-session"
    status_code = 409
    message_zh = "当前没有正在办理的视频服务"
    message_en = "There is no live session"


class IdCardPhotoCorrupt(CloudWindowError):
    error_id = "id-card-photo-corrupt"
    status_code = 422
    message_zh = "身份证照片无法读取（不是有效的图片或不完整），请重新读卡"
    message_en = (
        "The ID card photo cannot be read (not a valid image, or incomplete); read the card again"
    )


class IdNumberInvalid(CloudWindowError):
    error_id = "id-number-invalid"
    status_code = 422
    message_zh = "身份证号码无效（校验位不符）"
    message_en = "The ID number is invalid (its check character does not match)"


class IdCardDatesInvalid(CloudWindowError):
    error_id = "id-card-dates-invalid"
    status_code = 422
    message_zh = "身份证有效期限不正确"
    message_en = "The ID card's validity dates are not valid"


class NoIdCardRead(CloudWindowError):
    error_id = "identity-no-id-card"
    status_code = 409
    message_zh = "尚未读取身份证，请先请市民读卡"
    message_en = "No ID card has been read yet; ask the citizen to read the card first"


class IdCardReadNotFound(CloudWindowError):
    error_id = "id-card-read-not-found"
    status_code = 404
    message_zh = "读卡记录不存在"
    message_en = "No such ID card read"


class FaceCheckNotFound(CloudWindowError):
    error_id = "face-check-not-found"
    status_code = 404
    message_zh = "人证比对记录不存在"
    message_en = "No such face check"


class OverrideReasonRequired(CloudWindowError):
    error_id = "face-override-reason-required"
    status_code = 422
    message_zh = "人工核验通过须写明理由（至少 4 个字）"
    message_en = "An override needs a reason (at least 4 characters)"


class OverrideNotNeeded(CloudWindowError):
    error_id = "face-override-not-needed"
    status_code = 409
    message_zh = "该次比对已通过或已人工核验，无需再次核验"
    message_en = "This check already matched or was already overridden"


class FaceImageMissing(CloudWindowError):
    error_id = "face-image-missing"
    status_code = 410
    message_zh = "照片未保存（未获同意或未比对）"
    message_en = "No photo was kept for this check (no consent, or no comparison)"


class FaceImageTooLarge(CloudWindowError):
    error_id = "face-image-too-large"
    status_code = 413
    message_zh = "照片过大，最大 {limit_mb} MB"
    message_en = "The photo is too large (at most {limit_mb} MB)"

    def __init__(self, limit: int) -> None:
        super().__init__({"limit_bytes": limit}, limit_mb=f"{limit / (1024 * 1024):g}")


class CaseFieldMissing(CloudWindowError):
    error_id = "identity-case-fields-missing"
    status_code = 422
    message_zh = "该办件表单没有申请人姓名或身份证号码字段"
    message_en = "The case form has no applicant name or ID number field"


class ConsentTextOutdated(CloudWindowError):
    error_id = "consent-text-outdated"
    status_code = 409
    message_zh = "同意书已更新，请重新阅读"
    message_en = "The consent text has changed; show the current one"
