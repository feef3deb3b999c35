"""media.rewrite: one continuous output stream per slot while its source changes."""
from media.rewrite import SlotRewriter


def feed(rw, source, seq, ts, now, n):
    out = []
    for i in range(n):
        out.append(rw.rewrite(source, (seq + i) & 0xFFFF, (ts + 960 * i) & 0xFFFFFFFF,
                              now + 0.02 * i))
    return out


def test_first_packet_uses_initial_numbers():
    rw = SlotRewriter(ssrc=5, first_seq=1000, first_ts=50_000)
    assert rw.rewrite("a", 7, 123, 0.0) == (1000, 50_000, True)
    assert rw.rewrite("a", 8, 123 + 960, 0.02) == (1001, 50_960, False)


def test_switching_source_is_seamless():
    rw = SlotRewriter(ssrc=5, first_seq=65530, first_ts=0xFFFFF000)
    a = feed(rw, "a", 100, 5_000_000, 0.0, 10)
    # B has unrelated numbering; it starts 0.5 s after A's last packet
    b = feed(rw, "b", 40_000, 123, 0.18 + 0.5, 10)
    seqs = [s for s, _, _ in a + b]
    # no gap, wraps at 65535
    assert all((y - x) & 0xFFFF == 1 for x, y in zip(seqs, seqs[1:], strict=False))
    ts = [t for _, t, _ in a + b]
    steps = [(y - x) & 0xFFFFFFFF for x, y in zip(ts, ts[1:], strict=False)]
    assert steps[:9] == [960] * 9 and steps[10:] == [960] * 9
    assert steps[9] == round(0.5 * 48000)  # the elapsed wall time, in samples
    assert [m for _, _, m in b] == [True] + [False] * 9  # the marker flags the new talkspurt


def test_back_to_back_switch_advances_at_least_one_frame():
    rw = SlotRewriter(ssrc=5, first_seq=1, first_ts=0)
    rw.rewrite("a", 10, 10, 1.0)
    s, t, _ = rw.rewrite("b", 99, 99, 1.0)  # same instant
    assert (s, t) == (2, 960)


def test_reordered_packet_keeps_its_place_and_does_not_move_the_stream_back():
    rw = SlotRewriter(ssrc=5, first_seq=100, first_ts=0)
    rw.rewrite("a", 1, 0, 0.0)
    rw.rewrite("a", 3, 1920, 0.04)
    late = rw.rewrite("a", 2, 960, 0.05)
    assert late[:2] == (101, 960)
    # a switch now continues after 102, not after the late 101
    assert rw.rewrite("b", 500, 0, 0.06)[0] == 103


def test_returning_source_is_rebased_and_counters_for_sender_reports():
    rw = SlotRewriter(ssrc=5, first_seq=0, first_ts=0)
    feed(rw, "a", 0, 0, 0.0, 3)
    feed(rw, "b", 0, 0, 0.06, 3)
    out = feed(rw, "a", 3, 3 * 960, 0.12, 1)
    assert out[0][0] == 6 and out[0][2] is True
    rw.rewrite("a", 4, 4 * 960, 0.14, size=80)
    assert rw.packets == 8 and rw.octets == 80
    assert rw.rtp_timestamp_at(0.14 + 1.0) == (rw.last_ts + 48000) & 0xFFFFFFFF


class Src:
    """A source as the SFU tracks it: its last packet."""

    def __init__(self, seq, ts, t):
        self.seq, self.ts, self.t = seq, ts, t

    def send(self, rw, n, step=0.02):
        out = []
        for _ in range(n):
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + 960) & 0xFFFFFFFF
            self.t += step
            out.append(((self.seq + rw.seq_off) & 0xFFFF, (self.ts + rw.ts_off) & 0xFFFFFFFF))
        return out

    def last(self):
        return self.seq, self.ts, self.t


def test_attach_detach_gives_one_continuous_stream():
    rw = SlotRewriter(ssrc=9, first_seq=65534, first_ts=100)
    a = Src(40_000, 7_000_000, 10.0)
    rw.attach("a", *a.last())
    first = a.send(rw, 5)
    assert first[0] == (65534, 100)  # the initial numbers
    rw.detach(*a.last())
    b = Src(123, 0xFFFFFF00, 10.0 + 0.1 + 0.3)  # b's last packet was 0.3 s after a's
    rw.attach("b", *b.last())
    second = b.send(rw, 5)
    out = first + second
    assert all((y[0] - x[0]) & 0xFFFF == 1 for x, y in zip(out, out[1:], strict=False))
    steps = [(y[1] - x[1]) & 0xFFFFFFFF for x, y in zip(out, out[1:], strict=False)]
    assert steps[:4] == [960] * 4 and steps[5:] == [960] * 4
    assert steps[4] == round(0.32 * 48000)  # b's next packet comes 0.32 s after a's last
    assert rw.current(*b.last())[:2] == second[-1]


def test_detach_without_packets_changes_nothing():
    rw = SlotRewriter(ssrc=9, first_seq=10, first_ts=0)
    a = Src(5, 5, 1.0)
    rw.attach("a", *a.last())
    a.send(rw, 3)
    rw.detach(*a.last())
    before = (rw.last_seq, rw.last_ts, rw.last_time)
    b = Src(77, 77, 1.1)
    rw.attach("b", *b.last())
    rw.detach(*b.last())  # b never sent while on the slot
    assert (rw.last_seq, rw.last_ts, rw.last_time) == before
    c = Src(999, 999, 1.2)
    rw.attach("c", *c.last())
    assert c.send(rw, 1)[0][0] == 13  # 10, 11, 12 from a, then 13
