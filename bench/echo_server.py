"""Baseline for bench/ws_bench.py: a plain ASGI WebSocket echo server under uvicorn.

    taskset -c 0 .venv/bin/python bench/echo_server.py --port 8201

No framework, no database: it accepts every socket and sends each text (or bytes)
message straight back, so a client's ``hello`` comes back as its "welcome". It runs
under uvicorn with exactly the settings ``cloudwindow serve`` uses (cli.py ``_serve``:
default loop/HTTP/WebSocket implementations, ``ws_per_message_deflate=False``, no access
log), so the difference between the two is the cost of CloudWindow's gateway itself.
Plain HTTP requests get ``200 ok`` (a liveness probe).
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})
    elif scope["type"] == "websocket":
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8201)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
