"""``create_app(settings)``: the one place that wires everything (ARCHITECTURE §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

from cloudwindow import __version__
from cloudwindow.accounts.api import router as accounts_router
from cloudwindow.accounts.deps import require
from cloudwindow.audit.api import router as audit_router
from cloudwindow.bus import EventBus, make_bus
from cloudwindow.cases.api import router as cases_router
from cloudwindow.cases.forms_api import router as forms_router
from cloudwindow.cases.materials_api import router as case_materials_router
from cloudwindow.cases.notify import notification_retrier
from cloudwindow.cases.ws import messages as case_messages
from cloudwindow.catalog.api import router as catalog_router
from cloudwindow.catalog.calendar import CalendarSync
from cloudwindow.config import Settings
from cloudwindow.db import Database
from cloudwindow.devices.api import router as devices_router
from cloudwindow.devices.jobs import command_sweeper
from cloudwindow.devices.ws import messages as device_messages
from cloudwindow.errors import RuleViolation, error_body, install_error_handlers
from cloudwindow.fleet.api import router as fleet_router
from cloudwindow.identity.api import router as identity_router
from cloudwindow.licences.api import router as licences_router
from cloudwindow.logs import configure_logging, get_logger
from cloudwindow.media.api import router as media_router
from cloudwindow.media.caps import CapsPusher
from cloudwindow.media.quality_api import router as media_quality_router
from cloudwindow.media.telemetry_ws import messages as telemetry_messages
from cloudwindow.media.ws import messages as media_messages
from cloudwindow.middleware import RequestLogMiddleware
from cloudwindow.queueing.api import router as queue_router
from cloudwindow.queueing.bookings_api import router as bookings_router
from cloudwindow.queueing.engine import QueueEngine
from cloudwindow.queueing.ws import messages as queue_messages
from cloudwindow.realtime.actions import do_node_stop
from cloudwindow.realtime.gateway import (
    GATEWAY_PATH,
    Endpoint,
    GatewayFirst,
    Handshakes,
    gateway_endpoint,
)
from cloudwindow.realtime.presence import PresenceWriter
from cloudwindow.recording.api import router as recording_router
from cloudwindow.recording.jobs import RecordingJobs
from cloudwindow.services import Services
from cloudwindow.storage import FileStore
from cloudwindow.trust.api import pages as trust_pages
from cloudwindow.trust.api import router as trust_router

log = get_logger(__name__)
PACKAGE_STATIC = Path(__file__).parent / "static"


def route_permission(route: APIRoute) -> str | None:
    """The permission a route's ``require(...)`` dependency demands, or None if public."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, require):
            return dep.call.permission.value
        stack.extend(dep.dependencies)
    return None


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, whether on the app or in an included router (FastAPI ≥ 0.16x
    keeps included routers as lazy entries in ``app.routes``)."""
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    for router in app.state.routers:
        routes.extend(r for r in router.routes if isinstance(r, APIRoute))
    return routes


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI with each operation's permission as ``x-permission`` (public: absent)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for route in api_routes(app):
        perm = route_permission(route)
        for method in route.methods or ():
            op = schema["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            if perm:
                op["x-permission"] = perm
                op.setdefault("responses", {})
                op["responses"].setdefault("401", {"description": "Not signed in"})
                op["responses"].setdefault("403", {"description": "Not permitted"})
            op["responses"].setdefault("422", {"description": "Invalid request"})
    app.openapi_schema = schema
    return schema


async def reject_nul_in_url(request: HTTPConnection) -> None:
    """NUL in a path or query value: refuse it cleanly (PostgreSQL can't store it)."""
    raw = request.scope.get("query_string", b"").lower()
    if b"%00" in raw or "\x00" in request.scope.get("path", ""):
        raise RuleViolation(
            "validation-failed", "请求参数含有非法字符", "The request contains a NUL character"
        )


class CloudWindowApp(FastAPI):
    """FastAPI with the realtime gateway served ahead of the HTTP middleware stack
    (``GatewayFirst``): a socket to ``/ws`` skips error/telemetry middleware, request
    logging, the route table and app-wide dependencies, none of which it uses."""

    gateway: Endpoint | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.gateway is None else GatewayFirst(stack, self.gateway)


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)
    services = Services(
        settings=settings,
        db=Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow),
        bus=bus or make_bus(settings.redis_url),
        files=FileStore(settings.data_dir),
    )

    engine = QueueEngine(services)
    recording_jobs = RecordingJobs(services)
    caps_pusher = CapsPusher(services)
    device_sweeper = command_sweeper(services)
    sms_retrier = notification_retrier(services)
    calendar_sync = CalendarSync(services)
    dispatchers = [
        queue_messages,
        media_messages,
        telemetry_messages,
        case_messages,
        device_messages,
    ]
    presence = PresenceWriter(services, dispatchers)
    handshakes = Handshakes(services, settings.ws_handshake_batch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.files.ensure()
        await services.bus.start()
        await calendar_sync.start()
        await engine.start_node()
        engine.start()
        recording_jobs.start()
        device_sweeper.start()
        sms_retrier.start()
        if settings.media_caps_enabled:
            caps_pusher.start()
        presence.start()
        log.info(
            "started",
            node=settings.node_name,
            database=services.db.engine.url.drivername,
            bus=type(services.bus).__name__,
        )
        try:
            yield
        finally:
            await engine.stop()
            await recording_jobs.stop()
            await device_sweeper.stop()
            await sms_retrier.stop()
            await calendar_sync.stop()
            await caps_pusher.stop()
            await handshakes.stop()
            try:
                await presence.stop()
                await do_node_stop(services)
            except Exception:  # the database may be the thing that is going away
                log.exception("node-stop-failed")
            await services.bus.stop()
            await services.db.dispose()

    app = CloudWindowApp(
        title="CloudWindow 云窗口",
        version=__version__,
        description="Remote government service cloud windows: catalogue, fleet, accounts.",
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_in_url)],
    )
    app.state.services = services
    app.add_middleware(RequestLogMiddleware)
    install_error_handlers(app)
    app.state.routers = (
        accounts_router,
        catalog_router,
        fleet_router,
        audit_router,
        queue_router,
        bookings_router,
        media_router,
        media_quality_router,
        recording_router,
        cases_router,
        forms_router,
        case_materials_router,
        trust_router,
        devices_router,
        licences_router,
        identity_router,
    )
    for router in app.state.routers:
        app.include_router(router)
    app.include_router(trust_pages)  # /verify/<id>: the public page the QR code opens
    # The gateway is served from the ASGI entry (CloudWindowApp); the route is also
    # registered, so the app's route table lists it.
    gateway = gateway_endpoint(dispatchers, presence, handshakes)
    app.add_api_websocket_route(GATEWAY_PATH, gateway)
    app.gateway = gateway

    @app.get("/healthz", tags=["health"], operation_id="healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "node": settings.node_name}

    @app.get(
        "/readyz",
        tags=["health"],
        operation_id="readyz",
        responses={503: {"description": "A dependency is down"}},
    )
    async def readyz() -> JSONResponse:
        """Readiness: database, event bus and file store all answer."""
        checks: dict[str, str] = {}
        for name, probe in (("database", services.db.ping), ("bus", services.bus.ping)):
            try:
                await probe()
                checks[name] = "ok"
            except Exception as exc:  # report, don't crash: that is the point of readyz
                checks[name] = f"error: {type(exc).__name__}"
        try:
            services.files.check_writable()
            checks["files"] = "ok"
        except OSError as exc:
            checks["files"] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        if ok:
            return JSONResponse({"status": "ok", "checks": checks})
        body = error_body("not-ready", "服务未就绪", "Service not ready", {"checks": checks})
        return JSONResponse(body, status_code=503)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/console", include_in_schema=False)
    async def console_redirect() -> RedirectResponse:
        return RedirectResponse("/console/")

    static = settings.static_dir or PACKAGE_STATIC
    if (static / "console").is_dir():
        app.mount("/", StaticFiles(directory=static, html=True), name="web")
    else:

        @app.get("/", include_in_schema=False)
        async def no_web() -> JSONResponse:
            return JSONResponse(
                error_body(
                    "web-not-built",
                    "前端尚未构建，请运行 make web",
                    "The web front end is not built; run `make web`",
                ),
                status_code=503,
            )

    return app
