"""Stable, bilingual domain errors (house rule 5).

Every error a client can see has an ``error_id`` that never changes, an HTTP status,
a zh-CN and an English message and machine-readable details. Handlers registered in
``create_app`` turn them, request validation failures and unexpected exceptions into
the same JSON body::

    {"error_id": "...", "message": {"zh-CN": "...", "en": "..."}, "details": {...}}
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudwindow.logs import get_logger

log = get_logger(__name__)


class CloudWindowError(Exception):
    """Base of every domain error. Subclasses set the class attributes."""

    error_id: str = "internal-error"
    status_code: int = 500
    message_zh: str = "服务器内部错误"
    message_en: str = "Internal server error"
    headers: dict[str, str] | None = None

    def __init__(self, details: dict[str, Any] | None = None, **fmt: Any) -> None:
        self.details = details or {}
        self.fmt = fmt
        super().__init__(self.error_id)

    def body(self) -> dict[str, Any]:
        return {
            "error_id": self.error_id,
            "message": {
                "zh-CN": self.message_zh.format(**self.fmt) if self.fmt else self.message_zh,
                "en": self.message_en.format(**self.fmt) if self.fmt else self.message_en,
            },
            "details": jsonable_encoder(self.details),
        }


def error_body(
    error_id: str, zh: str, en: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"error_id": error_id, "message": {"zh-CN": zh, "en": en}, "details": details or {}}


class NotFound(CloudWindowError):
    error_id = "not-found"
    status_code = 404
    message_zh = "{kind_zh}不存在：{key}"
    message_en = "{kind_en} not found: {key}"

    def __init__(self, kind_en: str, kind_zh: str, key: object) -> None:
        slug = kind_en.lower().replace(" ", "-")
        super().__init__({"key": key}, kind_zh=kind_zh, kind_en=kind_en, key=key)
        self.error_id = f"{slug}-not-found"


class AlreadyExists(CloudWindowError):
    error_id = "already-exists"
    status_code = 409
    message_zh = "{kind_zh}已存在：{key}"
    message_en = "{kind_en} already exists: {key}"

    def __init__(self, kind_en: str, kind_zh: str, key: object) -> None:
        slug = kind_en.lower().replace(" ", "-")
        super().__init__({"key": key}, kind_zh=kind_zh, kind_en=kind_en, key=key)
        self.error_id = f"{slug}-already-exists"


class InvalidReference(CloudWindowError):
    """A body names another record that does not exist or is inactive."""

    error_id = "invalid-reference"
    status_code = 422
    message_zh = "字段 {field} 引用的{kind_zh}不存在或已停用：{key}"
    message_en = "Field {field} refers to a {kind_en} that does not exist or is inactive: {key}"

    def __init__(self, field: str, kind_en: str, kind_zh: str, key: object) -> None:
        super().__init__(
            {"field": field, "key": key}, field=field, kind_zh=kind_zh, kind_en=kind_en, key=key
        )


class RuleViolation(CloudWindowError):
    """A domain rule refused the change; ``error_id`` and messages come from the caller."""

    status_code = 422

    def __init__(
        self, error_id: str, zh: str, en: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(details)
        self.error_id, self.message_zh, self.message_en = error_id, zh, en


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the stable error body; never leak a traceback."""

    @app.exception_handler(CloudWindowError)
    async def _domain(_: Request, exc: CloudWindowError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        body = error_body(
            "validation-failed",
            "请求内容不符合要求，请检查标出的字段",
            "The request is invalid; check the fields listed",
            {"errors": errors},
        )
        return JSONResponse(jsonable_encoder(body), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = {
            404: ("route-not-found", "请求的地址不存在", "No such endpoint"),
            405: ("method-not-allowed", "不支持该请求方法", "Method not allowed"),
        }
        eid, zh, en = known.get(
            exc.status_code, ("http-error", "请求无法处理", str(exc.detail or "HTTP error"))
        )
        return JSONResponse(
            error_body(eid, zh, en), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled-error", path=request.url.path)
        return JSONResponse(CloudWindowError().body(), status_code=500)
