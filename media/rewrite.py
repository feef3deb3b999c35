"""Per-slot RTP header rewriting: many sources, one continuous stream.

An audio slot is one outgoing RTP stream with a fixed SSRC. Its source (the speaker on the
slot) changes over time; each source has its own SSRC, sequence numbers and timestamps. The
rewriter maps every source onto the slot's own numbering: when the source changes, the next
output sequence number is the previous one + 1 and the output timestamp advances by the wall
time elapsed since the last packet (at least one frame), so the receiver sees one stream with
neither a sequence gap nor a timestamp jump backwards, and its jitter buffer does not reset.

Two ways to drive it:

* ``rewrite(source, seq, ts, now)`` per packet (switches are detected and rebased lazily);
* ``attach(source, last_seq, last_ts, last_time)`` / ``detach(...)`` when the slot's source
  changes, given the source's last packet; between the two the mapping is a constant offset
  (``seq_off``, ``ts_off``), so the SFU's forwarding loop only adds two numbers per packet.

Pure: the caller passes times (seconds, any monotonic origin).
"""
from __future__ import annotations

SEQ_MASK = 0xFFFF
TS_MASK = 0xFFFFFFFF


class SlotRewriter:
    __slots__ = ("ssrc", "clock_rate", "frame_samples", "source", "seq_off", "ts_off",
                 "last_seq", "last_ts", "last_time", "packets", "octets")

    def __init__(self, ssrc: int, first_seq: int, first_ts: int, clock_rate: int = 48000,
                 frame_samples: int = 960):
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.frame_samples = frame_samples
        self.source: object = None
        self.seq_off = 0
        self.ts_off = 0
        # the "previous" packet, so that the first packet goes out as first_seq / first_ts
        self.last_seq = (first_seq - 1) & SEQ_MASK
        self.last_ts = (first_ts - frame_samples) & TS_MASK
        self.last_time: float | None = None
        self.packets = 0  # counters for RTCP sender reports (per-packet API)
        self.octets = 0

    def _gap(self, at: float) -> int:
        """Timestamp advance for a packet sent at ``at`` after the stream's last one."""
        if self.last_time is None:
            return self.frame_samples
        return max(self.frame_samples, round((at - self.last_time) * self.clock_rate))

    # per-packet API ----------------------------------------------------------------------

    def rebase(self, source: object, seq: int, ts: int, now: float) -> None:
        """Make ``(seq, ts)`` of ``source`` the packet that follows the last one sent."""
        gap = self._gap(now)
        self.seq_off = (self.last_seq + 1 - seq) & SEQ_MASK
        self.ts_off = (self.last_ts + gap - ts) & TS_MASK
        self.source = source

    def rewrite(self, source: object, seq: int, ts: int, now: float,
                size: int = 0) -> tuple[int, int, bool]:
        """(output seq, output timestamp, whether the source just changed) for one packet."""
        switched = source is not self.source
        if switched:
            self.rebase(source, seq, ts, now)
        out_seq = (seq + self.seq_off) & SEQ_MASK
        out_ts = (ts + self.ts_off) & TS_MASK
        if switched or ((out_seq - self.last_seq) & SEQ_MASK) < 0x8000:
            # in order (a late, reordered packet keeps its place but does not move us back)
            self.last_seq = out_seq
            self.last_ts = out_ts
            self.last_time = now
        self.packets += 1
        self.octets += size
        return out_seq, out_ts, switched

    # attach/detach API -------------------------------------------------------------------

    def attach(self, source: object, last_seq: int, last_ts: int, last_time: float,
               frame_time: float = 0.02) -> None:
        """``source`` takes the slot. Its last packet (before now) was ``(last_seq,
        last_ts)`` at ``last_time``; its next one, ``last_seq + 1`` about ``frame_time`` later,
        will continue this stream: output seq = previous + 1, timestamp advanced by the wall
        time since the previous output packet."""
        gap = self._gap(last_time + frame_time)
        self.seq_off = (self.last_seq - last_seq) & SEQ_MASK
        self.ts_off = (self.last_ts + gap - (last_ts + self.frame_samples)) & TS_MASK
        self.source = source

    def detach(self, last_seq: int, last_ts: int, last_time: float) -> None:
        """The source leaves the slot; ``(last_seq, last_ts, last_time)`` is its last packet,
        which (mapped) is the stream's last packet unless nothing was forwarded since attach."""
        if self.source is None:
            return
        out_seq = (last_seq + self.seq_off) & SEQ_MASK
        if 0 < ((out_seq - self.last_seq) & SEQ_MASK) < 0x8000:  # something went out
            self.last_seq = out_seq
            self.last_ts = (last_ts + self.ts_off) & TS_MASK
            if self.last_time is None or last_time > self.last_time:
                self.last_time = last_time
        self.source = None

    def current(self, last_seq: int, last_ts: int, last_time: float) -> tuple[int, int, float]:
        """While attached: the stream's last output (seq, ts, time), given the source's last."""
        return ((last_seq + self.seq_off) & SEQ_MASK, (last_ts + self.ts_off) & TS_MASK,
                last_time)

    def rtp_timestamp_at(self, now: float) -> int:
        """The slot's RTP timestamp for wall time ``now`` (per-packet API; detached)."""
        if self.last_time is None:
            return self.last_ts
        return (self.last_ts + round((now - self.last_time) * self.clock_rate)) & TS_MASK
