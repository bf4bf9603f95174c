"""Configuration from a TOML file and the environment, `crdtpad config`, and the log's privacy."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from pathlib import Path

import httpx
import pytest

from crdtpad.config import load_settings
from crdtpad.logs import ClientAddresses, JsonFormatter, RedactTokens
from tests.support import ServerProcess, YClient, run_crdtpad


def crdtpad(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_crdtpad(*args, env={"CRDTPAD_LOG_LEVEL": "info", **(env or {})})


def test_command_line_over_environment_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "crdtpad.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\ntrusted_proxies = ["10.0.0.0/8"]\n')
    monkeypatch.setenv("CRDTPAD_HOST", "127.0.0.2")
    settings = load_settings(config, port=9002)
    assert (settings.port, settings.host, settings.trusted_proxies) == (9002, "127.0.0.2", ["10.0.0.0/8"])
    monkeypatch.setenv("CRDTPAD_CONFIG", str(config))
    assert load_settings().trusted_proxies == ["10.0.0.0/8"]


def test_a_bad_setting_stops_the_start_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "crdtpad.toml"
    config.write_text('trusted_proxies = ["10.0.0.0/8", "my-proxy"]\n')
    done = crdtpad("serve", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 2
    assert "trusted_proxies" in done.stderr and "my-proxy" in done.stderr
    config.write_text("prot = 80\n")
    done = crdtpad("serve", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 2 and "prot" in done.stderr
    done = crdtpad("config", env={"CRDTPAD_PORT": "eighty"})
    assert done.returncode == 2 and "port = 'eighty'" in done.stderr
    config.write_text("port = \n")
    done = crdtpad("config", "--config", str(config))
    assert done.returncode == 2 and str(config) in done.stderr


def test_crdtpad_config_prints_the_effective_settings_without_the_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = load_settings(data_dir=data).secret_key()
    assert len(secret) == 32 and (data / "secret_key").stat().st_mode & 0o777 == 0o600
    done = crdtpad("config", "--data-dir", str(data), env={"CRDTPAD_LOG_FORMAT": "json"})
    assert done.returncode == 0, done.stderr
    assert 'log_format = "json"' in done.stdout and f'data_dir = "{data}"' in done.stdout
    assert secret.hex() not in done.stdout and "secret_key" in done.stdout
    assert load_settings(data_dir=data).secret_key() == secret  # kept, not remade


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("mode", "ipv4", "ipv6"),
    [
        ("full", "203.0.113.77", "2001:db8:1:2::7"),
        ("truncated", "203.0.113.0/24", "2001:db8:1::/48"),
        ("none", "-", "-"),
    ],
)
def test_client_addresses_follow_the_privacy_setting(mode: str, ipv4: str, ipv6: str) -> None:
    f = ClientAddresses(mode, b"k")
    for address, expected in (("203.0.113.77:5555", ipv4), ("2001:db8:1:2::7:5555", ipv6)):
        r = record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', address, "GET", "/", "1.1", 200)
        f.filter(r)
        assert r.getMessage().startswith(f"{expected} - ")


def test_hashed_addresses_are_stable_and_keyed() -> None:
    a, b = ClientAddresses("hashed", b"one"), ClientAddresses("hashed", b"two")
    assert a.address("203.0.113.77:1") == a.address("203.0.113.77:2") != b.address("203.0.113.77:1")
    assert "203.0.113" not in a.address("203.0.113.77:1")


def test_json_lines_and_no_tokens() -> None:
    r = record("uvicorn.error", '%s - "WebSocket %s" [accepted]', "127.0.0.1:1", "/sync/p?token=cpl_secret")
    RedactTokens().filter(r)
    line = JsonFormatter().format(r)
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "uvicorn.error"
    assert "cpl_secret" not in line and "/sync/p?[query not logged]" in entry["message"]


def test_a_server_logs_json_lines_without_tokens_or_addresses(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data",
        CRDTPAD_LOG_FORMAT="json",
        CRDTPAD_LOG_CLIENT_ADDRESSES="none",
        CRDTPAD_LOG_LEVEL="info",
    )
    server.start()
    try:
        pad = httpx.post(f"{server.url}/api/v1/pads", json={}).json()["id"]
        httpx.get(f"{server.url}/api/v1/pads/{pad}?token=cpl_leaked_secret")

        async def connect() -> None:
            y = YClient(f"{server.ws_url(pad)}?token=cpl_leaked_secret")
            await y.connect(wait_synced=False)
            await y.wait_closed()
            await y.close()

        asyncio.run(connect())
    finally:
        server.terminate()
    lines = [line for line in server.log().splitlines() if line.startswith("{")]
    assert len(lines) >= 3
    entries = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    text = "\n".join(lines)
    assert "cpl_leaked_secret" not in text
    clients = [e["message"] for e in entries if e["logger"] in ("uvicorn.access", "uvicorn.error")]
    assert not [m for m in clients if "127.0.0.1" in m and "running on" not in m]  # the listen address only
    assert any("WebSocket /sync/" in e["message"] for e in entries)
