"""The ``crdtpad`` command: thin wrappers over the app."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import socket
import sys
import tomllib
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from crdtpad.accounts import Accounts
from crdtpad.app import create_asgi
from crdtpad.config import SECRET_FILE, Settings, load_settings
from crdtpad.db import open_db
from crdtpad.errors import CloseCode, CrdtpadError
from crdtpad.logs import setup_logging
from crdtpad.store.users import SqliteUserStore

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
    app, asgi = create_asgi(settings)
    config = uvicorn.Config(
        asgi,
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
        proxy_headers=False,  # crdtpad's own middleware trusts only CRDTPAD_TRUSTED_PROXIES
        log_config=None,
        server_header=False,
    )
    setup_logging(settings)  # after uvicorn.Config, which configures its loggers
    _Server(config, app).run()


def read_password(prompt: str = "Password: ") -> str:
    """The password: prompted without echo on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != password:
            raise SystemExit("crdtpad: the passwords differ")
        return password
    return sys.stdin.readline().rstrip("\r\n")


async def create_user(settings: Settings, username: str, password: str, *, is_admin: bool) -> str:
    """Create an account in the data dir directly (no server needed); a line to print."""
    db = (settings.db_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
    async with open_db(*db) as (writer, reader):
        user = await Accounts(SqliteUserStore(writer, reader), settings).create_user(
            username, password, is_admin=is_admin
        )
    return f"Created {'admin ' if user.is_admin else ''}user {user.username} (id {user.id})."


async def create_token(settings: Settings, username: str, name: str) -> str:
    """A new API token for ``username``, made in the data dir directly."""
    db = (settings.db_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms)
    async with open_db(*db) as (writer, reader):
        accounts = Accounts(SqliteUserStore(writer, reader), settings)
        user = await accounts.user_by_name(username)
        if user is None:
            raise SystemExit(f"crdtpad: no user is named {username!r}")
        _, token = await accounts.create_api_token(user, name)
    return token


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="where the database lives (CRDTPAD_DATA_DIR, default ./data)"
    )
    parser.add_argument(
        "--config", type=Path, dest="config_file", help="a TOML settings file (CRDTPAD_CONFIG)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crdtpad", description="Real-time collaborative pads.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the app")
    s.add_argument("--host", help="address to listen on (CRDTPAD_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (CRDTPAD_PORT, default 8000)")
    _add_data_dir(s)
    s.add_argument(
        "--open-pads",
        action="store_true",
        default=None,
        help="connecting to an unknown pad id creates it (CRDTPAD_OPEN_PADS)",
    )
    u = sub.add_parser("user", help="manage accounts").add_subparsers(dest="action", required=True)
    uc = u.add_parser("create", help="create an account; the password is read from stdin or prompted")
    uc.add_argument("username")
    uc.add_argument("--admin", action="store_true", help="make it an instance admin")
    _add_data_dir(uc)
    t = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="action", required=True)
    tc = t.add_parser("create", help="print a new API token for a user")
    tc.add_argument("username")
    tc.add_argument("--name", default="cli", help="the token's name (default: cli)")
    _add_data_dir(tc)
    c = sub.add_parser("config", help="print the effective settings (TOML), secrets left out")
    _add_data_dir(c)
    return parser


def show_config(settings: Settings) -> str:
    """The effective settings as TOML; the instance secret stays in its file."""
    lines = ["# crdtpad settings in effect (command line > CRDTPAD_* > --config file > defaults)"]
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            lines.append(f"# {name} = (unset)")
        else:
            lines.append(f"{name} = {json.dumps(value)}")
    lines.append(f"# the instance secret is in {settings.data_dir / SECRET_FILE} (not shown)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {
        k: v for k, v in vars(args).items() if k in Settings.model_fields and v is not None
    }
    try:
        settings = load_settings(args.config_file, **overrides)
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(x) for x in err["loc"])
            print(f"crdtpad: invalid setting {name} = {err.get('input')!r}: {err['msg']}", file=sys.stderr)
        sys.exit(2)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        where = args.config_file or os.environ.get("CRDTPAD_CONFIG", "")
        print(f"crdtpad: cannot read the configuration {where}: {exc}", file=sys.stderr)
        sys.exit(2)
    setup_logging(settings)
    if args.command == "config":
        print(show_config(settings))
        return
    if args.command == "serve":
        serve(settings)
        return
    try:
        if args.command == "user":
            password = read_password()
            print(asyncio.run(create_user(settings, args.username, password, is_admin=args.admin)))
        elif args.command == "token":
            print(asyncio.run(create_token(settings, args.username, args.name)))
    except CrdtpadError as exc:
        print(f"crdtpad: {exc}", file=sys.stderr)
        sys.exit(1)
