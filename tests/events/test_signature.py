"""The signature scheme and the diff, as a receiver relies on them."""

from __future__ import annotations

import hashlib
import hmac
import time

from hypothesis import given
from hypothesis import strategies as st

from crdtpad.webhooks import signature, splice, verify

KEY = b"0123456789abcdef-shared"
BODY = b'{"id":"evt_1","type":"pad.deleted","created_at":1,"pad_id":"p","data":{}}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(KEY, b"1718000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(KEY, 1718000000, BODY) == f"sha256={expected}"


def test_verify_takes_a_genuine_recent_delivery_only() -> None:
    now = int(time.time())
    good = signature(KEY, now, BODY)
    assert verify(KEY, BODY, str(now), good)
    assert not verify(KEY, BODY.replace(b"pad.deleted", b"pad.created"), str(now), good)  # tampered body
    assert not verify(KEY, BODY, str(now + 1), good)  # the timestamp is signed too
    assert not verify(b"another-secret-entirely", BODY, str(now), good)
    old = now - 3600
    assert not verify(KEY, BODY, str(old), signature(KEY, old, BODY))  # a replay an hour later
    assert not verify(KEY, BODY, "soon", good)


@given(st.text(max_size=60), st.text(max_size=60))
def test_a_splice_turns_the_old_text_into_the_new(old: str, new: str) -> None:
    d = splice(old, new)
    assert old[: d["start"]] + d["insert"] + old[d["start"] + d["delete"] :] == new
    assert d["delete"] >= 0 and d["start"] <= min(len(old), len(new))
    if old != new:
        assert d["insert"] or d["delete"]


def test_a_splice_of_megabytes_is_quick() -> None:
    old = "x" * 2_000_000
    new = old[:1_000_000] + "typed" + old[1_000_000:]
    started = time.perf_counter()
    assert splice(old, new) == {"start": 1_000_000, "delete": 0, "insert": "typed"}
    assert time.perf_counter() - started < 1.0  # milliseconds: slice comparisons, not a loop per character
