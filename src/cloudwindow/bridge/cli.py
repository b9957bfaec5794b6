"""``cloudwindow bridge``: run the reference bridge with simulated devices."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from cloudwindow.bridge.protocol import DEFAULT_PORT

DEFAULT_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


def bridge(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port)")] = DEFAULT_PORT,
    out: Annotated[Path, typer.Option(help="Folder the printers write their PDFs to")] = Path(
        "var/bridge"
    ),
    card: Annotated[
        str | None, typer.Option(help="Sample person whose ID card lies on the reader")
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(help="Origin of the kiosk page allowed to connect (repeatable)"),
    ] = None,
    control: Annotated[
        Path | None, typer.Option(help="Control file (JSON) for health and the card")
    ] = None,
    read_delay: Annotated[float, typer.Option(help="Seconds an ID read takes")] = 0.8,
    print_delay: Annotated[float, typer.Option(help="Seconds a print job takes")] = 0.3,
    allow_no_origin: Annotated[
        bool, typer.Option(help="Also accept clients that send no Origin (tools, not browsers)")
    ] = False,
) -> None:
    """Run the kiosk peripheral bridge (docs/bridge.md) with simulated devices: sample ID
    cards, printers that write PDF files, a signature pad fed by pointer input."""
    from cloudwindow.bridge.cards import sample_cards
    from cloudwindow.bridge.devices import Simulation
    from cloudwindow.bridge.server import Bridge
    from cloudwindow.logs import configure_logging

    configure_logging("INFO", False)
    sim = Simulation(
        out.resolve(), card, read_delay=read_delay, print_delay=print_delay, control_file=control
    )
    server = Bridge(sim, origin or DEFAULT_ORIGINS, port=port, allow_no_origin=allow_no_origin)

    async def run() -> None:
        listening = await server.start()
        typer.echo(
            f"外设桥 Bridge: ws://127.0.0.1:{listening}/  printers → {out}  "
            f"cards: {', '.join(c.key for c in sample_cards())}",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(run())


def main() -> None:
    typer.run(bridge)
