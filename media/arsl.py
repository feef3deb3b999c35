"""ARSL: the control messages between two SFUs on a cascade relay, in RTCP APP packets.

Both are RTCP APP packets (RFC 3550 section 6.7) named ``ARSL`` with SSRC 0 and a JSON object
as their data (padded with NULs to 32 bits):

* MAP (subtype 1) ``{"<ssrc>": "<user_id>", ...}``: which user each RTP stream the sender
  sends on the relay carries; sent by both ends;
* LAYOUT (subtype 2) ``{"top": [user_id | null, ...], "spare": user_id | null}``: the host's
  slot layout, sent host -> remote.

Pure: no I/O, no clock. ``bytes(message)`` is one RTCP packet; ``parse`` reads one back
(raising ``ValueError``); ``decode`` picks the ARSL messages out of a compound RTCP packet as
received, skipping anything malformed (a relay's peer is another server: it may be buggy).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from . import rtp

NAME = b"ARSL"


def _app(subtype: int, obj: object) -> bytes:
    return bytes(rtp.RtcpApp(ssrc=0, name=NAME, subtype=subtype,
                             data=json.dumps(obj, separators=(",", ":")).encode()))


def _body(app: rtp.RtcpApp, subtype: int) -> dict:
    if app.name != NAME or app.subtype != subtype:
        raise ValueError(f"not an ARSL message of subtype {subtype}")
    try:
        obj = json.loads(app.data.rstrip(b"\x00").decode())
    except (ValueError, UnicodeDecodeError):
        raise ValueError("ARSL data is not JSON") from None
    if not isinstance(obj, dict):
        raise ValueError("ARSL data is not a JSON object")
    return obj


def _single(data: bytes) -> rtp.RtcpApp:
    packets = rtp.parse_rtcp(data)
    if len(packets) != 1 or not isinstance(packets[0], rtp.RtcpApp):
        raise ValueError("expected one RTCP APP packet")
    return packets[0]


@dataclass(frozen=True)
class StreamMap:
    """MAP: the user each of the sender's SSRCs carries. Entries that are not
    ``"<decimal ssrc>": "<string>"`` are left out when parsing."""
    SUBTYPE: ClassVar[int] = 1
    users: dict[int, str]

    def __bytes__(self) -> bytes:
        return _app(self.SUBTYPE, {str(ssrc): user for ssrc, user in self.users.items()})

    @classmethod
    def parse(cls, data: bytes) -> StreamMap:
        return cls.from_app(_single(data))

    @classmethod
    def from_app(cls, app: rtp.RtcpApp) -> StreamMap:
        obj = _body(app, cls.SUBTYPE)
        return cls({int(k): v for k, v in obj.items()
                    if k.isascii() and k.isdigit() and isinstance(v, str)})


@dataclass(frozen=True)
class Layout:
    """LAYOUT: the host's slot positions (``top``, one per audio slot) and its ``spare``."""
    SUBTYPE: ClassVar[int] = 2
    top: tuple[str | None, ...]
    spare: str | None

    def __bytes__(self) -> bytes:
        return _app(self.SUBTYPE, {"top": list(self.top), "spare": self.spare})

    @classmethod
    def parse(cls, data: bytes) -> Layout:
        return cls.from_app(_single(data))

    @classmethod
    def from_app(cls, app: rtp.RtcpApp) -> Layout:
        obj = _body(app, cls.SUBTYPE)
        top, spare = obj.get("top"), obj.get("spare")
        if not isinstance(top, list) or not all(u is None or isinstance(u, str) for u in top):
            raise ValueError("LAYOUT top must be a list of user IDs or nulls")
        if spare is not None and not isinstance(spare, str):
            raise ValueError("LAYOUT spare must be a user ID or null")
        return cls(tuple(top), spare)


Message = StreamMap | Layout
_TYPES: dict[int, type[StreamMap] | type[Layout]] = {
    StreamMap.SUBTYPE: StreamMap, Layout.SUBTYPE: Layout}


def decode(data: bytes) -> list[Message]:
    """The well-formed ARSL messages in a received (compound) RTCP packet, in order."""
    try:
        packets = rtp.parse_rtcp(data)
    except ValueError:
        return []
    out: list[Message] = []
    for p in packets:
        if isinstance(p, rtp.RtcpApp) and p.name == NAME and p.subtype in _TYPES:
            try:
                out.append(_TYPES[p.subtype].from_app(p))
            except ValueError:
                continue
    return out
