"""media.rtp: RTP/RTCP parse and serialize, header extensions, RFC 6464 audio level."""
import struct

import pytest
from aiortc import rtp as aiortc_rtp

from media import rtp
from media.rtp import (
    ReportBlock,
    RtcpApp,
    RtcpBye,
    RtcpFeedback,
    RtcpReceiverReport,
    RtcpSdes,
    RtcpSenderReport,
    RtpPacket,
    parse_rtcp,
)


def test_rtp_round_trip_with_one_byte_extensions():
    p = RtpPacket(payload_type=111, sequence_number=65535, timestamp=0xFFFFFFF0, ssrc=0xDEADBEEF,
                  payload=b"\x01\x02\x03", marker=True, csrc=[7, 8])
    p.set_extensions({1: rtp.audio_level_value(True, 42), 4: b"0"})
    data = bytes(p)
    q = RtpPacket.parse(data)
    assert q == p
    assert q.extension_profile == rtp.ONE_BYTE_PROFILE
    assert q.audio_level(1) == (True, 42)
    assert q.audio_level(2) is None
    assert q.extensions() == {1: b"\xaa", 4: b"0"}
    assert rtp.payload_offset(data) == len(data) - 3


def test_rtp_parse_interoperates_with_aiortc():
    # aiortc serialises a packet with its own ID map (mid=1, audio level=2)
    ext_map = aiortc_rtp.HeaderExtensionsMap()
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    ext_map.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri=rtp.MID_URI),
        RTCRtpHeaderExtensionParameters(id=2, uri=rtp.AUDIO_LEVEL_URI)]))
    a = aiortc_rtp.RtpPacket(payload_type=96, sequence_number=5, timestamp=960, ssrc=1234)
    a.payload = b"opus"
    a.extensions.mid = "3"
    a.extensions.audio_level = (False, 33)
    data = a.serialize(ext_map)
    p = RtpPacket.parse(data)
    assert (p.payload_type, p.sequence_number, p.timestamp, p.ssrc, p.payload) == \
        (96, 5, 960, 1234, b"opus")
    assert p.audio_level(2) == (False, 33)
    assert p.extensions()[1] == b"3"
    assert rtp.read_audio_level(data, 2) == 33
    assert rtp.read_audio_level(data, 1) == ord("3") & 0x7F  # whatever is under that ID
    assert rtp.read_audio_level(data, 9) is None
    # and the other way round
    back = aiortc_rtp.RtpPacket.parse(bytes(p), ext_map)
    assert back.extensions.audio_level == (False, 33) and back.extensions.mid == "3"


def test_two_byte_extensions_and_padding():
    p = RtpPacket(payload_type=0, sequence_number=1, timestamp=2, ssrc=3, payload=b"x" * 5,
                  padding_size=3)
    p.set_extensions({1: rtp.audio_level_value(False, 127), 20: b"long-id"})
    assert p.extension_profile == rtp.TWO_BYTE_PROFILE
    data = bytes(p)
    q = RtpPacket.parse(data)
    assert q.payload == b"x" * 5 and q.padding_size == 3
    assert q.audio_level(1) == (False, 127)
    assert rtp.read_audio_level(data, 1) == 127
    assert q.extensions()[20] == b"long-id"


@pytest.mark.parametrize("data", [b"", b"\x80" * 11, b"\x40" + b"\x00" * 11,
                                  b"\x81\x00" + b"\x00" * 10,  # CSRC count beyond the end
                                  b"\x90\x00" + b"\x00" * 10 + b"\xbe\xde\x00\x05",
                                  b"\xa0\x00" + b"\x00" * 10 + b"\x00"])  # padding 0
def test_rtp_parse_rejects_malformed(data):
    with pytest.raises(ValueError):
        RtpPacket.parse(data)


def test_read_audio_level_is_total_on_garbage():
    for data in (b"", b"\x90" + b"\x00" * 11, b"\x90\x00" + b"\x00" * 10 + b"\xbe\xde\xff\xff",
                 b"\x90\x00" + b"\x00" * 10 + b"\xbe\xde\x00\x01\x1f\x00\x00"):
        assert rtp.read_audio_level(data, 1) is None


def test_rtcp_compound_round_trip():
    packets = [
        RtcpSenderReport(ssrc=1, ntp_timestamp=rtp.ntp_from_unix(1_700_000_000.5),
                         rtp_timestamp=48000, packet_count=50, octet_count=4000,
                         reports=[ReportBlock(ssrc=9, fraction_lost=12, packets_lost=-3,
                                              highest_sequence=70000, jitter=5, lsr=6, dlsr=7)]),
        RtcpReceiverReport(ssrc=2, reports=[ReportBlock(ssrc=10)]),
        RtcpSdes(chunks=[(1, [(rtp.SDES_CNAME, b"cname-x")]), (2, [])]),
        RtcpApp(ssrc=3, name=b"ARSL", data=b'{"a":1}', subtype=2),
        RtcpFeedback.nack(ssrc=4, media_ssrc=5, lost=[10, 11, 26, 27, 65535, 0]),
        RtcpFeedback(rtp.RTCP_PSFB, rtp.PSFB_PLI, 4, 5),
        RtcpBye(sources=[1, 2], reason=b"bye"),
    ]
    data = rtp.serialize_rtcp(packets)
    assert rtp.is_rtcp(data) and not rtp.is_rtcp(bytes(RtpPacket(111, 1, 1, 1)))
    parsed = parse_rtcp(data)
    assert parsed[0] == packets[0] and parsed[1] == packets[1] and parsed[2] == packets[2]
    assert parsed[3].data.rstrip(b"\x00") == b'{"a":1}' and parsed[3].subtype == 2
    assert sorted(parsed[4].lost) == [0, 10, 11, 26, 27, 65535]
    assert parsed[5].fmt == rtp.PSFB_PLI and parsed[5].media_ssrc == 5
    assert parsed[6] == packets[6]


def test_rtcp_interoperates_with_aiortc():
    sr = aiortc_rtp.RtcpSrPacket(ssrc=77, sender_info=aiortc_rtp.RtcpSenderInfo(
        ntp_timestamp=123456789, rtp_timestamp=42, packet_count=3, octet_count=300))
    sdes = aiortc_rtp.RtcpSdesPacket(chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=77, items=[(1, b"c")])])
    parsed = parse_rtcp(bytes(sr) + bytes(sdes))
    assert parsed[0] == RtcpSenderReport(77, 123456789, 42, 3, 300)
    assert parsed[1].chunks == [(77, [(1, b"c")])]
    ours = bytes(RtcpReceiverReport(ssrc=5, reports=[ReportBlock(ssrc=6, highest_sequence=9)]))
    theirs = aiortc_rtp.RtcpPacket.parse(ours)
    assert theirs[0].ssrc == 5 and theirs[0].reports[0].highest_sequence == 9


@pytest.mark.parametrize("data", [b"\x80\xc8", b"\x80\xc8\x00\x09" + b"\x00" * 8,
                                  b"\x00\xc9\x00\x00"])
def test_rtcp_parse_rejects_malformed(data):
    with pytest.raises(ValueError):
        parse_rtcp(data)


def test_sequence_arithmetic():
    assert rtp.seq_gt(1, 65535) and not rtp.seq_gt(65535, 1)
    assert rtp.seq_diff(2, 65534) == 4 and rtp.seq_diff(65534, 2) == -4
    assert struct.unpack("!I", struct.pack("!I", rtp.ntp_middle(rtp.ntp_from_unix(0))))[0] >= 0
