"""Delivery: the dispatcher against real HTTP receivers (retries, refusals, timeouts, full queues)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from crdtpad.config import load_settings
from crdtpad.metrics import Metrics
from crdtpad.webhooks import Webhooks
from tests.events.receiver import SECRET, Receiver
from tests.support import free_port, wait_for


@asynccontextmanager
async def dispatcher(tmp: Path, urls: list[str], **settings: Any) -> AsyncIterator[tuple[Webhooks, Metrics]]:
    metrics = Metrics()
    config = load_settings(data_dir=tmp, webhook_urls=urls, webhook_secret=SECRET, **settings)
    async with Webhooks(config, metrics) as hooks:
        yield hooks, metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def arrived(rx: Receiver, n: int, what: str = "deliveries") -> None:
    await wait_for(lambda: len(rx.received) >= n, what=what)


async def test_a_500_is_retried_with_growing_waits_under_the_same_event_id(tmp_path: Path) -> None:
    with Receiver() as rx:
        rx.answers.extend([500, 503])
        async with dispatcher(tmp_path, [rx.url], webhook_backoff_s=0.2, webhook_max_attempts=4) as (h, m):
            h.pad_created("retried", owner="ada", title="Notes")
            await arrived(rx, 3)
            await wait_for(lambda: sample(m, "crdtpad_webhooks_delivered_total", event="pad.created") == 1)
        tries = rx.received
        assert [r.headers["x-crdtpad-attempt"] for r in tries] == ["1", "2", "3"]
        assert len({r.headers["x-crdtpad-event-id"] for r in tries}) == 1
        assert len({r.body for r in tries}) == 1 and all(r.signed() for r in tries)
        first_wait, second_wait = tries[1].at - tries[0].at, tries[2].at - tries[1].at
        assert 0.2 <= first_wait < 5 and 0.4 <= second_wait < 5  # 0.2 s, then 0.4 s (+ up to 25 %)
        assert sample(m, "crdtpad_webhook_attempts_total", outcome="5xx") == 2
        assert sample(m, "crdtpad_webhooks_failed_total", event="pad.created") == 0


async def test_an_endpoint_that_keeps_failing_is_given_up_and_the_next_event_still_goes(
    tmp_path: Path,
) -> None:
    with Receiver() as rx:
        rx.answers.extend([500, 500, 500])
        async with dispatcher(tmp_path, [rx.url], webhook_backoff_s=0.01, webhook_max_attempts=3) as (h, m):
            h.pad_deleted("lost")
            h.pad_deleted("kept")
            await arrived(rx, 4)
            await wait_for(lambda: sample(m, "crdtpad_webhooks_delivered_total", event="pad.deleted") == 1)
            assert sample(m, "crdtpad_webhooks_failed_total", event="pad.deleted") == 1
        assert [r.event["pad_id"] for r in rx.received] == ["lost", "lost", "lost", "kept"]


async def test_a_refusal_is_final(tmp_path: Path) -> None:
    with Receiver() as rx:
        rx.answers.append(401)  # e.g. the receiver has another secret: retrying will not help
        async with dispatcher(tmp_path, [rx.url], webhook_backoff_s=0.01) as (h, m):
            h.pad_deleted("refused")
            h.pad_deleted("next")
            await arrived(rx, 2)  # one endpoint is served in order: "refused" is done with
            assert sample(m, "crdtpad_webhooks_failed_total", event="pad.deleted") == 1
        assert [r.event["pad_id"] for r in rx.received] == ["refused", "next"]


async def test_a_hanging_or_absent_endpoint_times_out_and_fails_alone(tmp_path: Path) -> None:
    with Receiver() as hung, Receiver() as healthy:
        hung.hang = True
        dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
        urls = [hung.url, dead, healthy.url]
        async with dispatcher(
            tmp_path, urls, webhook_timeout_s=2, webhook_max_attempts=2, webhook_backoff_s=0.05
        ) as (h, m):
            h.pad_created("p1")
            await arrived(healthy, 1, "the healthy endpoint served at once")
            # Not behind the hanging one, shown without the clock: nothing had timed out yet.
            assert sample(m, "crdtpad_webhook_attempts_total", outcome="timeout") == 0
            await wait_for(
                lambda: sample(m, "crdtpad_webhooks_failed_total", event="pad.created") == 2, timeout=30
            )
            assert sample(m, "crdtpad_webhook_attempts_total", outcome="timeout") == 2
            assert sample(m, "crdtpad_webhook_attempts_total", outcome="error") == 2
            hung.release()


async def test_a_full_queue_drops_the_oldest_counts_and_logs_it_and_hooks_stay_instant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "crdtpad.webhooks")
    with Receiver() as rx:
        rx.hang = True
        async with dispatcher(tmp_path, [rx.url], webhook_queue_size=5, webhook_timeout_s=10) as (h, m):
            h.pad_created("in-flight")
            await arrived(rx, 1)
            started = time.perf_counter()
            for i in range(5000):
                h.pad_created(f"p{i}")
            elapsed = time.perf_counter() - started
            assert elapsed < 1.0  # tens of ms here: each hook only appends to a deque
            dropped = sample(m, "crdtpad_webhooks_dropped_total", event="pad.created", reason="queue_full")
            assert dropped == 4995
            assert sample(m, "crdtpad_webhook_queue") == 5
            assert "is full" in caplog.text and caplog.text.count("is full") == 1  # rate-limited
            rx.release()
            await arrived(rx, 6)
        newest = [f"p{i}" for i in range(4995, 5000)]
        assert [r.event["pad_id"] for r in rx.received] == ["in-flight", *newest]


async def test_closing_sends_what_is_queued_and_drops_only_what_cannot_go(tmp_path: Path) -> None:
    with Receiver() as rx:
        async with dispatcher(tmp_path, [rx.url]) as (h, _):
            for i in range(3):
                h.pad_deleted(f"d{i}")
        assert [r.event["pad_id"] for r in rx.received] == ["d0", "d1", "d2"]
    with Receiver() as rx:
        rx.hang = True
        started = time.monotonic()
        async with dispatcher(tmp_path, [rx.url], webhook_timeout_s=0.3) as (h, m):
            for i in range(3):
                h.pad_deleted(f"d{i}")
            await arrived(rx, 1)
        assert time.monotonic() - started < 5
        assert sample(m, "crdtpad_webhooks_dropped_total", event="pad.deleted", reason="shutdown") == 2
        h.pad_deleted("after")  # a hook after closing is counted, never raises
        assert sample(m, "crdtpad_webhooks_dropped_total", event="pad.deleted", reason="stopped") == 1
        rx.release()


@pytest.mark.parametrize("chosen", [["pad.deleted"], []])
async def test_only_the_chosen_events_are_sent(tmp_path: Path, chosen: list[str]) -> None:
    with Receiver() as rx:
        urls = [rx.url] if chosen else []
        async with dispatcher(tmp_path, urls, webhook_events=["pad.deleted"]) as (h, m):
            h.pad_created("a")
            h.pad_deleted("a")
            if chosen:
                await arrived(rx, 1)
        assert [r.event["type"] for r in rx.received] == chosen
        assert sample(m, "crdtpad_webhooks_queued_total", event="pad.created") == 0
