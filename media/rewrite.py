"""Per-slot RTP header rewriting: many sources, one continuous stream.

An audio slot is one outgoing RTP stream with a fixed SSRC. Its source (the speaker on the
slot) changes over time; each source has its own SSRC, sequence numbers and timestamps. The
rewriter maps every source onto the slot's own numbering: when the source changes, the next
output sequence number is the previous one + 1 and the output timestamp advances by the wall
time elapsed since the last packet (at least one frame), so the receiver sees one stream with
neither a sequence gap nor a timestamp jump backwards, and its jitter buffer does not reset.

Pure: the caller passes ``now`` (seconds, any monotonic origin).
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
        self.packets = 0  # counters for RTCP sender reports
        self.octets = 0

    def rebase(self, source: object, seq: int, ts: int, now: float) -> None:
        """Make ``(seq, ts)`` of ``source`` the packet that follows the last one sent."""
        if self.last_time is None:
            gap = self.frame_samples
        else:
            gap = max(self.frame_samples, round((now - self.last_time) * self.clock_rate))
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

    def detach(self) -> None:
        """The source left the slot: its next packet, if it comes back, is rebased."""
        self.source = None

    def rtp_timestamp_at(self, now: float) -> int:
        """The slot's RTP timestamp for wall time ``now`` (for RTCP sender reports)."""
        if self.last_time is None:
            return self.last_ts
        return (self.last_ts + round((now - self.last_time) * self.clock_rate)) & TS_MASK
