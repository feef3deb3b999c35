"""ICE-TCP framing and demultiplexing (media/ice_tcp.py) on plain bytes: RFC 4571 frames
split anywhere, oversized frames refused, the first Binding request's USERNAME read."""
import os
import struct

import pytest

from media import stun
from media.ice_tcp import MAX_FRAME, FrameDecoder, FrameError, binding_username, frame, tcp_priority


def request(username: str, password: str = "p" * 22) -> bytes:
    return stun.binding_request(os.urandom(12), username, 1, True, 7, stun.Credentials(password))


def test_frames_split_at_every_byte_come_out_whole_and_in_order():
    msgs = [b"\x00\x01" + b"a" * 18, b"\x80" + b"x" * 99, b"", b"\x16" * 1200]
    stream = b"".join(frame(m) for m in msgs)
    for cut in range(1, len(stream)):
        dec = FrameDecoder()
        out = dec.feed(stream[:cut]) + dec.feed(stream[cut:])
        assert out == msgs
    dec = FrameDecoder()
    assert [f for b in stream for f in dec.feed(bytes([b]))] == msgs


def test_a_frame_over_the_limit_is_refused_before_it_is_buffered():
    dec = FrameDecoder()
    with pytest.raises(FrameError):
        dec.feed(struct.pack("!H", MAX_FRAME + 1) + b"x" * 10)
    dec = FrameDecoder(max_frame=100)
    assert dec.feed(frame(b"y" * 100)) == [b"y" * 100]
    with pytest.raises(FrameError):
        dec.feed(struct.pack("!H", 101))
    # a partial frame is held, never more than one frame's worth
    dec = FrameDecoder()
    assert dec.feed(struct.pack("!H", 1000) + b"z" * 999) == []
    assert dec.feed(b"z") == [b"z" * 1000]


def test_frame_accepts_a_memoryview_and_copies_it():
    buf = bytearray(b"\x80abc")
    f = frame(memoryview(buf)[:3])
    buf[1] = 0
    assert f == b"\x00\x03\x80ab"


def test_binding_username_reads_our_ufrag_and_theirs():
    local, remote, parsed = binding_username(request("ours:theirs"))
    assert (local, remote) == ("ours", "theirs")
    assert parsed[0] == stun.BINDING_REQUEST


@pytest.mark.parametrize("data", [
    b"", b"\x16\xfe\xfd" + b"\x00" * 30, b"GET / HTTP/1.1\r\n\r\n", os.urandom(64),
    b"\x00\x01\x00\x00" + struct.pack("!I", stun.COOKIE) + b"t" * 12,  # no USERNAME
])
def test_anything_but_a_binding_request_with_a_username_names_nobody(data):
    assert binding_username(data) is None


def test_usernames_without_both_ufrags_name_nobody():
    for name in ("nocolon", ":theirs", "ours:", ":"):
        assert binding_username(request(name)) is None
    # a binding *response* is not a first message either
    resp = stun.binding_response(os.urandom(12), ("127.0.0.1", 9), stun.Credentials("p"))
    assert binding_username(resp) is None


def test_passive_host_tcp_priority_is_below_udp_host():
    from aioice.candidate import candidate_priority
    assert 0 < tcp_priority() < candidate_priority(1, "host")
    assert tcp_priority() >> 24 == 126
