"""Listeners' loss, fed back to the speaker they hear (issue 15, "Loss").

The SFU terminates RTCP: without this, a speaker's browser only ever sees the SFU's own receiver
report for its mic (the loss between the speaker and the SFU), so its Opus encoder never learns
that its listeners lose packets and never turns in-band FEC (LBRR) on. Here:

* ``report_blocks`` picks the report blocks out of a listener's RTCP (RR and SR packets);
  each block is about one of the listener's slots (its SSRC is the slot's);
* the session maps a slot back to the speaker on it *now* (``OutStream.src``) and gives the
  block to that speaker's ``LossFeedback`` unless the slot changed speaker since the listener's
  previous report for it (then the block's interval mixes two speakers: it is not counted);
* ``LossFeedback.aggregate`` is the worst fraction lost (and worst jitter) among the listeners
  that reported within ``WINDOW`` seconds, as LiveKit does for audio: FEC costs a few kbit/s,
  a listener without it loses words;
* the speaker's session puts ``max(its own upstream fraction, that aggregate)`` in the report
  block it sends for the mic (``Session.send_reports``).

``LossStats`` keeps SFU-wide histograms of the fraction lost and jitter listeners report (for
the metrics). Everything here runs per RTCP packet (every few seconds per listener), never per
RTP packet; pure, the caller passes the clock.
"""
from __future__ import annotations

from . import rtp

WINDOW = 10.0  # seconds a listener's report counts towards its speaker's aggregate
MAX_LISTENERS = 4096  # reports kept per speaker (oldest dropped beyond)
CLOCK_RATE = 48000  # Opus RTP clock: jitter in report blocks is in these units
# histogram bucket bounds: fraction lost (0..1) and interarrival jitter (seconds)
LOSS_BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
JITTER_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def report_blocks(data: bytes) -> list[rtp.ReportBlock]:
    """The report blocks of an RTCP (compound) packet's RR and SR packets; [] if malformed."""
    try:
        packets = rtp.parse_rtcp(data)
    except ValueError:
        return []
    out: list[rtp.ReportBlock] = []
    for p in packets:
        if isinstance(p, (rtp.RtcpReceiverReport, rtp.RtcpSenderReport)):
            out.extend(p.reports)
    return out


class LossFeedback:
    """One speaker's listeners' recent reports: listener key -> (time, fraction/256, jitter)."""
    __slots__ = ("reports",)

    def __init__(self) -> None:
        self.reports: dict[str, tuple[float, int, int]] = {}

    def observe(self, listener: str, fraction: int, jitter: int, now: float) -> None:
        reports = self.reports
        reports.pop(listener, None)  # re-inserted last: the dict stays in report order
        if len(reports) >= MAX_LISTENERS:
            del reports[next(iter(reports))]
        reports[listener] = (now, max(0, min(255, fraction)), max(0, jitter))

    def forget(self, listener: str) -> None:
        self.reports.pop(listener, None)

    def aggregate(self, now: float, window: float = WINDOW) -> tuple[int, int] | None:
        """(worst fraction lost /256, worst jitter) of the reports within ``window``; None
        when no listener reported. Older reports are dropped."""
        reports = self.reports
        for key in [k for k, (t, _f, _j) in reports.items() if now - t > window]:
            del reports[key]
        if not reports:
            return None
        return (max(f for _t, f, _j in reports.values()),
                max(j for _t, _f, j in reports.values()))


def speaker_block(upstream: rtp.ReportBlock, feedback: tuple[int, int] | None) -> rtp.ReportBlock:
    """The report block the SFU sends a speaker for its mic: its own upstream measurement,
    with the fraction lost and jitter raised to the listeners' worst (``feedback``)."""
    if feedback is None:
        return upstream
    fraction, jitter = feedback
    return rtp.ReportBlock(upstream.ssrc, max(upstream.fraction_lost, fraction),
                           upstream.packets_lost, upstream.highest_sequence,
                           max(upstream.jitter, jitter), upstream.lsr, upstream.dlsr)


class _Histogram:
    __slots__ = ("bounds", "buckets", "count", "total")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.buckets[i] += 1
                return
        self.buckets[-1] += 1

    def state(self) -> dict:
        return {"buckets": list(self.buckets), "count": self.count, "sum": self.total}


class LossStats:
    """SFU-wide: every listener report block (one per slot per RTCP report) observed into a
    histogram of fraction lost and one of jitter. Bounded: no label per session."""
    __slots__ = ("loss", "jitter")

    def __init__(self) -> None:
        self.loss = _Histogram(LOSS_BUCKETS)
        self.jitter = _Histogram(JITTER_BUCKETS)

    def observe(self, fraction: int, jitter: int) -> None:
        self.loss.observe(fraction / 256)
        self.jitter.observe(jitter / CLOCK_RATE)

    def state(self) -> dict:
        return {"loss": self.loss.state(), "jitter": self.jitter.state()}


def merge_states(states: list[dict]) -> dict:
    """``LossStats.state`` of several SFU workers as one."""
    out = LossStats().state()
    for s in states:
        for key in ("loss", "jitter"):
            h, o = s.get(key), out[key]
            if not isinstance(h, dict) or len(h.get("buckets", ())) != len(o["buckets"]):
                continue
            o["buckets"] = [a + b for a, b in zip(o["buckets"], h["buckets"], strict=True)]
            o["count"] += h["count"]
            o["sum"] += h["sum"]
    return out
