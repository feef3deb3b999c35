"""Big-room benchmark across servers: the host pays one relay per server, not one per listener.

    python bench/cascade.py [--listeners 200] [--servers 3] [--duration 15] [--speakers 2]
                            [--steps 3] [--syncers 10] [--json] [--max-time 900]

Set-up: 1 + --servers of our homeservers (A hosts the room; B, C, D... hold the remote
audience) run as subprocesses on 127.0.0.1, federated with each other (bench/common.py's
`federate`), each with `metrics.enabled` on a port of its own. A moderator on A creates an audio
room; --speakers users on A become speakers and send Opus through aiortc (bench/fanout_clients.py's
speakers: 20 ms frames, a timed 80 ms burst every 400 ms). Listeners are the fan-out bench's cheap
socket-level listeners (ICE + DTLS-SRTP like any peer, then packets counted at the socket with
kernel receive timestamps), signalled through each user's own homeserver's
`POST /_matrix/client/unstable/org.audiorooms/rooms/{room}/media` (a tiny local proxy maps the
fan-out clients' `/join` calls to it, with the user's token). --syncers users per server
long-poll /sync all along.

Two phases in one run, same room, same speakers:
1. remote: --listeners listeners spread evenly over the remote servers, arriving in --steps
   steps; after each step the host's outgoing RTP packets/s are read from A's SFU counters
   (`homeserver_sfu_packets_forwarded` at its /metrics) over a few seconds;
2. local (the comparison): the remote listeners leave; as many listeners on A alone, same steps.

Per phase, over a --duration window with everyone joined: each server's CPU (/proc/<pid>/stat of
its process and children), audio delivered at the listeners (packets received / packets sent x
listeners), burst latency (speaker send time -> listener kernel receive time, one clock) per
server, RSS growth per listener per server (from before the phase's audio joins to after), and
stage-change latency: the moderator on A promotes a listener to speaker (and back), timed until
each server's long-polling /sync sees the event.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import json
import multiprocessing as mp
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    CLIENT,
    HttpError,
    Node,
    call,
    federate,
    fmt,
    free_port,
    log,
    pct,
    register,
    run_bench,
)
from bench.fanout import cpu_seconds, machine_share, machine_ticks, recv  # noqa: E402
from bench.fanout_clients import listener_main, speaker_main  # noqa: E402
from bench.stage import ROLE, Watcher, cheap_passwords, q  # noqa: E402

SECRET = "bench-cascade-secret"
U = "/_matrix/client/unstable/org.audiorooms"
PER_PROC = 250  # listeners per client process


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def sfu_forwarded(session, port: int) -> float | None:
    """homeserver_sfu_packets_forwarded from a server's metrics listener."""
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics",
                               timeout=aiohttp.ClientTimeout(total=10)) as r:
            text = await r.text()
    except (TimeoutError, aiohttp.ClientError):
        return None
    for line in text.splitlines():
        if line.startswith("homeserver_sfu_packets_forwarded"):
            name, value = line.rsplit(" ", 1)
            if name in ("homeserver_sfu_packets_forwarded",
                        "homeserver_sfu_packets_forwarded_total"):
                return float(value)
    return None


class Proxy:
    """The fan-out clients POST {user, sdp, speaker} to <base>/<group>/join; this opens the
    session at the user's own homeserver with the user's token."""

    def __init__(self, session, room_id: str):
        self.session, self.room_id = session, room_id
        self.groups: dict[str, list[dict]] = {}
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{group}/join", self.join)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def url(self, group: str) -> str:
        return f"http://127.0.0.1:{self.port}/{group}"

    async def join(self, request):
        body = await request.json()
        name = body["user"].split(":")[0].lstrip("@")
        index = int("".join(c for c in name if c.isdigit()))
        user = self.groups[request.match_info["group"]][index]
        try:
            res = await call(self.session, "POST",
                             f"{user['node'].base_url}{U}/rooms/{q(self.room_id)}/media",
                             user["access_token"], {"type": "offer", "sdp": body["sdp"]},
                             timeout=60)
        except HttpError as e:
            return web.json_response({"error": str(e)}, status=502)
        return web.json_response({"sdp": res["sdp"]})

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


async def stage_changes(session, moderator, targets, room_id, watchers, changes, timeout):
    lat: dict[str, list[float]] = collections.defaultdict(list)
    missing = 0
    for i in range(changes):
        target = targets[i % len(targets)]
        for role in ("speaker", "listener"):
            t = time.monotonic()
            url = (f"{moderator['node'].base_url}{CLIENT}/rooms/{q(room_id)}/state/"
                   f"{ROLE}/{q(target['user_id'])}")
            eid = (await call(session, "PUT", url, moderator["access_token"],
                              {"role": role, "muted": False}))["event_id"]
            if role == "listener":
                await asyncio.sleep(0.1)
                continue
            for label, ws in watchers.items():
                oks = await asyncio.gather(*(w.wait_for([eid], timeout) for w in ws))
                missing += oks.count(False)
                lat[label] += [w.arrivals[eid] - t for w in ws if eid in w.arrivals]
            await asyncio.sleep(0.1)
    return {label: {"p50_ms": ms(pct(v, 50)), "p95_ms": ms(pct(v, 95)), "n": len(v)}
            for label, v in sorted(lat.items())} | {"missing": missing}


async def run_phase(name, ctx, session, nodes, metric_ports, proxy, groups, spk_conns, args,
                    moderator, room_id, watchers) -> dict:
    """One phase: listeners of `groups` (label -> users) join in steps, then the window."""
    loop = asyncio.get_running_loop()
    res: dict = {"phase": name, "steps": []}
    rss0 = {k: rss_kib(n.proc.pid) for k, n in nodes.items()}
    children, conns, conn_label = [], [], []

    async def host_rate(seconds: float) -> float | None:
        f0 = await sfu_forwarded(session, metric_ports["A"])
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        f1 = await sfu_forwarded(session, metric_ports["A"])
        if f0 is None or f1 is None:
            return None
        return (f1 - f0) / (time.monotonic() - t0)

    res["steps"].append({"listeners": 0, "host_pps": r0(await host_rate(args.step_window))})
    joined_n = 0
    failures: list[str] = []
    no_audio = 0
    for step in range(1, args.steps + 1):
        new_conns = []
        for label, users in groups.items():
            lo = len(users) * (step - 1) // args.steps
            hi = len(users) * step // args.steps
            for first in range(lo, hi, PER_PROC):
                n = min(PER_PROC, hi - first)
                c_a, c_b = ctx.Pipe()
                p = ctx.Process(target=listener_main,
                                args=(c_b, "ours", proxy.url(label), first, n, args.speakers,
                                      [], 1 / args.join_rate), daemon=True)
                p.start()
                children.append(p)
                new_conns.append(c_a)
                conn_label.append(label)
        for c in new_conns:
            msg = await loop.run_in_executor(None, recv, c, 900, "listeners to join")
            joined_n += msg[1]["clients"]
            failures += msg[1]["failures"]
            no_audio += msg[1]["no_audio"]
        conns += new_conns
        await asyncio.sleep(2)
        rate = await host_rate(args.step_window)
        res["steps"].append({"listeners": sum(len(u) * step // args.steps
                                              for u in groups.values()),
                             "host_pps": r0(rate)})
        log(f"{name}: step {step}: {res['steps'][-1]}")
    res["joined"], res["failures"], res["no_audio"] = joined_n, len(failures), no_audio
    res["failure_examples"] = failures[:3]
    rss1 = {k: rss_kib(n.proc.pid) for k, n in nodes.items()}
    res["rss_mib"] = {k: round(v / 1024, 1) for k, v in rss1.items()}
    res["kib_per_listener"] = {k: round((rss1[k] - rss0[k]) / len(groups[k]), 1)
                               for k in groups if groups[k]}

    # ---- the window
    t0 = time.time() + 0.5
    t1 = t0 + args.duration
    for c in spk_conns + conns:
        c.send(("window", t0, t1))
    await asyncio.sleep(max(0.0, t0 - time.time()))
    cpu0 = {k: cpu_seconds(n.proc.pid) for k, n in nodes.items()}
    m0 = machine_ticks()
    f0 = await sfu_forwarded(session, metric_ports["A"])
    tf0 = time.monotonic()
    await asyncio.sleep(max(0.0, t1 - time.time()))
    f1 = await sfu_forwarded(session, metric_ports["A"])
    tf1 = time.monotonic()
    cpu1 = {k: cpu_seconds(n.proc.pid) for k, n in nodes.items()}
    res["machine_busy"] = machine_share(m0, machine_ticks())["busy"]
    res["cpu_share"] = {k: round((cpu1[k] - cpu0[k]) / args.duration, 3) for k in nodes}
    res["host_pps"] = r0((f1 - f0) / (tf1 - tf0)) if f0 is not None and f1 is not None else None
    await asyncio.sleep(0.5)
    for c in spk_conns + conns:
        c.send(("report",))
    spk = [(await loop.run_in_executor(None, recv, c, 60, "speaker report"))[1]
           for c in spk_conns]
    lis = [(await loop.run_in_executor(None, recv, c, 120, "listener report"))[1] for c in conns]
    sent = sum(r["sent"] for r in spk)
    bursts = sorted(spk[0]["bursts"])
    per_server: dict[str, dict] = {}
    for label in groups:
        reps = [r for r, lab in zip(lis, conn_label, strict=True) if lab == label]
        received = sum(r["packets"] for r in reps)
        lats = []
        for arrival in (t for r in reps for t in r["bursts"]):
            k = bisect.bisect_right(bursts, arrival) - 1
            if k >= 0:
                lats.append(arrival - bursts[k])
        expected = sent * len(groups[label])
        per_server[label] = {"listeners": len(groups[label]),
                             "delivered": round(received / expected, 4) if expected else None,
                             "latency_p50_ms": ms(pct(lats, 50)),
                             "latency_p95_ms": ms(pct(lats, 95))}
    res["per_server"] = per_server
    res["stage"] = await stage_changes(session, moderator,
                                       [u for us in groups.values() for u in us[:1]], room_id,
                                       watchers, args.stage_changes, 30)
    log(f"{name}: {json.dumps(res)}")
    # the phase's listeners leave
    for c in conns:
        c.send(("stop",))
    for p in children:
        await loop.run_in_executor(None, p.join, 10)
        if p.is_alive():
            p.kill()
    return res


def r0(v: float | None) -> float | None:
    return None if v is None else round(v, 0)


async def run(args) -> dict:
    run_id = secrets.token_hex(3)
    labels = ["A"] + [chr(ord("B") + i) for i in range(args.servers)]
    remote = labels[1:]
    tmp = tempfile.mkdtemp(prefix="bench-cascade-")
    nodes = {k: Node(k, Path(tmp) / k, SECRET, host="127.0.0.1") for k in labels}
    peers = {n.server_name: n.base_url for n in nodes.values()}
    metric_ports = {k: free_port() for k in labels}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    ctx = mp.get_context("spawn")
    tasks: list[asyncio.Task] = []
    spk_procs: list = []
    spk_conns: list = []
    proxy: Proxy | None = None
    res: dict = {"listeners": args.listeners, "servers": args.servers,
                 "speakers": args.speakers, "duration": args.duration, "cores": os.cpu_count()}
    try:
        for k, n in nodes.items():
            def metrics(cfg, port=metric_ports[k]):
                cfg["metrics"] = {"enabled": True, "port": port, "bind_address": "127.0.0.1"}
            n.start(n.configure(federate(peers, request_timeout_seconds=60.0), cheap_passwords,
                                metrics))
        for n in nodes.values():
            await n.wait_ready(session)
        a = nodes["A"]
        sem = asyncio.Semaphore(32)

        async def reg(node, name):
            async with sem:
                return await register(session, node, name)

        t = time.monotonic()
        moderator = await register(session, a, f"mod_{run_id}")
        speakers = await asyncio.gather(*(reg(a, f"spk{i}_{run_id}")
                                          for i in range(args.speakers)))
        watch = {k: await asyncio.gather(*(reg(n, f"w{i}_{k}_{run_id}")
                                           for i in range(args.syncers)))
                 for k, n in nodes.items()}
        groups_remote = {}
        for j, k in enumerate(remote):  # spread evenly, registered concurrently
            n_k = args.listeners // len(remote) + (j < args.listeners % len(remote))
            groups_remote[k] = list(await asyncio.gather(
                *(reg(nodes[k], f"r{i}_{k}_{run_id}") for i in range(n_k))))
        groups_local = {"A": list(await asyncio.gather(
            *(reg(a, f"l{j}_{run_id}") for j in range(args.listeners))))}
        log(f"registered in {time.monotonic() - t:.1f} s")
        room_id = (await call(session, "POST", a.base_url + CLIENT + "/createRoom",
                              moderator["access_token"],
                              {"preset": "public_chat", "name": "Cascade bench",
                               "creation_content": {"type": "org.audiorooms.audio"}}))["room_id"]
        everyone = ([u for us in watch.values() for u in us] + list(speakers)
                    + [u for us in groups_remote.values() for u in us] + groups_local["A"])
        t = time.monotonic()
        queues: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        for u in everyone:
            queues[u["node"].label].append(u)
        join_errors = []

        async def joiner(queue):
            while queue:
                u = queue.popleft()
                try:
                    await call(session, "POST", f"{u['node'].base_url}{CLIENT}/join/{q(room_id)}",
                               u["access_token"], {}, timeout=120)
                except (TimeoutError, HttpError, aiohttp.ClientError) as e:
                    join_errors.append(repr(e)[:200])
        await asyncio.gather(*(joiner(qu) for qu in queues.values() for _ in range(8)))
        res["room_joins"] = {"users": len(everyone), "failed": len(join_errors),
                             "wall_s": round(time.monotonic() - t, 1)}
        log(f"room joins: {res['room_joins']}")
        for s in speakers:
            await call(session, "PUT", f"{a.base_url}{CLIENT}/rooms/{q(room_id)}/state/{ROLE}/"
                       f"{q(s['user_id'])}", moderator["access_token"],
                       {"role": "speaker", "muted": False})
        watchers = {k: [Watcher(session, u) for u in us] for k, us in watch.items()}
        tasks = [asyncio.create_task(w.run()) for ws in watchers.values() for w in ws]
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for ws in watchers.values()
                                                for w in ws)), 120)
        proxy = Proxy(session, room_id)
        proxy.groups = {"spk": list(speakers), **groups_remote, **groups_local}
        await proxy.start()
        loop = asyncio.get_running_loop()
        for i in range(args.speakers):
            c_a, c_b = ctx.Pipe()
            p = ctx.Process(target=speaker_main, args=(c_b, "ours", proxy.url("spk"), i,
                                                       args.speakers), daemon=True)
            p.start()
            spk_procs.append(p)
            spk_conns.append(c_a)
            await loop.run_in_executor(None, recv, c_a, 60, f"speaker {i}")
        await asyncio.sleep(1)
        common = (ctx, session, nodes, metric_ports, proxy)
        rest = (spk_conns, args, moderator, room_id, watchers)
        res["remote"] = await run_phase("remote", *common, groups_remote, *rest)
        await asyncio.sleep(3)  # the remote sessions close; B, C, D drop their relays
        res["local"] = await run_phase("local", *common, groups_local, *rest)
        res["sync_errors"] = sum(w.errors for ws in watchers.values() for w in ws)
    finally:
        for c in spk_conns:
            try:
                c.send(("stop",))
            except OSError:
                pass
        for p in spk_procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if proxy:
            await proxy.stop()
        await session.close()
        for n in nodes.values():
            n.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def print_table(res: dict) -> None:
    rem, loc = res["remote"], res["local"]
    servers = ["A"] + [chr(ord("B") + i) for i in range(res["servers"])]
    print(f"\nBig room across servers: {res['listeners']} listeners, {res['speakers']} speaker(s) "
          f"on A, {res['servers']} remote servers, {res['duration']:.0f} s window, "
          f"{res['cores']} cores; room joins {res['room_joins']}\n")
    print("Host A's outgoing RTP packets/s (SFU counters) as the audience grows:\n")
    print("| listeners | remote (on " + ", ".join(servers[1:]) + ") | all on A | local/remote |")
    print("|---:|---:|---:|---:|")
    for sr, sl in zip(rem["steps"], loc["steps"], strict=False):
        ratio = sl["host_pps"] / sr["host_pps"] if sr["host_pps"] and sl["host_pps"] else None
        print(f"| {sr['listeners']} | {fmt(sr['host_pps'])} | {fmt(sl['host_pps'])} "
              f"| {fmt(ratio, digits=1)}x |")
    print("\nWith every listener joined:\n")
    print("| figure | remote audience | all on A | ratio (all on A / remote) |")
    print("|---|---:|---:|---:|")

    def row(name, r, lv, digits=None):
        ratio = lv / r if isinstance(r, int | float) and isinstance(lv, int | float) and r \
            else None
        print(f"| {name} | {fmt(r, digits=digits)} | {fmt(lv, digits=digits)} "
              f"| {fmt(ratio, digits=2)}{'x' if ratio is not None else ''} |")
    row("host A outgoing packets/s", rem["host_pps"], loc["host_pps"])
    for k in servers:
        row(f"CPU of {k} (share of a core)", rem["cpu_share"][k], loc["cpu_share"][k], 2)
    for k in servers:
        row(f"RSS of {k} MiB", rem["rss_mib"][k], loc["rss_mib"][k], 1)
    for k in servers:
        row(f"RSS growth per listener on {k} KiB", rem["kib_per_listener"].get(k),
            loc["kib_per_listener"].get(k), 1)
    lp = loc["per_server"]["A"]
    for k in servers[1:]:
        ps = rem["per_server"][k]
        row(f"delivered at listeners on {k}", ps["delivered"], lp["delivered"], 4)
    for k in servers[1:]:
        ps = rem["per_server"][k]
        row(f"latency p50 on {k} (2 hops) vs A (1 hop) ms", ps["latency_p50_ms"],
            lp["latency_p50_ms"], 1)
        row(f"latency p95 on {k} vs A ms", ps["latency_p95_ms"], lp["latency_p95_ms"], 1)
    p50s = [rem["per_server"][k]["latency_p50_ms"] for k in servers[1:]]
    p50s = [v for v in p50s if v is not None]
    if p50s and lp["latency_p50_ms"] is not None:
        print(f"| remote p50 minus all-on-A p50 (the relay hop), ms | "
              f"{sum(p50s) / len(p50s) - lp['latency_p50_ms']:.1f} | | |")
    for k in servers:
        rs, ls = rem["stage"].get(k, {}), loc["stage"].get(k, {})
        row(f"stage change seen in {k}'s /sync p50 ms", rs.get("p50_ms"), ls.get("p50_ms"), 1)
        row(f"stage change seen in {k}'s /sync p95 ms", rs.get("p95_ms"), ls.get("p95_ms"), 1)
    row("machine busy", rem["machine_busy"], loc["machine_busy"], 2)
    for r in (rem, loc):
        if any((v["delivered"] or 0) > 1.01 for v in r["per_server"].values()):
            print(f"\n{r['phase']}: delivered > 1: the speaker's sends were cut short in the "
                  "window (a starved speaker process, or its connection dropped): not valid")
        if r["failures"] or r["no_audio"] or r["stage"]["missing"]:
            print(f"\n{r['phase']}: {r['failures']} audio joins failed, {r['no_audio']} "
                  f"without audio, {r['stage']['missing']} stage changes not seen "
                  f"{r['failure_examples']}")


def ok(res: dict) -> bool:
    return all(not res[p]["failures"] and not res[p]["no_audio"] for p in ("remote", "local"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listeners", type=int, default=200, help="total, in each phase")
    ap.add_argument("--servers", type=int, default=3, help="remote servers (B, C, D, ...)")
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--speakers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--step-window", type=float, default=3.0)
    ap.add_argument("--syncers", type=int, default=10, help="long-polling /sync users per server")
    ap.add_argument("--stage-changes", type=int, default=5)
    ap.add_argument("--join-rate", type=float, default=25.0,
                    help="audio arrivals per second per client process")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--max-time", type=float, default=1800)
    args = ap.parse_args()
    if args.servers < 1 or args.listeners < args.servers or not 1 <= args.speakers <= 3:
        ap.error("need --servers >= 1, --listeners >= --servers, 1 <= --speakers <= 3")
    return run_bench(run, args, print_table, ok)


if __name__ == "__main__":
    sys.exit(main())
