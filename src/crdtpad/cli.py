"""The ``crdtpad`` command: thin wrappers over the app."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from crdtpad.app import create_app
from crdtpad.config import Settings
from crdtpad.errors import CloseCode

log = logging.getLogger("crdtpad")


class _Server(uvicorn.Server):
    """uvicorn, but on SIGTERM our sockets close with 1001 and the log is flushed first."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        services = getattr(self.app.state, "services", None)
        if services is not None:
            await services.rooms.shutdown(CloseCode.GOING_AWAY)
            for _ in range(100):  # let the socket handlers send their close frames
                if not services.sockets:
                    break
                await asyncio.sleep(0.05)
        await super().shutdown(sockets)
        # A clean SIGTERM shutdown exits 0 (uvicorn would re-raise the signal after serving).
        self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]


def serve(settings: Settings) -> None:
    """Run the app on uvicorn until SIGINT or SIGTERM."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Frames up to twice the limit reach our handler, which closes 1009 and counts it.
        ws=settings.ws_backend,
        ws_max_size=settings.max_frame_bytes * 2,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        lifespan="on",
        proxy_headers=False,
    )
    _Server(config, app).run()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crdtpad", description="Real-time collaborative pads.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the app")
    s.add_argument("--host", help="address to listen on (CRDTPAD_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (CRDTPAD_PORT, default 8000)")
    s.add_argument(
        "--data-dir", type=Path, help="where the database lives (CRDTPAD_DATA_DIR, default ./data)"
    )
    s.add_argument(
        "--open-pads",
        action="store_true",
        default=None,
        help="connecting to an unknown pad id creates it (CRDTPAD_OPEN_PADS)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(x) for x in err["loc"])
            print(f"crdtpad: invalid setting {name} = {err.get('input')!r}: {err['msg']}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        serve(settings)
