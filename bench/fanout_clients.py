"""The fan-out benchmark's clients (bench/fanout.py): speaker and listener processes.

Speakers are aiortc peers that send pre-encoded Opus (32 kb/s mono, 20 ms frames, RFC 6464
level) in a 400 ms cycle: a 80 ms tone burst, then silence. Listeners are aiortc peers that
complete ICE and DTLS-SRTP, then count SRTP packets at the socket without decrypting or
decoding them (``Counter``, ``Sweeper``). Each runs in its own process, driven over a pipe.
"""
from __future__ import annotations

import asyncio
import fractions
import math
import os
import socket
import struct
import sys
import time
import traceback

from bench.janus import JANUS_ROOM, Janus

CYCLE = 20  # frames per burst cycle (400 ms)
BURST = 4  # tone frames per cycle
PT = 96  # aiortc's Opus payload type in its offers
MID_EXT = 1  # aiortc's extension IDs in its offers
LEVEL_EXT = 2


# Opus frames ------------------------------------------------------------------------------------

def opus_cycle() -> list[tuple[bytes, int]]:
    """One steady-state cycle of (payload, RFC 6464 level): a 440 Hz burst then silence."""
    import array

    import av
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = 48000
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.bit_rate = 32000
    ctx.time_base = fractions.Fraction(1, 48000)
    out: list[tuple[bytes, int]] = []
    pts = 0
    for _cycle in range(6):
        for i in range(CYCLE):
            amp = 0.5 * 32767 if i < BURST else 0.0
            vals = [int(amp * math.sin(2 * math.pi * 440 * (pts + k) / 48000)) for k in range(960)]
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(array.array("h", vals).tobytes())
            frame.sample_rate = 48000
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, 48000)
            pts += 960
            for packet in ctx.encode(frame):
                out.append((bytes(packet), 9 if amp else 127))
    # find a steady cycle that starts at the first big packet after small ones
    sizes = [len(p) for p, _ in out]
    start = next(i for i in range(len(sizes) - 2 * CYCLE, CYCLE, -1)
                 if sizes[i] > sizes[i - 1] + 30)
    cyc = out[start:start + CYCLE]
    return [(p, 9 if j < BURST else 127) for j, (p, _) in enumerate(cyc)]



async def signal_offer(kind: str, http, server: str, user: str, offer: str,
                       speaker: bool) -> str:
    async with http.post(server + "/join", json={"user": user, "sdp": offer,
                                                 "speaker": speaker}) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(body)
        return body["sdp"]



# speaker process ---------------------------------------------------------------------------------

def boost(niceness: int) -> None:
    """Raise this process's CPU priority (the machine may be shared: the SFU under test and
    its clients should not queue behind unrelated work). Needs root; ignored otherwise."""
    if niceness:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
        except OSError:
            pass


NICE = int(os.environ.get("FANOUT_NICE", "-10"))


def speaker_main(conn, kind: str, server: str, index: int, count: int) -> None:
    boost(NICE)
    try:
        asyncio.run(_speaker(conn, kind, server, index, count))
    except Exception:
        conn.send(("error", traceback.format_exc()))


async def _speaker(conn, kind: str, server: str, index: int, count: int) -> None:
    import aiohttp
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamTrack

    from media.rtp import RtpPacket, audio_level_value

    class Idle(MediaStreamTrack):
        kind = "audio"

        async def recv(self):
            await asyncio.Future()

    frames = opus_cycle()
    http = aiohttp.ClientSession()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tr = pc.addTransceiver(Idle(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    info = {}
    if kind == "janus":
        j = Janus(http, server)
        await j.attach()
        if index == 0:
            await j.request({"request": "create", "room": JANUS_ROOM, "publishers": 32,
                             "audiocodec": "opus", "videocodec": "vp8",
                             "audiolevel_ext": True, "notify_joining": False})
        ev = await j.request({"request": "joinandconfigure", "room": JANUS_ROOM,
                              "ptype": "publisher", "display": f"speaker{index}",
                              "audio": True, "video": False},
                             {"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False})
        info["feed"] = ev["plugindata"]["data"]["id"]
        answer = ev["jsep"]["sdp"]
    else:
        # FANOUT_MUTED=1: the SFU drops the speaker (measures its idle cost per connection)
        answer = await signal_offer(kind, http, server, f"@speaker{index}:bench",
                                    pc.localDescription.sdp,
                                    os.environ.get("FANOUT_MUTED") != "1")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    for _ in range(500):
        if pc.connectionState == "connected":
            break
        await asyncio.sleep(0.01)
    dtls = tr.sender.transport
    ssrc = tr.sender._ssrc
    mid = tr.mid or "0"
    conn.send(("ready", info))
    sends: list[float] = []  # send time of each packet
    bursts: list[float] = []  # send time of each burst's first packet
    seq = 1000 * (index + 1)
    ts = 12345
    t_next = time.monotonic()
    window: tuple[float, float] | None = None
    stop = asyncio.Event()

    async def control():
        nonlocal window
        loop = asyncio.get_running_loop()
        while True:
            msg = await loop.run_in_executor(None, conn.recv)
            if msg[0] == "window":
                window = (msg[1], msg[2])
            elif msg[0] == "report":
                assert window is not None  # the orchestrator sends "window" first
                t0, t1 = window
                conn.send(("report", {
                    "sent": sum(1 for t in sends if t0 <= t < t1),
                    "bursts": [t for t in bursts if t0 - 1 <= t < t1 + 1]}))
            elif msg[0] == "stop":
                stop.set()
                return

    ctl = asyncio.ensure_future(control())
    i = 0
    # speakers other than the first send no bursts (only the first is timed)
    while not stop.is_set():
        payload, level = frames[i % CYCLE] if index == 0 else frames[BURST]
        p = RtpPacket(payload_type=PT, sequence_number=seq & 0xFFFF, timestamp=ts & 0xFFFFFFFF,
                      ssrc=ssrc, payload=payload)
        p.set_extensions({MID_EXT: mid.encode(), LEVEL_EXT: audio_level_value(True, level)})
        data = bytes(p)
        now = time.time()
        try:
            await dtls._send_rtp(data)
        except ConnectionError:
            print(f"speaker {index}: connection lost ({pc.connectionState})", file=sys.stderr)
            await stop.wait()
            break
        sends.append(now)
        if index == 0 and i % CYCLE == 0:
            bursts.append(now)
        seq += 1
        ts += 960
        i += 1
        t_next += 0.02
        delay = t_next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(sends) > 200_000:
            del sends[:100_000]
    ctl.cancel()
    await pc.close()
    await http.close()



# listener process ----------------------------------------------------------------------

SO_TIMESTAMPNS = 35  # Linux: kernel receive timestamps (CLOCK_REALTIME) in recvmsg()
_TIMESPEC = struct.Struct("@ll")


class Stream:
    """One received SSRC: where in the speaker's cycle its bursts start. The cycle's phase
    with the largest average packet-size jump, learnt before the window, is the burst start
    (by sequence number: each SFU keeps one packet per frame in order)."""
    __slots__ = ("prev", "jumps", "phase", "n")

    def __init__(self):
        self.n = 0
        self.prev: int | None = None
        self.jumps = [0] * CYCLE
        self.phase: int | None = None


class Counter:
    __slots__ = ("t0", "first", "window", "count", "streams", "bursts")

    def __init__(self, t0: float):
        self.t0 = t0
        self.first: float | None = None
        self.window: tuple[float, float] | None = None
        self.count = 0
        self.streams: dict[bytes, Stream] = {}
        self.bursts: list[float] = []

    def packet(self, data: bytes, now: float) -> None:
        if self.first is None:
            self.first = now
        ssrc = data[8:12]
        st = self.streams.get(ssrc)
        if st is None:
            st = self.streams[ssrc] = Stream()
        seq = (data[2] << 8) | data[3]
        w = self.window
        if w is None or now < w[0]:
            size = len(data)
            if st.prev is not None:
                st.jumps[seq % CYCLE] += size - st.prev
                st.n += 1
            st.prev = size
            return
        if now < w[1]:
            self.count += 1
            if st.phase is None:
                best = max(range(CYCLE), key=st.jumps.__getitem__)
                # a stream without bursts (another speaker's) gives no latency samples
                st.phase = best if st.jumps[best] > 20 * st.n / CYCLE else -1
            if seq % CYCLE == st.phase:
                self.bursts.append(now)


def _is_rtp(data: bytes) -> bool:
    return len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223


def _connections(pc) -> list:
    conns = []
    for t in pc.getTransceivers():
        for tp in (t.receiver.transport, t.sender.transport):
            if tp is not None and tp.transport._connection not in conns:
                conns.append(tp.transport._connection)
    return conns


def _hook_pc(pc, counter: Counter) -> None:
    """While joining: count SRTP packets in asyncio's datagram callback; they never reach
    aiortc's SRTP, jitter buffer or decoder."""
    for conn in _connections(pc):
        for proto in conn._protocols:
            if getattr(proto, "_bench_original", None) is not None:
                continue
            original = proto.datagram_received

            def received(data, addr, original=original):
                if _is_rtp(data):
                    counter.packet(data, time.time())
                else:
                    original(data, addr)

            proto._bench_original = original
            proto.datagram_received = received


class Sweeper:
    """Steady state: the joined listeners' sockets leave the event loop's epoll set; a private
    epoll set is polled without blocking every few ms and the ready sockets are drained with
    recvmsg(), taking the kernel's receive timestamps. A packet the SFU sends then costs it
    what it would cost towards a remote host: no wake-up of a local receiver sleeping in
    epoll_wait is charged to the SFU's sendto()."""

    def __init__(self, period: float = 0.01):
        import select
        self.period = period
        self.poller = select.epoll()
        self.entries: dict[int, tuple] = {}
        self.task: asyncio.Task | None = None

    def adopt(self, pc, counter: Counter) -> None:
        for conn in _connections(pc):
            pair = conn._nominated.get(1)
            protos = [pair.protocol] if pair is not None else conn._protocols
            for proto in protos:
                tr = getattr(proto, "transport", None)
                sock = getattr(tr, "_sock", None)
                if tr is None or sock is None or sock.fileno() in self.entries:
                    continue
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                tr.pause_reading()
                original = getattr(proto, "_bench_original", None) or proto.datagram_received
                self.entries[sock.fileno()] = (sock, counter, original)
                self.poller.register(sock.fileno(), 1)  # EPOLLIN, level-triggered
        if self.task is None:
            self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        unpack = _TIMESPEC.unpack_from
        while True:
            await asyncio.sleep(self.period)
            for fd, _ev in self.poller.poll(0):
                entry = self.entries.get(fd)
                if entry is None:
                    continue
                sock, counter, original = entry
                while True:
                    try:
                        data, anc, _flags, addr = sock.recvmsg(2048, 64)
                    except OSError:
                        break
                    if _is_rtp(data):
                        t = None
                        for level, kind, value in anc:
                            if kind == SO_TIMESTAMPNS and level == socket.SOL_SOCKET:
                                sec, nsec = unpack(value)
                                t = sec + nsec * 1e-9
                        counter.packet(data, t if t is not None else time.time())
                    else:
                        try:
                            original(data, addr[:2])
                        except Exception:
                            pass


async def _join_one(kind: str, http, server: str, user: str, streams: int, feeds: list):
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    t0 = time.time()
    counter = Counter(t0)
    if kind == "tcp":  # ICE-TCP listeners (bench/fanout_tcp.py)
        from bench.fanout_tcp import join_tcp

        async def signal(offer: str) -> str:
            return await signal_offer(kind, http, server, user, offer, False)
        return await join_tcp(signal, streams, counter), counter, None
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    j = None
    try:
        if kind == "janus":
            j = Janus(http, server)
            await j.attach()
            ev = await j.request({"request": "join", "room": JANUS_ROOM, "ptype": "subscriber",
                                  "streams": [{"feed": f} for f in feeds]})
            await pc.setRemoteDescription(RTCSessionDescription(sdp=ev["jsep"]["sdp"],
                                                                type="offer"))
            answer = await pc.createAnswer()
            # answered as the DTLS server: Janus then starts the handshake once its ICE is
            # done (answering "active", aiortc's ClientHello can beat Janus's ICE and wait
            # for the 1 s retransmission: Janus's best case is what we compare with)
            answer.sdp = answer.sdp.replace("a=setup:active", "a=setup:passive")
            await pc.setLocalDescription(answer)
            _hook_pc(pc, counter)
            await j.request({"request": "start", "room": JANUS_ROOM},
                            {"type": "answer", "sdp": pc.localDescription.sdp,
                             "trickle": False})
        else:
            for _ in range(streams):
                pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            _hook_pc(pc, counter)
            answer_sdp = await signal_offer(kind, http, server, user, pc.localDescription.sdp,
                                            False)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
            _hook_pc(pc, counter)
    except Exception:
        await pc.close()
        if j is not None:
            await j.destroy()
        raise
    return pc, counter, j


def listener_main(conn, kind: str, server: str, first: int, count: int, streams: int,
                  feeds: list, interval: float) -> None:
    boost(NICE)
    try:
        asyncio.run(_listeners(conn, kind, server, first, count, streams, feeds, interval))
    except Exception:
        conn.send(("error", traceback.format_exc()))


async def _listeners(conn, kind, server, first, count, streams, feeds, interval) -> None:
    import aiohttp

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients = []  # (pc, counter, janus)
    failures = []
    sweeper = Sweeper()

    async def join(i: int, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            clients.append(await _join_one(kind, http, server, f"@listener{i}:bench",
                                           streams, feeds))
        except Exception as e:
            failures.append(repr(e))

    # arrivals at a steady rate (all processes together: --join-rate per second)
    await asyncio.gather(*(join(first + i, i * interval) for i in range(count)))
    for _ in range(500):
        if all(c.first is not None for _, c, _ in clients):
            break
        await asyncio.sleep(0.01)
    for pc, c, _ in clients:
        if kind != "tcp":  # TCP listeners count in data_received (bench/fanout_tcp.py)
            sweeper.adopt(pc, c)
    joins = [c.first - c.t0 for _, c, _ in clients if c.first is not None]
    conn.send(("joined", {"joins": joins, "clients": len(clients), "failures": failures,
                          "no_audio": sum(1 for _, c, _ in clients if c.first is None)}))
    probes: list[float] = []

    async def probe(t1: float, every: float, offset: float) -> None:
        # single joins while the SFU carries the full load: join to first audio
        await asyncio.sleep(offset)
        n = 0
        while time.time() < t1 - 1.0:
            n += 1
            try:
                pc, c, j = await _join_one(kind, http, server, f"@probe{first}-{n}:bench",
                                           streams, feeds)
                for _ in range(300):
                    if c.first is not None:
                        break
                    await asyncio.sleep(0.005)
                if c.first is not None:
                    probes.append(c.first - c.t0)
                await pc.close()
                if j is not None:
                    await j.destroy()
            except Exception as e:
                failures.append(repr(e))
            await asyncio.sleep(every)

    loop = asyncio.get_running_loop()
    while True:
        msg = await loop.run_in_executor(None, conn.recv)
        if msg[0] == "window":
            _, t0, t1 = msg
            for _, c, _ in clients:
                c.window = (t0, t1)
        elif msg[0] == "report":
            conn.send(("report", {
                "packets": sum(c.count for _, c, _ in clients),
                "per_client": [c.count for _, c, _ in clients],
                "bursts": [t for _, c, _ in clients for t in c.bursts]}))
        elif msg[0] == "probe":
            _, t1, every, offset = msg
            await probe(t1, every, offset)
            conn.send(("probed", {"probes": probes, "failures": failures}))
        elif msg[0] == "stop":
            break
    await asyncio.gather(*(pc.close() for pc, _, _ in clients), return_exceptions=True)
    await http.close()

