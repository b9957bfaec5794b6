"""The running platform's infrastructure, built once by ``create_app`` and passed in."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cloudwindow.bus import EventBus
from cloudwindow.config import Settings
from cloudwindow.db import Database
from cloudwindow.storage import FileStore


@dataclass
class Services:
    settings: Settings
    db: Database
    bus: EventBus
    files: FileStore


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
