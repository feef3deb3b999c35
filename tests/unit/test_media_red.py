"""RFC 2198 RED over Opus: parsing, stripping to the primary, PT rewriting, hostile packets,
and the SDP answer (RED accepted with the offerer's payload types only when offered)."""
import struct

import pytest

from media import red, sdp
from media.sdp import SessionDescription, plan_offer
from media.testing import rtp_packet
from tests.unit.test_media_sdp import LOCAL, chromium_offer

OLD1, OLD2, NOW = b"\x01" * 37, b"\x02" * 41, b"\x03" * 45


def red_packet(blocks, pt=63, opus=111, level=None, padding=0) -> bytes:
    pkt = rtp_packet(red.encode(blocks, opus), 1000, 96000, pt=pt, level=level)
    if padding:
        pkt = bytes((pkt[0] | 0x20,)) + pkt[1:] + b"\x00" * (padding - 1) + bytes((padding,))
    return pkt


def test_encode_decode_round_trip_and_header_layout():
    payload = red.encode([(1920, OLD1), (960, OLD2), (0, NOW)], 111)
    # two 4-byte headers (F=1, PT, 14-bit offset, 10-bit length) and a 1-byte one (F=0, PT)
    assert payload[:4] == bytes((0x80 | 111,)) + struct.pack("!I", (1920 << 10) | 37)[1:]
    assert payload[4:8] == bytes((0x80 | 111,)) + struct.pack("!I", (960 << 10) | 41)[1:]
    assert payload[8] == 111 and payload[9:] == OLD1 + OLD2 + NOW
    assert red.decode(payload) == [(111, 1920, OLD1), (111, 960, OLD2), (111, 0, NOW)]


@pytest.mark.parametrize("level", [None, 0x25])
def test_split_gives_the_primary_as_plain_opus_with_the_header_kept(level):
    pkt = red_packet([(960, OLD1), (0, NOW)], level=level)
    plain, payload = red.split(pkt, 111)
    hdr = 12 if level is None else 20
    assert plain[1] == 111 and plain[2:hdr] == pkt[2:hdr]  # seq, ts, ssrc, audio level kept
    assert plain[hdr:] == NOW
    assert payload == pkt[hdr:]
    if level is not None:  # RFC 6464 level still readable from the plain packet
        from media import rtp
        assert rtp.read_audio_level(plain, 1) == level


def test_split_keeps_marker_drops_padding_and_handles_primary_only():
    pkt = red_packet([(0, NOW)], padding=3)
    pkt = pkt[:1] + bytes((pkt[1] | 0x80,)) + pkt[2:]
    plain, payload = red.split(pkt, 111)
    assert plain[0] & 0x20 == 0 and plain[1] == 0x80 | 111 and plain[12:] == NOW
    assert payload == bytes((111,)) + NOW


def test_block_pts_rewritten_for_a_listener_with_another_opus_pt():
    payload = red.encode([(1920, OLD1), (960, OLD2), (0, NOW)], 111)
    out = red.with_block_pt(payload, 109)
    assert red.decode(out) == [(109, 1920, OLD1), (109, 960, OLD2), (109, 0, NOW)]
    assert len(out) == len(payload)


def _payload_hostile_cases():
    good = red.encode([(960, OLD1), (0, NOW)], 111)
    return {
        "empty": b"",
        "truncated 4-byte header": good[:3],
        "only redundant headers": bytes((0x80 | 111, 0, 0, 1)) * 2,
        "length past the end": bytes((0x80 | 111, 0x0F, 0x03, 0xFF, 111)) + b"x" * 10,
        "lengths sum past the end": bytes((0x80 | 111, 0, 2, 0xFF)) * 2 + bytes((111,)) + b"x",
        "block is not opus": bytes((0x80 | 0, 0, 0, 1, 111)) + b"xy",
        "primary is not opus": bytes((0x80 | 111, 0, 0, 1, 13)) + b"xy",
        "too many blocks": bytes((0x80 | 111, 0, 0, 0)) * (red.MAX_REDUNDANT + 1) +
        bytes((111,)) + b"x",
    }


@pytest.mark.parametrize("name", sorted(_payload_hostile_cases()))
def test_hostile_red_payloads_are_refused(name):
    payload = _payload_hostile_cases()[name]
    pkt = rtp_packet(payload, 1, 2, pt=63)
    assert red.split(pkt, 111) is None
    assert red.primary_offset(pkt, 12, len(pkt), 111) == -1


def test_hostile_rtp_headers_around_red_are_refused():
    pkt = red_packet([(0, NOW)])
    assert red.split(pkt[:11], 111) is None
    assert red.split(bytes((0x90,)) + pkt[1:14], 111) is None  # extension header cut off
    # an extension length pointing past the end
    assert red.split(bytes((0x90,)) + pkt[1:12] + b"\xbe\xde\xff\xff" + b"x" * 8, 111) is None
    # padding longer than the packet
    assert red.split(bytes((0xA0,)) + pkt[1:-1] + b"\xff", 111) is None
    # CSRC count past the end
    assert red.split(bytes((0x8F,)) + pkt[1:], 111) is None
    assert red.decode(b"\x80\x00") is None and red.decode(b"") is None


def test_encode_refuses_blocks_it_cannot_describe():
    with pytest.raises(ValueError):
        red.encode([], 111)
    with pytest.raises(ValueError):
        red.encode([(1 << 14, b"x"), (0, b"y")], 111)
    with pytest.raises(ValueError):
        red.encode([(960, b"x" * 1024), (0, b"y")], 111)


# SDP -----------------------------------------------------------------------------------------

def test_red_offered_is_accepted_on_every_section_with_the_offerers_pts():
    offer = chromium_offer(mic_first=True, recv=3)
    plan = plan_offer(offer, max_slots=3)
    assert all((s.payload_type, s.red_payload_type) == (111, 63) for s in plan.sections)
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 11, 1: 22, 2: 33}, "cn", "room")
    for m in SessionDescription.parse(answer).media:
        assert m.formats == ["63", "111"]
        assert m.codecs[63].name == "red" and m.codecs[63].fmtp == "111/111"
        assert m.codecs[111].fmtp == "minptime=10;useinbandfec=1"


def test_red_with_other_pts_keeps_them():
    offer = chromium_offer(mic_first=True, recv=2)
    offer = offer.replace(" 111 63 ", " 109 120 ").replace("rtpmap:111 ", "rtpmap:109 ") \
        .replace("fmtp:111 ", "fmtp:109 ").replace("rtcp-fb:111 ", "rtcp-fb:109 ") \
        .replace("rtpmap:63 ", "rtpmap:120 ").replace("fmtp:63 111/111", "fmtp:120 109/109")
    plan = plan_offer(offer, max_slots=3)
    assert (plan.mic.payload_type, plan.mic.red_payload_type) == (109, 120)
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 11, 1: 22}, "cn", "room")
    m = SessionDescription.parse(answer).media[0]
    assert m.formats == ["120", "109"] and m.codecs[120].fmtp == "109/109"


def test_red_not_offered_is_not_in_the_answer():
    offer = chromium_offer(mic_first=True, recv=2)
    offer = offer.replace(" 111 63 ", " 111 ").replace("a=rtpmap:63 red/48000/2\r\n", "") \
        .replace("a=fmtp:63 111/111\r\n", "")
    plan = plan_offer(offer, max_slots=3)
    assert all(s.red_payload_type is None for s in plan.sections)
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 11, 1: 22}, "cn", "room")
    assert "red/48000" not in answer
    assert all(m.formats == ["111"] for m in SessionDescription.parse(answer).media)


@pytest.mark.parametrize("fmtp", ["0/0", "111/0", "111/63"])
def test_red_over_another_codec_is_not_accepted(fmtp):
    offer = chromium_offer(mic_first=True, recv=1).replace("fmtp:63 111/111", f"fmtp:63 {fmtp}")
    plan = plan_offer(offer, max_slots=3)
    assert plan.mic.red_payload_type is None


def test_payload_types_outside_seven_bits_are_ignored():
    offer = chromium_offer(mic_first=True, recv=1).replace(" 111 63 ", " 111 300 ") \
        .replace("rtpmap:63 ", "rtpmap:300 ").replace("fmtp:63 ", "fmtp:300 ")
    plan = plan_offer(offer, max_slots=3)
    assert plan.mic.red_payload_type is None and plan.mic.payload_type == 111
    bad_opus = chromium_offer(mic_first=True, recv=1).replace("rtpmap:111 opus", "rtpmap:511 opus")
    with pytest.raises(sdp.SdpError):
        plan_offer(bad_opus.replace(" 111 63 ", " 511 63 "), max_slots=3)
