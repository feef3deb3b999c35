"""The SFU's ICE agent: aioice gathering host UDP candidates the SFU's way (a port range, a
public address for a 1:1 NAT), and ICE generations (``Generation``): one set of credentials
with its UDP candidates and the shared ICE-TCP port's (``ice_tcp.py``), and the path the peer
nominates first. ``transport.PeerTransport`` owns the current generation and makes a new one
on an ICE restart.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aioice
from aioice.candidate import candidate_foundation, candidate_priority

from . import sdp, stun
from .errors import CapacityExceeded, Unavailable
from .ice_tcp import TcpIceServer, TcpLink, tcp_priority

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
        """With a public address, one socket (its candidate is the one reachable address:
        relabelling every interface would advertise dead candidates); else one per address."""
        found = list(self.addresses) if self.addresses else _host_addresses()
        if self.public_ip:
            return found[:1]
        return found


def _host_addresses() -> list[str]:
    found = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    return found or ["127.0.0.1"]


def resolve_options(options: IceOptions) -> IceOptions:
    """The options with the local addresses looked up once (not on every session)."""
    if options.addresses:
        return options
    if options.public_ip:  # behind a 1:1 NAT: the wildcard, reached through the public address
        return dataclasses.replace(options, addresses=("0.0.0.0",))
    return dataclasses.replace(options, addresses=tuple(_host_addresses()))


class _Connection(aioice.Connection):
    """aioice's ICE agent, gathering host candidates the SFU's way."""

    def __init__(self, options: IceOptions, **kwargs):
        super().__init__(use_ipv6=False, **kwargs)
        self._options = options
        self.bind_errors: list[OSError] = []
        self.on_data: Callable[[bytes], None] = lambda data: None

    def data_received(self, data: bytes, component: int) -> None:
        self.on_data(data)  # DTLS (and SRTP before the SFU takes the pair over)

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
            if public and _version(public) == _version(host):
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


class Generation:
    """One ICE generation: credentials, candidates (aioice's UDP ones and the shared ICE-TCP
    port's) and the path the peer nominates first. An ICE restart makes a new one; the DTLS
    association and SRTP sessions stay with the ``PeerTransport``."""

    MAX_LINKS = 4  # TCP connections one generation accepts (a browser opens one per pair)

    def __init__(self, tp: Any, controlling: bool, tcp: TcpIceServer | None):
        self.tp = tp
        self.conn = _Connection(tp.options, ice_controlling=controlling)
        self.conn.on_data = tp.shim.put
        self.tcp = tcp
        self.tcp_creds: stun.Credentials | None = None
        self.links: list[TcpLink] = []
        self.selected: asyncio.Future = asyncio.get_running_loop().create_future()
        self.remote: sdp.TransportParams | None = None
        self._username_in = b""
        self.closed = False
        # an ICE restart's generation: the browser, just moved to a new network, may offer no
        # candidate (or only dead ones) and reach us from an address it learns later, so its
        # end-of-candidates does not end the checks (the transport's timeout still does)
        self.restart = False

    async def gather(self) -> None:
        await self.conn.gather_candidates()
        if not self.conn.local_candidates:
            if self.conn.bind_errors:  # the port range is used up, or the sockets
                raise CapacityExceeded(f"no UDP socket: {self.conn.bind_errors[-1]}")
            raise Unavailable("no local address to gather ICE candidates on")
        if self.tcp is not None:
            self.tcp_creds = stun.Credentials(self.conn.local_password)
            self.tcp.register(self.conn.local_username, self)

    def candidates(self) -> list[sdp.Candidate]:
        out = [_from_aioice(c) for c in self.conn.local_candidates]
        tcp = self.tcp
        if tcp is not None:
            opts = self.tp.options
            for host in tcp.candidate_hosts(opts.bind_addresses(), opts.public_ip):
                out.append(sdp.Candidate(
                    foundation=tcp.foundation(host), component=1, transport="tcp",
                    priority=tcp_priority(), host=host, port=tcp.port, type="host",
                    tcptype="passive"))
        return out

    async def connect_udp(self, remote: sdp.TransportParams) -> None:
        conn = self.conn
        try:
            for c in remote.candidates:
                if c.transport.lower() == "udp":
                    await conn.add_remote_candidate(_to_aioice(c))
            if remote.end_of_candidates and not self.restart:
                await conn.add_remote_candidate(None)
            await conn.connect()
            pair = conn._nominated.get(1)
            if pair is None:
                raise ConnectionError("no nominated pair")
            if not self.selected.done():
                self.selected.set_result(("udp", pair))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # with ICE-TCP on, the browser may still come over TCP
            if self.tcp is None and not self.selected.done():
                self.selected.set_exception(ConnectionError(f"ICE failed: {e!r}"))

    def set_remote(self, remote: sdp.TransportParams) -> None:
        conn = self.conn
        conn.remote_username = remote.ice_ufrag
        conn.remote_password = remote.ice_pwd
        conn.remote_is_lite = remote.ice_lite
        self._username_in = f"{conn.local_username}:{remote.ice_ufrag}".encode()
        self.remote = remote

    # ICE-TCP (ice_tcp.TcpOwner) ---------------------------------------------------------

    def tcp_attach(self, link: TcpLink) -> bool:
        if self.remote is None or self.closed or len(self.links) >= self.MAX_LINKS:
            return False
        self.links.append(link)
        return True

    def tcp_frame(self, link: TcpLink, data: bytes) -> None:
        if not data:
            return
        b = data[0]
        if b < 2:
            self._tcp_stun(link, data)
        elif self.tp._link is link:
            if 127 < b < 192:
                self.tp._srtp_in(data)
            elif 19 < b < 64:
                self.tp.shim.put(data)

    def _tcp_stun(self, link: TcpLink, data: bytes) -> None:
        parsed = stun.parse(data)
        creds = self.tcp_creds
        if parsed is None or creds is None:
            return
        mtype, txid, attrs, mi_at = parsed
        if mtype == stun.BINDING_REQUEST:
            if attrs.get(stun.USERNAME) != self._username_in or \
                    not stun.integrity_ok(data, mi_at, attrs, creds):
                return
            link.send(stun.binding_response(txid, link.peer, creds))
            if stun.USE_CANDIDATE in attrs and not self.selected.done():
                self.selected.set_result(("tcp", link))
        elif mtype == stun.BINDING_SUCCESS and self.tp._link is link:
            self.tp._consent_response(txid, data, mi_at, attrs)

    def tcp_lost(self, link: TcpLink) -> None:
        # a selected connection that is lost carries nothing more: consent expiry closes
        # the session unless the client restarts ICE first
        if link in self.links:
            self.links.remove(link)

    async def close(self) -> None:
        self.closed = True
        if self.tcp is not None:
            self.tcp.unregister(self.conn.local_username, self)
        for link in list(self.links):
            link.close()
        self.links.clear()
        if not self.selected.done():
            self.selected.cancel()
        try:
            await self.conn.close()
        except Exception:
            pass



def _version(address: str) -> int:
    return 6 if ":" in address else 4
