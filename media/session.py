"""A participant's session: one peer connection to the SFU for one room.

A listener's offer gives the session its audio slots (K outgoing streams, filled by the room's
layout); a speaker's offer also carries a mic, which becomes a ``Source`` when its first packet
arrives. The session writes its own RTCP: sender reports for its slots, with a report block
for its mic (loss, jitter and the last sender report it received), as libwebrtc does for audio.
"""
from __future__ import annotations

import secrets

from . import rtp, sdp
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
        shape = [(s.slot, s.payload_type) for s in plan.slots]
        if shape != [(s.slot, s.payload_type) for s in old.slots] or \
                (plan.mic is None) != (old.mic is None):
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
