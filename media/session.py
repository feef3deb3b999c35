"""A participant's session: one peer connection to the SFU for one room.

A listener's offer gives the session its audio slots (K outgoing streams, filled by the room's
layout); a speaker's offer also carries a mic, which becomes a ``Source`` when its first packet
arrives. The session writes its own RTCP: sender reports for its slots, with a report block
for its mic (loss, jitter and the last sender report it received), as libwebrtc does for audio.
It reads the client's RTCP: the report blocks about its slots are this listener's reception,
given to the speaker on each slot (``feedback.py``) so that the speaker's report block says how
its worst recent listener fares, and its encoder protects the stream (Opus in-band FEC).
"""
from __future__ import annotations

import secrets

from . import feedback, rtp, sdp
from .errors import MediaError, SdpError
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
        # RED (RFC 2198) on the mic: its payload type (-1: not negotiated) and Opus's
        red = mic.red_payload_type if mic else None
        self.mic_red_pt = -1 if red is None else red
        self.mic_opus_pt = mic.payload_type or 0 if mic else 0
        self.source: Source | None = None
        self.connected = False
        self.closed = False
        self.cname = "sfu-" + secrets.token_hex(4)
        self.rtcp_ssrc = new_ssrc()
        self.next_rtcp = 0.0
        self.opened_at = 0.0
        self.connected_at: float | None = None
        self.sdp_id = 1  # the answers' o= session id and version
        self.sdp_version = 1
        self.loss_feedback = True  # False: the speaker's report block is its upstream only
        self.slot_switches: dict[int, int] = {}  # slot SSRC -> its switches at the last report
        # this listener's latest reception: (time, worst fraction lost /256, worst jitter)
        self.reception: tuple[float, int, int] | None = None

    def answer(self, offer_sdp: str, plan: sdp.OfferPlan, local: sdp.LocalTransport) -> str:
        return sdp.write_answer(offer_sdp, plan, local,
                                {i: s.rw.ssrc for i, s in enumerate(self.slots)},
                                self.cname, "room")

    async def renegotiate(self, offer_sdp: str, audio_slots: int) -> str:
        """A new offer on this session (PUT .../media/{session_id}): the same audio sections
        (slots, mic) with, for an ICE restart, new ICE credentials: the transport gathers a new
        ICE generation and moves to the path the client nominates; DTLS, SRTP, the slots and
        the stage rights are kept. Raises ``SdpError`` (nothing changed) for an offer that
        does not fit the session."""
        plan = sdp.plan_offer(offer_sdp, audio_slots)
        old = self.plan
        def shape(p: sdp.OfferPlan) -> list:
            return [(s.slot, s.mic, s.payload_type, s.red_payload_type) for s in p.sections
                    if s.slot is not None or s.mic]
        if shape(plan) != shape(old):
            raise SdpError("a renegotiation must keep the session's audio sections and codec")
        if sdp.dtls_role_for_answer(plan.transport.setup)[0] != \
                sdp.dtls_role_for_answer(old.transport.setup)[0] or \
                sorted(plan.transport.fingerprints) != sorted(old.transport.fingerprints):
            raise SdpError("a renegotiation must keep the DTLS role and certificate")
        tp = self.tp
        if tp is None or self.closed:
            raise MediaError("the session is closed")
        role = sdp.dtls_role_for_answer(plan.transport.setup)[0]
        self.sdp_version += 1
        same_ice = (plan.transport.ice_ufrag, plan.transport.ice_pwd) == \
            (old.transport.ice_ufrag, old.transport.ice_pwd)
        if same_ice:  # no ICE restart: the same transport, answered again
            self.plan = plan
            return self.answer(offer_sdp, plan, tp.local(role, self.sdp_id, self.sdp_version))
        try:
            gen = await tp.prepare_restart()
        except ConnectionError as e:
            raise MediaError(f"cannot restart ICE now: {e}") from e
        answer = self.answer(offer_sdp, plan, tp.local(role, self.sdp_id, self.sdp_version, gen))
        self.plan = plan
        tp.restart(gen, plan.transport)
        return answer

    def open_slots(self, tp: PeerTransport) -> None:
        # (plan_offer gives every section it accepts a payload type)
        self.slots = [OutStream(tp, p.payload_type or 0, p.audio_level_id,
                                p.red_payload_type)
                      for p in self.plan.slots]

    def describe(self) -> dict:
        return {"session_id": self.id, "user_id": self.user_id, "connected": self.connected,
                "slots": len(self.slots), "mic": self.has_mic}

    def reception_now(self, now: float) -> tuple[int, int] | None:
        """(fraction lost /256, jitter) from this listener's last report, if recent."""
        r = self.reception
        if r is None or now - r[0] > feedback.WINDOW:
            return None
        return r[1], r[2]

    def on_rtcp(self, data: bytes, now: float,
                stats: feedback.LossStats | None = None) -> None:
        """RTCP from the client: its sender reports time our report blocks (LSR/DLSR); its
        report blocks about our slots are its reception, fed back to the slots' speakers."""
        try:
            packets = rtp.parse_rtcp(data)
        except ValueError:
            return
        src = self.source
        blocks: list[rtp.ReportBlock] = []
        for p in packets:
            if isinstance(p, rtp.RtcpSenderReport) and src is not None:
                src.lsr = rtp.ntp_middle(p.ntp_timestamp)
                src.lsr_time = now
            if isinstance(p, (rtp.RtcpReceiverReport, rtp.RtcpSenderReport)):
                blocks.extend(p.reports)
        if blocks and self.slots:
            self.on_report_blocks(blocks[:len(self.slots) + 1], now, stats)

    def on_report_blocks(self, blocks: list[rtp.ReportBlock], now: float,
                         stats: feedback.LossStats | None = None) -> None:
        """This listener's report blocks: each about one slot (by its SSRC) goes to the speaker
        on the slot now, unless the slot changed speaker since the previous report for it."""
        by_ssrc = {out.rw.ssrc: out for out in self.slots}
        worst: tuple[int, int] | None = None
        for b in blocks:
            out = by_ssrc.get(b.ssrc)
            if out is None:
                continue
            if stats is not None:
                stats.observe(b.fraction_lost, b.jitter)
            worst = (max(worst[0], b.fraction_lost), max(worst[1], b.jitter)) if worst \
                else (b.fraction_lost, b.jitter)
            before = self.slot_switches.get(b.ssrc)
            self.slot_switches[b.ssrc] = out.switches
            src = out.src
            mixed = before != out.switches if before is not None else out.switches > 1
            if src is None or mixed or not self.loss_feedback:
                continue  # nobody on it, or the interval mixes two speakers
            src.feedback.observe(self.id, b.fraction_lost, b.jitter, now)
        if worst is not None:
            self.reception = (now, worst[0], worst[1])

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
            block = rtp.ReportBlock(src.ssrc, min(fraction, 255), lost,
                                    (src.cycles + src.last_seq) & 0xFFFFFFFF, 0, src.lsr, dlsr)
            agg = src.feedback.aggregate(now) if self.loss_feedback else None
            blocks.append(feedback.speaker_block(block, agg))
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
