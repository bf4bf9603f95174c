"""A receiver that fails, hangs or is gone costs the pads nothing: end to end, on a real server."""

from __future__ import annotations

import time
from pathlib import Path

from tests.events.conftest import metric, new_pad_id, served
from tests.events.receiver import Receiver
from tests.support import YClient, free_port, wait_for


async def test_a_500_then_200_is_delivered_on_the_third_attempt(tmp_path: Path) -> None:
    with Receiver() as rx:
        rx.answers.extend([500, 502])
        with served(tmp_path, [rx.url], CRDTPAD_WEBHOOK_BACKOFF_S="0.2") as server:
            pad = new_pad_id()
            y = await YClient(server.ws_url(pad)).connect()
            await rx.wait_event(pad, "user.joined")  # after pad.created, which took three attempts
            await y.close()
            tries = [r for r in rx.received if r.event["type"] == "pad.created"]
            assert [r.headers["x-crdtpad-attempt"] for r in tries] == ["1", "2", "3"]
            assert len({r.event["id"] for r in tries}) == 1 and all(r.signed() for r in tries)
            assert tries[1].at - tries[0].at >= 0.2 and tries[2].at - tries[1].at >= 0.4
            assert metric(server, "crdtpad_webhook_attempts_total", outcome="5xx") == 2
            assert metric(server, "crdtpad_webhooks_delivered_total", event="pad.created") == 1


async def test_hanging_and_dead_receivers_slow_neither_typing_nor_the_healthy_receiver(
    tmp_path: Path,
) -> None:
    with Receiver() as hung, Receiver() as healthy:
        hung.hang = True
        dead = f"http://127.0.0.1:{free_port()}/gone"
        with served(
            tmp_path,
            [hung.url, dead, healthy.url],
            CRDTPAD_WEBHOOK_QUEUE_SIZE="5",
            CRDTPAD_WEBHOOK_TIMEOUT_S="3",
            CRDTPAD_WEBHOOK_MAX_ATTEMPTS="3",
            CRDTPAD_WEBHOOK_BACKOFF_S="0.5",
            CRDTPAD_WEBHOOK_INCLUDE="text",
        ) as server:
            pad = new_pad_id()
            writer = await YClient(server.ws_url(pad)).connect()
            reader = await YClient(server.ws_url(pad)).connect()
            await wait_for(lambda: len(hung.received) >= 1, what="the hanging receiver holding a request")
            # Visitors come and go (two events each) while one types: far more events than the
            # queues of the hanging and the dead endpoint hold.
            round_trips = []
            for i in range(20):
                visitor = await YClient(server.ws_url(pad)).connect()
                started = time.monotonic()
                writer.type(f"{i} ")
                await wait_for(lambda typed=f"{i} ": typed in str(reader), what=f"edit {i} relayed")
                round_trips.append(time.monotonic() - started)
                await visitor.close()
                # Paced by the healthy receiver (its queue holds 5 too), not by the clock.
                await wait_for(
                    lambda n=i + 1: len(healthy.events(pad, "user.left")) >= n, what=f"visitor {i} left"
                )
            # Generous bound: a room waiting on a receiver would take the 3 s timeout per event.
            assert max(round_trips) < 1.5, round_trips
            final = str(writer)
            await healthy.wait_event(pad, "pad.changed", where=lambda e: e["data"]["text"] == final)
            await healthy.wait_event(pad, "user.left", where=lambda e: e["data"]["connections"] == 2)
            assert len(healthy.events(pad, "user.joined")) == 22  # everything, promptly
            await wait_for(
                lambda: metric(server, "crdtpad_webhooks_dropped_total", reason="queue_full") > 40,
                what="the full queues dropping",
            )
            assert "Webhook queue for 127.0.0.1:" in server.log() and "is full" in server.log()
            assert len(hung.received) == 1  # still the first request: it never answered
            hung.release()
            await writer.close()
            await reader.close()
