"""A slow ICE-TCP listener (issue 15): one whose receive window is throttled to nothing (a tiny
SO_RCVBUF, and it stops reading) must not delay anyone else. The SFU writes to each TCP
connection without waiting and drops a connection's packets once its write buffer is over
``write_limit``; this measures the other listeners' packet delay (UDP ones, aiortc; TCP ones,
bench/fanout_tcp.py's socket-level clients) with and without the slow one in the same room.

Delay of a packet = arrival time - its RTP timestamp (the speakers pace their packets by it),
less the smallest such value that listener saw for that stream over both phases: the time a
packet spent beyond the fastest one's, which a stall or a queue in the SFU would raise."""
from __future__ import annotations

import asyncio
import time

from bench.fanout_tcp import join_tcp
from media.sfu import SFU
from media.testing import AudioClient, ToneTrack, wait_for

ROOM = "!slow:a"
PHASE = 4.0  # seconds measured with, and without, the slow listener
SLOTS = 3


class Arrivals:
    """bench/fanout_tcp.py's counter interface: (arrival, ssrc, RTP timestamp) of each packet
    (the RTP header is not encrypted by SRTP)."""

    def __init__(self):
        self.packets: list[tuple[float, int, int]] = []

    def packet(self, data: bytes, _now: float) -> None:
        self.packets.append((time.monotonic(), int.from_bytes(data[8:12], "big"),
                             int.from_bytes(data[4:8], "big")))


def delays(packets, phases) -> list[list[float]]:
    """Per phase (t0, t1): the delays (ms) of the packets that arrived in it."""
    base: dict[int, float] = {}
    for t, ssrc, ts in packets:
        d = t - ts / 48000
        base[ssrc] = min(base.get(ssrc, d), d)
    return [[(t - ts / 48000 - base[ssrc]) * 1000 for t, ssrc, ts in packets if t0 <= t < t1]
            for t0, t1 in phases]


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[int(0.95 * (len(values) - 1))]


async def test_a_slow_tcp_listener_does_not_raise_other_listeners_latency():
    sfu = SFU(server_name="a", host_addresses=["127.0.0.1"], tcp_port=0, audio_slots=SLOTS)
    speakers = [AudioClient(slots=SLOTS, mic=ToneTrack(f, 0.5), decode=False)
                for f in (440, 660)]
    udp = [AudioClient(slots=SLOTS, decode=False) for _ in range(2)]
    tcp_counters = [Arrivals() for _ in range(2)]
    tcp, slow = [], None

    def signal(user: str):
        async def go(offer: str) -> str:
            return (await sfu.open_session(ROOM, user, offer, False))[1]
        return go
    try:
        for i, sp in enumerate(speakers):
            _sid, answer = await sfu.open_session(ROOM, f"@s{i}:a", await sp.offer(), True)
            await sp.accept(answer)
        for i, client in enumerate(udp):
            _sid, answer = await sfu.open_session(ROOM, f"@u{i}:a", await client.offer(), False)
            await client.accept(answer)
        for i, counter in enumerate(tcp_counters):
            tcp.append(await join_tcp(signal(f"@t{i}:a"), SLOTS, counter))
        await wait_for(lambda: all(sum(len(r.packets) for r in c.records) > 50 for c in udp)
                       and all(len(c.packets) > 50 for c in tcp_counters), timeout=15)

        t0 = time.monotonic()
        await asyncio.sleep(PHASE)
        t1 = time.monotonic()
        # the slow listener: a receive window of a couple of KB, and it stops reading
        slow = await join_tcp(signal("@slow:a"), SLOTS, Arrivals(), rcvbuf=2048)
        assert slow.transport is not None
        slow.transport.pause_reading()
        sess = next(s for s in sfu.rooms[ROOM].sessions.values() if s.user_id == "@slow:a")
        await wait_for(lambda: sess.connected, timeout=5)
        link = sess.tp._link
        assert sess.tp.path == "tcp" and link is not None
        # its kernel buffers fill first; measure once the SFU is dropping its packets
        assert await wait_for(lambda: link.dropped > 0, timeout=30), "the slow link never filled"
        t2 = time.monotonic()
        filled = t2 - t1
        await asyncio.sleep(PHASE)
        t3 = time.monotonic()
        dropped = link.dropped
        buffered = link.transport.get_write_buffer_size() if link.transport else 0

        phases = [(t0, t1), (t2, t3)]
        rows = []
        for i, client in enumerate(udp):
            rows.append((f"udp{i}", delays([(t, ssrc, ts) for r in client.records
                                            for t, ssrc, _seq, ts in r.packets], phases)))
        for i, counter in enumerate(tcp_counters):
            rows.append((f"tcp{i}", delays(counter.packets, phases)))
        for name, (before, during) in rows:
            print(f"{name}: packets {len(before)} -> {len(during)}; delay p95 "
                  f"{p95(before):.1f} ms without the slow listener, {p95(during):.1f} ms with")
        print(f"slow TCP listener: dropping after {filled:.1f} s, {dropped} packets dropped, "
              f"{buffered} bytes buffered (write_limit {sfu.tcp.write_limit if sfu.tcp else '?'})")
        for name, (before, during) in rows:
            # 2 speakers at 50 packets/s each: all of them arrive, with or without
            assert len(before) >= 0.9 * 2 * 50 * PHASE, (name, len(before))
            assert len(during) >= 0.9 * len(before), (name, len(before), len(during))
            assert p95(during) < p95(before) + 20, (name, p95(before), p95(during))
        assert dropped > 0 and buffered <= (sfu.tcp.write_limit if sfu.tcp else 0) + 2048
    finally:
        for c in [*speakers, *udp]:
            await c.close()
        for t in [*tcp, *([slow] if slow else [])]:
            await t.close()
        await sfu.close()
