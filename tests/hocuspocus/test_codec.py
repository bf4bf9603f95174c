"""The Hocuspocus codec on the exact bytes the 4.x provider sends and reads (frames written out by
hand from its OutgoingMessages/*.ts and MessageReceiver.ts)."""

from __future__ import annotations

import pycrdt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdtpad.errors import ProtocolError
from crdtpad.sync import hocuspocus as hp
from crdtpad.sync import protocol as p

PAD = b"\x05pad-1"  # varString("pad-1")


@pytest.mark.parametrize(
    ("data", "decoded"),
    [
        (PAD + b"\x02\x00\x03abc\x054.8.0", hp.Auth("pad-1", "abc", "4.8.0")),  # AuthenticationMessage
        (PAD + b"\x02\x00\x00", hp.Auth("pad-1", "", None)),  # an older provider: no version
        (PAD + b"\x00\x00\x01\x00", hp.Sync("pad-1", p.SyncStep1(b"\x00"))),  # SyncStepOneMessage
        (PAD + b"\x00\x01\x02\x00\x00", hp.Sync("pad-1", p.SyncStep2(b"\x00\x00"))),
        (PAD + b"\x00\x02\x02\x00\x00", hp.Sync("pad-1", p.SyncUpdate(b"\x00\x00"))),  # UpdateMessage
        (PAD + b"\x04\x00\x01\x00", hp.Sync("pad-1", p.SyncStep1(b"\x00"))),  # SyncReply: a Sync
        (PAD + b"\x01\x01\x00", hp.Awareness("pad-1", p.AwarenessUpdate(()))),
        (PAD + b"\x03", hp.QueryAwareness("pad-1")),
        (PAD + b"\x05\x02hi", hp.Stateless("pad-1", "hi")),  # StatelessMessage
        (PAD + b"\x07", hp.Close("pad-1")),  # CloseMessage: bare
        (PAD + b"\x07\x03bye", hp.Close("pad-1")),
        (b"\x09", hp.Ping()),
        (b"\x0a", hp.Pong()),
        (b"\x09pad-1\x00sid\x03", hp.QueryAwareness("pad-1\x00sid")),  # sessionAwareness address
    ],
)
def test_decodes_what_the_provider_sends(data: bytes, decoded: hp.Frame) -> None:
    assert hp.decode_frame(data) == decoded


@pytest.mark.parametrize(
    ("data", "address", "message"),
    [
        (b"", None, "The message ends inside a document address length (at byte 0)."),
        (b"\x80\x00", None, "The document address length at byte 0 is not minimally encoded."),
        (b"\x05pad", None, "The document address claims 5 bytes but only 3 remain."),
        (b"\x02\xc3\x28\x00", None, "The document address is not valid UTF-8 (invalid continuation byte)."),
        (b"\x00", "", "The message ends inside a message type (at byte 1)."),
        (PAD + b"\x0b", "pad-1", "Unknown message type 11."),
        (
            PAD + b"\x06\x00",
            "pad-1",
            "BroadcastStateless (6) is server-internal; clients send Stateless (5).",
        ),
        (PAD + b"\x08\x01", "pad-1", "SyncStatus (8) goes from server to client only."),
        (PAD + b"\x09", "pad-1", "A Ping is a bare one-byte frame."),
        (
            PAD + b"\x02\x02\x0aread-write",
            "pad-1",
            "Clients may only send auth messages of type 0 (token), not 2.",
        ),
        (PAD + b"\x02\x00\x03abc\x054.8.0\x00", "pad-1", "1 unexpected bytes follow the message."),
        (PAD + b"\x02\x00\x05abc", "pad-1", "The token claims 5 bytes but only 3 remain."),
        (PAD + b"\x00\x03\x00", "pad-1", "Unknown sync message type 3."),
        (PAD + b"\x00\x00\x02\x05\x00", "pad-1", "The state vector claims 5 entries in 1 bytes."),
        (PAD + b"\x01\x05\x01\x01\x01\x01x", "pad-1", "Expecting value"),
        (PAD + b"\x05\x02\xff\xfe", "pad-1", "The stateless payload is not valid UTF-8"),
        (PAD + b"\x07\x03bye!", "pad-1", "1 unexpected bytes follow the message."),
    ],
)
def test_refuses_malformed_frames_naming_the_fault(data: bytes, address: str | None, message: str) -> None:
    with pytest.raises(hp.FrameError) as caught:
        hp.decode_frame(data)
    assert caught.value.address == address
    assert message in caught.value.detail
    assert isinstance(caught.value, ProtocolError) and caught.value.close_code == 4400


def test_refuses_oversized_addresses_and_tokens() -> None:
    with pytest.raises(hp.FrameError, match="over the limit of 256") as caught:
        hp.decode_frame(p.var_bytes(b"a" * 257) + b"\x03")
    assert caught.value.address is None
    token = "t" * (hp.MAX_TOKEN_BYTES + 1)
    with pytest.raises(hp.FrameError, match="The token has 4097 bytes"):
        hp.decode_frame(hp.auth_frame("pad-1", token))
    assert hp.decode_frame(hp.auth_frame("pad-1", "t" * hp.MAX_TOKEN_BYTES)) == hp.Auth(
        "pad-1", "t" * hp.MAX_TOKEN_BYTES, None
    )


def test_encodes_what_the_provider_reads() -> None:
    prefix = hp.address_prefix("pad-1")
    assert prefix == PAD
    assert hp.authenticated(hp.READ_WRITE) == b"\x02\x02\x0aread-write"  # readAuthMessage: Authenticated
    assert hp.authenticated(hp.READ_ONLY) == b"\x02\x02\x08readonly"
    assert hp.permission_denied("4404: no") == b"\x02\x01\x084404: no"
    assert hp.sync_status(True) == b"\x08\x01"  # read with readVarInt: 1
    assert hp.sync_status(False) == b"\x08\x00"
    assert hp.close("4403: gone") == b"\x07\x0a4403: gone"
    assert hp.stateless("{}") == b"\x05\x02{}"
    assert (hp.PING, hp.PONG) == (b"\x09", b"\x0a")
    assert hp.auth_frame("pad-1", "abc", "4.8.0") == PAD + b"\x02\x00\x03abc\x054.8.0"


def test_document_name_drops_a_session_id() -> None:
    assert hp.document_name("pad-1") == "pad-1"
    assert hp.document_name("pad-1\x00k2j4") == "pad-1"


@given(st.text(max_size=40), st.text(max_size=200))
def test_stateless_round_trips(address: str, payload: str) -> None:
    data = hp.address_prefix(address) + hp.stateless(payload)
    if len(address.encode()) <= hp.MAX_ADDRESS_BYTES:
        assert hp.decode_frame(data) == hp.Stateless(address, payload)


def _delete_set_of(update: bytes) -> dict[int, list[tuple[int, int]]]:
    return hp.delete_set(pycrdt.get_update(update, pycrdt.get_state(update)))


def test_covers_tells_whether_deletions_are_already_made() -> None:
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text += "hello world"
    del text[0:6]
    ours = _delete_set_of(doc.get_update())
    other = pycrdt.Doc()
    other.apply_update(doc.get_update())
    del other.get("content", type=pycrdt.Text)[0:2]
    theirs = _delete_set_of(other.get_update())
    assert hp.covers(ours, ours)
    assert hp.covers(theirs, ours)
    assert not hp.covers(ours, theirs)
    assert hp.covers({1: [(0, 3), (3, 2)]}, {1: [(1, 4)]})  # adjacent ranges merge
    assert not hp.covers({1: [(0, 3), (4, 2)]}, {1: [(1, 4)]})  # a hole at clock 3
    assert hp.covers({}, {1: [(5, 0)]})


def test_delete_set_refuses_an_update_with_structs_or_lies() -> None:
    doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "x")
    with pytest.raises(ProtocolError, match="still holds structs"):
        hp.delete_set(doc.get_update())
    with pytest.raises(ProtocolError, match="claims 9 clients"):
        hp.delete_set(b"\x00\x09\x01")
