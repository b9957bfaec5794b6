"""The running platform's infrastructure, built once by ``create_app`` and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from cloudwindow.bus import EventBus
from cloudwindow.config import Settings
from cloudwindow.db import Database
from cloudwindow.realtime.hub import Hub
from cloudwindow.signals import Signals
from cloudwindow.storage import FileStore


@dataclass
class Services:
    settings: Settings
    db: Database
    bus: EventBus
    files: FileStore
    hub: Hub = field(init=False)
    signals: Signals = field(init=False)

    @classmethod
    def standalone(cls, settings: Settings) -> Services:
        """Services without the HTTP app (CLI commands, test setup, benchmarks): the
        configured database and file store with an in-process bus."""
        from cloudwindow.bus import MemoryBus

        return cls(
            settings=settings,
            db=Database(settings.database_url, settings.db_pool_size, settings.db_max_overflow),
            bus=MemoryBus(),
            files=FileStore(settings.data_dir),
        )

    def __post_init__(self) -> None:
        # Every session carries the settings, so a query handed only a session can
        # decrypt what it reads (identity.queries.current_identity).
        self.db.sessions.configure(info={"settings": self.settings})
        self.signals = Signals()
        self.hub = Hub(self.bus, self.settings.node_name)
        self.hub.start()


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
