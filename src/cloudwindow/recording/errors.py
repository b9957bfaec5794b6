"""Errors of recordings: each with a stable ``error_id`` and zh-CN + English messages."""

from __future__ import annotations

from cloudwindow.errors import CloudWindowError


class RecordingNotFound(CloudWindowError):
    """Also what an agent gets for another agent's recording: nothing is revealed."""

    error_id = "recording-not-found"
    status_code = 404
    message_zh = "录像不存在"
    message_en = "No such recording"


class NotYourSession(CloudWindowError):
    error_id = "recording-not-your-session"
    status_code = 409
    message_zh = "只能为本人正在办理的会话录像"
    message_en = "You can only record a session you are serving now"


class UnsupportedMediaType(CloudWindowError):
    error_id = "recording-unsupported-type"
    status_code = 422
    message_zh = "仅支持 WebM 格式的录像（video/webm）"
    message_en = "Only WebM recordings (video/webm) are accepted"


class NotWebM(CloudWindowError):
    error_id = "recording-not-webm"
    status_code = 422
    message_zh = "第一个分片不是 WebM 文件（缺少 EBML 文件头）"
    message_en = "The first chunk is not WebM (no EBML header)"


class EmptyChunk(CloudWindowError):
    error_id = "recording-empty-chunk"
    status_code = 422
    message_zh = "分片内容为空"
    message_en = "The chunk is empty"


class ChunkTooLarge(CloudWindowError):
    error_id = "recording-chunk-too-large"
    status_code = 413
    message_zh = "分片过大（上限 {limit} 字节）"
    message_en = "The chunk is too large (limit {limit} bytes)"

    def __init__(self, limit: int) -> None:
        super().__init__({"limit_bytes": limit}, limit=limit)


class RecordingTooLarge(CloudWindowError):
    error_id = "recording-too-large"
    status_code = 413
    message_zh = "录像总大小超出上限（{limit} 字节）"
    message_en = "The recording exceeds its size limit ({limit} bytes)"

    def __init__(self, limit: int) -> None:
        super().__init__({"limit_bytes": limit}, limit=limit)


class ChunkConflict(CloudWindowError):
    error_id = "recording-chunk-conflict"
    status_code = 409
    message_zh = "第 {seq} 个分片已上传过不同的内容，不能覆盖"
    message_en = "Chunk {seq} was already uploaded with different content; it cannot be replaced"

    def __init__(self, seq: int, stored_sha256: str, sent_sha256: str) -> None:
        super().__init__(
            {"seq": seq, "stored_sha256": stored_sha256, "sent_sha256": sent_sha256}, seq=seq
        )


class RecordingClosed(CloudWindowError):
    error_id = "recording-closed"
    status_code = 409
    message_zh = "该录像已结束（{state}），不再接收新分片"
    message_en = "This recording is closed ({state}) and takes no new chunks"

    def __init__(self, state: str) -> None:
        super().__init__({"state": state}, state=state)


class ChunkCountMismatch(CloudWindowError):
    error_id = "recording-chunk-count-mismatch"
    status_code = 422
    message_zh = "结束时声明的分片数（{declared}）小于已收到的分片（最大序号 {max_seq}）"
    message_en = "The chunk count at finish ({declared}) is below a chunk received ({max_seq})"

    def __init__(self, declared: int, max_seq: int) -> None:
        super().__init__(
            {"declared": declared, "max_seq": max_seq}, declared=declared, max_seq=max_seq
        )


class RecordingPurged(CloudWindowError):
    error_id = "recording-purged"
    status_code = 410
    message_zh = "该录像已超过保存期限并已删除"
    message_en = "This recording has passed its retention period and was deleted"


class RecordingNotPlayable(CloudWindowError):
    error_id = "recording-not-playable"
    status_code = 409
    message_zh = "该录像尚未合成，暂不能播放"
    message_en = "This recording has not been assembled yet and cannot be played"


class GrantInvalid(CloudWindowError):
    error_id = "recording-grant-invalid"
    status_code = 403
    message_zh = "播放链接无效或已过期，请重新打开"
    message_en = "The playback link is invalid or has expired; open it again"
