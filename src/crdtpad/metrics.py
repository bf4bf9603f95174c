"""Prometheus series for one app instance (its own registry: no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Every ``crdtpad_*`` series the server exports."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.connections = Gauge("crdtpad_connections_open", "Open sync connections.", registry=r)
        self.connections_total = Counter(
            "crdtpad_connections_accepted", "Sync connections accepted.", registry=r
        )
        self.rooms_loaded = Gauge("crdtpad_rooms_loaded", "Pads loaded in memory.", registry=r)
        self.room_loads = Counter("crdtpad_room_loads", "Pad loads from the store.", registry=r)
        self.room_load_seconds = Histogram(
            "crdtpad_room_load_seconds", "Time to load a pad from the store.", registry=r
        )
        self.rooms_failed = Counter(
            "crdtpad_rooms_failed", "Rooms dropped after an unexpected error.", ["reason"], registry=r
        )
        self.updates_applied = Counter("crdtpad_updates_applied", "Updates applied to pads.", registry=r)
        self.updates_stored = Counter("crdtpad_updates_stored", "Updates committed to the log.", registry=r)
        self.bytes_in = Counter("crdtpad_bytes_received", "Bytes received on sync sockets.", registry=r)
        self.bytes_out = Counter("crdtpad_bytes_sent", "Bytes sent on sync sockets.", registry=r)
        self.messages_in = Counter("crdtpad_messages_received", "Messages received.", ["type"], registry=r)
        self.commit_seconds = Histogram(
            "crdtpad_commit_seconds",
            "Latency of one log commit.",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.commit_batch = Histogram(
            "crdtpad_commit_batch_updates",
            "Updates committed per transaction.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
            registry=r,
        )
        self.compactions = Counter("crdtpad_compactions", "Log compactions into snapshots.", registry=r)
        self.closes = Counter(
            "crdtpad_closes",
            "Sync connections closed by the server, by code.",
            ["code", "reason"],
            registry=r,
        )
        self.rejected = Counter(
            "crdtpad_frames_rejected", "Frames refused, by kind of fault.", ["kind"], registry=r
        )

        # Webhooks: counted per endpoint (an event sent to two endpoints counts twice).
        self.webhooks_queued = Counter(
            "crdtpad_webhooks_queued", "Webhook events queued for delivery, by event.", ["event"], registry=r
        )
        self.webhooks_delivered = Counter(
            "crdtpad_webhooks_delivered", "Webhook events an endpoint accepted (2xx).", ["event"], registry=r
        )
        self.webhooks_failed = Counter(
            "crdtpad_webhooks_failed",
            "Webhook events given up: every attempt failed, or the endpoint refused it (4xx).",
            ["event"],
            registry=r,
        )
        self.webhooks_dropped = Counter(
            "crdtpad_webhooks_dropped",
            "Webhook events dropped unsent: the endpoint's queue was full, or the server stopped.",
            ["event", "reason"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "crdtpad_webhook_attempts",
            "Webhook HTTP attempts, by outcome (2xx, 3xx, 4xx, 5xx, timeout, error).",
            ["outcome"],
            registry=r,
        )
        self.webhook_queue = Gauge(
            "crdtpad_webhook_queue", "Webhook events waiting, all endpoints.", registry=r
        )
        self.webhook_seconds = Histogram(
            "crdtpad_webhook_seconds",
            "Duration of one webhook attempt.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=r,
        )

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
