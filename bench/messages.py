"""Message throughput and delivery latency of any Matrix homeserver (ours or Synapse).

    python bench/messages.py --base-url http://127.0.0.1:8008 --shared-secret S [--json]
    python bench/messages.py --compare          # starts ours and Synapse, same workload on each
    python bench/messages.py --metrics-overhead # ours with metrics.enabled off and on, alternated

Workload: N senders each PUT M messages one after another (the senders run concurrently)
into R shared public rooms; S other users long-poll /sync and time when each message
reaches them. Users are made with the Synapse-style shared-secret admin registration
(`/_synapse/admin/v1/register`), which our server implements too.

Reported: messages/s (messages acknowledged / wall time from first send to last ack),
send latency p50/p95, delivery latency p50/p95 (send start -> seen in a syncer's /sync,
both read from time.monotonic() in this one process), and messages delivered vs expected
(every syncer should see every message).

Only aiohttp and the standard library (plus PyYAML in --compare, to edit our config).
Every wait is bounded: the script always ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    CLIENT,
    HttpError,
    Node,
    call,
    fmt,
    free_port,
    log,
    pct,
    r1,
    register_user,
)

# The default sync timeline limit (10 in Synapse) would make busy rooms "limited" and
# drop messages from /sync; ask for plenty so every message is seen.
SYNC_FILTER = json.dumps({"room": {"timeline": {"limit": 1000}}}, separators=(",", ":"))
MARKER = re.compile(r"^bench (\w+) (\d+):(\d+) t=([0-9.]+)$")


# --------------------------------------------------------------------------- workload


async def bounded_gather(limit: int, coros):
    """gather() with at most `limit` running at once (setup must not swamp the server)."""
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))


async def run_workload(base_url: str, shared_secret: str, senders: int = 10, messages: int = 50,
                       rooms: int = 2, syncers: int = 5, label: str = "",
                       delivery_timeout: float = 30, log=print) -> dict:
    base_url = base_url.rstrip("/")
    api = base_url + CLIENT
    run_id = secrets.token_hex(4)  # usernames and markers unique per run: a server can be reused
    senders, rooms = max(1, senders), max(1, rooms)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        # ---- setup: users, rooms, joins (not measured)
        t0 = time.monotonic()
        users = await bounded_gather(4, [
            register_user(session, base_url, shared_secret, f"bench_{run_id}_{i}")
            for i in range(senders + syncers)])
        tokens = [u["access_token"] for u in users]
        room_ids = []
        for r in range(rooms):
            room_ids.append((await call(session, "POST", api + "/createRoom", tokens[0],
                                        {"preset": "public_chat", "name": f"bench {run_id} {r}"}))
                            ["room_id"])
        await bounded_gather(4, [
            call(session, "POST", api + "/join/" + urllib.parse.quote(room), tok, {})
            for tok in tokens[1:] for room in room_ids])
        log(f"[{label}] setup: {len(users)} users, {rooms} rooms in {time.monotonic() - t0:.1f} s")

        # ---- syncers: initial sync, then long-poll and time every marked message
        expected_per_syncer = senders * messages
        seen: list[set] = [set() for _ in range(syncers)]
        delivery_ms: list[float] = []
        stats = {"sync_errors": 0, "limited_timelines": 0}
        ready = [asyncio.Event() for _ in range(syncers)]
        all_done = asyncio.Event()
        if syncers == 0:
            all_done.set()

        async def syncer(k: int) -> None:
            tok, since = tokens[senders + k], None
            while len(seen[k]) < expected_per_syncer:
                incremental = since is not None
                q = {"filter": SYNC_FILTER, "timeout": "30000" if incremental else "0"}
                if since is not None:
                    q["since"] = since
                try:
                    body = await call(session, "GET", api + "/sync?" + urllib.parse.urlencode(q),
                                      tok, timeout=60)
                except (TimeoutError, HttpError, aiohttp.ClientError):
                    stats["sync_errors"] += 1
                    await asyncio.sleep(0.5)
                    continue
                now = time.monotonic()
                since = body.get("next_batch", since)
                for room in body.get("rooms", {}).get("join", {}).values():
                    timeline = room.get("timeline", {})
                    # A limited incremental timeline means the server skipped events.
                    stats["limited_timelines"] += bool(incremental and timeline.get("limited"))
                    for ev in timeline.get("events", []):
                        m = MARKER.match(str(ev.get("content", {}).get("body", "")))
                        if ev.get("type") == "m.room.message" and m and m.group(1) == run_id:
                            key = (m.group(2), m.group(3))
                            if key not in seen[k]:
                                seen[k].add(key)
                                delivery_ms.append((now - float(m.group(4))) * 1000)
                ready[k].set()
            if all(len(s) >= expected_per_syncer for s in seen):
                all_done.set()

        sync_tasks = [asyncio.create_task(syncer(k)) for k in range(syncers)]
        try:
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 60)
            except TimeoutError:
                raise RuntimeError("syncers' initial /sync did not succeed within 60 s") from None

            # ---- senders: sequential PUTs each, all senders at once
            send_ms: list[float] = []
            errors = {"send_errors": 0, "rate_limited": 0}

            async def sender(i: int) -> None:
                room = urllib.parse.quote(room_ids[i % rooms])
                for j in range(messages):
                    url = f"{api}/rooms/{room}/send/m.room.message/{run_id}-{i}-{j}"
                    for _attempt in range(5):  # a 429 is retried (same txnId), then given up
                        start = time.monotonic()
                        body = {"msgtype": "m.text",
                                "body": f"bench {run_id} {i}:{j} t={start:.6f}"}
                        try:
                            await call(session, "PUT", url, tokens[i], body, timeout=30)
                            send_ms.append((time.monotonic() - start) * 1000)
                            break
                        except HttpError as e:
                            if e.status != 429:
                                errors["send_errors"] += 1
                                break
                            errors["rate_limited"] += 1
                            await asyncio.sleep(min(e.retry_after_ms or 1000, 5000) / 1000)
                        except (TimeoutError, aiohttp.ClientError):
                            errors["send_errors"] += 1
                            break

            t_first = time.monotonic()
            await asyncio.gather(*(sender(i) for i in range(senders)))
            wall = time.monotonic() - t_first
            log(f"[{label}] sent {len(send_ms)} messages in {wall:.2f} s; waiting for delivery")
            try:
                await asyncio.wait_for(all_done.wait(), delivery_timeout)
            except TimeoutError:
                log(f"[{label}] delivery incomplete after {delivery_timeout:.0f} s")
        finally:
            for t in sync_tasks:
                t.cancel()
            await asyncio.gather(*sync_tasks, return_exceptions=True)
    return {
        "label": label, "base_url": base_url, "senders": senders,
        "messages_per_sender": messages, "rooms": rooms, "syncers": syncers,
        "messages_sent": len(send_ms), "wall_s": round(wall, 3),
        "messages_per_s": r1(len(send_ms) / wall if wall > 0 else None),
        "send_p50_ms": r1(pct(send_ms, 50)), "send_p95_ms": r1(pct(send_ms, 95)),
        "delivery_p50_ms": r1(pct(delivery_ms, 50)), "delivery_p95_ms": r1(pct(delivery_ms, 95)),
        "delivered": sum(len(s) for s in seen), "expected": syncers * senders * messages,
        **errors, **stats,
    }


def print_result(res: dict) -> None:
    print(f"{res['label'] or res['base_url']}: {res['senders']} senders x "
          f"{res['messages_per_sender']} msgs, {res['rooms']} rooms, {res['syncers']} syncers")
    print(f"  throughput       {res['messages_per_s']} messages/s "
          f"({res['messages_sent']} in {res['wall_s']} s)")
    print(f"  send latency     p50 {res['send_p50_ms']} ms   p95 {res['send_p95_ms']} ms")
    print(f"  delivery latency p50 {res['delivery_p50_ms']} ms   p95 {res['delivery_p95_ms']} ms")
    print(f"  delivered        {res['delivered']}/{res['expected']}   send errors "
          f"{res['send_errors']}, 429s {res['rate_limited']}, sync errors {res['sync_errors']}, "
          f"limited timelines {res['limited_timelines']}")


# --------------------------------------------------------------------------- --compare


def raise_limits(node):
    """Every number under our config's `ratelimit` becomes huge (its shape is not fixed yet)."""
    if isinstance(node, dict):
        return {k: raise_limits(v) for k, v in node.items()}
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return 1_000_000
    return node


def raise_rate_limits(cfg: dict) -> None:
    """A config edit: every client-facing rate limit becomes huge (the bench measures the
    server, not its throttles; Synapse's are raised the same way by tests.synapse_env)."""
    huge = {"per_second": 1_000_000, "burst": 1_000_000}
    cfg["ratelimit"] = {"login": huge, "register": huge, "message": huge,
                        **raise_limits(cfg.get("ratelimit") or {})}


async def start_ours(node: Node, timeout: float = 60) -> None:
    """Our homeserver as a subprocess, configured via its own generate-config, answering."""
    node.start(node.configure(raise_rate_limits), log_level=None)
    try:
        async with aiohttp.ClientSession() as session:
            await node.wait_ready(session, timeout)
    except RuntimeError:
        node.stop(15)
        raise


def compare_table(ours: dict | None, syn: dict | None) -> str:
    def get(res, key):
        return None if res is None else res.get(key)

    rows = [("messages/s", "messages_per_s", "ours/synapse")]
    rows += [(name, key, "synapse/ours") for name, key in [
        ("send p50 ms", "send_p50_ms"), ("send p95 ms", "send_p95_ms"),
        ("delivery p50 ms", "delivery_p50_ms"), ("delivery p95 ms", "delivery_p95_ms")]]
    out = [f"{'metric':<18}{'ours':>12}{'synapse':>12}{'ratio':>10}   (ratio > 1: ours better)"]
    for name, key, how in rows:
        a, b = get(ours, key), get(syn, key)
        num, den = (a, b) if how == "ours/synapse" else (b, a)
        ratio = f"{num / den:.2f}x" if num is not None and den else "n/a"
        out.append(f"{name:<18}{fmt(a, 'n/a'):>12}{fmt(b, 'n/a'):>12}{ratio:>10}")
    for name, res in (("ours", ours), ("synapse", syn)):
        if res:
            out.append(f"delivered {name}: {res['delivered']}/{res['expected']}, send errors "
                       f"{res['send_errors']}, 429s {res['rate_limited']}")
    return "\n".join(out)


async def compare(args) -> dict:
    from tests.synapse_env import SynapseServer

    secret = "bench-shared-secret"
    workload = dict(senders=args.senders, messages=args.messages, rooms=args.rooms,
                    syncers=args.syncers, delivery_timeout=args.delivery_timeout,
                    log=log)
    results: dict = {"ours": None, "synapse": None, "errors": {}}
    with tempfile.TemporaryDirectory(prefix="bench-messages-") as tmp:
        ours = Node("our homeserver", Path(tmp) / "ours", secret)
        syn = SynapseServer(Path(tmp) / "synapse", shared_secret=secret)
        # Start both first (so a broken one shows up before minutes of benchmarking), then
        # run the workloads one after the other: 2 cores cannot host both fairly at once.
        starters = {"ours": lambda: start_ours(ours),
                    "synapse": lambda: asyncio.to_thread(syn.start)}
        for name, start in starters.items():
            try:
                t0 = time.monotonic()
                await start()
                print(f"[{name}] started in {time.monotonic() - t0:.1f} s", file=sys.stderr)
            except Exception as e:  # report it and still measure the other server
                results["errors"][name] = str(e)
                print(f"[{name}] could not start: {e}", file=sys.stderr)
        try:
            for name, url in (("ours", ours.base_url), ("synapse", syn.base_url)):
                if name in results["errors"]:
                    continue
                try:
                    results[name] = await run_workload(url, secret, label=name, **workload)
                except Exception as e:
                    results["errors"][name] = f"{type(e).__name__}: {e}"
                    print(f"[{name}] benchmark failed: {e}", file=sys.stderr)
        finally:
            ours.stop(15)
            syn.stop()
    return results


# --------------------------------------------------------------------------- --metrics-overhead


def enable_metrics(port: int):
    def edit(cfg: dict) -> None:
        cfg["metrics"] = {"enabled": True, "port": port, "bind_address": "127.0.0.1"}
    return edit


async def metrics_overhead(args) -> dict:
    """Two of our servers, metrics.enabled false and true, the same workload on each, in
    alternating rounds (so load drifting on a shared machine hits both alike)."""
    secret = "bench-shared-secret"
    workload = dict(senders=args.senders, messages=args.messages, rooms=args.rooms,
                    syncers=args.syncers, delivery_timeout=args.delivery_timeout, log=log)
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    metrics_port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        nodes = {"off": Node("metrics off", Path(tmp) / "off", secret),
                 "on": Node("metrics on", Path(tmp) / "on", secret)}
        try:
            for name, node in nodes.items():
                edits = [raise_rate_limits] + ([enable_metrics(metrics_port)]
                                               if name == "on" else [])
                node.start(node.configure(*edits), log_level=None)
                async with aiohttp.ClientSession() as session:
                    await node.wait_ready(session, 60)
            for r in range(args.rounds):
                for name in (("off", "on") if r % 2 == 0 else ("on", "off")):
                    cpu0 = process_cpu_s(nodes[name])
                    res = await run_workload(nodes[name].base_url, secret,
                                             label=f"metrics {name} #{r + 1}", **workload)
                    # the server's own CPU for the run (setup included): steadier than
                    # throughput on a shared machine
                    res["server_cpu_ms_per_msg"] = round(
                        (process_cpu_s(nodes[name]) - cpu0) * 1000 / max(res["messages_sent"], 1),
                        3)
                    runs[name].append(res)
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{metrics_port}/metrics") as resp:
                scraped = await resp.text()
        finally:
            for node in nodes.values():
                node.stop(15)
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines()
                  if line.startswith("homeserver_http_requests_total{")
                  and 'servlet="RoomServlets.send"' in line)

    def median(key: str, name: str) -> float | None:
        vals = sorted(r[key] for r in runs[name] if r.get(key) is not None)
        return vals[len(vals) // 2] if vals else None

    summary = {k: {n: median(k, n) for n in runs} for k in
               ("server_cpu_ms_per_msg", "messages_per_s", "send_p50_ms", "send_p95_ms",
                "delivery_p50_ms")}
    return {"runs": runs, "median": summary, "sends_counted_by_metrics": counted}


def process_cpu_s(node: Node) -> float:
    """User + system CPU seconds of the server process so far (Linux /proc)."""
    assert node.proc is not None
    fields = Path(f"/proc/{node.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def overhead_table(res: dict) -> str:
    out = [f"{'metric (median)':<22}{'off':>10}{'on':>10}{'on/off':>10}"]
    for key, vals in res["median"].items():
        a, b = vals["off"], vals["on"]
        ratio = f"{b / a:.3f}" if a and b is not None else "n/a"
        out.append(f"{key:<22}{fmt(a, 'n/a'):>10}{fmt(b, 'n/a'):>10}{ratio:>10}")
    out.append(f"sends counted by the metrics: {res['sends_counted_by_metrics']:.0f}")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", help="homeserver to measure (required unless --compare)")
    ap.add_argument("--shared-secret", default=os.environ.get("BENCH_SHARED_SECRET"),
                    help="registration shared secret of that homeserver")
    ap.add_argument("--senders", type=int, default=10)
    ap.add_argument("--messages", type=int, default=50, help="messages per sender")
    ap.add_argument("--rooms", type=int, default=2)
    ap.add_argument("--syncers", type=int, default=5)
    ap.add_argument("--label", default="")
    ap.add_argument("--delivery-timeout", type=float, default=30,
                    help="seconds to wait after the last send for every syncer to see everything")
    ap.add_argument("--max-time", type=float, default=900, help="hard limit for the whole run")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    ap.add_argument("--compare", action="store_true",
                    help="start our homeserver and Synapse locally and measure both")
    ap.add_argument("--metrics-overhead", action="store_true",
                    help="start ours twice (metrics off / on) and compare")
    ap.add_argument("--rounds", type=int, default=2, help="--metrics-overhead rounds")
    args = ap.parse_args()

    if args.metrics_overhead:
        try:
            res = asyncio.run(asyncio.wait_for(metrics_overhead(args), args.max_time))
        except TimeoutError:
            print(f"gave up after --max-time {args.max_time} s", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(res))
        else:
            for name in ("off", "on"):
                for r in res["runs"][name]:
                    print_result(r)
            print(overhead_table(res))
        return 0

    if args.compare:
        try:
            res = asyncio.run(asyncio.wait_for(compare(args), args.max_time))
        except TimeoutError:
            print(f"gave up after --max-time {args.max_time} s", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(res))
        else:
            for r in (res["ours"], res["synapse"]):
                if r:
                    print_result(r)
            print(compare_table(res["ours"], res["synapse"]))
            for name, err in res["errors"].items():
                print(f"{name}: not measured: {err.splitlines()[0] if err else ''}")
        return 0 if res["ours"] and res["synapse"] else 1

    if not args.base_url or not args.shared_secret:
        ap.error("--base-url and --shared-secret are required (or use --compare)")
    try:
        res = asyncio.run(asyncio.wait_for(
            run_workload(args.base_url, args.shared_secret, args.senders, args.messages,
                         args.rooms, args.syncers, args.label, args.delivery_timeout,
                         log=log), args.max_time))
    except TimeoutError:
        print(f"gave up after --max-time {args.max_time} s", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res))
    else:
        print_result(res)
    return 0 if res["delivered"] == res["expected"] and not res["send_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
