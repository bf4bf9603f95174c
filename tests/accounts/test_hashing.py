"""Password hashing (argon2id parameters, rehash), the login limiter, token hashes and the admin flag."""

from __future__ import annotations

import hashlib
import re

import argon2
import pytest

from crdtpad.accounts import LoginLimiter, PasswordHasher, token_hash
from crdtpad.errors import TooManyAttempts
from crdtpad.store.users import admin_flag

PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+$")


def params(phc: str) -> tuple[int, int, int]:
    """(m, t, p) of an argon2id PHC string."""
    match = PHC.match(phc)
    assert match, phc
    m, t, p = (int(x) for x in match.groups())
    return m, t, p


async def test_hash_is_argon2id_with_the_configured_parameters() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, max_concurrent=1)
    assert params(await hasher.hash("a fine password")) == (19456, 2, 1)


async def test_verify_accepts_the_password_and_refuses_others() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, max_concurrent=1)
    stored = await hasher.hash("a fine password")
    assert await hasher.verify("a fine password", stored) == (True, None)
    assert await hasher.verify("a wrong password", stored) == (False, None)


async def test_a_hash_with_lower_parameters_is_rehashed_on_verify() -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("a fine password")
    ok, new = await PasswordHasher(memory_kib=19456, time_cost=3, max_concurrent=1).verify(
        "a fine password", weak
    )
    assert ok and new is not None
    assert params(new) == (19456, 3, 1)


async def test_a_hash_that_is_not_argon2_never_verifies() -> None:
    hasher = PasswordHasher(memory_kib=19456, time_cost=2, max_concurrent=1)
    assert await hasher.verify("x", "$2b$12$notreallybcrypt") == (False, None)


async def test_the_dummy_verification_works_without_a_user() -> None:
    await PasswordHasher(memory_kib=19456, time_cost=2, max_concurrent=1).verify_dummy("anything")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_blocks_an_account_after_its_failures() -> None:
    limiter = LoginLimiter(max_per_account=3, max_per_address=100, window_s=60, clock=FakeClock())
    for i in range(3):
        limiter.check("alice", f"10.0.0.{i}")
        limiter.failed("alice", f"10.0.0.{i}")
    with pytest.raises(TooManyAttempts):
        limiter.check("alice", "10.0.0.99")
    limiter.check("bob", "10.0.0.1")


def test_limiter_blocks_an_address_across_accounts() -> None:
    limiter = LoginLimiter(max_per_account=100, max_per_address=3, window_s=60, clock=FakeClock())
    for name in ("a", "b", "c"):
        limiter.failed(name, "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        limiter.check("d", "10.0.0.1")
    limiter.check("d", "10.0.0.2")


def test_limiter_forgets_failures_after_the_window() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_per_account=2, max_per_address=100, window_s=60, clock=clock)
    limiter.failed("alice", "x")
    clock.now += 30
    limiter.failed("alice", "x")
    with pytest.raises(TooManyAttempts) as caught:
        limiter.check("alice", "x")
    assert caught.value.retry_after_s == 30
    clock.now += 30.5
    limiter.check("alice", "x")


def test_a_success_resets_the_account_but_not_the_address() -> None:
    limiter = LoginLimiter(max_per_account=2, max_per_address=2, window_s=60, clock=FakeClock())
    limiter.failed("alice", "x")
    limiter.failed("alice", "x")
    limiter.succeeded("alice")
    limiter.check("alice", "y")
    with pytest.raises(TooManyAttempts):
        limiter.check("alice", "x")


def test_limiter_memory_is_bounded() -> None:
    limiter = LoginLimiter(max_per_account=5, max_per_address=5, window_s=60, max_keys=50, clock=FakeClock())
    for i in range(1000):
        limiter.failed(f"user{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._failures) <= 50


def test_tokens_are_stored_as_sha256() -> None:
    assert token_hash("cpt_abc") == hashlib.sha256(b"cpt_abc").digest()


@pytest.mark.parametrize(
    ("value", "admin"),
    [
        (1, True),
        (0, False),
        (2, False),
        (-1, False),
        ("1", False),
        ("true", False),
        (1.0, False),
        (True, False),
        (None, False),
        (b"\x01", False),
    ],
)
def test_only_exactly_the_integer_1_is_admin(value: object, admin: bool) -> None:
    assert admin_flag(value) is admin
