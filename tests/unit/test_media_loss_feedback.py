"""Listeners' loss fed back to speakers (media/feedback.py, Session's RTCP), on plain bytes."""
import struct

from media import feedback, rtp, sdp
from media.feedback import LossFeedback, LossStats, report_blocks, speaker_block
from media.forwarding import OutStream, Source
from media.rewrite import SlotRewriter
from media.session import Session
from tests.unit.test_media_sdp import LOCAL, chromium_offer


def rr_bytes(sender: int, blocks: list[tuple[int, int, int, int]]) -> bytes:
    """An RTCP RR written by hand (RFC 3550 6.4.2): blocks of (ssrc, fraction, lost, jitter)."""
    body = struct.pack("!I", sender)
    for ssrc, fraction, lost, jitter in blocks:
        body += struct.pack("!IB", ssrc, fraction) + lost.to_bytes(3, "big", signed=True)
        body += struct.pack("!IIII", 1234, jitter, 0, 0)
    return struct.pack("!BBH", 0x80 | len(blocks), 201, len(body) // 4) + body


def sdes_bytes(ssrc: int) -> bytes:
    body = struct.pack("!I", ssrc) + bytes([1, 2]) + b"ab" + b"\x00" * 4
    return struct.pack("!BBH", 0x81, 202, len(body) // 4) + body


def test_report_blocks_from_a_compound_packet():
    data = rr_bytes(7, [(0x1111, 26, 5, 480), (0x2222, 0, 0, 96)]) + sdes_bytes(7)
    blocks = report_blocks(data)
    assert [(b.ssrc, b.fraction_lost, b.packets_lost, b.jitter) for b in blocks] == [
        (0x1111, 26, 5, 480), (0x2222, 0, 0, 96)]
    # truncated / garbage: nothing, no exception
    assert report_blocks(data[:30]) == []
    assert report_blocks(b"\x00" * 8) == []


def test_aggregate_is_the_worst_recent_listener_and_forgets_old_reports():
    fb = LossFeedback()
    assert fb.aggregate(0.0) is None
    fb.observe("a", 10, 100, 0.0)
    fb.observe("b", 40, 50, 1.0)
    fb.observe("c", 300, -5, 2.0)  # clamped to 255 / 0
    assert fb.aggregate(2.0) == (255, 100)
    fb.observe("c", 0, 0, 3.0)  # c's newer report replaces its older one
    assert fb.aggregate(3.0) == (40, 100)
    assert fb.aggregate(10.5) == (40, 50)  # a's report is older than the window
    assert fb.aggregate(20.0) is None and fb.reports == {}


def test_aggregate_keeps_a_bounded_number_of_listeners():
    fb = LossFeedback()
    for i in range(feedback.MAX_LISTENERS + 10):
        fb.observe(f"l{i}", 1, 1, 0.0)
    assert len(fb.reports) == feedback.MAX_LISTENERS
    assert "l0" not in fb.reports and f"l{feedback.MAX_LISTENERS + 9}" in fb.reports


def test_speaker_block_raises_fraction_and_jitter_to_the_listeners_worst():
    up = rtp.ReportBlock(0xABC, 3, 17, 5000, 20, 99, 7)
    assert speaker_block(up, None) is up
    out = speaker_block(up, (51, 960))
    assert (out.ssrc, out.fraction_lost, out.packets_lost, out.highest_sequence, out.jitter,
            out.lsr, out.dlsr) == (0xABC, 51, 17, 5000, 960, 99, 7)
    assert speaker_block(up, (1, 5)).fraction_lost == 3  # the upstream loss is worse
    # and it is a well-formed RR block on the wire
    wire = bytes(rtp.RtcpReceiverReport(1, [out]))
    assert report_blocks(wire)[0].fraction_lost == 51


def test_loss_stats_histograms():
    st = LossStats()
    st.observe(0, 0)
    st.observe(26, 480)  # 10%, 10 ms
    st.observe(255, 48000)
    s = st.state()
    assert s["loss"]["count"] == 3 and s["loss"]["buckets"][0] == 1  # exactly 0
    assert s["loss"]["buckets"][feedback.LOSS_BUCKETS.index(0.2)] == 1  # 0.1 < 26/256 <= 0.2
    assert s["loss"]["buckets"][-1] == 1
    assert s["jitter"]["buckets"][feedback.JITTER_BUCKETS.index(0.01)] == 1
    merged = feedback.merge_states([s, s, {"loss": "junk"}])
    assert merged["loss"]["count"] == 6 and merged["jitter"]["sum"] == 2 * s["jitter"]["sum"]


class _Sink:
    """A transport stand-in that keeps the RTCP the session sends (no sockets involved)."""
    fast = None

    def __init__(self):
        self.sent: list[bytes] = []

    def send_rtcp(self, data: bytes) -> None:
        self.sent.append(data)


def rtp_packet(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 111, seq, seq * 960, ssrc) + b"\x78" + b"\x00" * 20


def session(sid: str, user: str, mic: bool, sink: _Sink) -> Session:
    offer = chromium_offer(mic_first=mic, recv=3)
    s = Session(sid, user, sdp.plan_offer(offer, 3))
    s.tp = sink  # type: ignore[assignment]
    s.open_slots(sink)  # type: ignore[arg-type]
    s.connected = True
    return s


def test_listener_reports_reach_the_speaker_on_their_slot_and_not_across_a_switch():
    sink_a, sink_l = _Sink(), _Sink()
    alice = session("A", "@alice:x", True, sink_a)
    carol_src = Source("@carol:x", None, True, rtp_packet(1, 0xC0), 0.0)
    bob = session("B", "@bob:x", False, sink_l)
    alice.source = Source("@alice:x", None, True, rtp_packet(100, 0xA1), 0.0)
    src = alice.source
    for seq in range(100, 150):  # 50 packets, none lost upstream
        src.received += 1
        src.last_seq = seq
    slot0, slot1 = bob.slots[0], bob.slots[1]
    slot0.attach(src)
    slot1.attach(carol_src)
    stats = LossStats()
    # bob's first report: 10% lost on alice's slot, 50% on carol's
    bob.on_rtcp(rr_bytes(9, [(slot0.rw.ssrc, 26, 3, 480), (slot1.rw.ssrc, 128, 9, 0),
                             (0xDEAD, 255, 1, 1)]) + sdes_bytes(9), 1.0, stats)
    assert src.feedback.aggregate(1.0) == (26, 480)
    assert carol_src.feedback.aggregate(1.0) == (128, 0)
    assert stats.state()["loss"]["count"] == 2  # the unknown SSRC is ignored
    assert bob.reception_now(1.0) == (128, 480)

    # alice's report block (in her session's next RTCP) carries bob's loss
    alice.send_reports(2.0, 1e9)
    block = next(b for b in report_blocks(sink_a.sent[-1]) if b.ssrc == 0xA1)
    assert block.fraction_lost == 26 and block.jitter == 480 and block.packets_lost == 0

    # with feedback off, her block is her own upstream loss only
    alice.loss_feedback = False
    alice.send_reports(3.0, 1e9)
    block = next(b for b in report_blocks(sink_a.sent[-1]) if b.ssrc == 0xA1)
    assert block.fraction_lost == 0 and block.jitter == 0
    alice.loss_feedback = True

    # slot 0 switches from alice to carol: bob's next report spans both, it is counted for
    # neither; the one after is carol's
    slot0.attach(carol_src)
    bob.on_rtcp(rr_bytes(9, [(slot0.rw.ssrc, 200, 3, 0)]), 4.0, stats)
    assert carol_src.feedback.aggregate(4.0) == (128, 0)
    assert src.feedback.aggregate(4.0) == (26, 480)
    bob.on_rtcp(rr_bytes(9, [(slot0.rw.ssrc, 64, 3, 0)]), 9.0, stats)
    assert carol_src.feedback.aggregate(9.0) == (64, 0)  # bob's latest report replaces his older
    # the window passes: alice hears nothing more from bob
    assert src.feedback.aggregate(12.0) is None
    alice.send_reports(12.0, 1e9)
    block = next(b for b in report_blocks(sink_a.sent[-1]) if b.ssrc == 0xA1)
    assert block.fraction_lost == 0


def test_gaps_in_a_source_stay_gaps_on_the_slot():
    """Packets lost before the SFU are lost on every slot too: the rewriter keeps the gap, so
    the listener's jitter buffer conceals (and Opus FEC recovers) instead of playing on."""
    rw = SlotRewriter(ssrc=5, first_seq=65533, first_ts=1000)
    seqs = [10, 11, 13, 14, 17, 18]  # 12, 15 and 16 never arrive
    out = [rw.rewrite("a", s, s * 960, s * 0.02) for s in seqs]
    assert [s for s, _t, _sw in out] == [65533, 65534, 0, 1, 4, 5]
    assert [(t - 1000) // 960 for _s, t, _sw in out] == [0, 1, 3, 4, 7, 8]
    # the attach/detach mapping (the forwarding loop's) is a constant offset: gaps kept too
    o = OutStream(_Sink(), 111, None)  # type: ignore[arg-type]
    src = Source("@a:x", None, True, rtp_packet(10, 0xA1), 0.0)
    o.attach(src)
    mapped = [(s + o.rw.seq_off) & 0xFFFF for s in seqs]
    assert [(b - a) & 0xFFFF for a, b in zip(mapped, mapped[1:], strict=False)] == \
        [1, 2, 1, 3, 1]


def test_answer_keeps_inband_fec_and_dtx_and_takes_red():
    offer = chromium_offer(mic_first=True, recv=3).replace(
        "minptime=10;useinbandfec=1", "minptime=10;useinbandfec=1;usedtx=1")
    plan = sdp.plan_offer(offer, 3)
    answer = sdp.write_answer(offer, plan, LOCAL, {0: 11, 1: 22, 2: 33}, "cn", "room")
    assert answer.count("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1") == 3
    # RED (RFC 2198) as offered, beside Opus (tests/unit/test_media_red.py)
    assert answer.count("a=rtpmap:63 red/48000/2") == 3
    assert answer.count("a=fmtp:63 111/111") == 3
