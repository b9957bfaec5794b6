"""Errors of sealed documents (house rule 5); ids listed in docs/trust.md."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class DocumentUnknown(CloudWindowError):
    """No sealed document with this id (or this check code): the platform never issued
    it. Also what a wrong check code gets, so ids cannot be probed."""

    error_id = "document-unknown"
    status_code = 404
    message_zh = "查无此文书：本平台未签发过该编号的文书，或校验码不正确"
    message_en = "Unknown document: this platform issued no document with this id and check code"


class DocumentUnreadable(CloudWindowError):
    error_id = "document-unreadable"
    status_code = 422
    message_zh = "上传的文件不是可读取的 PDF 文书"
    message_en = "The uploaded file is not a readable PDF document"


class DocumentNotSigned(CloudWindowError):
    error_id = "document-not-signed"
    status_code = 422
    message_zh = "该 PDF 没有电子签章，无法验证"
    message_en = "This PDF carries no electronic seal signature to verify"


class DocumentTooLarge(CloudWindowError):
    error_id = "document-too-large"
    status_code = 413
    message_zh = "文件过大（上限 {limit} 字节）"
    message_en = "File too large (limit {limit} bytes)"

    def __init__(self, limit: int) -> None:
        super().__init__({"limit": limit}, limit=limit)


class VerifyRateLimited(CloudWindowError):
    error_id = "document-verify-rate-limited"
    status_code = 429
    message_zh = "验证过于频繁，请 {retry_after} 秒后再试"
    message_en = "Too many verifications; try again in {retry_after} seconds"

    def __init__(self, retry_after: int) -> None:
        super().__init__({"retry_after": retry_after}, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class SealImportFailed(CloudWindowError):
    error_id = "seal-import-failed"
    status_code = 422
    message_zh = "无法导入印章证书（PKCS#12）"
    message_en = "Cannot import the seal certificate (PKCS#12)"


class FontMissing(CloudWindowError):
    error_id = "document-font-missing"
    status_code = 500
    message_zh = "服务器缺少可嵌入的中文字体（请安装 fonts-wqy-zenhei）"
    message_en = "No embeddable CJK font on the server (install fonts-wqy-zenhei)"


class CaseNotIssuable(CloudWindowError):
    error_id = "document-case-not-issuable"
    status_code = 409
    message_zh = "办件当前状态不能出具该文书"
    message_en = "The case's state does not allow issuing this document"
