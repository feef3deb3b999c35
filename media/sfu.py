"""The selective forwarding unit: audio rooms, participant sessions, slots and cascade relays.

``SFU`` is the facade the homeserver's handlers drive (``api.AudioSFU``): it opens and closes
participants' sessions and other servers' relays, keeps an uplink to the host of each remote
room it has participants in, and runs one timer for RTCP, consent checks, relay keepalives and
stale speakers. The parts, one module each:

* ``room.py``: a room's sources, stage gate and slot layout; every packet enters there;
* ``forwarding.py``: incoming and outgoing streams and the per-packet forwarding loop
  (Opus is forwarded as is: nothing is decoded, queued, or switched to another task);
* ``session.py``: a participant's connection (its slots, its mic, its RTCP reports);
* ``cascade.py``: the relays between servers' SFUs, ``uplinks.py``: keeping ours to remote
  rooms' hosts up, and ``arsl.py``, their control messages;
* ``transport.py``: ICE + DTLS-SRTP; ``sdp.py``: offers and answers; ``errors.py``: what the
  SFU refuses.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable

from . import sdp
from .cascade import RelayPeer
from .errors import MediaError, SdpError, Unavailable
from .feedback import LossStats
from .forwarding import Counters, LoopLag
from .ice_tcp import TcpIceServer
from .recorder import Recorder
from .room import Room, StagePolicy
from .session import Session
from .transport import Certificate, IceOptions, PeerTransport, gather_or_release, resolve_options
from .uplinks import Uplinks

log = logging.getLogger(__name__)

# Importers of these names from here (media.sfu) keep working.
__all__ = ["SFU", "MediaError", "SdpError", "RelaySignaller", "StagePolicy", "host_of"]

RTCP_INTERVAL = 5.0  # sender/receiver reports, as libwebrtc does for audio
TICK = 0.2  # RTCP, consent checks, relay keepalives, stale speakers

RelaySignaller = Callable[[str, str, str], Awaitable[str]]  # (room_id, host, offer) -> answer


def host_of(room_id: str) -> str | None:
    """The server a room ID names (its host), or None."""
    return room_id.split(":", 1)[1] if ":" in room_id else None


class SFU:
    """Audio SFU driven by the homeserver's handlers (see the module docstring).

    ``server_name``: rooms whose ID names another server are remote: their audio comes through
    an uplink relay, set up by calling ``relay_signaller(room_id, host, offer_sdp)`` (which
    POSTs to the host's federation relay endpoint and returns the answer SDP).
    ``stage_policy(room_id, user_id)``: consulted for users the SFU has not been told about
    (e.g. a remote speaker arriving through a relay); ``set_may_send`` pushes changes.
    """

    def __init__(self, audio_slots: int = 3, public_ip: str | None = None,
                 udp_port_range: tuple[int, int] | None = None,
                 clock: Callable[[], float] = time.monotonic, *,
                 server_name: str | None = None, relay_signaller: RelaySignaller | None = None,
                 stage_policy: StagePolicy | None = None,
                 host_addresses: list[str] | None = None, relay_timeout: float = 5.0,
                 room_host: Callable[[str], str | None] | None = None,
                 consent_interval: float = 5.0, consent_timeout: float = 30.0,
                 tcp_port: int | None = None, loss_feedback: bool = True):
        if not 1 <= audio_slots <= 16:
            raise ValueError("audio_slots must be between 1 and 16")
        self.audio_slots = audio_slots
        self.clock = clock
        self.server_name = server_name
        self.relay_signaller = relay_signaller
        self.stage_policy = stage_policy
        self.relay_timeout = relay_timeout
        self.room_host = room_host or host_of
        self.ice = resolve_options(IceOptions(
            addresses=tuple(host_addresses) if host_addresses else None,
            port_range=(udp_port_range[0], udp_port_range[1]) if udp_port_range else None,
            public_ip=public_ip, consent_interval=consent_interval,
            consent_timeout=consent_timeout))
        self.certificate = Certificate.generateCertificate()
        # ICE-TCP (RFC 6544): one listening port for every session's passive TCP candidate
        # (0: any free port, for tests); started with the first session
        self.tcp_port = tcp_port
        self.tcp: TcpIceServer | None = None
        self.rooms: dict[str, Room] = {}
        # listeners' loss fed back to their speakers (feedback.py); off: each speaker hears
        # only of its own upstream loss
        self.loss_feedback = loss_feedback
        self.loss_stats = LossStats()
        self.counters = Counters()
        self.lag = LoopLag()
        self._ticker: asyncio.Task | None = None
        self._closed = False
        self.uplinks = Uplinks(self)  # our relays to the hosts of remote rooms

    @property
    def forwarded(self) -> int:
        """Packets sent to subscribers."""
        return self.counters.forwarded

    @property
    def received(self) -> int:
        """RTP packets received from mics and relays."""
        return self.counters.received

    @property
    def dropped(self) -> int:
        """RTP packets refused by the stage gate."""
        return self.counters.dropped

    # rooms ---------------------------------------------------------------------------------

    def _room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            host = self.room_host(room_id)
            local = self.server_name is None or host is None or host == self.server_name
            room = self.rooms[room_id] = Room(room_id, host, local, self.audio_slots,
                                              self.clock, self.counters, self.stage_policy)
        return room

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick_loop())

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the SFU is closed")

    async def _tcp_server(self) -> TcpIceServer | None:
        if self.tcp_port is None:
            return None
        if self.tcp is None:
            host = "0.0.0.0"
            addrs = self.ice.addresses or ()
            if len(addrs) == 1 and not self.ice.public_ip:
                host = addrs[0]  # bound to the one configured address, as the UDP sockets
            srv = TcpIceServer(self.tcp_port, host)
            try:
                await srv.start()
            except OSError as e:
                raise Unavailable(f"cannot listen on media.tcp_port {self.tcp_port}: {e}") from e
            if self.tcp is None:
                self.tcp = srv
            else:
                await srv.close()
        return self.tcp

    # sessions ------------------------------------------------------------------------------

    async def open_session(self, room_id: str, user_id: str, offer_sdp: str,
                           may_send: bool) -> tuple[str, str]:
        """Answer a participant's offer; returns (session_id, answer_sdp). Raises
        ``SdpError`` (a ValueError) for an unusable offer, ``CapacityExceeded`` when there is
        no socket for another connection, ``Unavailable`` once the SFU is closed."""
        self._check_open()
        plan = sdp.plan_offer(offer_sdp, self.audio_slots)
        local_role = sdp.dtls_role_for_answer(plan.transport.setup)
        tcp = await self._tcp_server()
        room = self._room(room_id)
        self.set_may_send(room_id, user_id, may_send)
        sid = secrets.token_urlsafe(12)
        sess = Session(sid, user_id, plan)
        sess.opened_at = self.clock()
        sess.loss_feedback = self.loss_feedback
        tp = PeerTransport(self.certificate, self.ice, controlling=False,
                           on_rtp=functools.partial(room.mic_rtp, sess),
                           on_rtcp=functools.partial(self._session_rtcp, sess),
                           on_state=functools.partial(self._session_state, room, sess),
                           tcp=tcp)
        sess.tp = tp
        await gather_or_release(tp)
        sess.open_slots(tp)
        sess.sdp_id = random.getrandbits(62)
        answer = sess.answer(offer_sdp, plan, tp.local(local_role[0], sess.sdp_id))
        room.sessions[sid] = sess
        tp.start(plan.transport, local_role[1])
        self._ensure_ticker()
        if not room.local:
            self.uplinks.ensure(room)
        return sid, answer

    async def renegotiate_session(self, room_id: str, session_id: str, offer_sdp: str) -> str:
        """A new offer on an open session (an ICE restart after a network change): the answer
        SDP. The session keeps its id, slots and stage rights. Raises ``SdpError`` for an offer
        that does not fit (the session is unchanged), ``MediaError`` for an unknown session."""
        room = self.rooms.get(room_id)
        sess = room.sessions.get(session_id) if room else None
        if sess is None:
            raise MediaError("no such session")
        return await sess.renegotiate(offer_sdp, self.audio_slots)

    def _session_rtcp(self, sess: Session, data: bytes) -> None:
        sess.on_rtcp(data, self.clock(), self.loss_stats)

    def _session_state(self, room: Room, sess: Session, state: str) -> None:
        if state == "connected":
            sess.connected = True
            sess.connected_at = self.clock()
            sess.next_rtcp = sess.connected_at + 0.5
            room.rebuild()
        elif not sess.closed:
            asyncio.ensure_future(self.close_session(room.id, sess.id))

    async def close_session(self, room_id: str, session_id: str) -> None:
        """Idempotent: an unknown session is already closed."""
        room = self.rooms.get(room_id)
        sess = room.sessions.pop(session_id, None) if room else None
        if room is None or sess is None:
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
            room.evaluate(self.clock(), force=True)
        room.rebuild()
        if sess.tp is not None:
            await sess.tp.close()
        await self._maybe_drop(room)

    async def _maybe_drop(self, room: Room) -> None:
        """A room we do not host goes (with its uplink) when nobody here is in it."""
        if room.empty() and not room.local:
            await self.uplinks.close(room)
            if room.empty() and self.rooms.get(room.id) is room:
                self.rooms.pop(room.id, None)

    def sessions(self, room_id: str) -> list[dict]:
        room = self.rooms.get(room_id)
        if room is None:
            return []
        return [s.describe() for s in room.sessions.values()]

    def set_may_send(self, room_id: str, user_id: str, may_send: bool) -> None:
        """The stage changed: from the next packet on, ``user_id``'s audio is (not) forwarded."""
        self._room(room_id).set_may_send(user_id, bool(may_send))

    def speakers(self, room_id: str) -> dict:
        room = self.rooms.get(room_id)
        if room is None:
            return {"slots": [], "talking": []}
        return room.speakers()

    async def get_speakers(self, room_id: str) -> dict:
        """``speakers`` as a coroutine, like ``SFUCluster.get_speakers``."""
        return self.speakers(room_id)

    async def get_stats(self) -> dict:
        return self.stats()

    # recording (the stage's Opus packets, kept as they arrive; recorder.py) ---------------

    async def start_recording(self, room_id: str, path: str, started_ms: int) -> None:
        """Keep the stage's packets (local mics and relayed speakers) in a new file at
        ``path`` until ``stop_recording``. Only for rooms hosted here."""
        self._check_open()
        room = self._room(room_id)
        if not room.local:
            raise MediaError("only the room's host records it")
        if room.recorder is not None:
            if room.recorder.path == path:
                return
            room.recorder.close(self.clock())
        try:
            room.recorder = Recorder(path, started_ms, self.clock())
        except OSError as e:
            raise Unavailable(f"cannot record: {e}") from e
        self._ensure_ticker()

    async def stop_recording(self, room_id: str) -> dict | None:
        """Stop recording; the file is complete. Returns ``Recorder.state()`` (None if the
        room was not recorded)."""
        room = self.rooms.get(room_id)
        rec = room.recorder if room else None
        if room is None or rec is None:
            return None
        room.recorder = None
        rec.close(self.clock())
        return rec.state()

    async def recording_state(self, room_id: str) -> dict | None:
        """Flush the room's recording and describe it (for clips); None if not recorded."""
        room = self.rooms.get(room_id)
        rec = room.recorder if room else None
        if rec is None:
            return None
        rec.flush(self.clock())
        return rec.state()

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        if room.recorder is not None:
            room.recorder.close(self.clock())
            room.recorder = None
        for sid in list(room.sessions):
            await self.close_session(room_id, sid)
        for rid in list(room.relays):
            await self.close_relay(room_id, rid)
        await self.uplinks.close(room)
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
        if self.tcp is not None:
            await self.tcp.close()
            self.tcp = None

    def stats(self) -> dict:
        c = self.counters
        return {"rooms": len(self.rooms), "received": c.received,
                "forwarded": c.forwarded, "dropped": c.dropped,
                "received_bytes": c.received_bytes, "forwarded_bytes": c.forwarded_bytes,
                **{k: getattr(c, k) for k in ("red_received", "red_malformed", "red_forwarded")},
                "loop_lag": self.lag.state(),
                "listener_reports": self.loss_stats.state(),
                "ingress_lost": sum(room.lost() for room in self.rooms.values()),
                "sessions": sum(len(r.sessions) for r in self.rooms.values()),
                "relays": sum(len(r.relays) for r in self.rooms.values())}

    # the timer -----------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while not self._closed:
            due = time.monotonic() + TICK
            await asyncio.sleep(TICK)
            self.lag.observe(time.monotonic() - due)
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
                if sess.tp is not None:
                    sess.tp.keepalive(mono)
                if sess.connected and now >= sess.next_rtcp:
                    sess.next_rtcp = now + RTCP_INTERVAL * (0.5 + random.random())
                    sess.send_reports(now, wall)
            for relay in list(room.relays.values()):
                if relay.tp is not None:
                    relay.tp.keepalive(mono)
                if not relay.connected:
                    continue
                if now - relay.last_heard > self.relay_timeout:
                    log.info("relay %s for %s timed out", relay.origin, room.id)
                    asyncio.ensure_future(self.close_relay(room.id, relay.id))
                elif now >= relay.next_control:
                    relay.send_map(now)
                    relay.send_layout(room.top, room.spare)
            if room.recorder is not None:
                try:
                    room.recorder.tick(now)
                except OSError:
                    log.exception("recording of %s failed", room.id)
                    room.recorder = None
            if room.local:
                # speakers who stopped sending go stale even without other packets coming
                if now - room.last_eval >= 0.25:
                    room.evaluate(now)
            else:
                up = room.uplink
                if up is not None and up.tp is not None:
                    up.tp.keepalive(mono)
                if up is not None and up.connected and up.tp is not None:
                    if now - up.last_heard > self.relay_timeout:
                        log.info("uplink for %s timed out", room.id)
                        asyncio.ensure_future(up.tp.close())
                    elif now >= up.next_control:
                        up.send_map(now)

    # cascade: host side --------------------------------------------------------------------

    async def open_relay(self, room_id: str, origin_server: str,
                         offer_sdp: str) -> tuple[str, str]:
        """Accept a remote server's relay for a room we host; returns (relay_id, answer_sdp).
        The caller has authenticated ``origin_server`` and checked it has members in the room.
        A new relay from the same origin replaces the previous one. (An SFU that does not host
        the room may accept relays too, as a hub: a cluster's workers relay through the one
        that holds the room's uplink.) Raises like ``open_session``."""
        self._check_open()
        room = self._room(room_id)
        plan = sdp.plan_offer(offer_sdp, 1)
        sec = sdp.accepted_section(plan)
        local_role = sdp.dtls_role_for_answer(plan.transport.setup)
        for rid, old in list(room.relays.items()):
            if old.origin == origin_server:
                await self.close_relay(room_id, rid)
        relay = RelayPeer(secrets.token_urlsafe(12), origin_server)
        relay.pt = sec.payload_type or sdp.RELAY_PT
        relay.level_id = sec.audio_level_id
        tp = PeerTransport(self.certificate, self.ice, controlling=False,
                           on_rtp=functools.partial(room.relay_rtp, relay),
                           on_rtcp=functools.partial(room.relay_rtcp, relay),
                           on_state=functools.partial(self._relay_state, room, relay))
        relay.tp = tp
        await gather_or_release(tp)
        answer = sdp.write_answer(offer_sdp, plan, tp.local(local_role[0], random.getrandbits(62)),
                                  {}, "sfu-" + (self.server_name or "host"), "relay")
        room.relays[relay.id] = relay
        tp.start(plan.transport, local_role[1])
        self._ensure_ticker()
        if not room.local:
            self.uplinks.ensure(room)
        return relay.id, answer

    def _relay_state(self, room: Room, relay: RelayPeer, state: str) -> None:
        if state == "connected":
            relay.connected = True
            relay.last_heard = self.clock()
            room.rebuild()
            relay.send_map(self.clock())
            relay.send_layout(room.top, room.spare)
        elif not relay.closed:
            asyncio.ensure_future(self.close_relay(room.id, relay.id))

    async def close_relay(self, room_id: str, relay_id: str) -> None:
        room = self.rooms.get(room_id)
        relay = room.relays.pop(relay_id, None) if room else None
        if room is None or relay is None:
            return
        relay.closed = True
        relay.connected = False
        for src in relay.sources.values():
            if room.sources.get(src.user_id) is src:
                del room.sources[src.user_id]
                room.allocator.remove(src.user_id)
        room.evaluate(self.clock(), force=True)
        if relay.tp is not None:
            await relay.tp.close()
        await self._maybe_drop(room)

    # cascade: remote side (uplinks.py) -----------------------------------------------------

    async def start_relay_offer(self, room_id: str) -> str:
        """Remote side: a fresh relay offer for ``room_id``, to POST to the host."""
        return await self.uplinks.start_offer(room_id)

    async def finish_relay(self, room_id: str, answer_sdp: str) -> None:
        """Remote side: apply the host's answer; the relay connects in the background."""
        await self.uplinks.finish(room_id, answer_sdp)
