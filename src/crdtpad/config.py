"""Settings, read from the environment (prefix ``CRDTPAD_``) and the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def db_path(self) -> Path:
        """The SQLite database file inside the data directory."""
        return self.data_dir / "crdtpad.sqlite3"
