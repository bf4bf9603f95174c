"""Signed pad tokens (``cps_``): what an embedding app's backend hands its own users.

A token is ``cps_`` + base64url(claims JSON) + ``.`` + base64url(HMAC-SHA256(key, "cps_" + the
claims part)), with the key derived from the instance's secret. The claims are exactly::

    {"v": 1, "id": 17, "pad": "pad-id", "role": "editor", "sub": "app-user-42",
     "name": "Ada", "exp": 1767225600000}

There is no algorithm field to choose (so no ``alg: none``), no optional claim whose absence or
falsehood grants something, and nothing of an unsigned token is parsed: the MAC is compared in
constant time over the raw text first, then the JSON must have exactly these keys and types.
A valid signature is not enough either: the token's row (``pad_tokens``, which is what makes it
revocable) must exist, match every claim, not be revoked, and the token must not have expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Literal

PAD_TOKEN_PREFIX = "cps_"
MAX_TOKEN_CHARS = 2048
MAX_SUBJECT_CHARS = 128
MAX_NAME_CHARS = 80
VERSION = 1
_SHAPE = re.compile(r"cps_([A-Za-z0-9_-]{1,1900})\.([A-Za-z0-9_-]{43})")
_PAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEYS = frozenset({"v", "id", "pad", "role", "sub", "name", "exp"})


class BadPadToken(ValueError):
    """A token that is not a valid signed pad token; the message says which check failed."""


@dataclass(frozen=True, slots=True)
class PadClaims:
    """What a signed pad token says."""

    id: int
    pad: str
    role: Literal["editor", "viewer"]
    sub: str
    name: str
    exp: int  # unix milliseconds


def derive_key(instance_secret: bytes) -> bytes:
    """The MAC key for pad tokens: the instance secret is never used for two purposes as is."""
    return hmac.new(instance_secret, b"crdtpad signed pad tokens v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def sign(key: bytes, claims: PadClaims) -> str:
    """The token for ``claims``."""
    body = {
        "v": VERSION,
        "id": claims.id,
        "pad": claims.pad,
        "role": claims.role,
        "sub": claims.sub,
        "name": claims.name,
        "exp": claims.exp,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signed = PAD_TOKEN_PREFIX + payload
    return f"{signed}.{_b64(_mac(key, signed))}"


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPadToken(f"the claim {what!r} is not an integer")
    return value


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise BadPadToken(f"the claim {what!r} is not a text of at most {limit} characters")
    return value


def verify(key: bytes, token: str) -> PadClaims:
    """The claims of a token signed with ``key``; BadPadToken otherwise. Expiry and revocation
    are the caller's to check (they need the clock and the store)."""
    if len(token) > MAX_TOKEN_CHARS:
        raise BadPadToken("the token is too long")
    shape = _SHAPE.fullmatch(token)
    if shape is None:
        raise BadPadToken("the token is not of the form cps_<claims>.<signature>")
    payload, signature = shape.groups()
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadPadToken("the signature is not base64url") from None
    if _b64(given) != signature:  # its last character has spare bits: only one spelling counts
        raise BadPadToken("the signature is not canonical base64url")
    if not hmac.compare_digest(given, _mac(key, PAD_TOKEN_PREFIX + payload)):
        raise BadPadToken("the signature does not match")
    try:
        body = json.loads(_unb64(payload).decode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadPadToken("the claims are not JSON") from None
    if not isinstance(body, dict) or set(body) != _KEYS:
        raise BadPadToken(f"the claims must be exactly {sorted(_KEYS)}")
    if _int(body["v"], "v") != VERSION:
        raise BadPadToken(f"the token version is not {VERSION}")
    role = body["role"]
    if role not in ("editor", "viewer"):
        raise BadPadToken("the claim 'role' is neither 'editor' nor 'viewer'")
    pad = _text(body["pad"], "pad", 64)
    if _PAD_ID.fullmatch(pad) is None:
        raise BadPadToken("the claim 'pad' is not a pad id")
    sub = _text(body["sub"], "sub", MAX_SUBJECT_CHARS)
    if not sub:
        raise BadPadToken("the claim 'sub' is empty")
    return PadClaims(
        id=_int(body["id"], "id"),
        pad=pad,
        role=role,
        sub=sub,
        name=_text(body["name"], "name", MAX_NAME_CHARS),
        exp=_int(body["exp"], "exp"),
    )
