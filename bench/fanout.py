"""Audio fan-out benchmark: our SFU vs an aiortc MediaRelay SFU vs Janus VideoRoom, one run.

    python bench/fanout.py [--listeners 500] [--speakers 1] [--duration 20]
                           [--systems ours,cluster,baseline,janus] [--baseline-listeners 10]

Systems: ``ours`` (one ``media.SFU`` process), ``tcp`` (the same, with ``media.tcp_port`` and
the listeners connecting over ICE-TCP: RFC 4571-framed STUN, DTLS and SRTP on one TCP connection
each, bench/fanout_tcp.py; the speakers stay on UDP), ``cluster`` (``media.SFUCluster``, one worker
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
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import aiohttp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.common import call, fmt, free_port, log, pct  # noqa: E402
from bench.fanout_clients import NICE, boost, listener_main, speaker_main  # noqa: E402
from bench.janus import start_janus  # noqa: E402

ROOM = "!bench:bench"


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


def started_pid(p: mp.process.BaseProcess) -> int:
    if p.pid is None:
        raise RuntimeError(f"{p.name} has not started")
    return p.pid


def machine_ticks() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def machine_share(before: list[int], after: list[int]) -> dict:
    d = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(d) or 1
    idle = d[3] + d[4]
    return {"busy": round(1 - idle / total, 3),
            "steal": round(d[7] / total, 3) if len(d) > 7 else 0.0}



# the SFUs under test ---------------------------------------------------------------------

def serve_main(kind: str, port: int, slots: int, ready, workers: int = 0,
               per_worker: int = 0, record_to: str | None = None) -> None:
    boost(NICE)
    try:
        asyncio.run(_serve(kind, port, slots, ready, workers, per_worker, record_to))
    except KeyboardInterrupt:
        pass


async def _serve(kind: str, port: int, slots: int, ready, workers: int = 0,
                 per_worker: int = 0, record_to: str | None = None) -> None:
    from aiohttp import web

    if kind in ("ours", "tcp"):
        from media.cluster import SFUCluster
        from media.sfu import SFU

        sfu: SFU | SFUCluster
        if workers:
            sfu = SFUCluster(audio_slots=slots, workers=workers,
                             sessions_per_worker=per_worker)
            await sfu.start()
        else:
            # "tcp": the same SFU with its ICE-TCP port, for listeners that come over TCP
            sfu = SFU(audio_slots=slots, tcp_port=0 if kind == "tcp" else None)
        recordings = [0]

        async def record(request):
            """bench/recording.py: POST {"on": bool} starts (a new file) or stops recording."""
            body = await request.json()
            if body.get("on") and record_to:
                recordings[0] += 1
                await sfu.start_recording(ROOM, f"{record_to}.{recordings[0]}",
                                          int(time.time() * 1000))
            else:
                await sfu.stop_recording(ROOM)
            return web.json_response({})

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
            if record_to and isinstance(sfu, SFU) and ROOM in sfu.rooms:
                rec = sfu.rooms[ROOM].recorder
                out["recorded_packets"] = rec.packets if rec else None
            rooms = sfu.rooms.values() if isinstance(sfu, SFU) else []
            queues = [s.tp.shim._queue.qsize() for r in rooms for s in r.sessions.values()
                      if s.tp is not None]
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

        async def record(request):
            return web.json_response({}, status=404)
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
    app.router.add_post("/record", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ready.set()
    await asyncio.Event().wait()



async def get_json(url: str) -> dict:
    async with aiohttp.ClientSession() as http:
        return await call(http, "GET", url)


async def wait_http(url: str, timeout: float = 20.0) -> None:
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



# orchestration ---------------------------------------------------------------------------

def recv(conn, timeout: float, what: str):
    if not conn.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    msg = conn.recv()
    if msg[0] == "error":
        raise RuntimeError(f"{what} failed:\n{msg[1]}")
    return msg


def run_system(kind: str, listeners: int, speakers: int, duration: float, procs: int,
               join_rate: float, slots: int, workers: int = 0, settle: float = 5.0,
               probe_every: float = 0.4, probe_time: float = 10.0,
               record: bool = False, in_window=None) -> dict:
    """One system's run. ``record``: the SFU may record the room (``POST /record``);
    ``in_window(server, pid, t1)``: called in the measurement window, its result returned
    as ``"in_window"`` (bench/recording.py alternates recording on and off there)."""
    ctx = mp.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix=f"fanout-{kind}-")
    server_proc = janus = None
    pid: int | None
    children = []
    try:
        port = free_port()
        if kind == "janus":
            janus = start_janus(tmp, port, NICE)
            server = f"http://127.0.0.1:{port}/janus"
            asyncio.run(wait_http(server + "/info"))
            pid = janus.pid
        else:
            ready = ctx.Event()
            per_worker = (listeners + speakers + workers) // workers + 1 if workers else 0
            server_proc = ctx.Process(target=serve_main,
                                      args=(kind, port, slots, ready,
                                            workers if kind == "ours" else 0, per_worker,
                                            os.path.join(tmp, "room.rec") if record else None))
            server_proc.start()
            if not ready.wait(30):
                raise RuntimeError("SFU did not start")
            server = f"http://127.0.0.1:{port}"
            pid = server_proc.pid
        if pid is None:
            raise RuntimeError("the SFU process has no pid")
        log(f"{kind}: SFU pid {pid} at {server}")
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
        for n in per:
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
        others0 = {p.pid: cpu_seconds(started_pid(p)) for p in children}
        probed_window = in_window(server, pid, t1) if in_window is not None else None
        time.sleep(max(0.0, t1 - time.time()))
        cpu1 = cpu_seconds(pid)
        machine = machine_share(machine0, machine_ticks())
        load = os.getloadavg()[0]
        sfu_stats = asyncio.run(get_json(server + "/stats")) if kind in ("ours", "tcp") else {}
        others = {p.pid: cpu_seconds(started_pid(p)) - others0[p.pid] for p in children}
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
            "latency_p50_ms": _ms(pct(latencies, 50)),
            "latency_p95_ms": _ms(pct(latencies, 95)),
            "latency_samples": len(latencies),
            "join_p50_ms": _ms(pct(joins, 50)), "join_p95_ms": _ms(pct(joins, 95)),
            "join_samples": len(joins),
            "bulk_join_p50_ms": _ms(pct(bulk_joins, 50)),
            "bulk_join_p95_ms": _ms(pct(bulk_joins, 95)),
            "failure_examples": failures[:3], "sfu_stats": sfu_stats,
            "in_window": probed_window,
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listeners", type=int, default=500)
    ap.add_argument("--speakers", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--baseline-listeners", type=int, default=10)
    ap.add_argument("--systems", default="ours,tcp,cluster,baseline,janus",
                    help="ours, tcp (ours with the listeners over ICE-TCP), cluster, baseline, "
                         "janus")
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
            log("janus is not installed (apt-get install janus); skipping")
            continue
        kind, workers = system, args.workers
        if system == "cluster":
            kind, workers = "ours", args.workers or os.cpu_count() or 2
        n = args.baseline_listeners if kind == "baseline" else args.listeners
        log(f"running {system} with {n} listeners, {args.speakers} speaker(s)...")
        res = run_system(kind, n, args.speakers, args.duration, min(args.procs, n),
                         args.join_rate, max(3, args.speakers), workers)
        res["system"] = system
        res["workers"] = workers if kind == "ours" else None
        results.append(res)
        log(json.dumps(res))
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
             "tcp": "ours: media.SFU, listeners over ICE-TCP",
             "cluster": "ours: media.SFUCluster, {w} workers",
             "baseline": "aiortc MediaRelay (decode + re-encode)",
             "janus": "Janus 1.1.2 VideoRoom"}
    for r in results:
        ratio = (r["us_per_packet"] / ours["us_per_packet"]
                 if ours and ours["us_per_packet"] and r["us_per_packet"] else None)
        name = names[r["system"]].format(w=r.get("workers"))
        print(f"| {name} | {r['listeners']} | {fmt(r['us_per_packet'], digits=1)} "
              f"| {fmt(ratio, digits=2)}x | {fmt(r['delivered'], digits=4)} "
              f"| {fmt(r['latency_p50_ms'], digits=1)} / {fmt(r['latency_p95_ms'], digits=1)} "
              f"| {fmt(r['join_p50_ms'], digits=1)} / {fmt(r['join_p95_ms'], digits=1)} "
              f"| {fmt(r['cpu_share'] * 100, digits=0)}% "
              f"| {fmt(r['machine']['busy'] * 100, digits=0)}% |")
        if r["failures"] or r["no_audio"]:
            print(f"|   ({r['failures']} joins failed, {r['no_audio']} without audio: "
                  f"{r['failure_examples']}) ||||||||")
    tcp = next((r for r in results if r["system"] == "tcp"), None)
    if ours and tcp and ours["us_per_packet"] and tcp["us_per_packet"]:
        print(f"\nICE-TCP vs UDP: {tcp['us_per_packet']:.1f} / {ours['us_per_packet']:.1f} "
              f"us/packet = {tcp['us_per_packet'] / ours['us_per_packet']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
