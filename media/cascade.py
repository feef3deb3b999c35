"""Cascade relays: one WebRTC connection per room between two servers' SFUs.

A room is hosted by the server in its room ID. A server with participants in a remote room
holds one *uplink* relay connection per room to the host's SFU (``Uplink``); the host treats it
as a *relay peer* (``RelayPeer``). Both directions carry many SSRCs on one Opus section:

* remote -> host: every allowed local speaker's stream; the host gates and ranks them with its
  own speakers (its slot layout is the room's single source of truth);
* host -> remote: the streams of the layout's speakers (top positions and the spare) that do not
  come from that remote; the remote serves its own speakers from its local copies.

Control rides on RTCP APP packets (``arsl.py``): MAP (both ways, which SSRC carries whom) and
LAYOUT (host -> remote), sent on change and every second; they double as keepalives: a relay
silent for the SFU's ``relay_timeout`` is torn down, and the remote re-establishes it.

This module holds each end's state and its control messages; the SFU (``sfu.py``) sets the
connections up and tears them down, the room (``room.py``) forwards their packets.
"""
from __future__ import annotations

import asyncio

from . import arsl, sdp
from .forwarding import OutStream, Source
from .transport import PeerTransport

CONTROL_INTERVAL = 1.0  # MAP and LAYOUT are repeated this often (seconds)


class _RelayEnd:
    """What both ends of a relay keep: the streams we send and those we receive, by SSRC."""

    def __init__(self) -> None:
        self.tp: PeerTransport | None = None
        self.outs: dict[str, OutStream] = {}  # user -> the stream we send them on
        self.ssrc_users: dict[int, str] = {}  # received SSRC -> user (the other end's MAP)
        self.sources: dict[int, Source] = {}  # received SSRC -> source
        self.pt: int = sdp.RELAY_PT
        self.level_id: int | None = sdp.RELAY_AUDIO_LEVEL_ID
        self.connected = False
        self.last_heard = 0.0
        self.next_control = 0.0

    def send_map(self, now: float) -> None:
        """MAP: which of our SSRCs carries whom (on change and every CONTROL_INTERVAL)."""
        if not self.connected or self.tp is None:
            return
        self.next_control = now + CONTROL_INTERVAL
        self.tp.send_rtcp(bytes(arsl.StreamMap({out.rw.ssrc: u for u, out in self.outs.items()})))

    def apply_map(self, msg: arsl.StreamMap) -> list[Source]:
        """The other end's MAP: returns the sources whose SSRC no longer carries their user."""
        self.ssrc_users = dict(msg.users)
        stale = []
        for ssrc in list(self.sources):
            if self.ssrc_users.get(ssrc) != self.sources[ssrc].user_id:
                stale.append(self.sources.pop(ssrc))
        return stale


class RelayPeer(_RelayEnd):
    """Host side: a remote server's relay connection for a room (or, in a cluster, another
    worker's)."""

    def __init__(self, rid: str, origin: str):
        super().__init__()
        self.id = rid
        self.origin = origin
        self.closed = False

    def send_layout(self, top: list[str | None], spare: str | None) -> None:
        if not self.connected or self.tp is None:
            return
        self.tp.send_rtcp(bytes(arsl.Layout(tuple(top), spare)))


class Uplink(_RelayEnd):
    """Remote side: our relay connection to the room's host, kept up by ``task``."""

    def __init__(self) -> None:
        super().__init__()
        self.task: asyncio.Task | None = None
        self.pending: PeerTransport | None = None  # offered, not answered yet
        self.attempts = 0
        self.connects = 0
