"""Server access log behind a trusted proxy, and token redaction."""

import socket
import time
from pathlib import Path

import httpx

from tests.support import ServerProcess


def raw_get(port: int, target: str) -> bytes:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    return out


def test_access_log_shows_forwarded_client(tmp_path: Path) -> None:
    srv = ServerProcess(
        tmp_path / "data",
        CRDTPAD_TRUSTED_PROXIES="127.0.0.1",
        CRDTPAD_LOG_CLIENT_ADDRESSES="full",
        CRDTPAD_LOG_LEVEL="info",
    )
    srv.start()
    try:
        httpx.get(f"{srv.url}/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
        time.sleep(0.5)
        log = srv.log_path.read_text()
        line = [entry for entry in log.splitlines() if "/healthz" in entry][-1]
        print(line)
        assert "203.0.113.7" in line, f"access log names the proxy, not the client: {line}"
    finally:
        srv.terminate() if hasattr(srv, "terminate") else srv.proc.terminate()


def test_token_with_quote_in_query_is_logged(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", CRDTPAD_LOG_LEVEL="info")
    srv.start()
    try:
        print(raw_get(srv.port, '/healthz?a="&token=SECRETTOKEN123')[:60])
        time.sleep(0.5)
        log = srv.log_path.read_text()
        lines = [entry for entry in log.splitlines() if "/healthz" in entry]
        print(lines)
        assert "SECRETTOKEN123" not in log, "token leaked into the log"
    finally:
        srv.terminate() if hasattr(srv, "terminate") else srv.proc.terminate()
