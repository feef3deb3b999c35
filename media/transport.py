"""One WebRTC transport (ICE + DTLS-SRTP) for the SFU, built from aioice and aiortc's DTLS
transport, without aiortc's RTCPeerConnection, RTP senders, receivers, jitter buffers or codecs.

* ICE: host candidates only, no STUN round trips (optionally bound in a UDP port range and
  advertised with a configured public IP, as for a 1:1 NAT), so gathering takes a socket bind.
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
import dataclasses
import ipaddress
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import aioice
import pylibsrtp
from aioice.candidate import candidate_foundation, candidate_priority
from aiortc.rtcdtlstransport import (
    RTCCertificate,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
)
from pylibsrtp import _binding as _srtp

from . import sdp, stun
from .errors import CapacityExceeded, Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IceOptions:
    addresses: tuple[str, ...] | None = None  # local addresses to bind; None: every IPv4 one
    port_range: tuple[int, int] | None = None  # bind within [low, high]
    public_ip: str | None = None  # advertise this address for the bound ones (1:1 NAT)
    connect_timeout: float = 20.0
    consent_interval: float = 5.0  # RFC 7675
    consent_timeout: float = 30.0

    def bind_addresses(self) -> list[str]:
        if self.addresses:
            return list(self.addresses)
        return _host_addresses()


def _host_addresses() -> list[str]:
    found = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    return found or ["127.0.0.1"]


def resolve_options(options: IceOptions) -> IceOptions:
    """The options with the local addresses looked up once (not on every session)."""
    if options.addresses:
        return options
    return dataclasses.replace(options, addresses=tuple(_host_addresses()))


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


class _Connection(aioice.Connection):
    """aioice's ICE agent, gathering host candidates the SFU's way."""

    def __init__(self, options: IceOptions, **kwargs):
        super().__init__(use_ipv6=False, **kwargs)
        self._options = options
        self.bind_errors: list[OSError] = []

    async def get_component_candidates(self, component: int, addresses: list[str],
                                       timeout: int = 5) -> list[aioice.Candidate]:
        loop = asyncio.get_running_loop()
        candidates = []
        for address in self._options.bind_addresses():
            try:
                transport, protocol = await _bind(loop, lambda: aioice.ice.StunProtocol(self),
                                                  address, self._options.port_range)
            except OSError as e:
                log.warning("ICE: cannot bind %s: %s", address, e)
                self.bind_errors.append(e)
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                except OSError:
                    pass
            host, port = transport.get_extra_info("sockname")[:2]
            public = self._options.public_ip
            if public and ipaddress.ip_address(public).version == \
                    ipaddress.ip_address(host).version:
                host = public
            protocol.local_candidate = aioice.Candidate(
                foundation=candidate_foundation("host", "udp", host), component=component,
                transport="udp", priority=candidate_priority(component, "host"),
                host=host, port=port, type="host")
            self._protocols.append(protocol)
            candidates.append(protocol.local_candidate)
        return candidates


async def _bind(loop, factory, address: str, port_range: tuple[int, int] | None):
    if port_range is None:
        return await loop.create_datagram_endpoint(factory, local_addr=(address, 0))
    low, high = port_range
    span = high - low + 1
    start = random.randrange(span)
    last_error: OSError | None = None
    for i in range(span):
        port = low + (start + i) % span
        try:
            return await loop.create_datagram_endpoint(factory, local_addr=(address, port))
        except OSError as e:
            last_error = e
    raise last_error or OSError("no free UDP port in range")


class _IceShim:
    """What RTCDtlsTransport needs from an ICE transport."""

    def __init__(self, connection: aioice.Connection):
        self._connection = connection
        self._recv = connection.recv
        self._send = connection.send

    @property
    def role(self) -> str:
        return "controlling" if self._connection.ice_controlling else "controlled"

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


def _to_aioice(c: sdp.Candidate) -> aioice.Candidate:
    return aioice.Candidate(foundation=c.foundation, component=c.component,
                            transport=c.transport, priority=c.priority, host=c.host,
                            port=c.port, type=c.type, related_address=c.related_address,
                            related_port=c.related_port, tcptype=c.tcptype)


def _from_aioice(c: aioice.Candidate) -> sdp.Candidate:
    return sdp.Candidate(foundation=c.foundation, component=c.component, transport=c.transport,
                         priority=c.priority, host=c.host, port=c.port, type=c.type,
                         related_address=c.related_address, related_port=c.related_port,
                         tcptype=c.tcptype)


class PeerTransport:
    """ICE + DTLS-SRTP to one peer. ``on_rtp``/``on_rtcp`` get decrypted packets;
    ``on_state`` is called with "connected", then "closed" (or "failed")."""

    def __init__(self, certificate: RTCCertificate, options: IceOptions, controlling: bool,
                 on_rtp: Callable[[bytes], None], on_rtcp: Callable[[bytes], None],
                 on_state: Callable[[str], None] = lambda s: None):
        self.options = options
        self.certificate = certificate
        self.connection = _Connection(options, ice_controlling=controlling)
        self.dtls = _DtlsTransport(_IceShim(self.connection), certificate, on_rtp, on_rtcp)
        self.dtls.on("statechange", self._dtls_state)
        self._on_state = on_state
        self._rx: pylibsrtp.Session | None = None
        self.state = "new"
        self._task: asyncio.Task | None = None
        # fast path, set once connected
        self.protect: Callable[[bytes], bytes] | None = None
        self.protect_rtcp: Callable[[bytes], bytes] | None = None
        self.sock_sendto: Callable | None = None
        self.addr: tuple | None = None
        self._transport: asyncio.DatagramTransport | None = None
        # (srtp_t, char[] buffer, ffi buffer, int* length, memoryview, send(bytes-like), session)
        self.fast: tuple | None = None
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        # consent freshness (RFC 7675), once connected
        self.consent_ok = 0.0
        self._next_consent = 0.0
        self._pending: dict[bytes, float] = {}

    async def gather(self) -> None:
        await self.connection.gather_candidates()
        if not self.connection.local_candidates:
            if self.connection.bind_errors:  # the port range is used up, or the sockets
                raise CapacityExceeded(f"no UDP socket: {self.connection.bind_errors[-1]}")
            raise Unavailable("no local address to gather ICE candidates on")

    def local(self, setup: str, session_id: int = 1) -> sdp.LocalTransport:
        fps = [(f.algorithm, f.value) for f in self.certificate.getFingerprints()
               if f.algorithm == "sha-256"]
        return sdp.LocalTransport(
            ice_ufrag=self.connection.local_username, ice_pwd=self.connection.local_password,
            fingerprints=fps,
            candidates=[_from_aioice(c) for c in self.connection.local_candidates],
            setup=setup, session_id=session_id)

    def start(self, remote: sdp.TransportParams, dtls_role: str) -> asyncio.Task:
        self._task = asyncio.ensure_future(self._connect(remote, dtls_role))
        return self._task

    async def _connect(self, remote: sdp.TransportParams, dtls_role: str) -> None:
        self.state = "connecting"
        conn = self.connection
        conn.remote_username = remote.ice_ufrag
        conn.remote_password = remote.ice_pwd
        conn.remote_is_lite = remote.ice_lite
        try:
            for c in remote.candidates:
                await conn.add_remote_candidate(_to_aioice(c))
            if remote.end_of_candidates:
                await conn.add_remote_candidate(None)
            await asyncio.wait_for(conn.connect(), self.options.connect_timeout)
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
        pair = conn._nominated.get(1)
        if pair is None:
            await self._fail()
            return
        self._transport = pair.protocol.transport
        self.addr = pair.remote_addr
        raw = getattr(self._transport, "_sock", None)
        self.sock_sendto = raw.sendto if raw is not None else self._transport.sendto
        session = self.dtls._tx_srtp
        self.protect = session.protect
        self.protect_rtcp = session.protect_rtcp
        self.fast = self._fast_path(session, raw)
        self._take_over(pair)
        self.state = "connected"
        self._on_state("connected")

    def _fast_path(self, session, raw) -> tuple | None:
        try:
            cdata, buf, srtp = session._cdata, session._buffer, session._srtp[0]
        except AttributeError:  # a pylibsrtp without these internals: the slow path only
            return None
        send = None
        if raw is not None:
            try:
                raw.connect(self.addr)
                send = raw.send
            except OSError:
                pass
        if send is None:
            sendto, addr = self.sock_sendto, self.addr

            def send(data, sendto=sendto, addr=addr):
                return sendto(data, addr)
        return (srtp, cdata, buf, _srtp.ffi.new("int *"), memoryview(buf), send, session)

    # after ICE: the selected pair's datagrams --------------------------------------------

    def _take_over(self, pair) -> None:
        conn = self.connection
        task = conn._query_consent_task
        if task is not None:  # we check consent ourselves, from keepalive()
            task.cancel()
            conn._query_consent_task = None
        self._rx = self.dtls._rx_srtp
        self._local_creds = stun.Credentials(conn.local_password)
        self._remote_creds = stun.Credentials(conn.remote_password or "")
        self._username_in = f"{conn.local_username}:{conn.remote_username}".encode()
        self._username_out = f"{conn.remote_username}:{conn.local_username}"
        self._tie_breaker = conn._tie_breaker
        self._controlling = conn.ice_controlling
        self._priority = candidate_priority(1, "prflx")
        self.consent_ok = time.monotonic()
        self._next_consent = self.consent_ok + \
            self.options.consent_interval * (0.8 + 0.4 * random.random())
        proto = pair.protocol
        self._aioice_received = proto.datagram_received
        proto.datagram_received = self._datagram

    def _datagram(self, data: bytes, addr: tuple) -> None:
        if data and 127 < data[0] < 192:
            rx = self._rx
            if rx is None:
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
            return
        if data and data[0] < 2 and self.addr is not None and addr[:2] == self.addr[:2] \
                and self._stun(data, addr):
            return
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
            del self._pending[txid]
            if stun.integrity_ok(data, mi_at, attrs, self._remote_creds):
                self.consent_ok = time.monotonic()
            return True
        return False

    def _send_raw(self, data: bytes) -> None:
        sendto = self.sock_sendto
        if sendto is None:
            return
        try:
            sendto(data, self.addr)
        except OSError:
            pass

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
                                            self._controlling, self._tie_breaker,
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
        sendto = self.sock_sendto
        if protect is None or sendto is None:
            return  # not connected
        data = protect(packet)
        try:
            sendto(data, self.addr)
        except BlockingIOError:
            if self._transport is not None:
                self._transport.sendto(data, self.addr)
        except OSError:
            pass

    async def close(self) -> None:
        if self.state in ("new", "connecting", "connected"):
            prev = self.state
            self.state = "closed"
            self.protect = None
            self.fast = None
            if prev == "connected":
                self._on_state("closed")
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self._shutdown()

    async def _shutdown(self) -> None:
        try:
            await self.dtls.stop()
        except Exception:
            pass
        try:
            await self.connection.close()
        except Exception:
            pass
