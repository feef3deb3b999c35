"""The selective forwarding unit: audio rooms, participant sessions, slots and cascade relays.

Forwarding path (per incoming Opus RTP packet, already SRTP-decrypted by the DTLS transport):
gate (may this user be heard now?) -> level (RFC 6464) -> one pass over the source's
subscribers, each an outgoing stream (a listener's slot, or a relay's per-speaker stream):
rewrite SSRC/sequence/timestamp/payload type and the audio-level element with that
connection's IDs, SRTP-protect, ``sendto``. Nothing is decoded, nothing is queued, no task is
switched per packet.

Cascade: a room is hosted by the server in its room ID. A server with participants in a remote
room holds one *uplink* relay connection per room to the host's SFU; the host treats it as a
*relay peer*. Both directions carry many SSRCs on one Opus section:

* remote -> host: every allowed local speaker's stream; the host gates and ranks them with its
  own speakers (its slot layout is the room's single source of truth);
* host -> remote: the streams of the layout's speakers (top positions and the spare) that do not
  come from that remote; the remote serves its own speakers from its local copies.

Control rides on RTCP APP packets named ``ARSL``: MAP (subtype 1, ``{ssrc: user_id}`` for the
streams the sender sends), LAYOUT (subtype 2, host -> remote, ``{"top": [...], "spare": ...}``),
sent on change and every second (they double as keepalives: a relay silent for
``relay_timeout`` seconds is torn down, and the remote re-establishes it).
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import secrets
import struct
import time
from typing import Awaitable, Callable

from . import rtp, sdp
from .rewrite import SlotRewriter
from .slots import SlotAllocator
from .transport import Certificate, IceOptions, PeerTransport, _srtp, resolve_options

_srtp_protect = _srtp.lib.srtp_protect

log = logging.getLogger(__name__)

_HDR = struct.Struct("!BBHII")
_HDR_LEVEL = struct.Struct("!BBHIIHHBBH")  # + one-byte extension block with one audio level
APP_NAME = b"ARSL"
APP_MAP = 1
APP_LAYOUT = 2
RTCP_INTERVAL = 5.0  # sender/receiver reports, as libwebrtc does for audio
EVAL_INTERVAL = 0.02
TICK = 0.2  # RTCP, consent checks, relay keepalives, stale speakers

RelaySignaller = Callable[[str, str, str], Awaitable[str]]  # (room_id, host, offer) -> answer
StagePolicy = Callable[[str, str], bool]  # (room_id, user_id) -> may send audio


class MediaError(Exception):
    """A request the SFU refuses (bad SDP, unknown session...)."""


def _ssrc() -> int:
    return random.getrandbits(32) or 1


def _rewriter() -> SlotRewriter:
    return SlotRewriter(_ssrc(), random.randrange(0x8000), random.getrandbits(32))


def _host_of(room_id: str) -> str | None:
    return room_id.split(":", 1)[1] if ":" in room_id else None


class Source:
    """One incoming audio stream: a local mic, or a speaker carried by a relay."""
    __slots__ = ("user_id", "origin", "allowed", "subs", "fast", "ssrc", "level_byte",
                 "last_seq", "last_ts", "last_time", "packets", "octets", "received",
                 "base_seq", "cycles", "expected_prior", "received_prior", "lsr", "lsr_time")

    def __init__(self, user_id: str, origin: str | None, allowed: bool, data: bytes, now: float):
        self.user_id = user_id
        self.origin = origin  # None: a mic on this server; else the server it came from
        self.allowed = allowed
        self.subs: list[OutStream] = []
        self.fast: list[tuple] = []  # the forwarding loop's view of subs
        self.level_byte = 127
        self.packets = 0  # forwarded to each subscriber (per-subscriber counts derive from it)
        self.octets = 0
        self.received = 0
        self.lsr = 0
        self.lsr_time: float | None = None
        self.restart(data, now)

    def restart(self, data: bytes, now: float) -> None:
        """A new RTP stream (first packet, or a new SSRC): pretend its previous packet was
        just forwarded, so subscribers attached now continue with this one."""
        self.ssrc = int.from_bytes(data[8:12], "big")
        seq = (data[2] << 8) | data[3]
        self.last_seq = (seq - 1) & 0xFFFF
        self.last_ts = (int.from_bytes(data[4:8], "big") - 960) & 0xFFFFFFFF
        self.last_time = now - 0.02
        self.base_seq = seq
        self.cycles = 0
        self.received = self.expected_prior = self.received_prior = 0


class OutStream:
    """One outgoing stream: a listener's slot or a relay's per-speaker stream."""
    __slots__ = ("rw", "tp", "pt", "al_byte", "src", "user", "packets", "octets",
                 "base_packets", "base_octets")

    def __init__(self, tp: PeerTransport, pt: int, audio_level_id: int | None):
        self.rw = _rewriter()
        self.tp = tp
        self.pt = pt
        self.al_byte = (audio_level_id << 4) if audio_level_id else 0
        self.src: Source | None = None
        self.user: str | None = None
        self.packets = 0  # sent while attached to earlier sources
        self.octets = 0
        self.base_packets = 0  # the current source's counters when it was attached
        self.base_octets = 0

    def attach(self, src: Source | None) -> None:
        old = self.src
        if old is src:
            return
        if old is not None:
            self.rw.detach(old.last_seq, old.last_ts, old.last_time)
            self.packets += old.packets - self.base_packets
            self.octets += old.octets - self.base_octets
        self.src = src
        if src is not None:
            self.rw.attach(src, src.last_seq, src.last_ts, src.last_time)
            self.base_packets = src.packets
            self.base_octets = src.octets

    def counters(self) -> tuple[int, int]:
        src = self.src
        if src is None:
            return self.packets, self.octets
        return (self.packets + src.packets - self.base_packets,
                self.octets + src.octets - self.base_octets)

    def rtp_timestamp_at(self, now: float) -> int:
        src = self.src
        if src is None:
            return self.rw.rtp_timestamp_at(now)
        _seq, ts, t = self.rw.current(src.last_seq, src.last_ts, src.last_time)
        return (ts + round((now - t) * 48000)) & 0xFFFFFFFF

    def fast_entry(self) -> tuple | None:
        f = self.tp.fast
        if f is None:
            return None
        return (self.rw.seq_off, self.rw.ts_off, self.rw.ssrc, self.pt, self.al_byte) + f


class Session:
    def __init__(self, sid: str, room: "Room", user_id: str, plan: sdp.OfferPlan):
        self.id = sid
        self.room = room
        self.user_id = user_id
        self.plan = plan
        self.tp: PeerTransport | None = None
        self.slots: list[OutStream] = []
        mic = plan.mic
        self.mic_level_id = mic.audio_level_id if mic else None
        self.has_mic = mic is not None
        self.source: Source | None = None
        self.connected = False
        self.closed = False
        self.cname = "sfu-" + secrets.token_hex(4)
        self.rtcp_ssrc = _ssrc()
        self.next_rtcp = 0.0
        self.opened_at = 0.0
        self.connected_at: float | None = None


class RelayPeer:
    """Host side: a remote server's relay connection for a room."""

    def __init__(self, rid: str, room: "Room", origin: str):
        self.id = rid
        self.room = room
        self.origin = origin
        self.tp: PeerTransport | None = None
        self.outs: dict[str, OutStream] = {}  # user -> stream we send down
        self.ssrc_users: dict[int, str] = {}  # upstream SSRC -> user (their MAP)
        self.sources: dict[int, Source] = {}  # upstream SSRC -> source
        self.pt = sdp.RELAY_PT
        self.level_id = sdp.RELAY_AUDIO_LEVEL_ID
        self.connected = False
        self.closed = False
        self.last_heard = 0.0
        self.next_control = 0.0


class Uplink:
    """Remote side: our relay connection to the room's host."""

    def __init__(self, room: "Room"):
        self.room = room
        self.tp: PeerTransport | None = None
        self.outs: dict[str, OutStream] = {}  # local user -> stream we send up
        self.ssrc_users: dict[int, str] = {}  # downstream SSRC -> user (host's MAP)
        self.sources: dict[int, Source] = {}
        self.pt = sdp.RELAY_PT
        self.level_id = sdp.RELAY_AUDIO_LEVEL_ID
        self.connected = False
        self.last_heard = 0.0
        self.next_control = 0.0
        self.task: asyncio.Task | None = None
        self.pending: PeerTransport | None = None
        self.attempts = 0
        self.connects = 0


class Room:
    def __init__(self, room_id: str, host: str | None, local: bool, slots: int):
        self.id = room_id
        self.local = local  # hosted here
        self.host = host  # who hosts it (the server in the room ID, or a cluster's worker)
        self.sessions: dict[str, Session] = {}
        self.sources: dict[str, Source] = {}  # user -> the stream we forward for them
        self.may_send: dict[str, bool] = {}
        self.allocator = SlotAllocator(slots=slots)
        self.top: list[str | None] = [None] * slots  # the layout (remote rooms: the host's)
        self.spare: str | None = None
        self.last_eval = 0.0
        self.relays: dict[str, RelayPeer] = {}  # relays from servers (or workers) below us
        self.uplink: Uplink | None = None  # our relay to the host, when we do not host it

    def empty(self) -> bool:
        return not self.sessions and not self.relays


def assign(top: list[str | None], spare: str | None, listener: str | None,
           n: int) -> list[str | None]:
    return [spare if u is not None and u == listener else u for u in top[:n]]


class SFU:
    """Audio SFU driven by the homeserver's handlers (see the module docstring).

    ``server_name``: rooms whose ID names another server are remote: their audio comes through
    an uplink relay, set up by calling ``relay_signaller(room_id, host, offer_sdp)`` (which
    POSTs to the host's federation relay endpoint and returns the answer SDP).
    ``stage_policy(room_id, user_id)``: consulted for users the SFU has not been told about
    (e.g. a remote speaker arriving through a relay); ``set_may_send`` pushes changes.
    """

    def __init__(self, audio_slots: int = 3, public_ip: str | None = None,
                 udp_port_range: tuple[int, int] | None = None, clock=time.monotonic, *,
                 server_name: str | None = None, relay_signaller: RelaySignaller | None = None,
                 stage_policy: StagePolicy | None = None,
                 host_addresses: list[str] | None = None, relay_timeout: float = 5.0,
                 room_host: Callable[[str], str | None] | None = None,
                 consent_interval: float = 5.0, consent_timeout: float = 30.0):
        if not 1 <= audio_slots <= 16:
            raise ValueError("audio_slots must be between 1 and 16")
        self.audio_slots = audio_slots
        self.clock = clock
        self.server_name = server_name
        self.relay_signaller = relay_signaller
        self.stage_policy = stage_policy
        self.relay_timeout = relay_timeout
        self.room_host = room_host or _host_of
        self.ice = resolve_options(IceOptions(
            addresses=tuple(host_addresses) if host_addresses else None,
            port_range=tuple(udp_port_range) if udp_port_range else None, public_ip=public_ip,
            consent_interval=consent_interval, consent_timeout=consent_timeout))
        self.certificate = Certificate.generateCertificate()
        self.rooms: dict[str, Room] = {}
        self.forwarded = 0  # packets sent to subscribers
        self.received = 0  # RTP packets received from mics and relays
        self.dropped = 0  # RTP packets refused by the stage gate
        self._ticker: asyncio.Task | None = None
        self._closed = False

    # rooms ---------------------------------------------------------------------------------

    def _room(self, room_id: str, create: bool = True) -> Room | None:
        room = self.rooms.get(room_id)
        if room is None and create:
            host = self.room_host(room_id)
            local = self.server_name is None or host is None or host == self.server_name
            room = self.rooms[room_id] = Room(room_id, host, local, self.audio_slots)
        return room

    def _allowed(self, room: Room, user_id: str) -> bool:
        v = room.may_send.get(user_id)
        if v is None and self.stage_policy is not None:
            try:
                v = bool(self.stage_policy(room.id, user_id))
            except Exception:
                log.exception("stage policy failed")
                v = False
            room.may_send[user_id] = v
            room.allocator.set_eligible(user_id, v)
        return bool(v)

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick_loop())

    # sessions ------------------------------------------------------------------------------

    async def open_session(self, room_id: str, user_id: str, offer_sdp: str,
                           may_send: bool) -> tuple[str, str]:
        """Answer a participant's offer; returns (session_id, answer_sdp). Raises
        ``sdp.SdpError`` (a ValueError) for an unusable offer."""
        if self._closed:
            raise MediaError("the SFU is closed")
        plan = sdp.plan_offer(offer_sdp, self.audio_slots)
        local_role = sdp.dtls_role_for_answer(plan.transport.setup)
        room = self._room(room_id)
        self.set_may_send(room_id, user_id, may_send)
        sid = secrets.token_urlsafe(12)
        sess = Session(sid, room, user_id, plan)
        sess.opened_at = self.clock()
        tp = PeerTransport(self.certificate, self.ice, controlling=False,
                           on_rtp=functools.partial(self._session_rtp, sess),
                           on_rtcp=functools.partial(self._session_rtcp, sess),
                           on_state=functools.partial(self._session_state, sess))
        sess.tp = tp
        try:
            await tp.gather()
        except Exception:
            await tp.close()
            raise
        for p in plan.slots:
            sess.slots.append(OutStream(tp, p.payload_type, p.audio_level_id))
        answer = sdp.write_answer(offer_sdp, plan, tp.local(local_role[0], random.getrandbits(62)),
                                  {i: s.rw.ssrc for i, s in enumerate(sess.slots)},
                                  sess.cname, "room")
        room.sessions[sid] = sess
        tp.start(plan.transport, local_role[1])
        self._ensure_ticker()
        if not room.local:
            self._ensure_uplink(room)
        return sid, answer

    def _session_state(self, sess: Session, state: str) -> None:
        if state == "connected":
            sess.connected = True
            sess.connected_at = self.clock()
            sess.next_rtcp = sess.connected_at + 0.5
            self._rebuild(sess.room)
        elif not sess.closed:
            asyncio.ensure_future(self.close_session(sess.room.id, sess.id))

    async def close_session(self, room_id: str, session_id: str) -> None:
        room = self.rooms.get(room_id)
        sess = room.sessions.pop(session_id, None) if room else None
        if sess is None:
            return
        sess.closed = True
        sess.connected = False
        if sess.source is not None and room.sources.get(sess.user_id) is sess.source:
            other = next((s.source for s in room.sessions.values()
                          if s.user_id == sess.user_id and s.source is not None), None)
            if other is not None:
                room.sources[sess.user_id] = other
            else:
                del room.sources[sess.user_id]
                room.allocator.remove(sess.user_id)
            self._evaluate(room, self.clock(), force=True)
        self._rebuild(room)
        await sess.tp.close()
        await self._maybe_drop(room)

    async def _maybe_drop(self, room: Room) -> None:
        """A room we do not host goes (with its uplink) when nobody here is in it."""
        if room.empty() and not room.local:
            await self._close_uplink(room)
            if room.empty() and self.rooms.get(room.id) is room:
                self.rooms.pop(room.id, None)

    def sessions(self, room_id: str) -> list[dict]:
        room = self.rooms.get(room_id)
        if room is None:
            return []
        return [{"session_id": s.id, "user_id": s.user_id, "connected": s.connected,
                 "slots": len(s.slots), "mic": s.has_mic} for s in room.sessions.values()]

    def set_may_send(self, room_id: str, user_id: str, may_send: bool) -> None:
        """The stage changed: from the next packet on, ``user_id``'s audio is (not) forwarded."""
        room = self._room(room_id)
        may_send = bool(may_send)
        room.may_send[user_id] = may_send
        room.allocator.set_eligible(user_id, may_send)
        src = room.sources.get(user_id)
        # the host's streams are gated by the host; everything else is gated here
        if src is not None and (room.local or src.origin != room.host):
            src.allowed = may_send
        self._evaluate(room, self.clock(), force=True)

    def speakers(self, room_id: str) -> dict:
        room = self.rooms.get(room_id)
        if room is None:
            return {"slots": [], "talking": []}
        alloc = room.allocator
        slots = []
        for i, u in enumerate(room.top):
            level = alloc.level(u) if u else None
            slots.append({"slot": i, "user_id": u,
                          "level": None if level is None else round(level)})
        return {"slots": slots, "spare": room.spare,
                "talking": alloc.talking(self.clock(), require_eligible=room.local)}

    async def get_speakers(self, room_id: str) -> dict:
        """``speakers`` as a coroutine, like ``SFUCluster.get_speakers``."""
        return self.speakers(room_id)

    async def get_stats(self) -> dict:
        return self.stats()

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        for sid in list(room.sessions):
            await self.close_session(room_id, sid)
        for rid in list(room.relays):
            await self.close_relay(room_id, rid)
        await self._close_uplink(room)
        self.rooms.pop(room_id, None)

    async def close(self) -> None:
        self._closed = True
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None

    def stats(self) -> dict:
        lost = 0
        for room in self.rooms.values():
            for src in room.sources.values():
                if src.received:
                    lost += max(0, src.cycles + src.last_seq - src.base_seq + 1 - src.received)
        return {"rooms": len(self.rooms), "received": self.received,
                "forwarded": self.forwarded, "dropped": self.dropped, "ingress_lost": lost,
                "sessions": sum(len(r.sessions) for r in self.rooms.values()),
                "relays": sum(len(r.relays) for r in self.rooms.values())}

    # the forwarding path -------------------------------------------------------------------

    def _session_rtp(self, sess: Session, data: bytes) -> None:
        if not sess.has_mic or sess.closed or len(data) < 12:
            return
        room = sess.room
        src = sess.source
        if src is None:
            src = sess.source = Source(sess.user_id, None, self._allowed(room, sess.user_id),
                                       data, self.clock())
            room.sources[sess.user_id] = src
            self._rebuild(room)
        elif room.sources.get(sess.user_id) is not src:
            room.sources[sess.user_id] = src  # the user's latest mic wins
            self._rebuild(room)
        self._ingress(room, src, data, sess.mic_level_id)

    def _ingress(self, room: Room, src: Source, data: bytes, level_id: int | None) -> None:
        self.received += 1
        now = self.clock()
        if not src.allowed:
            # dropped, but followed: if the stage lets them speak again, they continue their
            # slots' streams without a sequence gap
            self.dropped += 1
            seq = (data[2] << 8) | data[3]
            if int.from_bytes(data[8:12], "big") != src.ssrc:
                src.restart(data, now)
            elif 0 < ((seq - src.last_seq) & 0xFFFF) < 0x8000:
                src.last_seq = seq
                src.last_ts = int.from_bytes(data[4:8], "big")
                src.last_time = now
            return
        if int.from_bytes(data[8:12], "big") != src.ssrc:
            # a new stream from this source (new SSRC, new numbering): rebase subscribers
            subs = src.subs
            for out in subs:
                out.attach(None)
            src.restart(data, now)
            for out in subs:
                out.attach(src)
            src.fast = [e for e in (out.fast_entry() for out in subs) if e is not None]
        seq = (data[2] << 8) | data[3]
        src.received += 1
        level = rtp.read_audio_level(data, level_id) if level_id else None
        if level is not None:
            src.level_byte = level
        room.allocator.observe(src.user_id, level, now)
        if room.local and now - room.last_eval >= EVAL_INTERVAL:
            self._evaluate(room, now)
        d = (seq - src.last_seq) & 0xFFFF
        if d >= 0x8000:  # late (reordered): forward it, but it does not move the source on
            self._forward(src, data, seq, now)
            return
        if seq < src.last_seq:
            src.cycles += 0x10000
        self._forward(src, data, seq, now)
        src.last_seq = seq
        src.last_ts = int.from_bytes(data[4:8], "big")
        src.last_time = now

    def _forward(self, src: Source, data: bytes, seq: int, now: float) -> None:
        """One pass over the source's subscribers: header rewritten into each connection's
        libsrtp buffer, protected in place, sent from there."""
        fast = src.fast
        if not fast:
            return
        b0 = data[0]
        pos = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            if len(data) < pos + 4:
                return
            pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
        end = len(data) - data[-1] if b0 & 0x20 else len(data)
        if pos > end or end - pos > 1200:
            return
        payload = data[pos:end]
        size = end - pos
        n_level = 20 + size
        n_plain = 12 + size
        ts = int.from_bytes(data[4:8], "big")
        marker = data[1] & 0x80
        level = src.level_byte
        pack_level = _HDR_LEVEL.pack_into
        pack = _HDR.pack_into
        protect = _srtp_protect
        sent = 0
        for seq_off, ts_off, ssrc, pt, al, srtp, cdata, buf, lenp, mv, send, _s in fast:
            if al:
                pack_level(buf, 0, 0x90, marker | pt, (seq + seq_off) & 0xFFFF,
                           (ts + ts_off) & 0xFFFFFFFF, ssrc, 0xBEDE, 1, al, level, 0)
                buf[20:n_level] = payload
                lenp[0] = n_level
            else:
                pack(buf, 0, 0x80, marker | pt, (seq + seq_off) & 0xFFFF,
                     (ts + ts_off) & 0xFFFFFFFF, ssrc)
                buf[12:n_plain] = payload
                lenp[0] = n_plain
            if protect(srtp, cdata, lenp):
                continue
            try:
                send(mv[:lenp[0]])
            except OSError:  # full socket buffer or closed connection: the packet is lost
                continue
            sent += 1
        src.packets += 1
        src.octets += size
        self.forwarded += sent

    # slot layout ---------------------------------------------------------------------------

    def _evaluate(self, room: Room, now: float, force: bool = False) -> None:
        """Host rooms: let the allocator decide; on change, resubscribe and tell relays."""
        room.last_eval = now
        if not room.local:
            self._rebuild(room)
            return
        changed = room.allocator.update(now)
        if changed or force:
            room.top = list(room.allocator.top)
            room.spare = room.allocator.spare
            self._rebuild(room)
            if changed:
                for relay in room.relays.values():
                    self._send_layout(relay)

    def _rebuild(self, room: Room) -> None:
        """Recompute every source's subscriber list from the layout (rare: on layout, stage or
        membership changes). The hot path picks up the new lists at its next packet."""
        subs: dict[int, list[OutStream]] = {id(s): [] for s in room.sources.values()}
        for sess in room.sessions.values():
            if not sess.connected:
                continue
            wanted = assign(room.top, room.spare, sess.user_id, len(sess.slots))
            for out, user in zip(sess.slots, wanted):
                self._attach(room, out, user, subs)
        for relay in room.relays.values():
            if not relay.connected:
                continue
            users = [u for u in room.top + [room.spare] if u is not None]
            for u in users:
                src = room.sources.get(u)
                if src is None or src.origin == relay.origin:
                    out = relay.outs.get(u)
                    if out is not None:
                        out.attach(None)
                    continue
                out = relay.outs.get(u)
                if out is None:
                    out = relay.outs[u] = OutStream(relay.tp, relay.pt, relay.level_id)
                    self._send_map(relay)
                self._attach(room, out, u, subs)
            for u in [u for u in relay.outs if u not in users]:
                relay.outs[u].attach(None)
                if room.sources.get(u) is None:
                    del relay.outs[u]  # gone: forget its stream (the next MAP drops it)
        up = room.uplink
        if up is not None and up.connected:
            # up to the host: our mics and those of the relays below us
            for u, src in room.sources.items():
                if src.origin == room.host or not src.allowed:
                    continue
                out = up.outs.get(u)
                if out is None:
                    out = up.outs[u] = OutStream(up.tp, up.pt, up.level_id)
                    self._send_map_up(up)
                self._attach(room, out, u, subs)
        for src in room.sources.values():
            src.subs = subs.get(id(src), [])
            src.fast = [e for e in (out.fast_entry() for out in src.subs) if e is not None]

    @staticmethod
    def _attach(room: Room, out: OutStream, user: str | None,
                subs: dict[int, list[OutStream]]) -> None:
        src = room.sources.get(user) if user is not None else None
        out.attach(src)
        out.user = user
        if src is not None:
            subs[id(src)].append(out)

    # RTCP ----------------------------------------------------------------------------------

    def _session_rtcp(self, sess: Session, data: bytes) -> None:
        try:
            packets = rtp.parse_rtcp(data)
        except ValueError:
            return
        src = sess.source
        for p in packets:
            if isinstance(p, rtp.RtcpSenderReport) and src is not None:
                src.lsr = rtp.ntp_middle(p.ntp_timestamp)
                src.lsr_time = self.clock()

    def _session_reports(self, sess: Session, now: float, wall: float) -> None:
        packets: list = []
        ntp = rtp.ntp_from_unix(wall)
        blocks = []
        src = sess.source
        if src is not None and src.received:
            expected = src.cycles + src.last_seq - src.base_seq + 1
            lost = max(0, expected - src.received)
            exp_int = expected - src.expected_prior
            rec_int = src.received - src.received_prior
            src.expected_prior, src.received_prior = expected, src.received
            fraction = ((exp_int - rec_int) << 8) // exp_int if exp_int > 0 and \
                exp_int > rec_int else 0
            dlsr = int((now - src.lsr_time) * 65536) if src.lsr_time is not None else 0
            blocks.append(rtp.ReportBlock(src.ssrc, min(fraction, 255), lost,
                                          (src.cycles + src.last_seq) & 0xFFFFFFFF, 0,
                                          src.lsr, dlsr))
        for out in sess.slots:
            sent, octets = out.counters()
            if sent:
                packets.append(rtp.RtcpSenderReport(out.rw.ssrc, ntp, out.rtp_timestamp_at(now),
                                                    sent, octets, blocks))
                blocks = []
        if not packets:
            packets.append(rtp.RtcpReceiverReport(sess.rtcp_ssrc, blocks))
        first = packets[0].ssrc
        packets.append(rtp.RtcpSdes([(first, [(rtp.SDES_CNAME, sess.cname.encode())])]))
        sess.tp.send_rtcp(rtp.serialize_rtcp(packets))

    async def _tick_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(TICK)
            try:
                self._tick()
            except Exception:
                log.exception("SFU tick failed")

    def _tick(self) -> None:
        now = self.clock()
        wall = time.time()
        mono = time.monotonic()  # the transports' consent clock
        for room in list(self.rooms.values()):
            for sess in list(room.sessions.values()):
                sess.tp.keepalive(mono)
                if sess.connected and now >= sess.next_rtcp:
                    sess.next_rtcp = now + RTCP_INTERVAL * (0.5 + random.random())
                    self._session_reports(sess, now, wall)
            for relay in list(room.relays.values()):
                relay.tp.keepalive(mono)
                if not relay.connected:
                    continue
                if now - relay.last_heard > self.relay_timeout:
                    log.info("relay %s for %s timed out", relay.origin, room.id)
                    asyncio.ensure_future(self.close_relay(room.id, relay.id))
                elif now >= relay.next_control:
                    self._send_map(relay)
                    self._send_layout(relay)
            if room.local:
                # speakers who stopped sending go stale even without other packets coming
                if now - room.last_eval >= 0.25:
                    self._evaluate(room, now)
            else:
                up = room.uplink
                if up is not None and up.tp is not None:
                    up.tp.keepalive(mono)
                if up is not None and up.connected:
                    if now - up.last_heard > self.relay_timeout:
                        log.info("uplink for %s timed out", room.id)
                        asyncio.ensure_future(up.tp.close())
                    elif now >= up.next_control:
                        self._send_map_up(up)

    # cascade: host side --------------------------------------------------------------------

    async def open_relay(self, room_id: str, origin_server: str,
                         offer_sdp: str) -> tuple[str, str]:
        """Accept a remote server's relay for a room we host; returns (relay_id, answer_sdp).
        The caller has authenticated ``origin_server`` and checked it has members in the room.
        A new relay from the same origin replaces the previous one. (An SFU that does not host
        the room may accept relays too, as a hub: a cluster's workers relay through the one
        that holds the room's uplink.)"""
        if self._closed:
            raise MediaError("the SFU is closed")
        room = self._room(room_id)
        plan = sdp.plan_offer(offer_sdp, 1)
        sec = next(s for s in plan.sections if s.accepted)
        local_role = sdp.dtls_role_for_answer(plan.transport.setup)
        for rid, old in list(room.relays.items()):
            if old.origin == origin_server:
                await self.close_relay(room_id, rid)
        relay = RelayPeer(secrets.token_urlsafe(12), room, origin_server)
        relay.pt = sec.payload_type
        relay.level_id = sec.audio_level_id
        tp = PeerTransport(self.certificate, self.ice, controlling=False,
                           on_rtp=functools.partial(self._relay_rtp, relay),
                           on_rtcp=functools.partial(self._relay_rtcp, relay),
                           on_state=functools.partial(self._relay_state, relay))
        relay.tp = tp
        await tp.gather()
        answer = sdp.write_answer(offer_sdp, plan, tp.local(local_role[0], random.getrandbits(62)),
                                  {}, "sfu-" + (self.server_name or "host"), "relay")
        room.relays[relay.id] = relay
        tp.start(plan.transport, local_role[1])
        self._ensure_ticker()
        if not room.local:
            self._ensure_uplink(room)
        return relay.id, answer

    def _relay_state(self, relay: RelayPeer, state: str) -> None:
        room = relay.room
        if state == "connected":
            relay.connected = True
            relay.last_heard = self.clock()
            self._rebuild(room)
            self._send_map(relay)
            self._send_layout(relay)
        elif not relay.closed:
            asyncio.ensure_future(self.close_relay(room.id, relay.id))

    async def close_relay(self, room_id: str, relay_id: str) -> None:
        room = self.rooms.get(room_id)
        relay = room.relays.pop(relay_id, None) if room else None
        if relay is None:
            return
        relay.closed = True
        relay.connected = False
        for src in relay.sources.values():
            if room.sources.get(src.user_id) is src:
                del room.sources[src.user_id]
                room.allocator.remove(src.user_id)
        self._evaluate(room, self.clock(), force=True)
        await relay.tp.close()
        await self._maybe_drop(room)

    def _relay_rtp(self, relay: RelayPeer, data: bytes) -> None:
        if relay.closed or len(data) < 12:
            return
        room = relay.room
        relay.last_heard = self.clock()
        ssrc = int.from_bytes(data[8:12], "big")
        src = relay.sources.get(ssrc)
        if src is None:
            user = relay.ssrc_users.get(ssrc)
            if user is None:
                return  # not mapped yet
            src = relay.sources[ssrc] = Source(user, relay.origin, self._allowed(room, user),
                                               data, self.clock())
            room.sources[user] = src
            self._rebuild(room)
        self._ingress(room, src, data, relay.level_id)

    def _relay_rtcp(self, relay: RelayPeer, data: bytes) -> None:
        relay.last_heard = self.clock()
        for msg in _app_messages(data, APP_MAP):
            mapping = {}
            for k, v in msg.items():
                if isinstance(v, str) and str(k).isdigit():
                    mapping[int(k)] = v
            relay.ssrc_users = mapping
            for ssrc in list(relay.sources):
                if mapping.get(ssrc) != relay.sources[ssrc].user_id:
                    src = relay.sources.pop(ssrc)
                    if relay.room.sources.get(src.user_id) is src:
                        del relay.room.sources[src.user_id]
                    self._rebuild(relay.room)

    def _send_map(self, relay: RelayPeer | Uplink) -> None:
        if not relay.connected:
            return
        mapping = {str(out.rw.ssrc): u for u, out in relay.outs.items()}
        relay.next_control = self.clock() + 1.0
        relay.tp.send_rtcp(_app(APP_MAP, mapping))

    _send_map_up = _send_map

    def _send_layout(self, relay: RelayPeer) -> None:
        if not relay.connected:
            return
        relay.tp.send_rtcp(_app(APP_LAYOUT, {"top": relay.room.top, "spare": relay.room.spare}))

    # cascade: remote side ------------------------------------------------------------------

    def _ensure_uplink(self, room: Room) -> None:
        if room.uplink is None:
            room.uplink = Uplink(room)
        up = room.uplink
        if self.relay_signaller is not None and (up.task is None or up.task.done()):
            up.task = asyncio.ensure_future(self._run_uplink(room, up))

    async def start_relay_offer(self, room_id: str) -> str:
        """Remote side: a fresh relay offer for ``room_id``, to POST to the host."""
        room = self._room(room_id)
        if room.local:
            raise MediaError("this server hosts the room")
        if room.uplink is None:
            room.uplink = Uplink(room)
        up = room.uplink
        if up.pending is not None:
            await up.pending.close()
        tp = PeerTransport(self.certificate, self.ice, controlling=True,
                           on_rtp=lambda data: None, on_rtcp=lambda data: None)
        tp.dtls._on_rtp = tp._on_rtp = functools.partial(self._uplink_rtp, up, tp)
        tp.dtls._on_rtcp = tp._on_rtcp = functools.partial(self._uplink_rtcp, up, tp)
        tp._on_state = functools.partial(self._uplink_state, up, tp)
        await tp.gather()
        up.pending = tp
        return sdp.write_relay_offer(tp.local("actpass", random.getrandbits(62)),
                                     "sfu-" + (self.server_name or "remote"))

    async def finish_relay(self, room_id: str, answer_sdp: str) -> None:
        """Remote side: apply the host's answer; the relay connects in the background."""
        room = self._room(room_id, create=False)
        up = room.uplink if room else None
        if up is None or up.pending is None:
            raise MediaError("no relay offer is pending for this room")
        plan = sdp.parse_answer(answer_sdp)
        role = sdp.dtls_role_for_offer(plan.transport.setup)
        sec = next(s for s in plan.sections if s.accepted)
        tp, up.pending = up.pending, None
        if up.tp is not None and up.tp is not tp:
            await up.tp.close()
        up.tp = tp
        up.pt = sec.payload_type
        up.level_id = sec.audio_level_id
        up.outs = {}
        up.ssrc_users = {}
        self._drop_uplink_sources(room, up)
        tp.start(plan.transport, role)
        self._ensure_ticker()

    def _drop_uplink_sources(self, room: Room, up: Uplink) -> None:
        for src in up.sources.values():
            if room.sources.get(src.user_id) is src:
                del room.sources[src.user_id]
        up.sources = {}

    def _uplink_state(self, up: Uplink, tp: PeerTransport, state: str) -> None:
        room = up.room
        if tp is not up.tp or room.uplink is not up:
            return
        if state == "connected":
            up.connected = True
            up.connects += 1
            up.last_heard = self.clock()
            self._rebuild(room)
            self._send_map_up(up)
        else:
            up.connected = False
            self._drop_uplink_sources(room, up)
            room.top = [None] * len(room.top)
            room.spare = None
            self._rebuild(room)
            for relay in room.relays.values():
                self._send_layout(relay)

    async def _run_uplink(self, room: Room, up: Uplink) -> None:
        """Keep one relay to the host while we have participants in the room: (re)connect
        with backoff after a failure, a timeout or the host closing it."""
        def stop() -> bool:
            return self._closed or room.empty() or room.uplink is not up

        backoff = 0.25
        while not stop():
            up.attempts += 1
            try:
                offer = await self.start_relay_offer(room.id)
                answer = await self.relay_signaller(room.id, room.host, offer)
                if stop():
                    break
                await self.finish_relay(room.id, answer)
                tp = up.tp
                await tp._task
                if tp.state == "connected":
                    backoff = 0.25
                    while tp.state == "connected" and not stop():
                        await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("relay for %s to %s failed: %r", room.id, room.host, e)
            if stop():
                break
            if up.tp is not None:
                await up.tp.close()
            up.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _close_uplink(self, room: Room) -> None:
        up = room.uplink
        if up is None:
            return
        room.uplink = None
        if up.task is not None and not up.task.done():
            up.task.cancel()
            try:
                await up.task
            except (asyncio.CancelledError, Exception):
                pass
        for tp in (up.pending, up.tp):
            if tp is not None:
                await tp.close()
        up.connected = False
        self._drop_uplink_sources(room, up)

    def _uplink_rtp(self, up: Uplink, tp: PeerTransport, data: bytes) -> None:
        room = up.room
        if room.uplink is not up or tp is not up.tp or len(data) < 12:
            return
        up.last_heard = self.clock()
        ssrc = int.from_bytes(data[8:12], "big")
        src = up.sources.get(ssrc)
        if src is None:
            user = up.ssrc_users.get(ssrc)
            if user is None:
                return
            local = room.sources.get(user)
            if local is not None and local.origin is None:
                return  # we have this speaker's own mic
            src = up.sources[ssrc] = Source(user, room.host or "host", True, data, self.clock())
            room.sources[user] = src
            self._rebuild(room)
        self._ingress(room, src, data, up.level_id)

    def _uplink_rtcp(self, up: Uplink, tp: PeerTransport, data: bytes) -> None:
        room = up.room
        if room.uplink is not up or tp is not up.tp:
            return
        up.last_heard = self.clock()
        changed = False
        for msg in _app_messages(data, APP_MAP):
            up.ssrc_users = {int(k): v for k, v in msg.items()
                             if str(k).isdigit() and isinstance(v, str)}
            for ssrc in list(up.sources):
                if up.ssrc_users.get(ssrc) != up.sources[ssrc].user_id:
                    src = up.sources.pop(ssrc)
                    if room.sources.get(src.user_id) is src:
                        del room.sources[src.user_id]
                    changed = True
        for msg in _app_messages(data, APP_LAYOUT):
            top = msg.get("top")
            spare = msg.get("spare")
            if isinstance(top, list) and all(u is None or isinstance(u, str) for u in top) \
                    and (spare is None or isinstance(spare, str)):
                if top != room.top or spare != room.spare:
                    room.top = list(top)
                    room.spare = spare
                    changed = True
        if changed:
            self._rebuild(room)
            for relay in room.relays.values():  # a hub passes the host's layout down
                self._send_layout(relay)


def _app(subtype: int, obj: dict) -> bytes:
    return bytes(rtp.RtcpApp(ssrc=0, name=APP_NAME, subtype=subtype,
                             data=json.dumps(obj, separators=(",", ":")).encode()))


def _app_messages(data: bytes, subtype: int) -> list[dict]:
    try:
        packets = rtp.parse_rtcp(data)
    except ValueError:
        return []
    out = []
    for p in packets:
        if isinstance(p, rtp.RtcpApp) and p.name == APP_NAME and p.subtype == subtype:
            try:
                obj = json.loads(p.data.rstrip(b"\x00").decode())
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict):
                out.append(obj)
    return out
