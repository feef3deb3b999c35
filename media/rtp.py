"""RTP and RTCP packets (RFC 3550, 3611-free subset), header extensions (RFC 8285) and the
client-to-mixer audio level (RFC 6464).

Pure: parse() and bytes(); no I/O, no clock. The SFU's forwarding path does not build these
objects per outgoing packet (it packs headers with ``struct`` directly, see ``sfu.py``); they
serve the receive side, RTCP, tests and tools.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE_MASK = 0xFFF0
TWO_BYTE_PROFILE = 0x1000

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"

# RTCP packet types (RFC 3550, 4585)
RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_APP = 204
RTCP_RTPFB = 205
RTCP_PSFB = 206

RTPFB_NACK = 1
PSFB_PLI = 1
PSFB_FIR = 4
PSFB_REMB = 15

SDES_CNAME = 1

_HDR = struct.Struct("!BBHII")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_EXT_HDR = struct.Struct("!HH")
_RTCP_HDR = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!QIII")
_REPORT_BLOCK = struct.Struct("!IB3sIIII")


def is_rtcp(data: bytes) -> bool:
    """RTP/RTCP demultiplexing on one port (RFC 5761 section 4): RTCP packet types 192-223."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def seq_gt(a: int, b: int) -> bool:
    """a is after b in 16-bit sequence-number space."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def seq_diff(a: int, b: int) -> int:
    """Signed distance a - b in 16-bit sequence-number space."""
    d = (a - b) & 0xFFFF
    return d - 0x10000 if d >= 0x8000 else d


# header extensions ----------------------------------------------------------------------------

def parse_extensions(profile: int, data: bytes) -> dict[int, bytes]:
    """Elements of a one-byte (0xBEDE) or two-byte (0x100X) header extension block."""
    out: dict[int, bytes] = {}
    n = len(data)
    i = 0
    if profile == ONE_BYTE_PROFILE:
        while i < n:
            b = data[i]
            if b == 0:  # padding
                i += 1
                continue
            ext_id, length = b >> 4, (b & 0x0F) + 1
            if ext_id == 15:  # reserved: stop processing (RFC 8285 section 4.2)
                break
            if i + 1 + length > n:
                raise ValueError("RTP header extension element is truncated")
            out[ext_id] = bytes(data[i + 1:i + 1 + length])
            i += 1 + length
    elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while i < n:
            ext_id = data[i]
            if ext_id == 0:
                i += 1
                continue
            if i + 1 >= n:
                raise ValueError("RTP header extension element is truncated")
            length = data[i + 1]
            if i + 2 + length > n:
                raise ValueError("RTP header extension element is truncated")
            out[ext_id] = bytes(data[i + 2:i + 2 + length])
            i += 2 + length
    return out


def serialize_extensions(elements: dict[int, bytes] | list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """(profile, body padded to 32 bits); one-byte form when every element allows it."""
    items = list(elements.items()) if isinstance(elements, dict) else list(elements)
    if not items:
        return 0, b""
    one_byte = all(1 <= i <= 14 and 1 <= len(v) <= 16 for i, v in items)
    body = bytearray()
    if one_byte:
        profile = ONE_BYTE_PROFILE
        for ext_id, value in items:
            body.append((ext_id << 4) | (len(value) - 1))
            body += value
    else:
        profile = TWO_BYTE_PROFILE
        for ext_id, value in items:
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise ValueError("RTP header extension element out of range")
            body.append(ext_id)
            body.append(len(value))
            body += value
    body += b"\x00" * (-len(body) % 4)
    return profile, bytes(body)


def audio_level_value(voice: bool, level: int) -> bytes:
    """RFC 6464 element body: V flag and level in -dBov (0 loudest .. 127 silence)."""
    return bytes([(0x80 if voice else 0) | max(0, min(127, level))])


def read_audio_level(data: bytes, ext_id: int) -> int | None:
    """The RFC 6464 level (0..127, -dBov) of a raw RTP packet, straight from its bytes; None if
    the packet carries no such element. Tolerates malformed extension blocks (returns None)."""
    if not ext_id or len(data) < 12 or not data[0] & 0x10:
        return None
    pos = 12 + 4 * (data[0] & 0x0F)
    if len(data) < pos + 4:
        return None
    profile = (data[pos] << 8) | data[pos + 1]
    end = pos + 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    if end > len(data):
        return None
    i = pos + 4
    if profile == ONE_BYTE_PROFILE:
        while i < end:
            b = data[i]
            if b == 0:
                i += 1
                continue
            eid = b >> 4
            if eid == 15:
                return None
            if eid == ext_id:
                return data[i + 1] & 0x7F if i + 1 < end else None
            i += 2 + (b & 0x0F)
    elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while i + 1 < end:
            eid = data[i]
            if eid == 0:
                i += 1
                continue
            length = data[i + 1]
            if eid == ext_id:
                return data[i + 2] & 0x7F if length and i + 2 < end else None
            i += 2 + length
    return None


def payload_offset(data: bytes) -> int:
    """Offset of the payload in a raw RTP packet (after CSRCs and the extension block)."""
    pos = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if len(data) < pos + 4:
            raise ValueError("RTP packet has truncated extension header")
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    if pos > len(data):
        raise ValueError("RTP packet is truncated")
    return pos


# RTP ------------------------------------------------------------------------------------------

@dataclass
class RtpPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension_profile: int = 0
    extension_data: bytes = b""  # the extension block's body, without its 4-byte header
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < 12:
            raise ValueError("RTP packet is shorter than 12 bytes")
        b0, b1, seq, ts, ssrc = _HDR.unpack_from(data, 0)
        if b0 >> 6 != RTP_VERSION:
            raise ValueError("RTP packet has an invalid version")
        cc = b0 & 0x0F
        pos = 12
        if len(data) < pos + 4 * cc:
            raise ValueError("RTP packet has truncated CSRCs")
        csrc = [_U32.unpack_from(data, pos + 4 * i)[0] for i in range(cc)]
        pos += 4 * cc
        profile, ext = 0, b""
        if b0 & 0x10:
            if len(data) < pos + 4:
                raise ValueError("RTP packet has a truncated extension header")
            profile, words = _EXT_HDR.unpack_from(data, pos)
            pos += 4
            if len(data) < pos + 4 * words:
                raise ValueError("RTP packet has a truncated extension block")
            ext = bytes(data[pos:pos + 4 * words])
            pos += 4 * words
        end = len(data)
        padding = 0
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0 or padding > end - pos:
                raise ValueError("RTP packet has an invalid padding length")
            end -= padding
        return cls(payload_type=b1 & 0x7F, sequence_number=seq, timestamp=ts, ssrc=ssrc,
                   payload=bytes(data[pos:end]), marker=bool(b1 & 0x80), csrc=csrc,
                   extension_profile=profile, extension_data=ext, padding_size=padding)

    def __bytes__(self) -> bytes:
        has_ext = bool(self.extension_profile or self.extension_data)
        b0 = (RTP_VERSION << 6) | (0x20 if self.padding_size else 0) \
            | (0x10 if has_ext else 0) | len(self.csrc)
        out = bytearray(_HDR.pack(b0, (0x80 if self.marker else 0) | self.payload_type,
                                  self.sequence_number & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                                  self.ssrc))
        for c in self.csrc:
            out += _U32.pack(c)
        if has_ext:
            if len(self.extension_data) % 4:
                raise ValueError("RTP extension block must be a multiple of 4 bytes")
            out += _EXT_HDR.pack(self.extension_profile, len(self.extension_data) // 4)
            out += self.extension_data
        out += self.payload
        if self.padding_size:
            out += b"\x00" * (self.padding_size - 1) + bytes([self.padding_size])
        return bytes(out)

    # extension helpers
    def extensions(self) -> dict[int, bytes]:
        return parse_extensions(self.extension_profile, self.extension_data)

    def set_extensions(self, elements: dict[int, bytes] | list[tuple[int, bytes]]) -> None:
        self.extension_profile, self.extension_data = serialize_extensions(elements)

    def audio_level(self, ext_id: int) -> tuple[bool, int] | None:
        """(voice activity flag, level in -dBov) from the negotiated RFC 6464 element."""
        if not ext_id:
            return None
        value = self.extensions().get(ext_id)
        if not value:
            return None
        return bool(value[0] & 0x80), value[0] & 0x7F


# RTCP -----------------------------------------------------------------------------------------

@dataclass
class ReportBlock:
    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    @classmethod
    def parse(cls, data: bytes, pos: int = 0) -> ReportBlock:
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, pos)
        lost_i = int.from_bytes(lost, "big", signed=True)
        return cls(ssrc, fraction, lost_i, highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        lost = max(-(1 << 23), min((1 << 23) - 1, self.packets_lost))
        return _REPORT_BLOCK.pack(self.ssrc, self.fraction_lost,
                                  lost.to_bytes(3, "big", signed=True), self.highest_sequence,
                                  self.jitter, self.lsr, self.dlsr)


def _rtcp_header(count: int, packet_type: int, body_len: int, padding: bool = False) -> bytes:
    if body_len % 4:
        raise ValueError("RTCP packet body must be a multiple of 4 bytes")
    return _RTCP_HDR.pack(0x80 | (0x20 if padding else 0) | count, packet_type, body_len // 4)


@dataclass
class RtcpSenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)
    packet_type = RTCP_SR

    @classmethod
    def parse(cls, count: int, body: bytes) -> RtcpSenderReport:
        if len(body) < 24 + 24 * count:
            raise ValueError("RTCP SR is truncated")
        ssrc = _U32.unpack_from(body, 0)[0]
        ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body, 4)
        reports = [ReportBlock.parse(body, 24 + 24 * i) for i in range(count)]
        return cls(ssrc, ntp, rtp_ts, packets, octets, reports)

    def __bytes__(self) -> bytes:
        body = _U32.pack(self.ssrc) + _SENDER_INFO.pack(
            self.ntp_timestamp & 0xFFFFFFFFFFFFFFFF, self.rtp_timestamp & 0xFFFFFFFF,
            self.packet_count & 0xFFFFFFFF, self.octet_count & 0xFFFFFFFF)
        body += b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_SR, len(body)) + body


@dataclass
class RtcpReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)
    packet_type = RTCP_RR

    @classmethod
    def parse(cls, count: int, body: bytes) -> RtcpReceiverReport:
        if len(body) < 4 + 24 * count:
            raise ValueError("RTCP RR is truncated")
        ssrc = _U32.unpack_from(body, 0)[0]
        return cls(ssrc, [ReportBlock.parse(body, 4 + 24 * i) for i in range(count)])

    def __bytes__(self) -> bytes:
        body = _U32.pack(self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_RR, len(body)) + body


@dataclass
class RtcpSdes:
    chunks: list[tuple[int, list[tuple[int, bytes]]]] = field(default_factory=list)
    packet_type = RTCP_SDES

    @classmethod
    def parse(cls, count: int, body: bytes) -> RtcpSdes:
        chunks = []
        pos = 0
        for _ in range(count):
            if pos + 4 > len(body):
                raise ValueError("RTCP SDES is truncated")
            ssrc = _U32.unpack_from(body, pos)[0]
            pos += 4
            items = []
            while pos < len(body):
                item_type = body[pos]
                if item_type == 0:
                    pos += 1
                    break
                if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                    raise ValueError("RTCP SDES item is truncated")
                length = body[pos + 1]
                items.append((item_type, bytes(body[pos + 2:pos + 2 + length])))
                pos += 2 + length
            pos += -pos % 4  # chunks end on a 32-bit boundary
            chunks.append((ssrc, items))
        return cls(chunks)

    def __bytes__(self) -> bytes:
        body = bytearray()
        for ssrc, items in self.chunks:
            body += _U32.pack(ssrc)
            for item_type, value in items:
                if len(value) > 255:
                    raise ValueError("RTCP SDES item is longer than 255 bytes")
                body += bytes([item_type, len(value)]) + value
            body += b"\x00"
            body += b"\x00" * (-len(body) % 4)
        return _rtcp_header(len(self.chunks), RTCP_SDES, len(body)) + bytes(body)


@dataclass
class RtcpBye:
    sources: list[int] = field(default_factory=list)
    reason: bytes = b""
    packet_type = RTCP_BYE

    @classmethod
    def parse(cls, count: int, body: bytes) -> RtcpBye:
        if len(body) < 4 * count:
            raise ValueError("RTCP BYE is truncated")
        sources = [_U32.unpack_from(body, 4 * i)[0] for i in range(count)]
        reason = b""
        pos = 4 * count
        if pos < len(body):
            length = body[pos]
            reason = bytes(body[pos + 1:pos + 1 + length])
        return cls(sources, reason)

    def __bytes__(self) -> bytes:
        body = b"".join(_U32.pack(s) for s in self.sources)
        if self.reason:
            tail = bytes([len(self.reason)]) + self.reason
            body += tail + b"\x00" * (-len(tail) % 4)
        return _rtcp_header(len(self.sources), RTCP_BYE, len(body)) + body


@dataclass
class RtcpApp:
    """Application-defined RTCP (RFC 3550 section 6.7); the cascade relay's control channel."""
    ssrc: int
    name: bytes  # 4 ASCII bytes
    data: bytes = b""
    subtype: int = 0
    packet_type = RTCP_APP

    @classmethod
    def parse(cls, count: int, body: bytes) -> RtcpApp:
        if len(body) < 8:
            raise ValueError("RTCP APP is truncated")
        return cls(_U32.unpack_from(body, 0)[0], bytes(body[4:8]), bytes(body[8:]), count)

    def __bytes__(self) -> bytes:
        if len(self.name) != 4:
            raise ValueError("RTCP APP name must be 4 bytes")
        data = self.data + b"\x00" * (-len(self.data) % 4)
        body = _U32.pack(self.ssrc) + self.name + data
        return _rtcp_header(self.subtype & 0x1F, RTCP_APP, len(body)) + body


@dataclass
class RtcpFeedback:
    """Transport-layer (205) or payload-specific (206) feedback (RFC 4585)."""
    packet_type: int
    fmt: int
    ssrc: int
    media_ssrc: int
    fci: bytes = b""

    @classmethod
    def parse(cls, packet_type: int, fmt: int, body: bytes) -> RtcpFeedback:
        if len(body) < 8:
            raise ValueError("RTCP feedback is truncated")
        ssrc, media_ssrc = struct.unpack_from("!II", body, 0)
        return cls(packet_type, fmt, ssrc, media_ssrc, bytes(body[8:]))

    def __bytes__(self) -> bytes:
        body = struct.pack("!II", self.ssrc, self.media_ssrc) + self.fci
        return _rtcp_header(self.fmt, self.packet_type, len(body)) + body

    # NACK (RFC 4585 section 6.2.1): FCI entries of PID + bitmask of the 16 following
    @property
    def lost(self) -> list[int]:
        out = []
        for i in range(0, len(self.fci) - 3, 4):
            pid, blp = struct.unpack_from("!HH", self.fci, i)
            out.append(pid)
            for b in range(16):
                if blp & (1 << b):
                    out.append((pid + b + 1) & 0xFFFF)
        return out

    @classmethod
    def nack(cls, ssrc: int, media_ssrc: int, lost: list[int]) -> RtcpFeedback:
        fci = bytearray()
        pending = sorted(set(x & 0xFFFF for x in lost))
        while pending:
            pid = pending.pop(0)
            blp = 0
            for x in list(pending):
                d = (x - pid) & 0xFFFF
                if 1 <= d <= 16:
                    blp |= 1 << (d - 1)
                    pending.remove(x)
            fci += struct.pack("!HH", pid, blp)
        return cls(RTCP_RTPFB, RTPFB_NACK, ssrc, media_ssrc, bytes(fci))


@dataclass
class RtcpUnknown:
    packet_type: int
    count: int
    body: bytes

    def __bytes__(self) -> bytes:
        return _rtcp_header(self.count, self.packet_type, len(self.body)) + self.body


RtcpPacket = (RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpApp
              | RtcpFeedback | RtcpUnknown)


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """The packets of a (possibly compound, possibly reduced-size) RTCP datagram."""
    out: list = []
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < 4:
            raise ValueError("RTCP packet is truncated")
        b0, packet_type, words = _RTCP_HDR.unpack_from(data, pos)
        if b0 >> 6 != RTP_VERSION:
            raise ValueError("RTCP packet has an invalid version")
        end = pos + 4 + 4 * words
        if end > n:
            raise ValueError("RTCP packet length exceeds the datagram")
        body = data[pos + 4:end]
        if b0 & 0x20:  # padding, only allowed on the last packet
            pad = data[end - 1]
            if pad == 0 or pad > len(body):
                raise ValueError("RTCP packet has invalid padding")
            body = body[:len(body) - pad]
        count = b0 & 0x1F
        if packet_type == RTCP_SR:
            out.append(RtcpSenderReport.parse(count, body))
        elif packet_type == RTCP_RR:
            out.append(RtcpReceiverReport.parse(count, body))
        elif packet_type == RTCP_SDES:
            out.append(RtcpSdes.parse(count, body))
        elif packet_type == RTCP_BYE:
            out.append(RtcpBye.parse(count, body))
        elif packet_type == RTCP_APP:
            out.append(RtcpApp.parse(count, body))
        elif packet_type in (RTCP_RTPFB, RTCP_PSFB):
            out.append(RtcpFeedback.parse(packet_type, count, body))
        else:
            out.append(RtcpUnknown(packet_type, count, bytes(body)))
        pos = end
    return out


def serialize_rtcp(packets: list) -> bytes:
    return b"".join(bytes(p) for p in packets)


def ntp_from_unix(seconds: float) -> int:
    """64-bit NTP timestamp for a Unix time."""
    s = seconds + 2208988800
    whole = int(s)
    return (whole << 32) | int((s - whole) * (1 << 32))


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp, as carried in LSR fields."""
    return (ntp >> 16) & 0xFFFFFFFF
