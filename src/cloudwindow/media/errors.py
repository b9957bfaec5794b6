"""Errors of media sessions and signaling (docs/protocol.md §Media). Each affects only
the message that caused it: nothing is relayed, no other call is touched."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class MediaSessionNotFound(CloudWindowError):
    error_id = "media-session-not-found"
    status_code = 404
    message_zh = "音视频会话不存在"
    message_en = "No such media session"


class NotAParticipant(CloudWindowError):
    error_id = "media-not-a-participant"
    status_code = 403
    message_zh = "您不是该音视频会话的参与方，无法发送信令"
    message_en = "You are not a participant of this media session"


class MediaSessionClosed(CloudWindowError):
    error_id = "media-session-closed"
    status_code = 409
    message_zh = "该音视频会话已结束"
    message_en = "This media session has ended"


class SdpTooLarge(CloudWindowError):
    error_id = "media-sdp-too-large"
    status_code = 413
    message_zh = "会话描述（SDP）过大，最多 {limit} 字节"
    message_en = "The session description (SDP) is too large; at most {limit} bytes"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__({"size_bytes": size, "limit_bytes": limit}, limit=limit)


class SdpInvalid(CloudWindowError):
    error_id = "media-sdp-invalid"
    status_code = 422
    message_zh = "会话描述（SDP）格式不正确"
    message_en = "The session description (SDP) is not valid"
