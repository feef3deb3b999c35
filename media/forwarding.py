"""The forwarding core: incoming streams, outgoing streams, and the per-packet loop.

A ``Source`` is one incoming Opus RTP stream (a local mic, or a speaker carried by a relay).
An ``OutStream`` is one outgoing stream (a listener's audio slot, or a relay's per-speaker
stream) with its own SSRC and numbering (``rewrite.SlotRewriter``); it is attached to at most
one source at a time. ``forward`` sends one packet of a source to all its subscribers: the
header is rewritten into each connection's libsrtp buffer, protected in place and sent from
there. Nothing is decoded, nothing is queued, no task is switched per packet.
"""
from __future__ import annotations

import random
import struct

from .feedback import LossFeedback
from .red import with_block_pt
from .rewrite import SlotRewriter
from .transport import PeerTransport, _srtp

_srtp_protect = _srtp.lib.srtp_protect
_HDR = struct.Struct("!BBHII")
_HDR_LEVEL = struct.Struct("!BBHIIHHBBH")  # + one-byte extension block with one audio level


def new_ssrc() -> int:
    return random.getrandbits(32) or 1


def _rewriter() -> SlotRewriter:
    return SlotRewriter(new_ssrc(), random.randrange(0x8000), random.getrandbits(32))


class Counters:
    """RTP packets, SFU-wide: received from mics and relays, refused by the stage gate, and
    sent to subscribers; their bytes (forwarded ones counted at their incoming size). Plain
    integers bumped on the forwarding path, read by the metrics when scraped."""
    __slots__ = ("received", "dropped", "forwarded", "received_bytes", "forwarded_bytes",
                 "red_received", "red_malformed", "red_forwarded")

    def __init__(self) -> None:
        self.received = 0
        self.dropped = 0
        self.red_received = 0  # RFC 2198 RED packets from mics (forwarded as RED or primary)
        self.red_malformed = 0  # RED packets that did not parse: dropped
        self.red_forwarded = 0  # sent as RED to listeners that negotiated it
        self.forwarded = 0
        self.received_bytes = 0
        self.forwarded_bytes = 0


# the SFU's event-loop lag: how late its timer fires (seconds), as histogram bucket bounds
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class LoopLag:
    """How late the SFU's timer wakes up, i.e. how long the event loop that forwards packets
    was busy: a packet arriving then waited as long. Kept as cumulative histogram buckets
    (``LAG_BUCKETS`` and +Inf), observed a few times a second, never per packet."""
    __slots__ = ("buckets", "count", "total", "last")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LAG_BUCKETS) + 1)
        self.count = 0
        self.total = 0.0
        self.last = 0.0

    def observe(self, lag: float) -> None:
        lag = max(0.0, lag)
        self.last = lag
        self.count += 1
        self.total += lag
        for i, bound in enumerate(LAG_BUCKETS):
            if lag <= bound:
                self.buckets[i] += 1
                return
        self.buckets[-1] += 1

    def state(self) -> dict:
        """JSON-able (SFU workers send it over RPC): non-cumulative bucket counts."""
        return {"buckets": list(self.buckets), "count": self.count, "sum": self.total,
                "last": self.last}


class Source:
    """One incoming audio stream: a local mic, or a speaker carried by a relay."""
    __slots__ = ("user_id", "origin", "allowed", "subs", "fast", "ssrc", "level_byte",
                 "last_seq", "last_ts", "last_time", "packets", "octets", "received",
                 "base_seq", "cycles", "expected_prior", "received_prior", "lsr", "lsr_time",
                 "feedback", "red_pt", "opus_pt", "fast_plain", "fast_red", "red_sent")

    def __init__(self, user_id: str, origin: str | None, allowed: bool, data: bytes, now: float,
                 red_pt: int = -1, opus_pt: int = 111):
        self.user_id = user_id
        self.origin = origin  # None: a mic on this server; else the server it came from
        self.allowed = allowed
        # RED (RFC 2198): the payload type the mic sends RED with (-1: not negotiated) and
        # the one of its Opus, which RED's blocks carry
        self.red_pt = red_pt
        self.opus_pt = opus_pt
        self.subs: list[OutStream] = []
        self.fast: list[tuple] = []  # the forwarding loop's view of subs (Opus PTs)
        # for RED packets, when some subscribers negotiated RED: the others' entries, and the
        # RED ones grouped by the Opus PT their blocks must carry (entries with their RED PT)
        self.fast_plain: list[tuple] = []
        self.fast_red: list[tuple[int, list[tuple]]] = []
        self.red_sent = 0  # packets sent as RED, until the caller takes the count
        self.level_byte = 127
        self.packets = 0  # forwarded to each subscriber (per-subscriber counts derive from it)
        self.octets = 0
        self.received = 0
        self.lsr = 0
        self.lsr_time: float | None = None
        self.feedback = LossFeedback()  # its listeners' reports (feedback.py)
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

    def lost(self) -> int:
        """Packets missing from the stream so far (by sequence number)."""
        if not self.received:
            return 0
        return max(0, self.cycles + self.last_seq - self.base_seq + 1 - self.received)


class OutStream:
    """One outgoing stream: a listener's slot or a relay's per-speaker stream."""
    __slots__ = ("rw", "tp", "pt", "red_pt", "al_byte", "src", "user", "packets", "octets",
                 "base_packets", "base_octets", "switches")

    def __init__(self, tp: PeerTransport, pt: int, audio_level_id: int | None,
                 red_pt: int | None = None):
        self.rw = _rewriter()
        self.tp = tp
        self.pt = pt
        self.red_pt = red_pt  # the listener negotiated RED with this PT (None: Opus only)
        self.al_byte = (audio_level_id << 4) if audio_level_id else 0
        self.src: Source | None = None
        self.user: str | None = None
        self.packets = 0  # sent while attached to earlier sources
        self.octets = 0
        self.base_packets = 0  # the current source's counters when it was attached
        self.base_octets = 0
        self.switches = 0  # source changes so far (a listener's report spanning one is mixed)

    def attach(self, src: Source | None) -> None:
        old = self.src
        if old is src:
            return
        if old is not None:
            self.rw.detach(old.last_seq, old.last_ts, old.last_time)
            self.packets += old.packets - self.base_packets
            self.octets += old.octets - self.base_octets
        self.src = src
        self.switches += 1
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


def subscribe(src: Source, subs: list[OutStream]) -> None:
    """Make ``subs`` the source's subscribers (the hot path picks them up at its next packet)."""
    src.subs = subs
    fast = []
    plain = []
    red: dict[int, list[tuple]] = {}
    for out in subs:
        e = out.fast_entry()
        if e is None:
            continue
        fast.append(e)
        if out.red_pt is None:
            plain.append(e)
        else:  # the same entry with the RED payload type
            red.setdefault(out.pt, []).append(e[:3] + (out.red_pt,) + e[4:])
    src.fast = fast
    src.fast_plain = plain
    src.fast_red = list(red.items())


def forward(src: Source, data: bytes, seq: int, red: bytes | None = None) -> int:
    """One pass over the source's subscribers: header rewritten into each connection's
    libsrtp buffer, protected in place, sent from there. Returns how many were sent.
    ``data`` is a plain Opus packet; ``red``, when the mic sent RED, the RED payload (then
    ``data`` carries its primary): subscribers that negotiated RED get it instead."""
    fast = src.fast
    if not fast:
        return 0
    b0 = data[0]
    pos = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if len(data) < pos + 4:
            return 0
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    end = len(data) - data[-1] if b0 & 0x20 else len(data)
    if pos > end or end - pos > 1200:
        return 0
    size = end - pos
    ts = int.from_bytes(data[4:8], "big")
    marker = data[1] & 0x80
    src.packets += 1
    src.octets += size
    if red is None or not src.fast_red:
        return _fanout(fast, data[pos:end], size, seq, ts, marker, src.level_byte)
    # RED from the mic and some subscribers negotiated it: each variant built once
    sent = _fanout(src.fast_plain, data[pos:end], size, seq, ts, marker, src.level_byte)
    if len(red) > 1200:
        # too big for the buffers (only a hostile mic): they get the primary, as Opus
        for opus_pt, entries in src.fast_red:
            sent += _fanout([e[:3] + (opus_pt,) + e[4:] for e in entries], data[pos:end],
                            size, seq, ts, marker, src.level_byte)
        return sent
    n_red = 0
    for block_pt, entries in src.fast_red:
        payload = red if block_pt == src.opus_pt else with_block_pt(red, block_pt)
        n_red += _fanout(entries, payload, len(payload), seq, ts, marker, src.level_byte)
    src.red_sent += n_red
    return sent + n_red


def _fanout(fast: list[tuple], payload: bytes, size: int, seq: int, ts: int, marker: int,
            level: int) -> int:
    """The per-subscriber loop: one ``pack_into``, one payload copy, one ``srtp_protect``
    and one ``send`` each."""
    n_level = 20 + size
    n_plain = 12 + size
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
    return sent


def assign(top: list[str | None], spare: str | None, listener: str | None,
           n: int) -> list[str | None]:
    """The speakers on a listener's ``n`` slots: the layout, with the spare in place of the
    listener themself (nobody hears their own voice)."""
    return [spare if u is not None and u == listener else u for u in top[:n]]
