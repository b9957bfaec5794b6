"""The node's device-command sweeper: ends pending commands that can no longer get a
result (``actions.do_sweep_commands``). Every node runs it; rows are taken with
``SKIP LOCKED`` on PostgreSQL, so two nodes never end one command twice."""

from __future__ import annotations

from cloudwindow.devices.actions import do_sweep_commands
from cloudwindow.jobs import PeriodicJob
from cloudwindow.services import Services


def command_sweeper(services: Services) -> PeriodicJob:
    return PeriodicJob(
        "device-sweep",
        max(0.2, services.settings.queue_tick_seconds),
        lambda: do_sweep_commands(services),
    )
