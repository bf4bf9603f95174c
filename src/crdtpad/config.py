"""Settings, read from the environment (prefix ``CRDTPAD_``) and the command line."""

from __future__ import annotations

import contextvars
import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "crdtpad_config_file", default=None
)
SECRET_FILE = "secret_key"
SECRET_BYTES = 32
WebhookEvent = Literal["pad.created", "pad.changed", "pad.deleted", "user.joined", "user.left"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)
MIN_WEBHOOK_SECRET_BYTES = 16


class Settings(BaseSettings):
    """Everything an instance can be configured with; immutable once built."""

    model_config = SettingsConfigDict(env_prefix="CRDTPAD_", frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./data")
    open_pads: bool = Field(
        default=False, description="Connecting to an unknown, well-formed pad id creates a public pad."
    )

    # Storage
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    sqlite_busy_timeout_ms: int = Field(
        default=10_000, ge=0, description="How long a write waits for a lock."
    )
    compact_after_updates: int = Field(
        default=500, ge=1, description="Fold the log into a snapshot past this."
    )
    compact_after_bytes: int = Field(default=1024 * 1024, ge=1)
    compact_interval_s: float = Field(default=10.0, gt=0)
    max_batch_updates: int = Field(
        default=2000, ge=1, description="Most updates committed in one transaction."
    )

    # History
    revision_idle_s: float = Field(
        default=30.0, gt=0, description="A revision is kept once a pad has been quiet this long after edits."
    )
    revisions_kept: int = Field(
        default=200, ge=1, description="Automatic revisions kept per pad (saved ones are always kept)."
    )

    # Rooms
    unload_grace_s: float = Field(default=5.0, ge=0, description="Keep an empty room loaded this long.")
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    send_queue_messages: int = Field(
        default=512, ge=1, description="Per-client queue; a full one closes 1013."
    )
    send_queue_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    rate_messages_per_s: float = Field(default=100.0, gt=0)
    rate_burst: int = Field(default=500, ge=1)
    max_type_depth: int = Field(default=64, ge=1, le=1000)
    max_pending_structs: int = Field(default=1000, ge=0)
    max_awareness_bytes: int = Field(default=64 * 1024, ge=64)
    max_clients_per_room: int = Field(default=1000, ge=1)
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)
    ws_backend: Literal["websockets-sansio", "websockets"] = Field(
        default="websockets-sansio", description="uvicorn's WebSocket implementation."
    )
    ws_per_message_deflate: bool = Field(
        default=False, description="Offer permessage-deflate (fewer bytes, more memory and CPU per socket)."
    )
    shutdown_timeout_s: float = Field(default=10.0, gt=0)

    # Accounts
    registration: Literal["open", "closed", "invite"] = Field(
        default="open",
        description="Who may self-register: anyone, nobody (an admin runs `crdtpad user create`), or "
        "whoever holds an invite code from an admin.",
    )
    invite_ttl_s: float = Field(default=7 * 24 * 3600, gt=0, description="An invite code works this long.")
    anonymous_pads: bool = Field(
        default=True, description="Visitors without an account may create public pads (as on Etherpad)."
    )
    unlock_ttl_s: float = Field(
        default=12 * 3600, gt=0, description="A password pad's unlock token works this long."
    )
    max_import_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest file an import takes (413 above)."
    )
    max_links_per_target: int = Field(
        default=100, ge=1, description="Share links one pad or folder may have."
    )
    public_origin: str | None = Field(
        default=None,
        description="The origin browsers see, e.g. https://pads.example.org, when behind a reverse proxy; "
        "default: the request's own scheme and Host.",
    )
    session_ttl_s: float = Field(
        default=7 * 24 * 3600, gt=0, description="A browser session lasts this long after login."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per account within the window before 429."
    )
    login_max_failures_per_address: int = Field(
        default=50, ge=1, description="Failed logins per client address within the window before 429."
    )
    login_window_s: float = Field(default=300.0, gt=0, description="The sliding window of login failures.")
    argon2_memory_kib: int = Field(default=19456, ge=19456, description="argon2id memory cost in KiB.")
    argon2_time_cost: int = Field(default=2, ge=2, description="argon2id passes.")
    max_concurrent_hashes: int = Field(
        default=4, ge=1, description="Password hashes computed at once (each takes the argon2 memory)."
    )

    web_dir: Path | None = Field(
        default=None, description="Serve the web app from this built directory instead of the package's."
    )

    # Behind a reverse proxy
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (comma-separated; '*' for any) whose X-Forwarded-For, "
        "-Proto and -Prefix headers are believed.",
    )
    path_prefix: str = Field(
        default="", description="The path the app is served under, e.g. /pads (else X-Forwarded-Prefix)."
    )

    # For embedders: webhooks and CORS
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Endpoints (http or https URLs, comma-separated) that receive signed event POSTs.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="The shared secret that signs webhooks (at least 16 bytes)."
    )
    webhook_secret_file: Path | None = Field(
        default=None,
        validate_default=True,
        description="A file holding the webhook secret (instead of webhook_secret).",
    )
    webhook_events: Annotated[list[WebhookEvent], NoDecode] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS),
        description="Which events are sent (comma-separated): " + ", ".join(WEBHOOK_EVENTS) + ".",
    )
    webhook_debounce_s: float = Field(
        default=2.0,
        gt=0,
        description="pad.changed is sent once a pad has been quiet this long after a change.",
    )
    webhook_debounce_max_s: float = Field(
        default=10.0,
        gt=0,
        validate_default=True,
        description="Under continuous editing, pad.changed is still sent this long after the first change.",
    )
    webhook_include: Literal["none", "text", "diff"] = Field(
        default="none",
        description="What pad.changed carries besides counts: nothing, the pad's whole text, or one "
        "splice from the text of the pad's previous event.",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Time allowed for one delivery attempt.")
    webhook_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Attempts per event and endpoint before it is given up."
    )
    webhook_backoff_s: float = Field(
        default=1.0, gt=0, description="Wait before the first retry; doubled before each next one."
    )
    webhook_queue_size: int = Field(
        default=1000, ge=1, description="Events waiting per endpoint; past it the oldest is dropped."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (comma-separated, or '*') whose pages may call /api/v1 with a bearer token; "
        "none: no CORS headers.",
    )
    socket_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (comma-separated) whose pages may open the sync sockets, besides the "
        "instance's own; none: any origin (with a token). Clients that send no Origin are not browsers.",
    )

    # The Hocuspocus endpoint (/hocuspocus): bounds per socket
    hocuspocus_auth_timeout_s: float = Field(
        default=15.0, gt=0, description="A socket must get a first pad admitted this soon, else 4408."
    )
    hocuspocus_preauth_messages: int = Field(
        default=1000, ge=1, description="Frames held for pads not yet admitted, per socket, else 4205."
    )
    hocuspocus_preauth_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Their bytes, per socket, else 4205."
    )
    hocuspocus_pending_pads: int = Field(
        default=100, ge=1, description="Pads waiting for admission on one socket, else 4205."
    )
    hocuspocus_pads_per_socket: int = Field(
        default=200, ge=1, description="Pads open on one socket; one more is refused."
    )
    hocuspocus_ping_idle_s: float = Field(
        default=15.0,
        gt=0,
        lt=30,
        description="A Ping after this long without a frame (the 4.x provider reconnects after 30 s).",
    )

    # Logs
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="One line per event: text or JSON."
    )
    log_client_addresses: Literal["full", "truncated", "hashed", "none"] = Field(
        default="truncated",
        description="Client addresses in logs: as they are, truncated (IPv4 /24, IPv6 /48), a keyed hash, "
        "or none.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Command line over environment over the TOML file (``--config``) over defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for entry in value:
                if entry != "*":
                    try:
                        ipaddress.ip_network(str(entry), strict=False)
                    except ValueError:
                        raise ValueError(f"{entry!r} is not an address, a network or '*'") from None
        return value

    @field_validator("webhook_urls", "webhook_events", "cors_origins", "socket_origins", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        """A list from the environment: comma-separated, or a JSON array."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url[:100]!r} is not an http or https URL")
        return value

    @field_validator("cors_origins", "socket_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        origins = []
        for origin in value:
            if origin != "*":
                origin = origin.rstrip("/")
                parts = urlsplit(origin)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                    raise ValueError(f"{origin[:100]!r} is not an origin like https://app.example.org or '*'")
            origins.append(origin)
        return origins

    @field_validator("webhook_secret_file")
    @classmethod
    def _secret(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # Checked here, not on the whole model, so an error never echoes the other settings (the secret).
        secret = info.data.get("webhook_secret")
        if secret is not None and value is not None:
            raise ValueError("give webhook_secret or webhook_secret_file, not both")
        key = _webhook_key(secret, value)
        if info.data.get("webhook_urls") and key is None:
            raise ValueError("webhook_urls needs webhook_secret or webhook_secret_file (the signing secret)")
        return value

    @field_validator("webhook_debounce_max_s")
    @classmethod
    def _debounce_max(cls, value: float, info: ValidationInfo) -> float:
        if value < info.data.get("webhook_debounce_s", 0):
            raise ValueError("must be at least webhook_debounce_s")
        return value

    def webhook_key(self) -> bytes | None:
        """The webhook signing secret (from the setting or its file, without a final newline)."""
        return _webhook_key(self.webhook_secret, self.webhook_secret_file)

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.rstrip("/")
        if value and (not value.startswith("/") or "//" in value or any(c in value for c in "?#% ")):
            raise ValueError("must be a path like /pads (starting with /, no query)")
        return value

    @field_validator("public_origin")
    @classmethod
    def _origin_only(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValueError("must be an origin like https://pads.example.org (scheme and host, no path)")
        return value

    def secret_key(self) -> bytes:
        """The instance's secret (32 bytes), made on first use and kept in the data dir (0600).

        Written whole to a temporary file and linked into place, so no process ever reads a
        partial key; a file of the wrong size (a crash in an older version) is replaced.
        """
        path = self.data_dir / SECRET_FILE
        try:
            key = path.read_bytes()
            if len(key) == SECRET_BYTES:
                return key
        except FileNotFoundError:
            pass
        self.data_dir.mkdir(parents=True, exist_ok=True)
        temp = self.data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(SECRET_BYTES))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                if len(path.read_bytes()) != SECRET_BYTES:
                    os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        return path.read_bytes()

    @property
    def db_path(self) -> Path:
        """The SQLite database file inside the data directory."""
        return self.data_dir / "crdtpad.sqlite3"


def _webhook_key(secret: SecretStr | None, path: Path | None) -> bytes | None:
    if secret is not None:
        key = secret.get_secret_value().encode("utf-8")
        what = "webhook_secret"
    elif path is not None:
        try:
            key = path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise ValueError(f"webhook_secret_file {path} cannot be read: {exc.strerror}") from None
        what = f"webhook_secret_file {path}"
    else:
        return None
    if len(key) < MIN_WEBHOOK_SECRET_BYTES:
        raise ValueError(f"{what} must hold at least {MIN_WEBHOOK_SECRET_BYTES} bytes")
    return key


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``overrides``, the environment and, if given (or CRDTPAD_CONFIG), a TOML file."""
    if config_file is None and os.environ.get("CRDTPAD_CONFIG"):
        config_file = Path(os.environ["CRDTPAD_CONFIG"])
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"the configuration file {config_file} does not exist")
    token = _config_file.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)
