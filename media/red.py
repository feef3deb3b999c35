"""RFC 2198 redundant audio (RED) carrying Opus: parse, strip to the primary, rewrite PTs.

A RED payload is a list of block headers then the blocks' data in the same order. Every
header but the last is 4 bytes: F=1 | block PT (7 bits), timestamp offset (14 bits), block
length (10 bits); the last (the primary, F=0) is 1 byte: F | PT, its length is what remains.
Chromium sends the current Opus frame as the primary and one or two earlier frames as
redundant blocks, every block with the Opus payload type.

Pure and bounded: every length is checked against the packet; a payload that does not parse
(truncated headers, lengths past the end, too many blocks, a block that is not Opus) is
refused (``None``/-1) and the caller drops the packet.
"""
from __future__ import annotations

MAX_REDUNDANT = 8  # redundant blocks per packet (Chromium sends at most 2)


def primary_offset(data: bytes, pos: int, end: int, opus_pt: int) -> int:
    """Where the primary block's data starts in ``data`` whose RED payload is
    ``data[pos:end]``; -1 when it is malformed or a block is not ``opus_pt``."""
    hdr = pos
    body = 0
    for _ in range(MAX_REDUNDANT + 1):
        if hdr >= end:
            return -1
        b = data[hdr]
        if (b & 0x7F) != opus_pt:
            return -1
        if not b & 0x80:  # the last header: the primary
            start = hdr + 1 + body
            return start if start <= end else -1
        if hdr + 4 > end:
            return -1
        body += ((data[hdr + 2] & 0x03) << 8) | data[hdr + 3]
        hdr += 4
    return -1


def payload_bounds(data: bytes) -> tuple[int, int] | None:
    """(start, end) of an RTP packet's payload (after CSRCs and the header extension, before
    padding), or None when the header does not fit the packet."""
    n = len(data)
    if n < 12:
        return None
    b0 = data[0]
    pos = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if n < pos + 4:
            return None
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    end = n - data[-1] if b0 & 0x20 else n
    if pos > end:
        return None
    return pos, end


def split(data: bytes, opus_pt: int) -> tuple[bytes, bytes] | None:
    """A RED RTP packet -> (the same packet carrying only the primary Opus block, with
    ``opus_pt`` and no padding; the RED payload), or None when it is malformed."""
    bounds = payload_bounds(data)
    if bounds is None:
        return None
    pos, end = bounds
    start = primary_offset(data, pos, end, opus_pt)
    if start < 0:
        return None
    plain = bytes((data[0] & 0xDF, (data[1] & 0x80) | opus_pt)) + data[2:pos] + \
        data[start:end]
    return plain, data[pos:end]


def with_block_pt(red: bytes, pt: int) -> bytes:
    """A (valid, from ``split``) RED payload with every block's payload type set to ``pt``."""
    out = bytearray(red)
    hdr = 0
    while hdr < len(out):
        b = out[hdr]
        out[hdr] = (b & 0x80) | pt
        if not b & 0x80:
            break
        hdr += 4
    return bytes(out)


def encode(blocks: list[tuple[int, bytes]], pt: int) -> bytes:
    """A RED payload: ``blocks`` are (timestamp offset, Opus data), oldest first, the last
    one the primary (its offset is ignored). For tests and senders."""
    if not blocks:
        raise ValueError("RED needs a primary block")
    heads = bytearray()
    for offset, data in blocks[:-1]:
        if not 0 <= offset < 1 << 14 or len(data) >= 1 << 10:
            raise ValueError("RED block offset or length out of range")
        heads += bytes((0x80 | pt, offset >> 6, ((offset & 0x3F) << 2) | (len(data) >> 8),
                        len(data) & 0xFF))
    heads.append(pt)
    return bytes(heads) + b"".join(d for _o, d in blocks)


def decode(red: bytes) -> list[tuple[int, int, bytes]] | None:
    """A RED payload -> [(block PT, timestamp offset, data)], the primary last (offset 0);
    None when malformed (any PTs accepted). For tests and tools."""
    heads: list[tuple[int, int, int]] = []
    hdr = 0
    for _ in range(MAX_REDUNDANT + 1):
        if hdr >= len(red):
            return None
        b = red[hdr]
        if not b & 0x80:
            pos = hdr + 1
            out = []
            for pt, off, length in heads:
                if pos + length > len(red):
                    return None
                out.append((pt, off, red[pos:pos + length]))
                pos += length
            out.append((b & 0x7F, 0, red[pos:]))
            return out
        if hdr + 4 > len(red):
            return None
        off = (red[hdr + 1] << 6) | (red[hdr + 2] >> 2)
        heads.append((b & 0x7F, off, ((red[hdr + 2] & 0x03) << 8) | red[hdr + 3]))
        hdr += 4
    return None
