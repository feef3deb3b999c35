"""What recording costs: the forwarding path with the room recorded vs not, and the mix.

    python bench/recording.py [--listeners 200] [--speakers 3] [--duration 60] [--phase 2]
                              [--hours 1.0] [--skip-fanout] [--skip-mix]

1. SFU CPU per forwarded packet, recording off vs on, in one run: ``bench/fanout.py``'s set-up
   (the SFU in its own process, aiortc speakers and listener processes), and within its
   measurement window the room's recording is switched off and on in turns of ``--phase``
   seconds (off, on, on, off, ...: a drift in the shared machine's load hits both alike); per
   turn, the SFU process's CPU (/proc) over the packets it forwarded (its own counter).
   Printed: the ratio over all turns, and the median ratio of adjacent off/on turns (robust
   to a burst of load from other work on a shared machine).
2. Mixing a synthetic recording of three speakers talking all the time for ``--hours``: Opus
   frames of a tone are encoded once with PyAV and repeated with advancing RTP timestamps and
   arrival times, written with ``media.recorder.Recorder`` (its per-packet append is timed
   too), then ``media.mixer.mix`` decodes, places, mixes and encodes the Ogg/Opus replay; its
   CPU time is ``time.process_time()`` (all threads of this process; the mix is single-
   threaded).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.common import fmt, log  # noqa: E402


def alternate(phase: float):
    """In the window: recording off and on in turns (ABBA...), ``phase`` seconds each; the
    SFU's CPU (/proc) and forwarded packets (its counters) per phase."""
    import asyncio

    from bench.common import call
    from bench.fanout import cpu_seconds

    def measure(server: str, pid: int, t1: float) -> dict:
        async def run() -> dict:
            import aiohttp
            out: dict[str, list] = {"off": [], "on": []}
            async with aiohttp.ClientSession() as http:
                i = 0
                while time.time() + phase + 0.3 < t1:
                    on = (i % 4) in (1, 2)  # off, on, on, off, off, on, on, off...
                    await call(http, "POST", server + "/record", body={"on": on})
                    await asyncio.sleep(0.2)  # the switch settles
                    fwd0 = (await call(http, "GET", server + "/stats"))["forwarded"]
                    cpu0 = cpu_seconds(pid)
                    await asyncio.sleep(phase)
                    cpu1 = cpu_seconds(pid)
                    fwd1 = (await call(http, "GET", server + "/stats"))["forwarded"]
                    out["on" if on else "off"].append((cpu1 - cpu0, fwd1 - fwd0))
                    i += 1
                await call(http, "POST", server + "/record", body={"on": False})
            return out
        return asyncio.run(run())
    return measure


def fanout_alternating(listeners: int, speakers: int, duration: float, phase: float,
                       procs: int) -> dict:
    from bench.fanout import run_system
    log(f"one run, {listeners} listeners, {speakers} speaker(s): recording off and on in "
        f"turns of {phase} s over a {duration} s window...")
    res = run_system("ours", listeners, speakers, duration, procs, 50.0, max(3, speakers),
                     probe_time=2.0, record=True, in_window=alternate(phase))
    phases = res["in_window"]
    out: dict = {}
    for k in ("off", "on"):
        cpu = sum(c for c, _ in phases[k])
        fwd = sum(f for _, f in phases[k])
        out[k] = {"us": cpu / fwd * 1e6 if fwd else None, "phases": len(phases[k]),
                  "per_phase": [c / f * 1e6 for c, f in phases[k] if f],
                  "forwarded": fwd}
    # each "on" turn against the "off" turn next to it (off, on | on, off | off, on ...):
    # the median of those ratios shrugs off a burst of load from elsewhere on the machine
    turns = [(c / f if f else None) for c, f in _interleave(phases)]
    ratios = [b / a for a, b in zip(turns[0::2], turns[1::2], strict=False) if a and b]
    out["paired_median"] = statistics.median(ratios) if ratios else None
    out["pairs"] = len(ratios)
    out["delivered"] = res["delivered"]
    return out


def _interleave(phases: dict) -> list:
    """The turns as (off, on) pairs, in the order they ran (off, on, on, off, off, on...)."""
    off, on = list(phases["off"]), list(phases["on"])
    out = []
    while off and on:
        out += [off.pop(0), on.pop(0)]
    return out


def append_cost(n: int = 50_000) -> float:
    """us per packet of ``Recorder.packet`` (what recording adds per received packet)."""
    from media import recorder
    from media.testing import opus_tone_packets, rtp_packet
    packets = [rtp_packet(p, i, 960 * i, 7, level=40)
               for i, p in enumerate(opus_tone_packets(440, 1.0))]
    with tempfile.TemporaryDirectory(prefix="recbench-") as tmp:
        rec = recorder.Recorder(os.path.join(tmp, "a.rec"), 0, now=0.0)
        t = time.perf_counter()
        for i in range(n):
            rec.packet("@speaker:bench", packets[i % 50], i * 0.02)
        spent = time.perf_counter() - t
        rec.close(n * 0.02)
    return spent / n * 1e6


def synthetic_mix(hours: float, speakers: int = 3) -> dict:
    from media import mixer, recorder
    from media.testing import opus_tone_packets, rtp_packet
    frames = [opus_tone_packets(f, 1.0) for f in (440, 660, 550, 330, 770)[:speakers]]
    n = int(hours * 3600 * 50)
    with tempfile.TemporaryDirectory(prefix="recbench-") as tmp:
        path = os.path.join(tmp, "hour.rec")
        rec = recorder.Recorder(path, int(time.time() * 1000), now=0.0)
        users = [f"@speaker{i}:bench" for i in range(speakers)]
        spent = 0.0
        for i in range(n):
            now = i * 0.02 + 0.001
            for s in range(speakers):
                data = rtp_packet(frames[s][i % 50], i, 960 * i, 1000 + s, level=40)
                t = time.perf_counter()
                rec.packet(users[s], data, now + 0.003 * s)
                spent += time.perf_counter() - t
        rec.close(n * 0.02 + 0.1)
        size = os.path.getsize(path)
        out = os.path.join(tmp, "hour.ogg")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        res = mixer.mix(path, out)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"hours": hours, "speakers": speakers, "packets": n * speakers,
            "record_us_per_packet": spent / (n * speakers) * 1e6, "file_mb": size / 1e6,
            "mix_cpu_s": cpu, "mix_wall_s": wall, "replay_s": res.duration_ms / 1000,
            "replay_mb": res.size / 1e6}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listeners", type=int, default=200)
    ap.add_argument("--speakers", type=int, default=3)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--phase", type=float, default=2.0,
                    help="seconds of each recording-off / recording-on turn")
    ap.add_argument("--procs", type=int, default=4, help="listener client processes")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--skip-fanout", action="store_true")
    ap.add_argument("--skip-mix", action="store_true")
    args = ap.parse_args(argv)
    print(f"\nrecording: {os.cpu_count()} cores\n")
    if not args.skip_fanout:
        r = fanout_alternating(args.listeners, args.speakers, args.duration, args.phase,
                               min(args.procs, args.listeners))
        off, on = r["off"]["us"], r["on"]["us"]
        print(f"SFU CPU per forwarded packet, {args.listeners} listeners, {args.speakers} "
              f"speaker(s), one {args.duration:.0f} s window, recording off/on in turns of "
              f"{args.phase:.0f} s (delivered {fmt(r['delivered'], digits=4)}):\n")
        print("| recording | SFU CPU us/packet | vs off | phases | per phase (us/packet) |")
        print("|---|---:|---:|---:|---|")
        for name in ("off", "on"):
            per = ", ".join(f"{x:.2f}" for x in r[name]["per_phase"])
            ratio = fmt(r[name]["us"] / off, digits=3)
            print(f"| {name} | {fmt(r[name]['us'], digits=2)} | {ratio}x "
                  f"| {r[name]['phases']} | {per} |")
        paired = r["paired_median"]
        worst = max(on / off, paired or 0.0)
        verdict = "within" if worst <= 1.05 else "NOT within"
        append = append_cost()
        share = append / (off * args.listeners) * 100
        print(f"\non/off = {on / off:.3f} over all turns; median of {r['pairs']} adjacent "
              f"off/on pairs {fmt(paired, digits=3)}: recording costs {verdict} 5%. "
              f"The recorder's append, {append:.2f} us per received packet (timed in this "
              f"process), is {share:.2f}% of the SFU's CPU per received packet here "
              f"({off:.2f} us x {args.listeners} listeners); the rest of the difference is "
              f"the shared machine's noise.\n")
    if not args.skip_mix:
        log(f"mixing a synthetic {args.hours} h recording of 3 speakers...")
        m = synthetic_mix(args.hours)
        print(f"Mixing {m['hours']} h of {m['speakers']} speakers ({m['packets']} packets, "
              f"recording file {m['file_mb']:.1f} MB; the recorder's append took "
              f"{m['record_us_per_packet']:.2f} us/packet):")
        print(f"  mix CPU {m['mix_cpu_s']:.1f} s (wall {m['mix_wall_s']:.1f} s) -> "
              f"{m['replay_s']:.0f} s of Ogg/Opus, {m['replay_mb']:.1f} MB; "
              f"{'under' if m['mix_cpu_s'] < 60 * m['hours'] else 'OVER'} a minute of one "
              f"core per hour")
    return 0


if __name__ == "__main__":
    sys.exit(main())
