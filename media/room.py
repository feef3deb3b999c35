"""One room's audio in the SFU: who may be heard, who is on which slot, who receives what.

The room owns its incoming streams (``sources``: one per user, a local mic or a relayed
speaker), the stage gate (``may_send``), the slot layout (``top`` positions and the ``spare``:
decided here by the ``SlotAllocator`` when we host the room, else the host's, from its
LAYOUT messages) and its connections: participants' sessions, relay peers from servers below
us and our uplink to the host. Every packet from any of them enters through ``ingress``:
gate (may this user be heard now?) -> level (RFC 6464) -> ``forwarding.forward`` to the
source's subscribers. ``rebuild`` recomputes who subscribes to what (rare: on layout, stage or
membership changes).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from . import arsl, feedback, rtp
from .cascade import RelayPeer, Uplink
from .forwarding import Counters, OutStream, Source, assign, forward, subscribe
from .recorder import Recorder
from .red import split as split_red
from .session import Session
from .slots import SlotAllocator
from .transport import PeerTransport

log = logging.getLogger(__name__)

EVAL_INTERVAL = 0.02  # the allocator looks at the levels at most this often
StagePolicy = Callable[[str, str], bool]  # (room_id, user_id) -> may send audio


class Room:
    def __init__(self, room_id: str, host: str | None, local: bool, slots: int,
                 clock: Callable[[], float], counters: Counters,
                 stage_policy: StagePolicy | None = None):
        self.id = room_id
        self.local = local  # hosted here
        self.host = host  # who hosts it (the server in the room ID, or a cluster's worker)
        self.clock = clock
        self.counters = counters
        self.stage_policy = stage_policy
        self.sessions: dict[str, Session] = {}
        self.sources: dict[str, Source] = {}  # user -> the stream we forward for them
        self.may_send: dict[str, bool] = {}
        self.allocator = SlotAllocator(slots=slots)
        self.top: list[str | None] = [None] * slots  # the layout (remote rooms: the host's)
        self.spare: str | None = None
        self.last_eval = 0.0
        self.relays: dict[str, RelayPeer] = {}  # relays from servers (or workers) below us
        self.uplink: Uplink | None = None  # our relay to the host, when we do not host it
        self.recorder: Recorder | None = None  # while the room is recorded (we host it)

    def empty(self) -> bool:
        return not self.sessions and not self.relays

    # the stage gate ------------------------------------------------------------------------

    def allowed(self, user_id: str) -> bool:
        v = self.may_send.get(user_id)
        if v is None and self.stage_policy is not None:
            try:
                v = bool(self.stage_policy(self.id, user_id))
            except Exception:
                log.exception("stage policy failed")
                v = False
            self.may_send[user_id] = v
            self.allocator.set_eligible(user_id, v)
        return bool(v)

    def set_may_send(self, user_id: str, may_send: bool) -> None:
        """From the next packet on, ``user_id``'s audio is (not) forwarded."""
        self.may_send[user_id] = may_send
        self.allocator.set_eligible(user_id, may_send)
        src = self.sources.get(user_id)
        # the host's streams are gated by the host; everything else is gated here
        if src is not None and (self.local or src.origin != self.host):
            src.allowed = may_send
        self.evaluate(self.clock(), force=True)

    def speakers(self) -> dict:
        alloc = self.allocator
        now = self.clock()
        slots = []
        for i, u in enumerate(self.top):
            level = alloc.level(u) if u else None
            entry: dict = {"slot": i, "user_id": u,
                           "level": None if level is None else round(level)}
            src = self.sources.get(u) if u else None
            agg = src.feedback.aggregate(now) if src is not None else None
            if agg is not None:  # what this speaker is told: its worst recent listener
                entry["listener_loss"] = round(agg[0] / 256, 3)
                entry["listener_jitter_ms"] = round(agg[1] * 1000 / feedback.CLOCK_RATE, 1)
            slots.append(entry)
        return {"slots": slots, "spare": self.spare,
                "talking": alloc.talking(now, require_eligible=self.local),
                "reception": self.reception(now)}

    def reception(self, now: float) -> dict:
        """Listeners' recent receiver reports on this server, summarised (no user IDs)."""
        reps = [r for r in (s.reception_now(now) for s in self.sessions.values())
                if r is not None]
        if not reps:
            return {"listeners": 0}
        losses = sorted(f / 256 for f, _j in reps)
        return {"listeners": len(reps), "loss_max": round(losses[-1], 3),
                "loss_median": round(losses[len(losses) // 2], 3),
                "jitter_ms_max": round(max(j for _f, j in reps) * 1000 / feedback.CLOCK_RATE,
                                       1)}

    def lost(self) -> int:
        return sum(src.lost() for src in self.sources.values())

    # packets in ----------------------------------------------------------------------------

    def mic_rtp(self, sess: Session, data: bytes) -> None:
        """A participant's mic (the transport's RTP callback for a session)."""
        if not sess.has_mic or sess.closed or len(data) < 12:
            return
        src = sess.source
        if src is None:
            src = sess.source = Source(sess.user_id, None, self.allowed(sess.user_id),
                                       data, self.clock(), sess.mic_red_pt, sess.mic_opus_pt)
            self.sources[sess.user_id] = src
            self.rebuild()
        elif self.sources.get(sess.user_id) is not src:
            self.sources[sess.user_id] = src  # the user's latest mic wins
            self.rebuild()
        self.ingress(src, data, sess.mic_level_id)

    def relay_rtp(self, relay: RelayPeer, data: bytes) -> None:
        """A speaker's stream from a relay peer (host side)."""
        if relay.closed or len(data) < 12:
            return
        relay.last_heard = self.clock()
        ssrc = int.from_bytes(data[8:12], "big")
        src = relay.sources.get(ssrc)
        if src is None:
            user = relay.ssrc_users.get(ssrc)
            if user is None:
                return  # not mapped yet
            src = relay.sources[ssrc] = Source(user, relay.origin, self.allowed(user),
                                               data, self.clock())
            self.sources[user] = src
            self.rebuild()
        self.ingress(src, data, relay.level_id)

    def relay_rtcp(self, relay: RelayPeer, data: bytes) -> None:
        relay.last_heard = self.clock()
        for msg in arsl.decode(data):
            if isinstance(msg, arsl.StreamMap):
                for src in relay.apply_map(msg):
                    self._forget(src)
                    self.rebuild()

    def uplink_rtp(self, up: Uplink, tp: PeerTransport, data: bytes) -> None:
        """A stream from the host, through our uplink (remote side)."""
        if self.uplink is not up or tp is not up.tp or len(data) < 12:
            return
        up.last_heard = self.clock()
        ssrc = int.from_bytes(data[8:12], "big")
        src = up.sources.get(ssrc)
        if src is None:
            user = up.ssrc_users.get(ssrc)
            if user is None:
                return
            local = self.sources.get(user)
            if local is not None and local.origin is None:
                return  # we have this speaker's own mic
            src = up.sources[ssrc] = Source(user, self.host or "host", True, data, self.clock())
            self.sources[user] = src
            self.rebuild()
        self.ingress(src, data, up.level_id)

    def uplink_rtcp(self, up: Uplink, tp: PeerTransport, data: bytes) -> None:
        if self.uplink is not up or tp is not up.tp:
            return
        up.last_heard = self.clock()
        changed = False
        messages = arsl.decode(data)
        for msg in messages:
            if isinstance(msg, arsl.StreamMap):
                for src in up.apply_map(msg):
                    self._forget(src)
                    changed = True
        for msg in messages:
            if isinstance(msg, arsl.Layout):
                if list(msg.top) != self.top or msg.spare != self.spare:
                    self.top = list(msg.top)
                    self.spare = msg.spare
                    changed = True
        if changed:
            self.rebuild()
            self.send_layout()  # a hub passes the host's layout down

    def _forget(self, src: Source) -> None:
        if self.sources.get(src.user_id) is src:
            del self.sources[src.user_id]

    def drop_uplink_sources(self, up: Uplink) -> None:
        for src in up.sources.values():
            self._forget(src)
        up.sources = {}

    def ingress(self, src: Source, data: bytes, level_id: int | None) -> None:
        counters = self.counters
        counters.received += 1
        size = len(data)
        counters.received_bytes += size
        now = self.clock()
        if not src.allowed:
            # dropped, but followed: if the stage lets them speak again, they continue their
            # slots' streams without a sequence gap
            counters.dropped += 1
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
            subscribe(src, subs)
        red = None
        if (data[1] & 0x7F) == src.red_pt:  # RFC 2198 RED from a mic: the primary for all
            counters.red_received += 1  # but RED listeners (and for the recorder, relays)
            parts = split_red(data, src.opus_pt)
            if parts is None:
                counters.red_malformed += 1
                return
            data, red = parts
        rec = self.recorder
        if rec is not None:  # one append to a buffer: the stage's audio, as it arrived
            rec.packet(src.user_id, data, now)
        seq = (data[2] << 8) | data[3]
        src.received += 1
        level = rtp.read_audio_level(data, level_id) if level_id else None
        if level is not None:
            src.level_byte = level
        self.allocator.observe(src.user_id, level, now)
        if self.local and now - self.last_eval >= EVAL_INTERVAL:
            self.evaluate(now)
        d = (seq - src.last_seq) & 0xFFFF
        if d >= 0x8000:  # late (reordered): forward it, but it does not move the source on
            sent = forward(src, data, seq, red)
            counters.forwarded += sent
            counters.forwarded_bytes += sent * size
            if red is not None:
                counters.red_forwarded += src.red_sent
                src.red_sent = 0
            return
        if seq < src.last_seq:
            src.cycles += 0x10000
        sent = forward(src, data, seq, red)
        counters.forwarded += sent
        counters.forwarded_bytes += sent * size
        if red is not None:
            counters.red_forwarded += src.red_sent
            src.red_sent = 0
        src.last_seq = seq
        src.last_ts = int.from_bytes(data[4:8], "big")
        src.last_time = now

    # slot layout ---------------------------------------------------------------------------

    def send_layout(self) -> None:
        for relay in self.relays.values():
            relay.send_layout(self.top, self.spare)

    def evaluate(self, now: float, force: bool = False) -> None:
        """Host rooms: let the allocator decide; on change, resubscribe and tell relays."""
        self.last_eval = now
        if not self.local:
            self.rebuild()
            return
        changed = self.allocator.update(now)
        if changed or force:
            self.top = list(self.allocator.top)
            self.spare = self.allocator.spare
            self.rebuild()
            if changed:
                self.send_layout()

    def rebuild(self) -> None:
        """Recompute every source's subscriber list from the layout (rare: on layout, stage or
        membership changes). The hot path picks up the new lists at its next packet."""
        subs: dict[int, list[OutStream]] = {id(s): [] for s in self.sources.values()}
        for sess in self.sessions.values():
            if not sess.connected:
                continue
            wanted = assign(self.top, self.spare, sess.user_id, len(sess.slots))
            for out, user in zip(sess.slots, wanted, strict=False):
                self._attach(out, user, subs)
        for relay in self.relays.values():
            if not relay.connected or relay.tp is None:
                continue
            users = [u for u in self.top + [self.spare] if u is not None]
            for u in users:
                src = self.sources.get(u)
                if src is None or src.origin == relay.origin:
                    stream = relay.outs.get(u)
                    if stream is not None:
                        stream.attach(None)
                    continue
                stream = relay.outs.get(u)
                if stream is None:
                    stream = relay.outs[u] = OutStream(relay.tp, relay.pt, relay.level_id)
                    relay.send_map(self.clock())
                self._attach(stream, u, subs)
            for u in [u for u in relay.outs if u not in users]:
                relay.outs[u].attach(None)
                if self.sources.get(u) is None:
                    del relay.outs[u]  # gone: forget its stream (the next MAP drops it)
        up = self.uplink
        if up is not None and up.connected and up.tp is not None:
            # up to the host: our mics and those of the relays below us
            for u, src in self.sources.items():
                if src.origin == self.host or not src.allowed:
                    continue
                stream = up.outs.get(u)
                if stream is None:
                    stream = up.outs[u] = OutStream(up.tp, up.pt, up.level_id)
                    up.send_map(self.clock())
                self._attach(stream, u, subs)
        for src in self.sources.values():
            subscribe(src, subs.get(id(src), []))

    def _attach(self, out: OutStream, user: str | None,
                subs: dict[int, list[OutStream]]) -> None:
        src = self.sources.get(user) if user is not None else None
        out.attach(src)
        out.user = user
        if src is not None:
            subs[id(src)].append(out)
