"""bench/fanout.py's ICE-TCP listeners: cheap socket-level clients of the SFU's passive TCP
candidate (``media.tcp_port``), the TCP counterpart of the aiortc listeners in
``fanout_clients.py``.

Each listener writes its own offer (K recvonly Opus sections, BUNDLE, its ICE credentials, one
shared DTLS certificate per process, no candidates), connects to the answer's TCP candidate,
sends an RFC 4571-framed Binding request with USE-CANDIDATE (as a controlling browser does),
answers the SFU's consent checks, runs DTLS as the server (aiortc's ``RTCDtlsTransport`` over
a two-method shim, as the SFU itself does), and then counts SRTP frames as they arrive,
without decrypting them (``fanout_clients.Counter``).
"""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
import struct
import time
from typing import Any

from media import stun
from media.ice_tcp import FrameDecoder, frame

_CERT = None


def _certificate():
    global _CERT
    if _CERT is None:
        from aiortc.rtcdtlstransport import RTCCertificate
        _CERT = RTCCertificate.generateCertificate()
    return _CERT


def offer_sdp(streams: int, ufrag: str, pwd: str, fingerprint: str) -> str:
    mids = " ".join(str(i) for i in range(streams))
    lines = ["v=0", f"o=- {secrets.randbits(62)} 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
             f"a=group:BUNDLE {mids}", "a=msid-semantic:WMS *"]
    for i in range(streams):
        lines += ["m=audio 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0",
                  "a=rtcp:9 IN IP4 0.0.0.0", f"a=mid:{i}",
                  "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
                  "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                  "a=recvonly", "a=rtcp-mux", "a=rtpmap:96 opus/48000/2",
                  f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}",
                  f"a=fingerprint:sha-256 {fingerprint}", "a=setup:actpass"]
    return "\r\n".join(lines) + "\r\n"


def _answer_params(sdp: str) -> tuple[str, str, str, tuple[str, int]]:
    ufrag = pwd = fp = ""
    tcp: tuple[str, int] | None = None
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            ufrag = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            pwd = line.split(":", 1)[1]
        elif line.startswith("a=fingerprint:sha-256 "):
            fp = line.split(" ", 1)[1]
        elif line.startswith("a=candidate:") and " tcp " in line:
            bits = line.split()
            if tcp is None or bits[4] == "127.0.0.1":
                tcp = (bits[4], int(bits[5]))
    if tcp is None:
        raise RuntimeError("the answer has no TCP candidate (is media.tcp_port set?)")
    return ufrag, pwd, fp, tcp


class _Shim:
    """What RTCDtlsTransport uses of an ICE transport."""
    role = "controlled"
    state = "completed"

    def __init__(self, link: TcpClient):
        self.link = link

    async def _recv(self) -> bytes:
        data = await self.link.dtls_in.get()
        if data is None:
            raise ConnectionError("closed")
        return data

    async def _send(self, data: bytes) -> None:
        self.link.send(data)


class TcpClient(asyncio.Protocol):
    def __init__(self, counter, ufrag: str, pwd: str):
        self.counter = counter
        self.decoder = FrameDecoder()
        self.dtls_in: asyncio.Queue = asyncio.Queue()
        self.transport: asyncio.Transport | None = None
        self.creds = stun.Credentials(pwd)
        self.username_in = b""
        self.checked = asyncio.get_running_loop().create_future()
        self.dtls: Any = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for f in self.decoder.feed(data):
            b = f[0] if f else 0
            if 127 < b < 192:
                if len(f) > 12 and not 192 <= f[1] <= 223:
                    self.counter.packet(f, time.time())
            elif b < 2:
                self._stun(f)
            elif 19 < b < 64:
                self.dtls_in.put_nowait(f)

    def _stun(self, f: bytes) -> None:
        parsed = stun.parse(f)
        if parsed is None:
            return
        mtype, txid, attrs, _mi = parsed
        if mtype == stun.BINDING_REQUEST and attrs.get(stun.USERNAME) == self.username_in:
            peer = self.transport.get_extra_info("peername") if self.transport else None
            self.send(stun.binding_response(txid, (peer or ("127.0.0.1", 0))[:2], self.creds))
        elif mtype == stun.BINDING_SUCCESS and not self.checked.done():
            self.checked.set_result(True)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(data))

    def connection_lost(self, exc) -> None:
        self.dtls_in.put_nowait(None)

    async def close(self) -> None:
        if self.dtls is not None:
            try:
                await self.dtls.stop()
            except Exception:
                pass
        if self.transport is not None:
            self.transport.close()


def _check(txid: bytes, username: str, creds: stun.Credentials) -> bytes:
    """A controlling agent's Binding request with USE-CANDIDATE (nominating the pair)."""
    body = stun._attr(stun.USERNAME, username.encode()) + \
        stun._attr(stun.PRIORITY, struct.pack("!I", 1845501695)) + \
        stun._attr(stun.ICE_CONTROLLING, os.urandom(8)) + stun._attr(stun.USE_CANDIDATE, b"")
    return stun._finish(stun.BINDING_REQUEST, txid, body, creds)


async def join_tcp(signal, streams: int, counter, rcvbuf: int | None = None) -> TcpClient:
    """``signal(offer_sdp) -> answer_sdp``; returns the connected listener. ``rcvbuf``: a
    receive buffer (SO_RCVBUF, set before connecting, so the window it advertises is small)."""
    from aiortc.rtcdtlstransport import RTCDtlsFingerprint, RTCDtlsParameters, RTCDtlsTransport
    cert = _certificate()
    fp = next(f.value for f in cert.getFingerprints() if f.algorithm == "sha-256")
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    answer = await signal(offer_sdp(streams, ufrag, pwd, fp))
    r_ufrag, r_pwd, r_fp, addr = _answer_params(answer)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET)
    sock.setblocking(False)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    try:
        await loop.sock_connect(sock, addr)
    except BaseException:
        sock.close()
        raise
    _tr, client = await loop.create_connection(lambda: TcpClient(counter, ufrag, pwd), sock=sock)
    client.username_in = f"{ufrag}:{r_ufrag}".encode()
    client.send(_check(os.urandom(12), f"{r_ufrag}:{ufrag}", stun.Credentials(r_pwd)))
    await asyncio.wait_for(client.checked, 10)
    dtls = RTCDtlsTransport(_Shim(client), [cert])  # type: ignore[arg-type]
    dtls._set_role("server")
    client.dtls = dtls
    await asyncio.wait_for(dtls.start(RTCDtlsParameters(
        fingerprints=[RTCDtlsFingerprint("sha-256", r_fp)])), 10)
    return client
