"""The ``crdtpad`` command: serve, user, token, config, backup, restore, admin, export, import."""

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
import time
import tomllib
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from crdtpad import maintenance, migrate
from crdtpad.accounts import Accounts
from crdtpad.app import create_asgi
from crdtpad.config import SECRET_FILE, Settings, load_settings
from crdtpad.db import open_db
from crdtpad.errors import CloseCode, CrdtpadError
from crdtpad.logs import setup_logging
from crdtpad.pads import format_of
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


async def prepare_database(settings: Settings) -> None:
    """Open the database once before serving: migrations run, and a database crdtpad cannot use
    stops the start with one clear line instead of a traceback from the app's lifespan."""
    async with open_db(settings.db_path, settings.sqlite_synchronous, settings.sqlite_busy_timeout_ms):
        pass


def serve(settings: Settings) -> None:
    """Run the app on uvicorn until SIGINT or SIGTERM."""
    try:
        asyncio.run(prepare_database(settings))
    except CrdtpadError as exc:
        print(f"crdtpad: {exc}", file=sys.stderr)
        sys.exit(1)
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
    b = sub.add_parser("backup", help="a consistent copy of the database, even while the server runs")
    b.add_argument("file", type=Path, help="where to write it")
    b.add_argument("--force", action="store_true", help="replace an existing file")
    _add_data_dir(b)
    r = sub.add_parser("restore", help="put a backup in place (the server must be stopped)")
    r.add_argument("file", type=Path, help="a file `crdtpad backup` wrote")
    _add_data_dir(r)
    a = sub.add_parser("admin", help="housekeeping").add_subparsers(dest="action", required=True)
    _add_data_dir(a.add_parser("stats", help="pads, users, folders, log and database sizes"))
    st = a.add_parser("stale", help="list pads untouched for N days (what purge would erase)")
    st.add_argument("--days", type=float, required=True)
    _add_data_dir(st)
    pu = a.add_parser("purge", help="erase pads untouched for N days (lists them first)")
    pu.add_argument("--days", type=float, required=True)
    pu.add_argument("--yes", action="store_true", help="erase without asking")
    pu.add_argument(
        "--idle-minutes", type=float, default=10.0, help="never erase a pad edited this recently (default 10)"
    )
    _add_data_dir(pu)
    _add_data_dir(a.add_parser("compact", help="fold every pad's log into a snapshot"))
    ex = sub.add_parser("export", help="write a pad as txt, md, html or yjs (from the database)")
    ex.add_argument("pad_id")
    ex.add_argument("--format", dest="fmt", default="txt", choices=["txt", "md", "html", "yjs"])
    ex.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    _add_data_dir(ex)
    im = sub.add_parser("import", help="a new pad from a txt, md, html or yjs file; prints its id")
    im.add_argument("file", type=Path)
    im.add_argument(
        "--format",
        dest="fmt",
        choices=["txt", "md", "html", "yjs", "etherpad"],
        help="default: from the suffix",
    )
    im.add_argument("--title", help="default: the file name")
    im.add_argument("--owner", help="the account that owns it (needed for private)")
    im.add_argument("--visibility", default="public", choices=["public", "private"])
    _add_data_dir(im)
    mg = sub.add_parser(
        "migrate-etherpad",
        help="import every pad of an Etherpad instance (a folder of .etherpad files or its SQLite DB)",
    )
    mg.add_argument("source", type=Path)
    mg.add_argument("--rate", type=float, default=50.0, help="pads per second at most (default 50)")
    mg.add_argument("--report", type=Path, help="write what was renamed and what failed, as JSON")
    _add_data_dir(mg)
    return parser


class ProgressLine:
    """``done/total`` on stderr: rewritten in place on a terminal, every 10 % otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        step = done * 10 // total if total else 10
        if self.tty:
            print(f"\r{self.label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)
        elif step != self.shown or done == total:
            self.shown = step
            print(f"{self.label}: {done}/{total}", file=sys.stderr)


async def run_maintenance(settings: Settings, args: argparse.Namespace) -> str:
    """One backup, restore or admin command; the summary to print."""
    if args.command == "backup":
        b = await maintenance.backup(settings, args.file, overwrite=args.force)
        return (
            f"Backed up {b.pads} pads ({b.deleted_pads} deleted) to {b.path}: "
            f"{b.bytes} bytes in {b.seconds:.1f} s."
        )
    if args.command == "restore":
        r = await maintenance.restore(settings, args.file)
        kept = f"; the previous database is kept as {r.previous}" if r.previous else ""
        return f"Restored {r.pads} pads from {args.file} (schema {r.schema_version}){kept}."
    if args.command == "export":
        body, name = await maintenance.export_pad(settings, args.pad_id, args.fmt)
        if args.output is None:
            sys.stdout.buffer.write(body)
            return ""
        await asyncio.to_thread(args.output.write_bytes, body)
        return f"Wrote {args.output} ({len(body)} bytes; suggested name {name})."
    if args.command == "migrate-etherpad":
        report = await migrate.migrate_etherpad(
            settings, args.source, rate=args.rate, progress=ProgressLine("migrating")
        )
        if args.report is not None:
            await asyncio.to_thread(migrate.write_report, report, args.report)
        failed = "".join(f"\n  failed: {name}: {why}" for name, why in sorted(report.failed.items())[:20])
        more = f"\n  ... and {len(report.failed) - 20} more" if len(report.failed) > 20 else ""
        return (
            f"Migrated {report.imported} pads; {report.skipped} were already here; "
            f"{len(report.renamed)} got a new id; {len(report.failed)} failed.{failed}{more}"
        )
    if args.command == "import":
        fmt = args.fmt or format_of(args.file.name) or "txt"
        data = await asyncio.to_thread(args.file.read_bytes)
        pad_id = await maintenance.import_pad(
            settings, data, fmt, args.title or args.file.name, args.owner, args.visibility
        )
        return pad_id
    if args.action == "stats":
        return "\n".join(f"{k} = {v}" for k, v in (await maintenance.stats(settings)).items())
    if args.action in ("stale", "purge"):
        pads = await maintenance.stale_pads(settings, args.days)
        lines = [
            f"{p.id}  {time.strftime('%Y-%m-%d', time.gmtime(p.updated_at / 1000))}  {p.title}" for p in pads
        ]
        listing = "\n".join([*lines, f"{len(pads)} pads untouched for {args.days:g} days."])
        if args.action == "stale" or not pads:
            return listing
        print(listing)
        question = f"Erase these {len(pads)} pads for good? [y/N] "
        if not args.yes and (await asyncio.to_thread(input, question)).strip().lower() != "y":
            return "Nothing erased."
        if await maintenance.database_in_use(settings):
            print(
                "crdtpad: a server is running: a purged pad still open in a browser is closed (4410) "
                "at its next edit, or within CRDTPAD_COMPACT_INTERVAL_S if it is only read."
            )
        n = await maintenance.purge_pads(
            settings, [p.id for p in pads], ProgressLine("purging"), idle_minutes=args.idle_minutes
        )
        return f"Erased {n} pads."
    result = await maintenance.compact_all(settings, ProgressLine("compacting"))
    failed = "".join(f"\n  not compacted: {pad_id}: {why}" for pad_id, why in result.failed.items())
    return f"Compacted {result.compacted} pads ({result.rows_folded} log rows folded).{failed}"


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
        else:
            out = asyncio.run(run_maintenance(settings, args))
            if out:
                print(out)
    except CrdtpadError as exc:
        print(f"crdtpad: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:
        print(f"crdtpad: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ncrdtpad: interrupted; what was done is kept, the rest untouched.", file=sys.stderr)
        sys.exit(130)
