"""Audio fan-out benchmark: our SFU vs an aiortc MediaRelay SFU vs Janus VideoRoom, one run.

    python bench/fanout.py [--listeners 500] [--speakers 1] [--duration 20]
                           [--systems ours,cluster,baseline,janus] [--baseline-listeners 10]

Systems: ``ours`` (one ``media.SFU`` process), ``cluster`` (``media.SFUCluster``, one worker
process per core, a room's listeners spread over them), ``baseline`` (an aiortc SFU built the
obvious way: RTCPeerConnection per participant, MediaRelay, so it decodes once and re-encodes
per listener), ``janus`` (the Debian ``janus`` binary with only the VideoRoom plugin and the HTTP
transport, audio only, ``event_loops`` = cores). Each SFU runs in its own process(es); speakers
and N listener connections are aiortc peers in separate client processes.

Speakers send pre-encoded Opus (32 kb/s mono, 20 ms frames, RFC 6464 level) in a 400 ms cycle:
a 80 ms tone burst, then silence. Listeners complete ICE and DTLS-SRTP like any peer, then
count SRTP packets at the socket without decrypting or decoding them: once joined, their
sockets leave the event loop's epoll set and are swept with recvmsg() every 10 ms, with kernel
receive timestamps (SO_TIMESTAMPNS), so the SFU's sendto() is not charged for waking a local
receiver and the CPU goes to the SFU. A burst's first packet is recognised by size (the
cycle phase with the largest size jump, learnt before the window; it survives the baseline's
re-encoding).

Figures, over a measurement window after every listener has joined and things settled:
* SFU CPU us/packet: the SFU's user+system CPU time in the window (/proc/<pid>/stat, all threads
  and worker processes) divided by the packets the listeners received in it;
* delivered: packets received / (packets the speakers sent x listeners);
* latency p50/p95: a burst's first packet sent by the speaker (time.time()) -> received at a
  listener (kernel timestamp): one hop through the SFU;
* join p50/p95: after the window, listeners join one at a time per client process while the SFU
  keeps forwarding to everyone: offer created -> first audio packet received.

The MediaRelay baseline saturates a core with a handful of listeners, so it runs with
``--baseline-listeners``; its per-packet figure is what compares. The machine may be shared:
the output reports how busy it was during the window.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import fractions
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ROOM = "!bench:bench"
JANUS_ROOM = 4242
CYCLE = 20  # frames per burst cycle (400 ms)
BURST = 4  # tone frames per cycle
PT = 96  # aiortc's Opus payload type in its offers
MID_EXT = 1  # aiortc's extension IDs in its offers
LEVEL_EXT = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """User+system CPU seconds of a process (all its threads) and, with ``tree``, of its
    live child processes (an SFU's worker processes)."""
    def one(p: int) -> tuple[float, int]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0, -1
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[1])

    total = one(pid)[0]
    if tree:
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != pid:
                cpu, ppid = one(int(name))
                if ppid == pid:
                    total += cpu
    return total


def machine_ticks() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def machine_share(before: list[int], after: list[int]) -> dict:
    d = [b - a for a, b in zip(before, after)]
    total = sum(d) or 1
    idle = d[3] + d[4]
    return {"busy": round(1 - idle / total, 3),
            "steal": round(d[7] / total, 3) if len(d) > 7 else 0.0}


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(math.ceil(p / 100 * len(v))) - 1))]


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
    for cycle in range(6):
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


# signalling ------------------------------------------------------------------------------------

class Janus:
    """Just enough of the Janus HTTP API for VideoRoom publishers and subscribers."""

    def __init__(self, http, base: str):
        self.http = http
        self.base = base
        self.session = None
        self.handle = None
        self._n = 0

    def _tx(self) -> str:
        self._n += 1
        return f"t{os.getpid()}-{id(self)}-{self._n}"

    async def _post(self, path: str, body: dict) -> dict:
        async with self.http.post(self.base + path, json=body) as r:
            return await r.json()

    async def attach(self) -> None:
        r = await self._post("", {"janus": "create", "transaction": self._tx()})
        self.session = r["data"]["id"]
        r = await self._post(f"/{self.session}", {"janus": "attach", "transaction": self._tx(),
                                                  "plugin": "janus.plugin.videoroom"})
        self.handle = r["data"]["id"]

    async def request(self, body: dict, jsep: dict | None = None) -> dict:
        msg = {"janus": "message", "transaction": self._tx(), "body": body}
        if jsep:
            msg["jsep"] = jsep
        r = await self._post(f"/{self.session}/{self.handle}", msg)
        if r.get("janus") == "success":
            return r
        if r.get("janus") != "ack":
            raise RuntimeError(f"janus: {r}")
        tx = msg["transaction"]
        while True:  # long poll for the plugin's asynchronous answer
            async with self.http.get(f"{self.base}/{self.session}?maxev=1") as resp:
                ev = await resp.json()
            if ev.get("transaction") == tx and ev.get("janus") == "event":
                return ev

    async def destroy(self) -> None:
        try:
            await self._post(f"/{self.session}", {"janus": "destroy", "transaction": self._tx()})
        except Exception:
            pass


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
    window = None
    stop = asyncio.Event()

    async def control():
        nonlocal window
        loop = asyncio.get_running_loop()
        while True:
            msg = await loop.run_in_executor(None, conn.recv)
            if msg[0] == "window":
                window = (msg[1], msg[2])
            elif msg[0] == "report":
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


# listener process ----------------------------------------------------------------------------------

SO_TIMESTAMPNS = 35  # Linux: kernel receive timestamps (CLOCK_REALTIME) in recvmsg()
_TIMESPEC = __import__("struct").Struct("@ll")


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
                if sock is None or sock.fileno() in self.entries:
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
            answer = await signal_offer(kind, http, server, user, pc.localDescription.sdp, False)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
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


# the SFUs under test ----------------------------------------------------------------------------------

def serve_main(kind: str, port: int, slots: int, ready, workers: int = 0,
               per_worker: int = 0) -> None:
    boost(NICE)
    try:
        asyncio.run(_serve(kind, port, slots, ready, workers, per_worker))
    except KeyboardInterrupt:
        pass


async def _serve(kind: str, port: int, slots: int, ready, workers: int = 0,
                 per_worker: int = 0) -> None:
    from aiohttp import web

    if kind == "ours":
        if workers:
            from media.cluster import SFUCluster
            sfu = SFUCluster(audio_slots=slots, workers=workers,
                             sessions_per_worker=per_worker)
            await sfu.start()
        else:
            from media.sfu import SFU
            sfu = SFU(audio_slots=slots)

        async def join(request):
            body = await request.json()
            _sid, answer = await sfu.open_session(ROOM, body["user"], body["sdp"],
                                                  body["speaker"])
            return web.json_response({"sdp": answer})

        lag = {"max": 0.0}

        async def watch_lag():
            while True:
                t = time.monotonic()
                await asyncio.sleep(0.05)
                lag["max"] = max(lag["max"], time.monotonic() - t - 0.05)

        asyncio.ensure_future(watch_lag())
        import gc
        gcstat = {"max_ms": 0.0, "gen2": 0}
        gc_start = {}

        def gc_cb(phase, info):
            if phase == "start":
                gc_start["t"] = time.perf_counter()
            else:
                d = (time.perf_counter() - gc_start.get("t", time.perf_counter())) * 1000
                if info["generation"] == 2:
                    gcstat["gen2"] += 1
                gcstat["max_ms"] = max(gcstat["max_ms"], d)

        gc.callbacks.append(gc_cb)

        async def stats(request):
            out = await sfu.get_stats()
            rooms = sfu.rooms.values() if not workers else []
            queues = [s.tp.connection._queue.qsize() for r in rooms for s in r.sessions.values()]
            out["max_queue"] = max(queues, default=0)
            out["max_loop_lag_ms"] = round(lag["max"] * 1000, 1)
            out["gc_max_ms"] = round(gcstat["max_ms"], 1)
            out["gc_gen2"] = gcstat["gen2"]
            gcstat["max_ms"] = 0.0
            lag["max"] = 0.0
            return web.json_response(out)
    else:
        async def stats(request):
            return web.json_response({})
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.contrib.media import MediaRelay
        relay = MediaRelay()
        speaker_tracks = []
        pcs = []

        async def join(request):
            body = await request.json()
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pcs.append(pc)
            if body["speaker"]:
                got = asyncio.get_running_loop().create_future()

                @pc.on("track")
                def on_track(track):
                    speaker_tracks.append(track)
                    if not got.done():
                        got.set_result(track)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
            if not body["speaker"]:
                for track in speaker_tracks:
                    pc.addTrack(relay.subscribe(track))
            await pc.setLocalDescription(await pc.createAnswer())
            return web.json_response({"sdp": pc.localDescription.sdp})

    app = web.Application()
    app.router.add_post("/join", join)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ready.set()
    await asyncio.Event().wait()


def start_janus(workdir: str, http_port: int) -> subprocess.Popen:
    for sub in ("plugins", "transports", "events", "loggers"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    lib = "/usr/lib/x86_64-linux-gnu/janus"
    os.symlink(f"{lib}/plugins/libjanus_videoroom.so",
               os.path.join(workdir, "plugins", "libjanus_videoroom.so"))
    os.symlink(f"{lib}/transports/libjanus_http.so",
               os.path.join(workdir, "transports", "libjanus_http.so"))
    # Janus's default is one thread per handle; --janus-event-loops N shares N loops instead
    n_loops = int(os.environ.get("FANOUT_JANUS_EVENT_LOOPS", "0"))
    loops = f"    event_loops = {n_loops}" if n_loops else ""
    with open(os.path.join(workdir, "janus.jcfg"), "w") as f:
        f.write(f"""general: {{
    configs_folder = "{workdir}"
    plugins_folder = "{workdir}/plugins"
    transports_folder = "{workdir}/transports"
    events_folder = "{workdir}/events"
    loggers_folder = "{workdir}/loggers"
    debug_level = 2
    session_timeout = 0
{loops}
}}
certificates: {{}}
media: {{
    ipv6 = false
    rtp_port_range = "30000-60000"
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ice_ignore_list = "vmnet"
}}
plugins: {{}}
transports: {{}}
events: {{ broadcast = false }}
loggers: {{}}
""")
    with open(os.path.join(workdir, "janus.transport.http.jcfg"), "w") as f:
        f.write(f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{ admin_http = false }}
cors: {{}}
""")
    with open(os.path.join(workdir, "janus.plugin.videoroom.jcfg"), "w") as f:
        f.write("general: {}\n")
    log = open(os.path.join(workdir, "janus.log"), "w")
    return subprocess.Popen(["nice", "-n", str(NICE), "janus", "-C", os.path.join(workdir, "janus.jcfg"),
                             "-F", workdir, "-N", "-L", os.path.join(workdir, "janus.out")],
                            stdout=log, stderr=subprocess.STDOUT)


async def get_json(url: str) -> dict:
    import aiohttp
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            return await r.json()


async def wait_http(url: str, timeout: float = 20.0) -> None:
    import aiohttp
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    await r.read()
                    return
            except Exception:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


# orchestration -------------------------------------------------------------------------------------

def recv(conn, timeout: float, what: str):
    if not conn.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    msg = conn.recv()
    if msg[0] == "error":
        raise RuntimeError(f"{what} failed:\n{msg[1]}")
    return msg


def run_system(kind: str, listeners: int, speakers: int, duration: float, procs: int,
               join_rate: float, slots: int, workers: int = 0, settle: float = 5.0,
               probe_every: float = 0.4, probe_time: float = 10.0) -> dict:
    ctx = mp.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix=f"fanout-{kind}-")
    server_proc = janus = None
    children = []
    try:
        port = free_port()
        if kind == "janus":
            janus = start_janus(tmp, port)
            server = f"http://127.0.0.1:{port}/janus"
            asyncio.run(wait_http(server + "/info"))
            pid = janus.pid
        else:
            ready = ctx.Event()
            per_worker = (listeners + speakers + workers) // workers + 1 if workers else 0
            server_proc = ctx.Process(target=serve_main,
                                      args=(kind, port, slots, ready,
                                            workers if kind == "ours" else 0, per_worker))
            server_proc.start()
            if not ready.wait(30):
                raise RuntimeError("SFU did not start")
            server = f"http://127.0.0.1:{port}"
            pid = server_proc.pid
        print(f"{kind}: SFU pid {pid} at {server}", file=sys.stderr, flush=True)
        feeds = []
        spk_conns = []
        for s in range(speakers):
            a, b = ctx.Pipe()
            p = ctx.Process(target=speaker_main, args=(b, kind, server, s, speakers), daemon=True)
            p.start()
            children.append(p)
            msg = recv(a, 30, f"speaker {s}")
            feeds.append(msg[1].get("feed"))
            spk_conns.append(a)
        time.sleep(0.5)
        lis_conns = []
        per = [listeners // procs + (1 if i < listeners % procs else 0) for i in range(procs)]
        first = 0
        for i, n in enumerate(per):
            if n == 0:
                continue
            a, b = ctx.Pipe()
            p = ctx.Process(target=listener_main,
                            args=(b, kind, server, first, n, speakers, feeds,
                                  procs / join_rate),
                            daemon=True)
            p.start()
            children.append(p)
            lis_conns.append(a)
            first += n
        joined = [recv(c, 600, "listeners to join")[1] for c in lis_conns]
        bulk_joins = [t for j in joined for t in j["joins"]]
        failures = [f for j in joined for f in j["failures"]]
        no_audio = sum(j["no_audio"] for j in joined)
        time.sleep(settle)
        t0 = time.time() + 0.5
        t1 = t0 + duration
        for c in spk_conns:
            c.send(("window", t0, t1))
        for c in lis_conns:
            c.send(("window", t0, t1))
        time.sleep(max(0.0, t0 - time.time()))
        cpu0 = cpu_seconds(pid)
        machine0 = machine_ticks()
        others0 = {p.pid: cpu_seconds(p.pid) for p in children}
        time.sleep(max(0.0, t1 - time.time()))
        cpu1 = cpu_seconds(pid)
        machine = machine_share(machine0, machine_ticks())
        load = os.getloadavg()[0]
        sfu_stats = asyncio.run(get_json(server + "/stats")) if kind == "ours" else {}
        others = {p.pid: cpu_seconds(p.pid) - others0[p.pid] for p in children}
        time.sleep(0.5)
        for c in spk_conns + lis_conns:
            c.send(("report",))
        spk = [recv(c, 60, "speaker report")[1] for c in spk_conns]
        lis = [recv(c, 120, "listener report")[1] for c in lis_conns]
        # then joins, one at a time per client process, while the SFU forwards to everyone
        t_end = time.time() + probe_time
        every = probe_every * len(lis_conns)
        for i, c in enumerate(lis_conns):
            c.send(("probe", t_end, every, every * i / len(lis_conns)))
        probed = [recv(c, probe_time + 60, "join probes")[1] for c in lis_conns]
        for c in spk_conns + lis_conns:
            c.send(("stop",))
        received = sum(r["packets"] for r in lis)
        joins = [t for r in probed for t in r["probes"]]
        failures += [f for r in probed for f in r["failures"]]
        sent = sum(r["sent"] for r in spk)
        expected = sent * listeners
        burst_sends = sorted(spk[0]["bursts"])
        latencies = []
        for arrival in (t for r in lis for t in r["bursts"]):
            k = bisect.bisect_right(burst_sends, arrival) - 1
            if k >= 0:
                latencies.append(arrival - burst_sends[k])
        cpu = cpu1 - cpu0
        return {
            "system": kind, "listeners": listeners, "speakers": speakers,
            "joined": len(bulk_joins), "failures": len(failures), "no_audio": no_audio,
            "cpu_s": cpu, "cpu_share": cpu / duration,
            "us_per_packet": cpu / received * 1e6 if received else None,
            "received": received, "expected": expected,
            "delivered": received / expected if expected else None,
            "latency_p50_ms": _ms(percentile(latencies, 50)),
            "latency_p95_ms": _ms(percentile(latencies, 95)),
            "latency_samples": len(latencies),
            "join_p50_ms": _ms(percentile(joins, 50)), "join_p95_ms": _ms(percentile(joins, 95)),
            "join_samples": len(joins),
            "bulk_join_p50_ms": _ms(percentile(bulk_joins, 50)),
            "bulk_join_p95_ms": _ms(percentile(bulk_joins, 95)),
            "failure_examples": failures[:3], "sfu_stats": sfu_stats,
            "machine": machine, "loadavg": round(load, 2),
            "client_cpu_share": [round(others[p.pid] / duration, 3) for p in children],
            "per_client_min_max": [min((x for r in lis for x in r["per_client"]), default=None),
                                   max((x for r in lis for x in r["per_client"]), default=None)],
        }
    finally:
        for p in children:
            p.join(5)
            if p.is_alive():
                p.kill()
        if server_proc is not None:
            server_proc.kill()
            server_proc.join(5)
        if janus is not None:
            janus.send_signal(signal.SIGINT)
            try:
                janus.wait(10)
            except subprocess.TimeoutExpired:
                janus.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


def fmt(v, digits=1) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listeners", type=int, default=500)
    ap.add_argument("--speakers", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--baseline-listeners", type=int, default=10)
    ap.add_argument("--systems", default="ours,cluster,baseline,janus")
    ap.add_argument("--procs", type=int, default=4, help="listener client processes")
    ap.add_argument("--join-rate", type=float, default=50.0,
                    help="listener arrivals per second (all processes together)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--workers", type=int, default=0,
                    help="ours: an SFUCluster of this many worker processes (0: one SFU)")
    ap.add_argument("--janus-event-loops", type=int, default=os.cpu_count() or 2,
                    help="Janus event_loops (default: one per core, its faster setting here; "
                         "0: Janus's default of a thread per handle)")
    ap.add_argument("--nice", type=int, default=NICE,
                    help="niceness for the SFU and client processes (root only; default -10)")
    args = ap.parse_args(argv)
    os.environ["FANOUT_NICE"] = str(args.nice)  # spawned children re-read it
    os.environ["FANOUT_JANUS_EVENT_LOOPS"] = str(args.janus_event_loops)
    results = []
    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        if system == "janus" and shutil.which("janus") is None:
            print("janus is not installed (apt-get install janus); skipping", file=sys.stderr)
            continue
        kind, workers = system, args.workers
        if system == "cluster":
            kind, workers = "ours", args.workers or os.cpu_count() or 2
        n = args.baseline_listeners if kind == "baseline" else args.listeners
        print(f"running {system} with {n} listeners, {args.speakers} speaker(s)...",
              file=sys.stderr, flush=True)
        res = run_system(kind, n, args.speakers, args.duration, min(args.procs, n),
                         args.join_rate, max(3, args.speakers), workers)
        res["system"] = system
        res["workers"] = workers if kind == "ours" else None
        results.append(res)
        print(json.dumps(res), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    ours = next((r for r in results if r["system"] == "ours"), None)
    print(f"\nfan-out: {args.speakers} speaker(s), {args.duration:.0f} s window, "
          f"{os.cpu_count()} cores\n")
    print("| SFU | listeners | SFU CPU us/packet | vs ours | delivered | latency p50/p95 ms "
          "| join p50/p95 ms | SFU CPU | machine busy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = {"ours": "ours: media.SFU, 1 process",
             "cluster": "ours: media.SFUCluster, {w} workers",
             "baseline": "aiortc MediaRelay (decode + re-encode)",
             "janus": "Janus 1.1.2 VideoRoom"}
    for r in results:
        ratio = (r["us_per_packet"] / ours["us_per_packet"]
                 if ours and ours["us_per_packet"] and r["us_per_packet"] else None)
        name = names[r["system"]].format(w=r.get("workers"))
        print(f"| {name} | {r['listeners']} | {fmt(r['us_per_packet'])} "
              f"| {fmt(ratio, 2)}x | {fmt(r['delivered'], 4)} "
              f"| {fmt(r['latency_p50_ms'])} / {fmt(r['latency_p95_ms'])} "
              f"| {fmt(r['join_p50_ms'])} / {fmt(r['join_p95_ms'])} "
              f"| {fmt(r['cpu_share'] * 100, 0)}% | {fmt(r['machine']['busy'] * 100, 0)}% |")
        if r["failures"] or r["no_audio"]:
            print(f"|   ({r['failures']} joins failed, {r['no_audio']} without audio: "
                  f"{r['failure_examples']}) ||||||||")
    return 0


if __name__ == "__main__":
    sys.exit(main())
