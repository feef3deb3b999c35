"""Message throughput and delivery latency of any Matrix homeserver (ours or Synapse).

    python bench/messages.py --base-url http://127.0.0.1:8008 --shared-secret S [--json]
    python bench/messages.py --engine postgres --processes 2   # starts ours, measures it
    python bench/messages.py --compare          # starts ours and Synapse, same workload on each
    python bench/messages.py --engines sqlite:1,postgres:1,postgres:2,synapse-postgres
    python bench/messages.py --metrics-overhead # ours with metrics.enabled off and on, alternated

The servers it starts (bench/servers.py) run on SQLite or on a fresh database of a PostgreSQL
cluster (--pg-url), dropped afterwards; ours with --processes N is N `homeserver run` processes
of one config, and the workload's users are spread over them round-robin, so each syncer sees
messages sent through another process (reported apart as "across processes").

Workload: N senders each PUT M messages one after another (the senders run concurrently)
into R shared public rooms; S other users long-poll /sync and time when each message
reaches them. Users are made with the Synapse-style shared-secret admin registration
(`/_synapse/admin/v1/register`), which our server implements too.

Reported: messages/s (messages acknowledged / wall time from first send to last ack),
send latency p50/p95, delivery latency p50/p95 (send start -> seen in a syncer's /sync,
both read from time.monotonic() in this one process), and messages delivered vs expected
(every syncer should see every message).

Only aiohttp and the standard library (plus PyYAML to write our config, asyncpg for
PostgreSQL).
Every wait is bounded: the script always ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    run_bench,
)
from bench.servers import (  # noqa: E402
    DEFAULT_PG_URL,
    PgDatabases,
    PgUnavailable,
    Target,
    cpu_s,
    parse_target,
    raise_rate_limits,
    start_target,
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


async def run_workload(base_url: str | list[str], shared_secret: str, senders: int = 10,
                       messages: int = 50, rooms: int = 2, syncers: int = 5, label: str = "",
                       delivery_timeout: float = 30, log=print) -> dict:
    """The workload against one server; with several URLs (processes of one server), user k
    (senders first, then syncers) is registered on, sends to and syncs from URL k % len."""
    urls = [u.rstrip("/") for u in ([base_url] if isinstance(base_url, str) else base_url)]
    procs = len(urls)

    def api(user: int) -> str:
        return urls[user % procs] + CLIENT

    run_id = secrets.token_hex(4)  # usernames and markers unique per run: a server can be reused
    senders, rooms = max(1, senders), max(1, rooms)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        # ---- setup: users, rooms, joins (not measured)
        t0 = time.monotonic()
        users = await bounded_gather(4, [
            register_user(session, urls[i % procs], shared_secret, f"bench_{run_id}_{i}")
            for i in range(senders + syncers)])
        tokens = [u["access_token"] for u in users]
        room_ids = []
        for r in range(rooms):
            room_ids.append((await call(session, "POST", api(0) + "/createRoom", tokens[0],
                                        {"preset": "public_chat", "name": f"bench {run_id} {r}"}))
                            ["room_id"])
        await bounded_gather(4, [
            call(session, "POST", api(u) + "/join/" + urllib.parse.quote(room), tokens[u], {})
            for u in range(1, len(tokens)) for room in room_ids])
        log(f"[{label}] setup: {len(users)} users, {rooms} rooms in {time.monotonic() - t0:.1f} s")

        # ---- syncers: initial sync, then long-poll and time every marked message
        expected_per_syncer = senders * messages
        seen: list[set] = [set() for _ in range(syncers)]
        delivery_ms: list[float] = []
        # deliveries whose sender used another process than the syncer (several processes)
        cross_ms: list[float] = []
        cross_expected = sum(messages for k in range(syncers) for i in range(senders)
                             if i % procs != (senders + k) % procs)
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
                    body = await call(session, "GET",
                                      api(senders + k) + "/sync?" + urllib.parse.urlencode(q),
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
                                if int(m.group(2)) % procs != (senders + k) % procs:
                                    cross_ms.append(delivery_ms[-1])
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
                    url = f"{api(i)}/rooms/{room}/send/m.room.message/{run_id}-{i}-{j}"
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
        "label": label, "base_url": urls[0], "base_urls": urls, "processes": procs,
        "senders": senders,
        "messages_per_sender": messages, "rooms": rooms, "syncers": syncers,
        "messages_sent": len(send_ms), "wall_s": round(wall, 3),
        "messages_per_s": r1(len(send_ms) / wall if wall > 0 else None),
        "send_p50_ms": r1(pct(send_ms, 50)), "send_p95_ms": r1(pct(send_ms, 95)),
        "delivery_p50_ms": r1(pct(delivery_ms, 50)), "delivery_p95_ms": r1(pct(delivery_ms, 95)),
        "delivered": sum(len(s) for s in seen), "expected": syncers * senders * messages,
        "cross_delivered": len(cross_ms), "cross_expected": cross_expected,
        "cross_delivery_p50_ms": r1(pct(cross_ms, 50)),
        "cross_delivery_p95_ms": r1(pct(cross_ms, 95)),
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
    if res.get("server_cpu_ms_per_msg") is not None:
        print(f"  server CPU       {res['server_cpu_ms_per_msg']} ms per message (its processes,"
              " setup included)")
    if res.get("processes", 1) > 1:
        print(f"  across processes delivered {res['cross_delivered']}/{res['cross_expected']}"
              f"   p50 {res['cross_delivery_p50_ms']} ms   p95 {res['cross_delivery_p95_ms']} ms")


# --------------------------------------------------------------------------- --engines


async def run_targets(args, targets: list[Target]) -> dict:
    """Each target started in turn (2 cores cannot host two fairly at once), measured with the
    same workload, stopped, its database dropped; one failing is reported, the rest still run."""
    secret = "bench-shared-secret"
    workload = dict(senders=args.senders, messages=args.messages, rooms=args.rooms,
                    syncers=args.syncers, delivery_timeout=args.delivery_timeout, log=log)
    results: dict = {"targets": [t.label for t in targets], "results": {}, "errors": {}}
    async with contextlib.AsyncExitStack() as stack:
        pg = None
        if any(t.engine == "postgres" for t in targets):
            try:
                pg = await stack.enter_async_context(PgDatabases(args.pg_url))
            except PgUnavailable as e:
                log(f"[postgres] unavailable: {e}")
                for t in targets:
                    if t.engine == "postgres":
                        results["errors"][t.label] = f"PostgreSQL unavailable: {e}"
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-messages-"))
        for i, target in enumerate(targets):
            name = target.label
            if name in results["errors"]:
                continue
            stoppers: list = []
            db_url = None
            try:
                t0 = time.monotonic()
                urls, db_url, pids = await start_target(target, Path(tmp) / str(i), secret,
                                                        pg, stoppers)
                log(f"[{name}] started in {time.monotonic() - t0:.1f} s: {' '.join(urls)}")
                cpu0 = cpu_s(pids)
                res = await run_workload(urls, secret, label=name, **workload)
                cpu1 = cpu_s(pids)
                # the server processes' own CPU for the run, setup included (not PostgreSQL's)
                res["server_cpu_ms_per_msg"] = (
                    None if cpu0 is None or cpu1 is None
                    else round((cpu1 - cpu0) * 1000 / max(res["messages_sent"], 1), 2))
                results["results"][name] = res
            except Exception as e:  # report it and still measure the others
                results["errors"][name] = f"{type(e).__name__}: {e}"
                log(f"[{name}] failed: {e}")
            finally:
                for stop in stoppers:
                    stop()
                if pg is not None and db_url is not None:
                    await pg.drop(db_url)
    return results


COLUMNS = [("messages/s", "messages_per_s", True), ("send p50", "send_p50_ms", False),
           ("send p95", "send_p95_ms", False), ("deliv p50", "delivery_p50_ms", False),
           ("deliv p95", "delivery_p95_ms", False), ("cpu ms/msg", "server_cpu_ms_per_msg", False)]


def reference_label(labels: list[str]) -> str | None:
    """What the ratios compare against: Synapse on PostgreSQL, else Synapse on SQLite."""
    for want in ("synapse postgres", "synapse sqlite"):
        if want in labels:
            return want
    return None


def targets_table(res: dict) -> str:
    """One row per target (latencies in ms); then each figure as a ratio to the reference,
    > 1 meaning better than it (more messages/s, lower latency)."""
    rows = res["results"]
    ref_name = reference_label(list(rows))
    ref = rows.get(ref_name) if ref_name else None
    width = max([len(t) for t in res["targets"]] + [10]) + 2
    out = [f"{'target':<{width}}" + "".join(f"{h:>11}" for h, _, _ in COLUMNS)
           + f"{'delivered':>14}{'x-process':>14}"]
    for name in res["targets"]:
        r = rows.get(name)
        if r is None:
            out.append(f"{name:<{width}}not measured: "
                       + (res["errors"].get(name) or "").splitlines()[0][:100])
            continue
        cross = (f"{r['cross_delivered']}/{r['cross_expected']}" if r.get("processes", 1) > 1
                 else "-")
        out.append(f"{name:<{width}}" + "".join(f"{fmt(r[k], 'n/a'):>11}" for _, k, _ in COLUMNS)
                   + f"{r['delivered']}/{r['expected']:<}".rjust(14) + f"{cross:>14}")
    if ref is not None and len(rows) > 1:
        out.append(f"\nratio to {ref_name} (> 1: better than it)")
        for name in res["targets"]:
            r = rows.get(name)
            if r is None or name == ref_name:
                continue
            cells = []
            for _, key, higher_better in COLUMNS:
                a, b = r.get(key), ref.get(key)
                num, den = (a, b) if higher_better else (b, a)
                cells.append(f"{num / den:.2f}x" if num is not None and den else "n/a")
            out.append(f"{name:<{width}}" + "".join(f"{c:>11}" for c in cells))
    for name, r in rows.items():
        if r["send_errors"] or r["rate_limited"] or r["sync_errors"] or r["limited_timelines"]:
            out.append(f"{name}: send errors {r['send_errors']}, 429s {r['rate_limited']}, "
                       f"sync errors {r['sync_errors']}, limited timelines "
                       f"{r['limited_timelines']}")
    return "\n".join(out)


def targets_ok(res: dict) -> bool:
    return not res["errors"] and all(r["delivered"] == r["expected"] and not r["send_errors"]
                                     for r in res["results"].values())


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
    ap.add_argument("--base-url", help="a running homeserver to measure (else the bench starts"
                    " its own: --engine/--processes, --compare or --engines)")
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
    ap.add_argument("--engine", choices=("sqlite", "postgres"), default=None,
                    help="the database of the servers the bench starts (default sqlite)")
    ap.add_argument("--processes", type=int, default=None,
                    help="our `homeserver run` processes of one config (> 1 needs postgres);"
                    " the clients are spread over them round-robin")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL,
                    help="PostgreSQL cluster to make fresh databases on (default"
                    " $AUDIOROOMS_BENCH_PG_URL or the dev cluster; none answering there: a"
                    " throwaway one via tests/pgcluster.py)")
    ap.add_argument("--compare", action="store_true",
                    help="start ours (--engine, --processes) and Synapse (--engine) and measure"
                    " both")
    ap.add_argument("--engines", help="comma-separated targets measured in turn in one run, e.g."
                    " sqlite:1,postgres:1,postgres:2,synapse-postgres")
    ap.add_argument("--metrics-overhead", action="store_true",
                    help="start ours twice (metrics off / on, SQLite) and compare")
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

    engine, processes = args.engine or "sqlite", args.processes or 1
    targets: list[Target] = []
    try:
        if args.engines:
            targets = [parse_target(t) for t in args.engines.split(",") if t.strip()]
        elif args.compare or not args.base_url:
            targets = [parse_target(f"{engine}:{processes}")]
            if args.compare:
                targets.append(Target("synapse", engine))
    except ValueError as e:
        ap.error(str(e))
    if not args.base_url and not (args.compare or args.engines or args.engine
                                  or args.processes):
        ap.error("--base-url and --shared-secret (a running server), or --engine/--processes,"
                 " --compare or --engines (servers the bench starts)")
    if targets:
        def print_table(res: dict) -> None:
            for name in res["targets"]:
                if name in res["results"]:
                    print_result(res["results"][name])
            print(targets_table(res))
        return run_bench(lambda a: run_targets(a, targets), args, print_table, targets_ok)

    if not args.shared_secret:
        ap.error("--shared-secret is required with --base-url")
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
