"""The signed pad token codec alone: round trip, and no change to a token survives verification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdtpad.pad_tokens import BadPadToken, PadClaims, derive_key, sign, verify

KEY = derive_key(b"s" * 32)
CLAIMS = PadClaims(7, "pad-1", "viewer", "user 42 ✓", "Ada Lovelace", 1_767_225_600_000)
TOKEN = sign(KEY, CLAIMS)


def test_round_trip() -> None:
    assert verify(KEY, TOKEN) == CLAIMS
    assert TOKEN.startswith("cps_") and TOKEN.count(".") == 1


@given(st.integers(min_value=4, max_value=len(TOKEN) - 1), st.sampled_from("AZaz09-_.x"))
def test_any_changed_character_is_refused(position: int, char: str) -> None:
    forged = TOKEN[:position] + char + TOKEN[position + 1 :]
    if forged == TOKEN:
        return
    with pytest.raises(BadPadToken):
        verify(KEY, forged)


@given(st.text(max_size=300))
def test_arbitrary_text_is_refused_without_crashing(text: str) -> None:
    with pytest.raises(BadPadToken):
        verify(KEY, "cps_" + text)


def test_another_instance_key_is_refused() -> None:
    with pytest.raises(BadPadToken, match="signature"):
        verify(derive_key(b"t" * 32), TOKEN)
