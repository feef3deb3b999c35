"""The few STUN messages an established ICE connection still exchanges: consent freshness
(RFC 7675) binding requests and responses, with short-term credentials (RFC 8489 section 9.1:
MESSAGE-INTEGRITY is HMAC-SHA1 keyed with the ICE password; FINGERPRINT is CRC-32 ^
0x5354554E). Pure: no I/O, no clock; transaction IDs are passed in.

The ICE agent (aioice) does candidate gathering and connectivity checks; once a pair is
selected, this module takes over the periodic checks, which otherwise cost an asyncio task,
timers and a generic STUN codec per connection every few seconds.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
import zlib

COOKIE = 0x2112A442
_COOKIE_BYTES = struct.pack("!I", COOKIE)
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A
FINGERPRINT_XOR = 0x5354554E
_HDR = struct.Struct("!HHI12s")
_ATTR = struct.Struct("!HH")


class Credentials:
    """One side's ICE password as a reusable HMAC-SHA1 key."""

    def __init__(self, password: str):
        self._mac = hmac.new(password.encode("utf8"), digestmod=hashlib.sha1)

    def sign(self, data: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(data)
        return mac.digest()


def is_stun(data: bytes) -> bool:
    return len(data) >= 20 and data[0] < 2 and data[4:8] == _COOKIE_BYTES


def parse(data: bytes) -> tuple[int, bytes, dict[int, bytes], int | None] | None:
    """(message type, transaction ID, attributes, offset of MESSAGE-INTEGRITY) or None."""
    if len(data) < 20:
        return None
    mtype, length, cookie, txid = _HDR.unpack_from(data, 0)
    if cookie != COOKIE or length + 20 != len(data) or length % 4:
        return None
    attrs: dict[int, bytes] = {}
    mi_at = None
    pos = 20
    while pos + 4 <= len(data):
        atype, alen = _ATTR.unpack_from(data, pos)
        if pos + 4 + alen > len(data):
            return None
        if atype == MESSAGE_INTEGRITY:
            mi_at = pos
        attrs.setdefault(atype, data[pos + 4:pos + 4 + alen])
        pos += 4 + alen + (-alen % 4)
    return mtype, txid, attrs, mi_at


def integrity_ok(data: bytes, mi_at: int | None, attrs: dict[int, bytes],
                 creds: Credentials) -> bool:
    if mi_at is None or len(attrs.get(MESSAGE_INTEGRITY, b"")) != 20:
        return False
    # the length field covers the message up to and including MESSAGE-INTEGRITY
    covered = data[:2] + struct.pack("!H", mi_at + 24 - 20) + data[4:mi_at]
    return hmac.compare_digest(creds.sign(covered), attrs[MESSAGE_INTEGRITY])


def _attr(atype: int, value: bytes) -> bytes:
    return _ATTR.pack(atype, len(value)) + value + b"\x00" * (-len(value) % 4)


def _finish(mtype: int, txid: bytes, body: bytes, creds: Credentials) -> bytes:
    """Append MESSAGE-INTEGRITY and FINGERPRINT to a message body."""
    head = _HDR.pack(mtype, len(body) + 24, COOKIE, txid)
    mac = creds.sign(head + body)
    body += _ATTR.pack(MESSAGE_INTEGRITY, 20) + mac
    head = _HDR.pack(mtype, len(body) + 8, COOKIE, txid)
    crc = (zlib.crc32(head + body) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
    return head + body + _ATTR.pack(FINGERPRINT, 4) + struct.pack("!I", crc)


def xor_address(addr: tuple[str, int], txid: bytes) -> bytes:
    ip = ipaddress.ip_address(addr[0])
    port = addr[1] ^ (COOKIE >> 16)
    raw = ip.packed
    pad = _COOKIE_BYTES + txid
    xored = bytes(a ^ b for a, b in zip(raw, pad, strict=False))
    return struct.pack("!BBH", 0, 1 if ip.version == 4 else 2, port) + xored


def binding_response(txid: bytes, addr: tuple[str, int], creds: Credentials) -> bytes:
    """Success response to a binding request from ``addr``, signed with our password."""
    return _finish(BINDING_SUCCESS, txid, _attr(XOR_MAPPED_ADDRESS, xor_address(addr, txid)),
                   creds)


def binding_request(txid: bytes, username: str, priority: int, controlling: bool,
                    tie_breaker: int, creds: Credentials) -> bytes:
    """A consent check: USERNAME remote:local, signed with the remote's password."""
    body = _attr(USERNAME, username.encode("utf8")) + _attr(PRIORITY, struct.pack("!I", priority))
    body += _attr(ICE_CONTROLLING if controlling else ICE_CONTROLLED,
                  struct.pack("!Q", tie_breaker))
    return _finish(BINDING_REQUEST, txid, body, creds)
