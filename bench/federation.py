"""Federation benchmark: three of our homeservers as subprocesses on 127.0.0.1.

    python bench/federation.py [--json] [--tls] [--senders 6] [--messages 50] ...

Set-up (not measured): servers A, B and C are started with `homeserver generate-config` /
`homeserver run`, each config edited so `federation.servers` maps the three names to their
loopback URLs, `federation.ip_range_whitelist: [127.0.0.1/32]`, `verify_certificates: false`,
short retry back-off, a known `registration.shared_secret` and rate limits out of the way.
A user on A creates a public room (A hosts it, so A orders it); users on B and C join it.

Measured:
1. Delivery latency, send on B -> the message shows up in a long-polling /sync of a user on A
   (one hop, B -> A), of a user on C (two hops, B -> A -> C: the host relays) and of another
   user on B (the round trip B -> A -> B, since B only shows what its host ordered). Two runs:
   "idle" (one message at a time, each waited for on A and C before the next) and "load"
   (--senders users on B each PUT --messages messages back to back, all at once). Times come
   from one clock (time.monotonic in this process): send start -> /sync response seen.
2. Transactions into A: this process acts as B (it reads B's signing key from B's database
   and signs with our FederationClient) and PUTs /_matrix/federation/v1/send/{txnId} to A,
   each carrying m.room.message PDUs from a user of B who is in the room: --txns transactions
   of 1 PDU and --big-txns of 50 PDUs, with --txn-concurrency in flight (default 1, as one
   sending server's queue does). Reported: transactions/s, PDUs/s, per-transaction latency,
   PDUs A refused, and how long until C had the last of them (A relays in order, so when
   C's newest message is the last PDU sent, C has them all).

Every wait is bounded and the whole run is capped by --max-time: it always exits by itself
and stops the servers it started (exit code 1 if a message was lost or a PDU refused).
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import secrets
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import CLIENT, HttpError, Node, federate, fmt, log, pct, r1, run_bench  # noqa: E402
from federation.client import FederationClient  # noqa: E402
from federation.signing import SigningKey  # noqa: E402
from homeserver.handlers.events import EventFactory  # noqa: E402

SECRET = "bench-federation-secret"
SYNC_FILTER = json.dumps({"room": {"timeline": {"limit": 100}}}, separators=(",", ":"))
MARKER = re.compile(r"^fb (\w+) (\w+) (\d+):(\d+)$")


# This bench's requests give up after 30 s unless told otherwise.
call = functools.partial(common.call, timeout=30)
register = functools.partial(common.register, timeout=30)


def signing_key(node: Node) -> SigningKey:
    """The server's own key, read from its database (this process then speaks as it)."""
    with sqlite3.connect(f"file:{node.db_path}?mode=ro", uri=True, timeout=10) as db:
        key_id, seed = db.execute(
            "SELECT key_id, seed FROM server_signing_keys WHERE expired_ts IS NULL"
            " ORDER BY created_ts DESC LIMIT 1").fetchone()
    return SigningKey.from_seed_base64(key_id, seed)


# --------------------------------------------------------------------------- syncing


class Syncer(common.SyncPoller):
    """Notes when each marked message of this run first shows up in the user's /sync."""

    def __init__(self, session, user: dict, run_id: str, label: str):
        super().__init__(session, user, SYNC_FILTER)
        self.run_id, self.label = run_id, label

    def record(self, room: dict, now: float) -> None:
        for ev in room.get("timeline", {}).get("events", []):
            m = MARKER.match(str(ev.get("content", {}).get("body", "")))
            if ev.get("type") == "m.room.message" and m and m.group(1) == self.run_id:
                self.arrivals.setdefault((m.group(2), int(m.group(3)), int(m.group(4))), now)

    async def wait_for(self, key, timeout: float) -> bool:
        return await self.wait_until(lambda: key in self.arrivals, timeout)

    async def wait_count(self, phase: str, n: int, timeout: float) -> bool:
        return await self.wait_until(
            lambda: sum(1 for k in self.arrivals if k[0] == phase) >= n, timeout)


def latency_row(name: str, sent: dict, syncer: Syncer, phase: str) -> dict:
    lat = [(syncer.arrivals[k] - t) * 1000 for k, t in sent.items() if k in syncer.arrivals]
    return {"path": name, "phase": phase, "n": len(sent), "delivered": len(lat),
            "p50_ms": r1(pct(lat, 50)), "p95_ms": r1(pct(lat, 95)),
            "max_ms": r1(max(lat) if lat else None)}


# --------------------------------------------------------------------------- phases


async def send_message(session, user: dict, room_id: str, run_id: str, phase: str, i: int,
                       j: int, sent: dict) -> None:
    api = user["node"].base_url + CLIENT
    url = (f"{api}/rooms/{urllib.parse.quote(room_id)}/send/m.room.message/"
           f"{run_id}-{phase}-{i}-{j}")
    start = time.monotonic()
    await call(session, "PUT", url, user["access_token"],
               {"msgtype": "m.text", "body": f"fb {run_id} {phase} {i}:{j}"})
    sent[(phase, i, j)] = start


async def idle_phase(session, sender, room_id, run_id, syncers, n: int) -> dict:
    sent: dict = {}
    for j in range(n):
        await send_message(session, sender, room_id, run_id, "idle", 0, j, sent)
        for s in syncers:
            await s.wait_for(("idle", 0, j), 10)
    return sent


async def load_phase(session, senders, room_id, run_id, syncers, messages: int,
                     delivery_timeout: float) -> tuple[dict, float, int]:
    sent: dict = {}
    errors = 0

    async def one(i, user):
        nonlocal errors
        for j in range(messages):
            try:
                await send_message(session, user, room_id, run_id, "load", i, j, sent)
            except (TimeoutError, HttpError, aiohttp.ClientError) as e:
                errors += 1
                log(f"send failed: {e}")

    t0 = time.monotonic()
    await asyncio.gather(*(one(i, u) for i, u in enumerate(senders)))
    wall = time.monotonic() - t0
    await asyncio.gather(*(s.wait_count("load", len(sent), delivery_timeout) for s in syncers))
    return sent, wall, errors


async def txn_burst(fed: FederationClient, factory: EventFactory, a: Node, c_user: dict,
                    session, room_id: str, sender_id: str, run_id: str, phase: str,
                    txns: int, pdus_per_txn: int, concurrency: int, prev: dict,
                    relay_timeout: float) -> dict:
    """Sign and PUT `txns` transactions of `pdus_per_txn` PDUs each to A, as B."""
    # Build and sign every PDU first: the clock measures A, not this process.
    bodies = []
    depth = prev["depth"]
    for t in range(txns):
        pdus = []
        for k in range(pdus_per_txn):
            depth += 1
            ev = factory.build(room_id=room_id, sender=sender_id, etype="m.room.message",
                               content={"msgtype": "m.text",
                                        "body": f"fb {run_id} {phase} {t}:{k}"},
                               state_key=None, prev_events=[prev["event_id"]], depth=depth,
                               auth_events=prev["auth_events"])
            prev["event_id"] = ev.pop("event_id")
            pdus.append(ev)
        bodies.append((f"fb-{run_id}-{phase}-{t}", {
            "origin": fed.server_name, "origin_server_ts": int(time.time() * 1000),
            "pdus": pdus, "edus": []}))
    prev["depth"] = depth
    last_body = f"fb {run_id} {phase} {txns - 1}:{pdus_per_txn - 1}"
    latencies: list[float] = []
    refused: list[str] = []
    failed = 0
    queue = iter(bodies)

    async def worker():
        nonlocal failed
        for txn_id, body in queue:
            t = time.monotonic()
            try:
                resp = await fed.request(a.server_name, "PUT",
                                         f"/_matrix/federation/v1/send/{txn_id}", body,
                                         timeout_s=60)
            except Exception as e:  # noqa: BLE001 - counted and reported
                failed += 1
                log(f"txn {txn_id} failed: {e}")
                continue
            latencies.append((time.monotonic() - t) * 1000)
            refused.extend(f"{eid}: {r['error']}" for eid, r in (resp.get("pdus") or {}).items()
                           if isinstance(r, dict) and r.get("error"))

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.monotonic() - t0

    # A relays in the room's order: once C's newest message is the last PDU, C has them all.
    relayed_s = None
    api = c_user["node"].base_url + CLIENT
    url = f"{api}/rooms/{urllib.parse.quote(room_id)}/messages?dir=b&limit=1"
    deadline = t0 + relay_timeout
    while time.monotonic() < deadline:
        try:
            chunk = (await call(session, "GET", url, c_user["access_token"]))["chunk"]
        except (TimeoutError, HttpError, aiohttp.ClientError):
            chunk = []
        if chunk and chunk[0].get("content", {}).get("body") == last_body:
            relayed_s = round(time.monotonic() - t0, 3)
            break
        await asyncio.sleep(0.02)
    if refused:
        log(f"A refused {len(refused)} PDUs, e.g. {refused[0]}")
    done = len(latencies)
    return {"phase": phase, "txns": txns, "pdus_per_txn": pdus_per_txn,
            "concurrency": concurrency, "ok_txns": done, "failed_txns": failed,
            "wall_s": round(wall, 3),
            "txns_per_s": round(done / wall, 1) if wall else None,
            "pdus_per_s": round(done * pdus_per_txn / wall, 1) if wall else None,
            "txn_p50_ms": r1(pct(latencies, 50)),
            "txn_p95_ms": r1(pct(latencies, 95)),
            "refused_pdus": len(refused), "all_relayed_to_c_s": relayed_s}


# --------------------------------------------------------------------------- main run


async def run(args) -> dict:
    run_id = secrets.token_hex(3)
    result: dict = {"tls": args.tls, "run_id": run_id}
    with tempfile.TemporaryDirectory(prefix="bench-federation-") as tmp:
        nodes = {label: Node(label, Path(tmp) / label, SECRET, tls=args.tls) for label in "ABC"}
        peers = {n.server_name: n.base_url for n in nodes.values()}
        connector = aiohttp.TCPConnector(limit=0, ssl=False)
        session = aiohttp.ClientSession(connector=connector)
        syncer_tasks: list[asyncio.Task] = []
        fed = None
        try:
            t0 = time.monotonic()
            for n in nodes.values():
                n.start(n.configure(federate(peers, request_timeout_seconds=10.0)))
            for n in nodes.values():
                await n.wait_ready(session)
            pids = ", ".join(f"{k}={n.server_name} (pid {n.proc.pid if n.proc else None})"
                             for k, n in nodes.items())
            log(f"3 servers up in {time.monotonic() - t0:.1f} s: {pids}")
            a, b, c = nodes["A"], nodes["B"], nodes["C"]

            t0 = time.monotonic()
            alice = await register(session, a, f"alice_{run_id}")
            carol = await register(session, c, f"carol_{run_id}")
            watcher = await register(session, b, f"watch_{run_id}")
            senders = [await register(session, b, f"bob{i}_{run_id}")
                       for i in range(args.senders)]
            created = await call(session, "POST", a.base_url + CLIENT + "/createRoom",
                                 alice["access_token"],
                                 {"preset": "public_chat", "name": "federation bench"})
            room_id = created["room_id"]
            # One join at a time: setup is not what is measured.
            for u in [*senders, watcher, carol]:
                await call(session, "POST", u["node"].base_url + CLIENT + "/join/"
                           + urllib.parse.quote(room_id), u["access_token"], {}, timeout=30)
            log(f"setup: {3 + args.senders} users, room {room_id} in "
                f"{time.monotonic() - t0:.1f} s")

            syncers = {"A": Syncer(session, alice, run_id, "A"),
                       "C": Syncer(session, carol, run_id, "C"),
                       "B": Syncer(session, watcher, run_id, "B")}
            syncer_tasks = [asyncio.create_task(s.run()) for s in syncers.values()]
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in syncers.values())),
                                   30)
            # Everyone's join must have reached C before C's latencies mean anything.
            want = {alice["user_id"], carol["user_id"], watcher["user_id"],
                    *(u["user_id"] for u in senders)}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                members = await call(session, "GET", c.base_url + CLIENT + "/rooms/"
                                     + urllib.parse.quote(room_id) + "/joined_members",
                                     carol["access_token"])
                if want <= set(members.get("joined", {})):
                    break
                await asyncio.sleep(0.1)

            # ---- 1a: idle latency
            idle = await idle_phase(session, senders[0], room_id, run_id,
                                    [syncers["A"], syncers["C"]], args.idle_messages)
            # ---- 1b: loaded latency
            load, wall, send_errors = await load_phase(
                session, senders, room_id, run_id, list(syncers.values()), args.messages,
                args.delivery_timeout)
            rows = []
            for phase, sent in (("idle", idle), ("load", load)):
                rows.append(latency_row("1 hop   B -> A", sent, syncers["A"], phase))
                rows.append(latency_row("2 hops  B -> A -> C", sent, syncers["C"], phase))
                if phase == "load":
                    rows.append(latency_row("round trip B -> A -> B", sent, syncers["B"], phase))
            result["latency"] = rows
            result["load"] = {"senders": args.senders, "messages_per_sender": args.messages,
                              "sent": len(load), "send_errors": send_errors,
                              "wall_s": round(wall, 3),
                              "sent_per_s": round(len(load) / wall, 1) if wall else None}
            result["sync"] = {k: {"errors": s.errors, "limited_timelines": s.limited}
                              for k, s in syncers.items()}

            # ---- 2: signed transactions straight into A, as B
            key = signing_key(b)
            fed = FederationClient(b.server_name, key, {a.server_name: a.base_url},
                                   ["127.0.0.1/32"], verify_certificates=False,
                                   timeout_s=60)
            factory = EventFactory(b.server_name, key)
            state = await call(session, "GET", b.base_url + CLIENT + "/rooms/"
                               + urllib.parse.quote(room_id) + "/state",
                               senders[0]["access_token"])
            auth = [e["event_id"] for e in state
                    if (e["type"], e.get("state_key")) in
                    (("m.room.create", ""), ("m.room.power_levels", ""),
                     ("m.room.member", senders[0]["user_id"]))]
            newest = (await call(session, "GET", b.base_url + CLIENT + "/rooms/"
                                 + urllib.parse.quote(room_id) + "/messages?dir=b&limit=1",
                                 senders[0]["access_token"]))["chunk"][0]
            # The host refuses a depth that is not one more than the prev_events' (a sender
            # cannot claim a place in the room's order): start from the newest event's depth.
            served = await fed.request(a.server_name, "GET", "/_matrix/federation/v1/event/"
                                       + urllib.parse.quote(newest["event_id"], safe=""))
            prev = {"event_id": newest["event_id"], "depth": served["pdus"][0]["depth"],
                    "auth_events": auth}
            result["transactions"] = []
            for phase, txns, size in (("t1", args.txns, 1), ("t50", args.big_txns, 50)):
                if txns <= 0:
                    continue
                r = await txn_burst(fed, factory, a, carol, session, room_id,
                                    senders[0]["user_id"], run_id, phase, txns, size,
                                    args.txn_concurrency, prev, args.delivery_timeout)
                result["transactions"].append(r)
                log(f"{phase}: {r['ok_txns']} txns in {r['wall_s']} s")
        finally:
            for t in syncer_tasks:
                t.cancel()
            await asyncio.gather(*syncer_tasks, return_exceptions=True)
            if fed is not None:
                await fed.close()
            await session.close()
            t_stop = time.monotonic()
            for n in nodes.values():  # all at once, then wait for each
                n.terminate()
            for n in nodes.values():
                n.stop()
            log(f"servers stopped in {time.monotonic() - t_stop:.1f} s")
    return result


def print_table(res: dict) -> None:
    print(f"Federation benchmark: 3 of our homeservers as subprocesses on 127.0.0.1 "
          f"({'HTTPS' if res['tls'] else 'plain HTTP'}), room hosted on A")
    ld = res["load"]
    print(f"\nDelivery latency, send on B -> seen in a long-polling /sync "
          f"(load: {ld['senders']} senders x {ld['messages_per_sender']} msgs, "
          f"{fmt(ld['sent_per_s'])} msgs/s sent)")
    print(f"  {'phase':<6}{'path':<26}{'n':>6}{'seen':>6}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'max ms':>9}")
    for r in res["latency"]:
        print(f"  {r['phase']:<6}{r['path']:<26}{r['n']:>6}{r['delivered']:>6}"
              f"{fmt(r['p50_ms']):>9}{fmt(r['p95_ms']):>9}{fmt(r['max_ms']):>9}")
    if res.get("transactions"):
        print("\nSigned transactions PUT to A by this process acting as B "
              f"({res['transactions'][0]['concurrency']} in flight)")
        print(f"  {'PDUs/txn':>8}{'txns':>6}{'txn/s':>9}{'PDUs/s':>9}{'p50 ms':>9}"
              f"{'p95 ms':>9}{'refused':>9}{'failed':>8}{'all on C after s':>18}")
        for t in res["transactions"]:
            print(f"  {t['pdus_per_txn']:>8}{t['ok_txns']:>6}{fmt(t['txns_per_s']):>9}"
                  f"{fmt(t['pdus_per_s']):>9}{fmt(t['txn_p50_ms']):>9}{fmt(t['txn_p95_ms']):>9}"
                  f"{t['refused_pdus']:>9}{t['failed_txns']:>8}"
                  f"{fmt(t['all_relayed_to_c_s']):>18}")
    bad = {k: v for k, v in res["sync"].items() if v["errors"] or v["limited_timelines"]}
    if bad:
        print(f"\nsync trouble: {bad}")


def ok(res: dict) -> bool:
    lost = any(r["delivered"] < r["n"] for r in res.get("latency", []))
    txn_bad = any(t["refused_pdus"] or t["failed_txns"] or t["all_relayed_to_c_s"] is None
                  for t in res.get("transactions", []))
    return bool(res.get("latency")) and not lost and not txn_bad \
        and not res["load"]["send_errors"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--senders", type=int, default=6, help="concurrent senders on B")
    ap.add_argument("--messages", type=int, default=50, help="messages per sender (load)")
    ap.add_argument("--idle-messages", type=int, default=30)
    ap.add_argument("--txns", type=int, default=300, help="transactions of 1 PDU")
    ap.add_argument("--big-txns", type=int, default=20, help="transactions of 50 PDUs")
    ap.add_argument("--txn-concurrency", type=int, default=1)
    ap.add_argument("--delivery-timeout", type=float, default=60,
                    help="seconds to wait for messages to arrive after sending")
    ap.add_argument("--tls", action="store_true", help="servers listen with HTTPS")
    ap.add_argument("--max-time", type=float, default=600, help="hard limit for the whole run")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    return run_bench(run, ap.parse_args(), print_table, ok)


if __name__ == "__main__":
    sys.exit(main())
