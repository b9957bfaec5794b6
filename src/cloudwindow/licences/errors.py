"""Errors of electronic licences (house rule 5); ids listed in docs/licences.md."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class LicenceConsentRequired(CloudWindowError):
    """The citizen has not agreed, on the kiosk, to let the agent fetch their licences."""

    error_id = "licence-consent-required"
    status_code = 403
    message_zh = "调取电子证照须先经办事人在智能柜台上同意授权"
    message_en = "The citizen must first agree on the kiosk before their licences are fetched"


class LicenceHolderUnknown(CloudWindowError):
    error_id = "licence-holder-unknown"
    status_code = 422
    message_zh = "尚不知道办事人的身份证号码：请先读取身份证或在表单中填写申请人身份证号"
    message_en = (
        "The citizen's ID number is not known yet: read the ID card or fill in the "
        "applicant's ID number on the form first"
    )


class LicenceNotFound(CloudWindowError):
    """No such licence, or not one of this holder's (the same answer, so ids can't be
    probed)."""

    error_id = "licence-not-found"
    status_code = 404
    message_zh = "查无此电子证照"
    message_en = "No such electronic licence"


class LicenceNotUsable(CloudWindowError):
    """An expired or revoked licence proves nothing: it can't satisfy a material."""

    error_id = "licence-not-usable"
    status_code = 409
    message_zh = "该电子证照{state_zh}，不能作为申请材料"
    message_en = "This licence is {state}; it cannot be used as a material"

    def __init__(self, licence_id: str, state: str) -> None:
        zh = {"expired": "已过有效期", "revoked": "已被注销"}.get(state, state)
        super().__init__({"licence_id": licence_id, "status": state}, state=state, state_zh=zh)


class LicenceTypeMismatch(CloudWindowError):
    error_id = "licence-type-mismatch"
    status_code = 422
    message_zh = "{type_name}不能作为材料“{material}”"
    message_en = "A {type_code} licence does not satisfy the material “{material}”"

    def __init__(self, type_code: str, type_name: str, material: str, accepted: list[str]) -> None:
        super().__init__(
            {"type_code": type_code, "material": material, "accepted_types": accepted},
            type_code=type_code,
            type_name=type_name,
            material=material,
        )


class LicenceProviderUnavailable(CloudWindowError):
    """The provincial licence service did not answer (down, unreachable, too slow)."""

    error_id = "licence-provider-unavailable"
    status_code = 503
    message_zh = "省级电子证照服务暂时无法访问，请稍后重试或请办事人提供纸质材料"
    message_en = (
        "The provincial licence service is unavailable; try again later or take the paper document"
    )


class LicenceProviderError(CloudWindowError):
    """The provincial licence service answered, but not as the contract says (refused
    our token, a server error, a malformed body)."""

    error_id = "licence-provider-error"
    status_code = 502
    message_zh = "省级电子证照服务返回错误（{reason}）"
    message_en = "The provincial licence service answered with an error ({reason})"

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__({"reason": reason, "status": status}, reason=reason)


class LicenceApiTokenInvalid(CloudWindowError):
    """The provincial interface this platform serves: no token, or a wrong one."""

    error_id = "licence-api-token-invalid"
    status_code = 401
    message_zh = "电子证照接口令牌缺失或无效"
    message_en = "The licence interface token is missing or invalid"

    def __init__(self) -> None:
        super().__init__()
        self.headers = {"WWW-Authenticate": "Bearer"}


class LicenceApiDisabled(CloudWindowError):
    error_id = "licence-api-disabled"
    status_code = 404
    message_zh = "本平台未开放电子证照接口"
    message_en = "This platform does not serve the licence interface"


class LicenceTypeUnknown(CloudWindowError):
    error_id = "licence-type-unknown"
    status_code = 422
    message_zh = "没有这种证照类型：{type_code}"
    message_en = "No such licence type: {type_code}"

    def __init__(self, type_code: str) -> None:
        super().__init__({"type_code": type_code}, type_code=type_code)
