"""WebSocket transport of quality telemetry (docs/protocol.md §Media quality): the
``media.stats`` message both ends of a call send every ~2 s."""

from __future__ import annotations

from typing import Any

from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.media import telemetry
from cloudwindow.media.quality_schemas import StatsReport
from cloudwindow.realtime.dispatch import Dispatcher
from cloudwindow.services import Services

messages = Dispatcher()
# One limiter per node (per app's Services): a sender is one principal, and a principal
# holds one socket, so this limits each connection.
_limiters: dict[int, telemetry.RateLimiter] = {}


def _limiter(services: Services) -> telemetry.RateLimiter:
    key = id(services)
    if key not in _limiters:
        settings = services.settings
        _limiters[key] = telemetry.RateLimiter(
            every=settings.media_stats_interval_seconds / 2, burst=settings.media_stats_burst
        )
    return _limiters[key]


@messages.handles("media.stats", Permission.MEDIA_CALL, reply="media.stats_recorded")
async def stats(services: Services, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    telemetry.check_size(services, data)
    if not _limiter(services).allow(who.ident):
        raise telemetry.StatsRateLimited()
    return await telemetry.do_record_stats(services, who, StatsReport.model_validate(data))
