"""Webhook and CORS settings: from the environment and the TOML file, checked at start, secret kept out."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from crdtpad.config import WEBHOOK_EVENTS, load_settings
from tests.support import run_crdtpad

SECRET = "settings-test-secret-0123456789"


def test_webhooks_and_cors_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRDTPAD_WEBHOOK_URLS", "https://hooks.example.org/a, http://10.0.0.5:8080/b")
    monkeypatch.setenv("CRDTPAD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CRDTPAD_WEBHOOK_EVENTS", "pad.created,pad.deleted")
    monkeypatch.setenv("CRDTPAD_CORS_ORIGINS", '["https://app.example.org/", "http://localhost:5173"]')
    s = load_settings()
    assert s.webhook_urls == ["https://hooks.example.org/a", "http://10.0.0.5:8080/b"]
    assert s.webhook_events == ["pad.created", "pad.deleted"]
    assert s.webhook_key() == SECRET.encode()
    assert s.cors_origins == ["https://app.example.org", "http://localhost:5173"]


def test_defaults_send_nothing_and_allow_no_origin() -> None:
    s = load_settings()
    assert s.webhook_urls == [] and s.cors_origins == [] and s.webhook_key() is None
    assert s.webhook_events == list(WEBHOOK_EVENTS) and s.webhook_include == "none"
    assert (s.webhook_debounce_s, s.webhook_timeout_s, s.webhook_max_attempts, s.webhook_queue_size) == (
        2.0,
        5.0,
        5,
        1000,
    )


def test_the_secret_may_live_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "webhook_secret"
    path.write_text(SECRET + "\n")
    s = load_settings(webhook_urls=["https://h.example.org/"], webhook_secret_file=path)
    assert s.webhook_key() == SECRET.encode()


@pytest.mark.parametrize(
    ("settings", "named", "says"),
    [
        ({"webhook_urls": ["https://h.example.org/"]}, "webhook_secret_file", "needs webhook_secret"),
        (
            {"webhook_urls": ["https://h.example.org/"], "webhook_secret": "short"},
            "webhook_secret_file",
            "16 bytes",
        ),
        ({"webhook_secret_file": "/nonexistent/secret"}, "webhook_secret_file", "cannot be read"),
        ({"webhook_urls": ["ftp://h.example.org/"], "webhook_secret": SECRET}, "webhook_urls", "not an http"),
        ({"webhook_events": ["pad.created", "pad.exploded"]}, "webhook_events", ""),
        ({"webhook_include": "everything"}, "webhook_include", ""),
        ({"webhook_debounce_s": 20}, "webhook_debounce_max_s", "at least webhook_debounce_s"),
        ({"webhook_queue_size": 0}, "webhook_queue_size", ""),
        ({"cors_origins": ["https://app.example.org/path"]}, "cors_origins", "not an origin"),
    ],
)
def test_a_bad_webhook_or_cors_setting_is_refused_by_name(
    settings: dict[str, object], named: str, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        load_settings(**settings)
    err = caught.value.errors()[0]
    assert err["loc"][0] == named
    assert says in err["msg"]


def test_the_secret_is_never_printed(tmp_path: Path) -> None:
    config = tmp_path / "crdtpad.toml"
    config.write_text(
        f'webhook_urls = ["https://h.example.org/hook"]\nwebhook_secret = "{SECRET}"\n'
        'webhook_include = "text"\ncors_origins = ["https://app.example.org"]\n'
    )
    done = run_crdtpad("config", "--config", str(config), data_dir=tmp_path / "d")
    assert done.returncode == 0, done.stderr
    assert 'webhook_urls = ["https://h.example.org/hook"]' in done.stdout
    assert 'cors_origins = ["https://app.example.org"]' in done.stdout
    assert SECRET not in done.stdout
    done = run_crdtpad("serve", "--config", str(config), env={"CRDTPAD_WEBHOOK_SECRET": "tooshort-secret"})
    assert done.returncode == 2 and "16 bytes" in done.stderr and "tooshort-secret" not in done.stderr
