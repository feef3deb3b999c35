"""One WebRTC transport (ICE + DTLS-SRTP) for the SFU, built from aioice and aiortc's DTLS
transport, without aiortc's RTCPeerConnection, RTP senders, receivers, jitter buffers or codecs.

* ICE: host candidates only, no STUN round trips (optionally bound in a UDP port range and
  advertised with a configured public IP, as for a 1:1 NAT), so gathering takes a socket bind
  (``ice.py``); with the SFU's ICE-TCP port (``ice_tcp.py``), a passive TCP candidate too, and
  whichever path the peer nominates first (a UDP pair or a TCP connection) is used.
* ICE restart: ``prepare_restart``/``restart`` gather a new generation (new credentials) and
  move to its nominated path, keeping DTLS and SRTP (``_IceShim`` feeds DTLS from any path).
* DTLS: aiortc's ``RTCDtlsTransport`` does the handshake and the SRTP key export; a subclass
  receives decrypted RTP and RTCP straight from it, bypassing its RTP router.
* Once connected, the selected pair's socket callback handles SRTP and consent freshness
  itself: SRTP/SRTCP is decrypted and handed to the SFU in the datagram callback (no queue,
  no task switch), and RFC 7675 consent checks are answered and sent with a small STUN codec
  (``stun.py``) from the SFU's timer instead of an asyncio task per connection.
* Sending: ``send()`` protects a packet with the SRTP session and hands it to the selected
  pair's socket at once: no coroutine, no queue, no task switch per packet. For the SFU's
  forwarding loop, ``fast`` exposes the raw pieces: libsrtp's session and its buffer (packets
  are built in place and protected there, without Python-level copies) and the socket's
  ``send`` (the socket is connected to the selected remote address once ICE is done).
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable

import pylibsrtp
from aioice.candidate import candidate_priority
from aiortc.rtcdtlstransport import (
    RTCCertificate,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
)
from pylibsrtp import _binding as _srtp

from . import sdp, stun
from .errors import CapacityExceeded, MediaError
from .ice import Generation, IceOptions, _Connection, resolve_options
from .ice_tcp import TcpIceServer, TcpLink

__all__ = ["Certificate", "IceOptions", "PeerTransport", "resolve_options"]

log = logging.getLogger(__name__)


class Certificate(RTCCertificate):
    """One DTLS identity for the whole SFU: its fingerprints and OpenSSL context are computed
    once and shared by every connection (OpenSSL contexts are made to be shared)."""

    def __init__(self, key, cert) -> None:
        super().__init__(key, cert)
        self._fingerprints = super().getFingerprints()
        self._contexts: dict = {}

    def getFingerprints(self):
        return list(self._fingerprints)

    def _create_ssl_context(self, srtp_profiles):
        key = tuple(p.openssl_profile for p in srtp_profiles)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = self._contexts[key] = super()._create_ssl_context(srtp_profiles)
        return ctx


class _IceShim:
    """What RTCDtlsTransport needs from an ICE transport: ``_recv`` gives the datagrams (or
    RFC 4571 frames) that are neither STUN nor handled SRTP, from whichever path (a UDP pair,
    a TCP connection) is selected now, so an ICE restart can move the DTLS association to
    another path without a new handshake; ``_send`` sends on the selected path."""

    def __init__(self, controlling: bool, send: Callable[[bytes], None]):
        self._controlling = controlling
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=256)
        self._send_now = send
        self.closed = False

    def put(self, data: bytes | None) -> None:
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:  # nobody reads (before DTLS starts, or a flood): drop
            pass

    async def _recv(self) -> bytes:
        if self.closed:
            raise ConnectionError("closed")
        data = await self._queue.get()
        if data is None:
            self.closed = True
            raise ConnectionError("closed")
        return data

    async def _send(self, data: bytes) -> None:
        self._send_now(data)

    @property
    def role(self) -> str:
        return "controlling" if self._controlling else "controlled"

    @property
    def state(self) -> str:
        return "completed"


class _DtlsTransport(RTCDtlsTransport):
    """aiortc's DTLS-SRTP transport, handing decrypted packets to the SFU directly."""

    def __init__(self, ice: _IceShim, certificate: RTCCertificate,
                 on_rtp: Callable[[bytes], None], on_rtcp: Callable[[bytes], None]):
        # the shim is what RTCDtlsTransport uses of an RTCIceTransport (duck-typed)
        super().__init__(ice, [certificate])  # type: ignore[arg-type]
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        try:
            self._on_rtp(data)
        except Exception:
            log.exception("RTP handler failed")

    async def _handle_rtcp_data(self, data: bytes) -> None:
        try:
            self._on_rtcp(data)
        except Exception:
            log.exception("RTCP handler failed")


class PeerTransport:
    """ICE + DTLS-SRTP to one peer. ``on_rtp``/``on_rtcp`` get decrypted packets;
    ``on_state`` is called with "connected" (again after an ICE restart moved it to a new
    path), then "closed" (or "failed"). With ``tcp`` (the SFU's ICE-TCP port), the peer may
    connect over UDP or TCP: the first path it nominates carries DTLS and SRTP."""

    def __init__(self, certificate: RTCCertificate, options: IceOptions, controlling: bool,
                 on_rtp: Callable[[bytes], None], on_rtcp: Callable[[bytes], None],
                 on_state: Callable[[str], None] = lambda s: None,
                 tcp: TcpIceServer | None = None):
        self.options = options
        self.certificate = certificate
        self.controlling = controlling
        self.tcp = tcp
        self.shim = _IceShim(controlling, self._send_raw)
        self.gen = Generation(self, controlling, tcp)
        self._next: Generation | None = None  # an ICE restart in progress
        self.dtls = _DtlsTransport(self.shim, certificate, on_rtp, on_rtcp)
        self.dtls.on("statechange", self._dtls_state)
        self._on_state = on_state
        self._rx: pylibsrtp.Session | None = None
        self.state = "new"
        self.path: str | None = None  # "udp" or "tcp", once selected
        self._task: asyncio.Task | None = None
        self._restart_task: asyncio.Task | None = None
        # the selected path
        self.protect: Callable[[bytes], bytes] | None = None
        self.protect_rtcp: Callable[[bytes], bytes] | None = None
        self.addr: tuple | None = None
        self._send_now: Callable[[bytes], None] | None = None
        self._fast_send: Callable | None = None
        self._link: TcpLink | None = None
        self._aioice_received: Callable | None = None
        # (srtp_t, char[] buffer, ffi buffer, int* length, memoryview, send(bytes-like), session)
        self.fast: tuple | None = None
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        # consent freshness (RFC 7675), once connected
        self.consent_ok = 0.0
        self._next_consent = 0.0
        self._pending: dict[bytes, float] = {}

    @property
    def connection(self) -> _Connection:
        """The current generation's aioice agent."""
        return self.gen.conn

    async def gather(self) -> None:
        await self.gen.gather()

    def local(self, setup: str, session_id: int = 1, session_version: int = 1,
              gen: Generation | None = None) -> sdp.LocalTransport:
        g = gen or self.gen
        fps = [(f.algorithm, f.value) for f in self.certificate.getFingerprints()
               if f.algorithm == "sha-256"]
        return sdp.LocalTransport(
            ice_ufrag=g.conn.local_username, ice_pwd=g.conn.local_password,
            fingerprints=fps, candidates=g.candidates(), setup=setup, session_id=session_id,
            session_version=session_version)

    def start(self, remote: sdp.TransportParams, dtls_role: str) -> asyncio.Task:
        self._task = asyncio.ensure_future(self._connect(remote, dtls_role))
        return self._task

    async def _select(self, gen: Generation, remote: sdp.TransportParams) -> tuple:
        gen.set_remote(remote)
        udp = asyncio.ensure_future(gen.connect_udp(remote))
        try:
            return await asyncio.wait_for(asyncio.shield(gen.selected),
                                          self.options.connect_timeout)
        finally:
            if not udp.done():
                udp.cancel()
                try:
                    await udp
                except (asyncio.CancelledError, Exception):
                    pass

    async def _connect(self, remote: sdp.TransportParams, dtls_role: str) -> None:
        self.state = "connecting"
        try:
            self._use(self.gen, *await self._select(self.gen, remote))
            self.dtls._set_role(dtls_role)
            await asyncio.wait_for(self.dtls.start(RTCDtlsParameters(
                fingerprints=[RTCDtlsFingerprint(a, v) for a, v in remote.fingerprints])),
                self.options.connect_timeout)
            if self.dtls.state != "connected":
                raise ConnectionError(f"DTLS {self.dtls.state}")
        except (TimeoutError, ConnectionError, OSError) as e:
            log.info("transport failed: %r", e)
            await self._fail()
            return
        except asyncio.CancelledError:
            await self._fail()
            raise
        self._arm()
        self.state = "connected"
        self._on_state("connected")

    # ICE restart -------------------------------------------------------------------------

    async def prepare_restart(self) -> Generation:
        """New ICE credentials and candidates (answer with ``local(..., gen=...)``), then
        ``restart(gen, remote)``. DTLS and SRTP are kept."""
        if self.state != "connected":
            raise ConnectionError("only a connected transport restarts ICE")
        gen = Generation(self, self.controlling, self.tcp)
        gen.restart = True
        try:
            await gen.gather()
        except BaseException:
            await gen.close()
            raise
        return gen

    def restart(self, gen: Generation, remote: sdp.TransportParams) -> None:
        if self._restart_task is not None and not self._restart_task.done():
            self._restart_task.cancel()
        self._restart_task = asyncio.ensure_future(self._reconnect(gen, remote))

    async def _reconnect(self, gen: Generation, remote: sdp.TransportParams) -> None:
        old_next, self._next = self._next, gen
        if old_next is not None and old_next is not gen:
            await old_next.close()
        try:
            kind, obj = await self._select(gen, remote)
        except (TimeoutError, ConnectionError, OSError, asyncio.CancelledError) as e:
            log.info("ICE restart failed: %r", e)
            if self._next is gen:
                self._next = None
            await gen.close()
            return
        if self._next is gen:
            self._next = None
        if self.state != "connected":
            await gen.close()
            return
        old, self.gen = self.gen, gen
        self._use(gen, kind, obj)
        self._arm()
        await old.close()
        self._on_state("connected")  # the SFU rebuilds its forwarding entries (new send)

    # the selected path ---------------------------------------------------------------------

    def _use(self, gen: Generation, kind: str, obj) -> None:
        conn = gen.conn
        self._local_creds = stun.Credentials(conn.local_password)
        self._remote_creds = stun.Credentials(conn.remote_password or "")
        self._username_in = f"{conn.local_username}:{conn.remote_username}".encode()
        self._username_out = f"{conn.remote_username}:{conn.local_username}"
        self._tie_breaker = conn._tie_breaker
        self._priority = candidate_priority(1, "prflx")
        self._pending.clear()
        self.consent_ok = time.monotonic()
        self._next_consent = self.consent_ok + \
            self.options.consent_interval * (0.8 + 0.4 * random.random())
        task = conn._query_consent_task
        if task is not None:  # we check consent ourselves, from keepalive()
            task.cancel()
            conn._query_consent_task = None
        self.path = kind
        if kind == "tcp":
            link: TcpLink = obj
            self._link = link
            self.addr = link.peer
            self._send_now = self._fast_send = link.send
            return
        pair = obj
        self._link = None
        transport = pair.protocol.transport
        addr = self.addr = pair.remote_addr
        raw = getattr(transport, "_sock", None)
        sendto = raw.sendto if raw is not None else transport.sendto

        def send_now(data, sendto=sendto, addr=addr, transport=transport):
            try:
                sendto(data, addr)
            except BlockingIOError:
                transport.sendto(bytes(data), addr)
            except OSError:
                pass

        self._send_now = send_now
        fast_send = None
        if raw is not None:
            try:
                raw.connect(addr)
                fast_send = raw.send
            except OSError:
                pass
        if fast_send is None:
            def fast_send(data, sendto=sendto, addr=addr):
                return sendto(data, addr)
        self._fast_send = fast_send
        proto = pair.protocol
        if proto.datagram_received != self._datagram:
            self._aioice_received = proto.datagram_received
            proto.datagram_received = self._datagram

    def _arm(self) -> None:
        """After DTLS (and after each ICE restart): the SRTP sessions on the selected path."""
        session = self.dtls._tx_srtp
        self._rx = self.dtls._rx_srtp
        self.protect = session.protect
        self.protect_rtcp = session.protect_rtcp
        try:
            cdata, buf, srtp = session._cdata, session._buffer, session._srtp[0]
        except AttributeError:  # a pylibsrtp without these internals: the slow path only
            self.fast = None
            return
        self.fast = (srtp, cdata, buf, _srtp.ffi.new("int *"), memoryview(buf),
                     self._fast_send, session)

    def _srtp_in(self, data: bytes) -> None:
        rx = self._rx
        if rx is None:
            self.shim.put(data)  # before DTLS is done: aiortc's transport handles it
            return
        try:
            if 192 <= data[1] <= 223:
                self._on_rtcp(rx.unprotect_rtcp(data))
            else:
                self._on_rtp(rx.unprotect(data))
        except pylibsrtp.Error:
            pass
        except Exception:
            log.exception("packet handler failed")

    def _datagram(self, data: bytes, addr: tuple) -> None:
        if data and 127 < data[0] < 192:
            if len(data) > 1:
                self._srtp_in(data)
            return
        if data and data[0] < 2 and self.path == "udp" and self.addr is not None and \
                addr[:2] == self.addr[:2] and self._stun(data, addr):
            return
        if self._aioice_received is not None:
            self._aioice_received(data, addr)

    def _stun(self, data: bytes, addr: tuple) -> bool:
        parsed = stun.parse(data)
        if parsed is None:
            return False
        mtype, txid, attrs, mi_at = parsed
        if mtype == stun.BINDING_REQUEST:
            if attrs.get(stun.USERNAME) != self._username_in or \
                    not stun.integrity_ok(data, mi_at, attrs, self._local_creds):
                return False  # aioice answers (or refuses) it
            self._send_raw(stun.binding_response(txid, addr[:2], self._local_creds))
            return True
        if mtype == stun.BINDING_SUCCESS and txid in self._pending:
            self._consent_response(txid, data, mi_at, attrs)
            return True
        return False

    def _consent_response(self, txid: bytes, data: bytes, mi_at, attrs) -> None:
        if self._pending.pop(txid, None) is not None and \
                stun.integrity_ok(data, mi_at, attrs, self._remote_creds):
            self.consent_ok = time.monotonic()

    def _send_raw(self, data: bytes) -> None:
        send = self._send_now
        if send is not None:
            send(data)

    def keepalive(self, now: float) -> None:
        """Consent freshness: a check every ~5 s; no answer for 30 s closes the transport.
        Call it often (the SFU's timer does, every 200 ms); ``now`` is time.monotonic()."""
        if self.state != "connected":
            return
        if now - self.consent_ok > self.options.consent_timeout:
            log.info("consent to send expired")
            self.state = "closing"
            asyncio.ensure_future(self._expire())
            return
        if now < self._next_consent:
            return
        self._next_consent = now + self.options.consent_interval * (0.8 + 0.4 * random.random())
        for txid, sent in list(self._pending.items()):
            if now - sent > self.options.consent_timeout:
                del self._pending[txid]
        txid = os.urandom(12)
        self._pending[txid] = now
        self._send_raw(stun.binding_request(txid, self._username_out, self._priority,
                                            self.controlling, self._tie_breaker,
                                            self._remote_creds))

    async def _expire(self) -> None:
        self.state = "closed"
        self.protect = None
        self.fast = None
        self._on_state("closed")
        await self._shutdown()

    async def _fail(self) -> None:
        if self.state in ("closed", "failed"):
            return
        self.state = "failed"
        self.protect = None
        self._on_state("failed")
        await self._shutdown()

    def _dtls_state(self) -> None:
        if self.dtls.state in ("closed", "failed") and self.state == "connected":
            self.state = "closed"
            self.protect = None
            self.fast = None
            self._on_state("closed")
            asyncio.ensure_future(self._shutdown())

    def send(self, packet: bytes) -> None:
        """Protect and send one RTP packet now (drops it if not connected)."""
        self._send(self.protect, packet)

    def send_rtcp(self, packet: bytes) -> None:
        self._send(self.protect_rtcp, packet)

    def _send(self, protect: Callable[[bytes], bytes] | None, packet: bytes) -> None:
        send = self._send_now
        if protect is None or send is None:
            return  # not connected
        send(protect(packet))

    async def close(self) -> None:
        if self.state in ("new", "connecting", "connected"):
            prev = self.state
            self.state = "closed"
            self.protect = None
            self.fast = None
            if prev == "connected":
                self._on_state("closed")
        for task in (self._task, self._restart_task):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        await self._shutdown()

    async def _shutdown(self) -> None:
        try:
            await self.dtls.stop()
        except Exception:
            pass
        self._send_now = None
        self.shim.put(None)
        for gen in (self._next, self.gen):
            if gen is not None:
                await gen.close()


async def gather_or_release(tp: PeerTransport) -> None:
    """ICE candidates for a new connection, closing it if there are none: ``CapacityExceeded``
    when there is no socket for it, ``Unavailable`` when there is no address to bind."""
    try:
        await tp.gather()
    except MediaError:
        await tp.close()
        raise
    except OSError as e:  # out of sockets
        await tp.close()
        raise CapacityExceeded(f"no UDP socket: {e}") from e
    except BaseException:
        await tp.close()
        raise
