"""ICE-TCP (RFC 6544): passive TCP host candidates on one listening port shared by every
session, for clients whose network drops UDP.

* Framing (RFC 4571): every STUN message, DTLS record and SRTP packet is one frame, a 2-byte
  big-endian length and that many bytes. ``FrameDecoder`` is pure (bytes in, frames out).
* Demultiplexing: an accepted connection belongs to nobody until its first frame, which must be
  a STUN Binding request whose USERNAME starts with a registered ICE ufrag (ours, as the SDP
  answer gave it) and whose MESSAGE-INTEGRITY verifies with that session's ICE password.
  Anything else (garbage, an oversized frame, an unknown ufrag, a bad signature, or nothing
  within ``pending_timeout``) closes the connection; at most ``max_pending`` connections wait
  for their first request at once (more are closed as they arrive).
* Once bound, the connection's frames go to its owner (a ``transport.PeerTransport``), which
  answers the browser's checks, selects the connection when the browser nominates it
  (USE-CANDIDATE: browsers are controlling) and runs DTLS-SRTP over it.
* Sending is synchronous (``TcpLink.send``: one ``transport.write``, no task, no queue of our
  own); when the kernel buffer is full and asyncio's write buffer holds more than
  ``write_limit`` bytes, packets to that connection are dropped (counted in ``dropped``):
  a slow TCP listener loses its own packets instead of stalling the room or growing memory.
  The kernel's send buffer of each connection is bounded too (``send_buffer``, SO_SNDBUF):
  left to autotune it grows to megabytes for a peer that stops reading, seconds of stale
  audio queued ahead of anything new.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable
from typing import Protocol

from aioice.candidate import candidate_foundation

from . import stun

log = logging.getLogger(__name__)

MAX_FRAME = 4096  # above any datagram WebRTC sends (MTU-sized DTLS records, RTP, STUN)
_LEN = struct.Struct("!H")


class FrameError(ValueError):
    """The peer broke RFC 4571 framing (a frame over the limit)."""


def frame(data: bytes | memoryview) -> bytes:
    """One RFC 4571 frame."""
    return _LEN.pack(len(data)) + data


class FrameDecoder:
    """RFC 4571 deframer: ``feed`` bytes as they arrive, get the complete frames. Holds at
    most one partial frame (bounded by ``max_frame``)."""

    def __init__(self, max_frame: int = MAX_FRAME):
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out = []
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            size = (buf[pos] << 8) | buf[pos + 1]
            if size > self.max_frame:
                raise FrameError(f"frame of {size} bytes (limit {self.max_frame})")
            if n - pos - 2 < size:
                break
            out.append(bytes(buf[pos + 2:pos + 2 + size]))
            pos += 2 + size
        if pos:
            del buf[:pos]
        return out


def binding_username(data: bytes) -> tuple[str, str, tuple] | None:
    """(our ufrag, their ufrag, parsed) of a STUN Binding request, else None."""
    parsed = stun.parse(data)
    if parsed is None or parsed[0] != stun.BINDING_REQUEST:
        return None
    raw = parsed[2].get(stun.USERNAME)
    if not raw or len(raw) > 513:
        return None
    try:
        name = raw.decode("utf8")
    except UnicodeDecodeError:
        return None
    local, sep, remote = name.partition(":")
    if not sep or not local or not remote:
        return None
    return local, remote, parsed


class TcpOwner(Protocol):
    """What a connection is handed to once its first request names the owner's ufrag."""

    tcp_creds: stun.Credentials | None

    def tcp_attach(self, link: TcpLink) -> bool: ...

    def tcp_frame(self, link: TcpLink, data: bytes) -> None: ...

    def tcp_lost(self, link: TcpLink) -> None: ...


class TcpLink(asyncio.Protocol):
    """One accepted TCP connection."""

    def __init__(self, server: TcpIceServer):
        self.server = server
        self.decoder = FrameDecoder(server.max_frame)
        self.transport: asyncio.Transport | None = None
        self.owner: TcpOwner | None = None
        self.peer: tuple = ("", 0)
        self.dropped = 0
        self.closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._write: Callable[[bytes], None] | None = None
        self._buffered: Callable[[], int] | None = None
        self.write_limit = server.write_limit

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.peer = tuple(transport.get_extra_info("peername") or ("", 0))[:2]
        self._write = transport.write
        self._buffered = transport.get_write_buffer_size
        srv = self.server
        sock = transport.get_extra_info("socket")
        if sock is not None and srv.send_buffer:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, srv.send_buffer)
            except OSError:
                pass
        if len(srv.pending) >= srv.max_pending:
            srv.refused += 1
            self.close()
            return
        srv.pending.add(self)
        self._timer = asyncio.get_running_loop().call_later(srv.pending_timeout, self._expire)

    def _expire(self) -> None:
        if self.owner is None:
            self.server.refused += 1
            self.close()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            frames = self.decoder.feed(data)
        except FrameError:
            self.server.refused += 1
            self.close()
            return
        for f in frames:
            owner = self.owner
            if owner is None:
                owner = self._bind(f)
                if owner is None:
                    self.server.refused += 1
                    self.close()
                    return
            owner.tcp_frame(self, f)
            if self.closed:
                return

    def _bind(self, data: bytes) -> TcpOwner | None:
        found = binding_username(data)
        if found is None:
            return None
        local, _remote, (_t, _txid, attrs, mi_at) = found
        owner = self.server.owners.get(local)
        creds = owner.tcp_creds if owner is not None else None
        if owner is None or creds is None or not stun.integrity_ok(data, mi_at, attrs, creds):
            return None
        if not owner.tcp_attach(self):
            return None
        self.owner = owner
        self.server.pending.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return owner

    def send(self, data: bytes | memoryview) -> None:
        """Frame and write now; dropped when this connection's buffer is over the limit.
        (The frame is a new bytes object: asyncio may keep it until the socket drains.)"""
        write = self._write
        if write is None or self.closed:
            return
        if self._buffered is not None and self._buffered() > self.write_limit:
            self.dropped += 1
            return
        write(_LEN.pack(len(data)) + data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._write = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server.pending.discard(self)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._write = None
        self.server.pending.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        owner, self.owner = self.owner, None
        if owner is not None:
            owner.tcp_lost(self)


def tcp_priority(component: int = 1) -> int:
    """RFC 6544 section 4.2: a passive host candidate (direction-pref 4)."""
    local_pref = (1 << 13) * 4 + 8191
    return (126 << 24) + (local_pref << 8) + (256 - component)


class TcpIceServer:
    """The listening socket(s) on ``port`` (0: any free port, for tests), shared by every
    session; sessions ``register`` their local ufrag."""

    def __init__(self, port: int, host: str = "0.0.0.0", *, max_pending: int = 128,
                 pending_timeout: float = 5.0, write_limit: int = 32768,
                 send_buffer: int = 32768, max_frame: int = MAX_FRAME):
        self.host = host
        self.port = port
        self.max_pending = max_pending
        self.pending_timeout = pending_timeout
        self.write_limit = write_limit
        self.send_buffer = send_buffer
        self.max_frame = max_frame
        self.owners: dict[str, TcpOwner] = {}
        self.pending: set[TcpLink] = set()
        self.refused = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: TcpLink(self), self.host, self.port,
                                                reuse_address=True, backlog=256)
        self.port = self._server.sockets[0].getsockname()[1]

    def register(self, ufrag: str, owner: TcpOwner) -> None:
        self.owners[ufrag] = owner

    def unregister(self, ufrag: str, owner: TcpOwner) -> None:
        if self.owners.get(ufrag) is owner:
            del self.owners[ufrag]

    def candidate_hosts(self, addresses: list[str], public_ip: str | None) -> list[str]:
        """The addresses to advertise: the public one alone when configured (one reachable
        candidate, whatever interfaces the host has), else each local address."""
        if public_ip:
            return [public_ip]
        if self.host not in ("0.0.0.0", "::", ""):
            return [self.host]
        return [a for a in addresses if a != "0.0.0.0"] or ["127.0.0.1"]

    def foundation(self, host: str) -> str:
        return candidate_foundation("host", "tcp", host)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for link in list(self.pending):
                link.close()
            self._server = None  # bound connections are closed by their sessions
