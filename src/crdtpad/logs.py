"""Logging: one line per event (text or JSON), never a token, client addresses as the privacy
setting says (full, truncated, a keyed hash, or none; like Etherpad's ``ipLogging``)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import time

from crdtpad.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactTokens(logging.Filter):
    """uvicorn logs each request's path with its query string, which may carry ``?token=`` (in any
    spelling a client chooses): no query string is logged."""

    @staticmethod
    def _cut(value: object) -> object:
        if isinstance(value, str) and value.startswith("/") and "?" in value:
            return value.partition("?")[0] + "?[query not logged]"
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        """Cut the query string (all of it) off paths in the record's arguments."""
        if isinstance(record.args, tuple):
            record.args = tuple(self._cut(a) for a in record.args)
        return True


class ClientAddresses(logging.Filter):
    """Rewrite the client address uvicorn puts first in its access and WebSocket lines."""

    def __init__(self, mode: str, secret: bytes) -> None:
        super().__init__()
        self.mode = mode
        self.secret = secret

    def address(self, value: str) -> str:
        """One client address (``host:port``) as the setting wants it."""
        host = value.rsplit(":", 1)[0].strip("[]")  # uvicorn writes "host:port", IPv6 unbracketed
        if self.mode == "none":
            return "-"
        if self.mode == "hashed":
            return "h:" + hmac.new(self.secret, host.encode(), hashlib.sha256).hexdigest()[:12]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host if self.mode == "full" else "-"
        if self.mode == "full":
            return str(ip)
        prefix = 24 if ip.version == 4 else 48
        return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the first argument of uvicorn's lines."""
        if (
            record.name in ("uvicorn.access", "uvicorn.error")
            and isinstance(record.args, tuple)
            and record.args
        ):
            first = record.args[0]
            if isinstance(first, str) and re.fullmatch(r"[\[\]0-9a-fA-F.:]+:\d+", first):
                record.args = (self.address(first), *record.args[1:])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings: Settings) -> None:
    """Send every logger (uvicorn's included) through one handler with our format and filters."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactTokens())
    secret = settings.secret_key() if settings.log_client_addresses == "hashed" else b""
    handler.addFilter(ClientAddresses(settings.log_client_addresses, secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
