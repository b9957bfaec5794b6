"""Request logging as a plain ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware):
one structured line per HTTP request with method, path, status, duration and a request
id that is also returned to the client as ``X-Request-ID``."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudwindow.logs import get_logger

log = get_logger("cloudwindow.http")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                log.info(
                    "http",
                    method=scope["method"],
                    path=scope["path"],
                    status=status["code"],
                    ms=round((time.perf_counter() - start) * 1000, 2),
                )
