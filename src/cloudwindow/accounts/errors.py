"""Errors of sign-in and authorisation."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class NotAuthenticated(CloudWindowError):
    error_id = "not-authenticated"
    status_code = 401
    message_zh = "请先登录，或登录已过期"
    message_en = "Sign in first, or your session has expired"

    def __init__(self, details: dict[str, object] | None = None) -> None:
        super().__init__(details)
        self.headers = {"WWW-Authenticate": "Bearer"}


class PermissionDenied(CloudWindowError):
    error_id = "permission-denied"
    status_code = 403
    message_zh = "当前账号无权执行此操作"
    message_en = "Your account is not allowed to do this"


class InvalidCredentials(CloudWindowError):
    error_id = "invalid-credentials"
    status_code = 401
    message_zh = "用户名或密码错误"
    message_en = "Wrong username or password"


class LoginThrottled(CloudWindowError):
    error_id = "login-throttled"
    status_code = 429
    message_zh = "登录失败次数过多，请 {seconds} 秒后再试"
    message_en = "Too many failed sign-ins; try again in {seconds} s"

    def __init__(self, seconds: int) -> None:
        super().__init__({"retry_after_seconds": seconds}, seconds=seconds)
        self.headers = {"Retry-After": str(seconds)}


class EnrollmentCodeInvalid(CloudWindowError):
    error_id = "enrollment-code-invalid"
    status_code = 400
    message_zh = "注册码无效、已使用或已过期"
    message_en = "The enrollment code is invalid, used or expired"
