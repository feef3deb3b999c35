"""A participant's session: one peer connection to the SFU for one room.

A listener's offer gives the session its audio slots (K outgoing streams, filled by the room's
layout); a speaker's offer also carries a mic, which becomes a ``Source`` when its first packet
arrives. The session writes its own RTCP: sender reports for its slots, with a report block
for its mic (loss, jitter and the last sender report it received), as libwebrtc does for audio.
"""
from __future__ import annotations

import secrets

from . import rtp, sdp
from .forwarding import OutStream, Source, new_ssrc
from .transport import PeerTransport


class Session:
    def __init__(self, sid: str, user_id: str, plan: sdp.OfferPlan):
        self.id = sid
        self.user_id = user_id
        self.plan = plan
        self.tp: PeerTransport | None = None  # set by the SFU, which binds its callbacks
        self.slots: list[OutStream] = []  # once the transport has its candidates
        mic = plan.mic
        self.mic_level_id = mic.audio_level_id if mic else None
        self.has_mic = mic is not None
        self.source: Source | None = None
        self.connected = False
        self.closed = False
        self.cname = "sfu-" + secrets.token_hex(4)
        self.rtcp_ssrc = new_ssrc()
        self.next_rtcp = 0.0
        self.opened_at = 0.0
        self.connected_at: float | None = None

    def open_slots(self, tp: PeerTransport) -> None:
        # (plan_offer gives every section it accepts a payload type)
        self.slots = [OutStream(tp, p.payload_type or 0, p.audio_level_id)
                      for p in self.plan.slots]

    def describe(self) -> dict:
        return {"session_id": self.id, "user_id": self.user_id, "connected": self.connected,
                "slots": len(self.slots), "mic": self.has_mic}

    def on_rtcp(self, data: bytes, now: float) -> None:
        """RTCP from the client: its sender reports time our report blocks (LSR/DLSR)."""
        try:
            packets = rtp.parse_rtcp(data)
        except ValueError:
            return
        src = self.source
        for p in packets:
            if isinstance(p, rtp.RtcpSenderReport) and src is not None:
                src.lsr = rtp.ntp_middle(p.ntp_timestamp)
                src.lsr_time = now

    def send_reports(self, now: float, wall: float) -> None:
        if self.tp is None:
            return
        packets: list = []
        ntp = rtp.ntp_from_unix(wall)
        blocks = []
        src = self.source
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
        for out in self.slots:
            sent, octets = out.counters()
            if sent:
                packets.append(rtp.RtcpSenderReport(out.rw.ssrc, ntp, out.rtp_timestamp_at(now),
                                                    sent, octets, blocks))
                blocks = []
        if not packets:
            packets.append(rtp.RtcpReceiverReport(self.rtcp_ssrc, blocks))
        first = packets[0].ssrc
        packets.append(rtp.RtcpSdes([(first, [(rtp.SDES_CNAME, self.cname.encode())])]))
        self.tp.send_rtcp(rtp.serialize_rtcp(packets))
