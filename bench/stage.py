"""Audio-stage benchmark: one audio room hosted on A, its audience spread over A, B and C.

    python bench/stage.py [--listeners 1000] [--hands 50] [--stage-changes 10] [--json]
                          [--concurrency 8] [--profile DIR] [--max-time 1200]

Set-up (not measured): three of our homeservers run as subprocesses on 127.0.0.1, each from
`homeserver generate-config` with `federation.servers` mapping the three names to their loopback
URLs, a known `registration.shared_secret`, `limits.password_scrypt_n: 1024` and rate limits out
of the way, so the run measures joins, not password hashing. Users are registered through
Synapse-style shared-secret admin registration. A moderator on A creates a public audio room;
one watcher per server joins it and long-polls /sync from then on.

Measured:
1. Joins: --listeners users (round-robin over A, B, C) join the room, --concurrency joins in
   flight per server, all three servers at once. Reported: joins/s overall and per server,
   per-join latency, and how long until every server lists every member (converged).
2. Hand raises: --hands listeners (spread over the servers) raise their hands at once;
   PUT latency and the time until each hand shows up in each server's watcher's /sync.
3. Stage changes: the moderator sets --stage-changes roles one after the other (a raised hand
   invited to speak, then moved back to the audience, ...). Each is timed from just before the
   moderator's PUT to the event appearing in the long-polling /sync of the watcher on A, B and
   C; p50/p95 per server and overall.

--profile DIR samples each server with py-spy (if installed) during the join phase and prints
where the time went (file:function, share of samples, inclusive). Every wait is bounded and
the run is capped by --max-time: it exits by itself and stops the servers it started.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import (  # noqa: E402
    CLIENT,
    REPO_ROOT,
    HttpError,
    Node,
    call,
    federate,
    fmt,
    log,
    pct,
    r1,
    register,
    run_bench,
)

SECRET = "bench-stage-secret"
ROLE, HAND = "org.audiorooms.role", "org.audiorooms.hand"
SYNC_FILTER = json.dumps({"room": {"timeline": {"limit": 200}}}, separators=(",", ":"))


def summary_ms(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50_ms": r1(pct(ms, 50)), "p95_ms": r1(pct(ms, 95)),
            "max_ms": r1(max(ms) if ms else None)}


# --------------------------------------------------------------------------- servers


def cheap_passwords(cfg: dict) -> None:
    """A config edit: cheap password hashing, so the run measures joins, not scrypt."""
    cfg.setdefault("limits", {})["password_scrypt_n"] = 1024


class ProfiledNode(Node):
    """A Node that py-spy can sample."""

    def __init__(self, label: str, workdir: Path):
        super().__init__(label, workdir, SECRET, host="127.0.0.1")
        self.spy: subprocess.Popen | None = None

    def start_profiler(self, out: Path) -> None:
        if self.proc is None:
            raise RuntimeError(f"{self.label} is not running")
        self.spy = subprocess.Popen(
            ["py-spy", "record", "--format", "raw", "--rate", "100", "-o", str(out),
             "--pid", str(self.proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop_profiler(self) -> None:
        if self.spy and self.spy.poll() is None:
            self.spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                self.spy.wait(30)
            except subprocess.TimeoutExpired:
                self.spy.kill()
                self.spy.wait(10)
        self.spy = None

    def stop(self, timeout: float = 10) -> None:
        self.stop_profiler()
        super().stop(timeout)


# --------------------------------------------------------------------------- syncing


class Watcher(common.SyncPoller):
    """Notes when each event ID (timeline or state) first shows up in the user's /sync."""

    request_timeout = 90.0

    def __init__(self, session, user: dict):
        super().__init__(session, user, SYNC_FILTER)

    def record(self, room: dict, now: float) -> None:
        for ev in [*room.get("timeline", {}).get("events", []),
                   *room.get("state", {}).get("events", [])]:
            if isinstance(ev.get("event_id"), str):
                self.arrivals.setdefault(ev["event_id"], now)

    async def wait_for(self, event_ids, timeout: float) -> bool:
        return await self.wait_until(lambda: all(e in self.arrivals for e in event_ids), timeout)


# --------------------------------------------------------------------------- phases


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


async def join_phase(session, listeners: list[dict], room_id: str, concurrency: int) -> dict:
    by_server: dict[str, list[dict]] = collections.defaultdict(list)
    for u in listeners:
        by_server[u["node"].label].append(u)
    lat: dict[str, list[float]] = collections.defaultdict(list)
    done_at: dict[str, float] = {}
    errors: list[str] = []

    async def worker(label: str, queue: collections.deque):
        while queue:
            u = queue.popleft()
            t = time.monotonic()
            try:
                await call(session, "POST", f"{u['node'].base_url}{CLIENT}/join/{q(room_id)}",
                           u["access_token"], {}, timeout=120)
            except (TimeoutError, HttpError, aiohttp.ClientError) as e:
                errors.append(f"{u['user_id']}: {e!r}"[:300])
                continue
            now = time.monotonic()
            lat[label].append(now - t)
            done_at[label] = now

    t0 = time.monotonic()
    tasks = []
    for label, users in by_server.items():
        queue = collections.deque(users)
        tasks += [worker(label, queue) for _ in range(concurrency)]
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    ok = sum(len(v) for v in lat.values())
    per_server = {}
    for label in sorted(by_server):
        span = done_at.get(label, t0) - t0
        per_server[label] = {"joins": len(by_server[label]), "ok": len(lat[label]),
                             "wall_s": round(span, 2),
                             "joins_per_s": round(len(lat[label]) / span, 1) if span else None,
                             **summary_ms(lat[label])}
    if errors:
        log(f"{len(errors)} joins failed, e.g. {errors[0]}")
    return {"t0": t0, "joins": len(listeners), "ok": ok, "failed": len(errors),
            "wall_s": round(wall, 2), "joins_per_s": round(ok / wall, 1) if wall else None,
            "per_server": per_server}


async def converge(session, watchers: dict[str, dict], room_id: str, want: int, t0: float,
                   timeout: float) -> dict:
    """How long (from the start of the joins) until each server lists every member."""
    out: dict[str, float | None] = {}

    async def one(label: str, user: dict):
        url = f"{user['node'].base_url}{CLIENT}/rooms/{q(room_id)}/joined_members"
        deadline = time.monotonic() + timeout
        last = 0
        while time.monotonic() < deadline:
            try:
                last = len((await call(session, "GET", url, user["access_token"]))["joined"])
            except (TimeoutError, HttpError, aiohttp.ClientError):
                pass
            if last >= want:
                out[label] = round(time.monotonic() - t0, 2)
                return
            await asyncio.sleep(0.25)
        out[label] = None
        log(f"{label} lists {last} of {want} members after {timeout} s")

    await asyncio.gather(*(one(k, u) for k, u in watchers.items()))
    return dict(sorted(out.items()))


async def put_state(session, user: dict, room_id: str, etype: str, key: str,
                    content: dict) -> str:
    url = (f"{user['node'].base_url}{CLIENT}/rooms/{q(room_id)}/state/{etype}/{q(key)}")
    return (await call(session, "PUT", url, user["access_token"], content))["event_id"]


def spread(users: list[dict], n: int) -> list[dict]:
    """n users picked evenly over the list (so over the servers too)."""
    if n <= 0 or not users:
        return []
    step = max(1, len(users) // n)
    return users[::step][:n]


async def hands_phase(session, raisers: list[dict], room_id: str, watchers: dict,
                      timeout: float) -> dict:
    started: dict[str, float] = {}
    put_lat: list[float] = []
    errors = 0

    async def one(u):
        nonlocal errors
        t = time.monotonic()
        try:
            eid = await put_state(session, u, room_id, HAND, u["user_id"], {"raised": True})
        except (TimeoutError, HttpError, aiohttp.ClientError) as e:
            errors += 1
            log(f"hand raise failed: {e}")
            return
        put_lat.append(time.monotonic() - t)
        started[eid] = t

    t0 = time.monotonic()
    await asyncio.gather(*(one(u) for u in raisers))
    await asyncio.gather(*(w.wait_for(list(started), timeout) for w in watchers.values()))
    per_server = {}
    for label, w in sorted(watchers.items()):
        seen = [w.arrivals[e] - t for e, t in started.items() if e in w.arrivals]
        last = max((w.arrivals[e] for e in started if e in w.arrivals), default=None)
        per_server[label] = {**summary_ms(seen), "missing": len(started) - len(seen),
                             "all_seen_after_s": r1(last - t0) if last else None}
    return {"hands": len(raisers), "failed": errors, "put": summary_ms(put_lat),
            "per_server": per_server}


async def stage_phase(session, moderator: dict, targets: list[dict], room_id: str,
                      watchers: dict, changes: int, timeout: float) -> dict:
    lat: dict[str, list[float]] = collections.defaultdict(list)
    put_lat: list[float] = []
    missing = 0
    for i in range(changes):
        target = targets[(i // 2) % len(targets)]
        content = {"role": "speaker" if i % 2 == 0 else "listener", "muted": False}
        t = time.monotonic()
        eid = await put_state(session, moderator, room_id, ROLE, target["user_id"], content)
        put_lat.append(time.monotonic() - t)
        oks = await asyncio.gather(*(w.wait_for([eid], timeout) for w in watchers.values()))
        missing += oks.count(False)
        for label, w in watchers.items():
            if eid in w.arrivals:
                lat[label].append(w.arrivals[eid] - t)
        await asyncio.sleep(0.05)  # idle between changes: each one is measured alone
    overall = [v for vs in lat.values() for v in vs]
    return {"changes": changes, "put": summary_ms(put_lat), "missing": missing,
            "per_server": {k: summary_ms(v) for k, v in sorted(lat.items())},
            "overall": summary_ms(overall)}


# --------------------------------------------------------------------------- profiles


def top_functions(raw: Path, n: int = 15) -> dict:
    """From py-spy's raw (collapsed) stacks: each frame's share of the busy samples, inclusive
    and own. Samples of an idle event loop (waiting in select) or of an idle thread-pool
    worker are counted as idle, not as time spent."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    busy = idle = 0
    if not raw.exists():
        return {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        frames = [_frame_name(f) for f in stack.split(";")]
        if frames[-1].endswith(("selectors.py:EpollSelector.select", "thread.py:_worker")):
            idle += c
            continue
        busy += c
        for f in set(frames):
            inclusive[f] += c
        own[frames[-1]] += c
    if not busy:
        return {"busy_pct": 0.0, "ours": [], "own": []}

    def row(f):
        return {"function": f, "inclusive_pct": round(100 * inclusive[f] / busy, 1),
                "own_pct": round(100 * own[f] / busy, 1)}
    ours = [row(f) for f, _ in inclusive.most_common() if _ours(f)][:n]
    leaves = [row(f) for f, _ in own.most_common(8)]
    return {"busy_pct": round(100 * busy / (busy + idle), 1), "ours": ours, "own": leaves}


def _frame_name(frame: str) -> str:
    # "Class.function (path/to/file.py:123)" -> "path/to/file.py:Class.function"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if path.startswith(str(REPO_ROOT) + os.sep):
        path = path[len(str(REPO_ROOT)) + 1:]
    if not _ours(path):
        path = os.path.basename(path)
    return f"{path}:{name}"


def _ours(name: str) -> bool:
    return name.split("/", 1)[0] in ("homeserver", "federation", "media", "bench")


# --------------------------------------------------------------------------- main run


async def run(args) -> dict:
    run_id = secrets.token_hex(3)
    res: dict = {"listeners": args.listeners, "concurrency_per_server": args.concurrency}
    tmp = tempfile.mkdtemp(prefix="bench-stage-")
    nodes = {label: ProfiledNode(label, Path(tmp) / label) for label in "ABC"}
    peers = {n.server_name: n.base_url for n in nodes.values()}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    watcher_tasks: list[asyncio.Task] = []
    profiling = bool(args.profile) and shutil.which("py-spy") is not None
    if args.profile and not profiling:
        log("--profile: py-spy is not installed; running without it")
    try:
        t0 = time.monotonic()
        for n in nodes.values():
            n.start(n.configure(federate(peers, request_timeout_seconds=60.0), cheap_passwords))
        for n in nodes.values():
            await n.wait_ready(session)
        log(f"3 servers up in {time.monotonic() - t0:.1f} s: "
            + ", ".join(f"{k}={n.server_name}" for k, n in nodes.items()))
        a = nodes["A"]

        # ---- set-up: users (registration is timed, but is not the point)
        sem = asyncio.Semaphore(48)

        async def reg(node, name):
            async with sem:
                return await register(session, node, name)
        t0 = time.monotonic()
        moderator = await register(session, a, f"mod_{run_id}")
        watch_users = {label: await register(session, n, f"watch_{label.lower()}_{run_id}")
                       for label, n in nodes.items()}
        order = list(nodes.values())
        listeners = await asyncio.gather(*(reg(order[i % 3], f"l{i}_{run_id}")
                                           for i in range(args.listeners)))
        reg_s = time.monotonic() - t0
        res["register"] = {"users": args.listeners + 4, "wall_s": round(reg_s, 2),
                           "per_s": round((args.listeners + 4) / reg_s, 1)}
        log(f"registered {args.listeners + 4} users in {reg_s:.1f} s")

        room_id = (await call(session, "POST", a.base_url + CLIENT + "/createRoom",
                              moderator["access_token"],
                              {"preset": "public_chat", "visibility": "public",
                               "name": "Stage bench", "topic": "bench",
                               "creation_content": {"type": "org.audiorooms.audio"}}))["room_id"]
        for u in watch_users.values():
            await call(session, "POST", f"{u['node'].base_url}{CLIENT}/join/{q(room_id)}",
                       u["access_token"], {})

        # ---- 1: joins
        if profiling:
            for label, n in nodes.items():
                n.start_profiler(Path(args.profile) / f"join-{label}.txt")
        joins = await join_phase(session, listeners, room_id, args.concurrency)
        want = args.listeners + 4 - joins["failed"]
        joins["converged_s"] = await converge(session, watch_users, room_id, want, joins["t0"],
                                              args.timeout)
        del joins["t0"]
        if profiling:
            for n in nodes.values():
                n.stop_profiler()
            res["profile"] = {label: top_functions(Path(args.profile) / f"join-{label}.txt")
                              for label in nodes}
        res["join"] = joins
        log(f"joins: {joins['ok']}/{joins['joins']} in {joins['wall_s']} s "
            f"({joins['joins_per_s']}/s), converged {joins['converged_s']}")

        # ---- watchers: one long-polling /sync per server
        watchers = {label: Watcher(session, u) for label, u in watch_users.items()}
        watcher_tasks = [asyncio.create_task(w.run()) for w in watchers.values()]
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers.values())),
                               args.timeout)

        # ---- 2: hand raises
        raisers = spread(listeners, args.hands)
        res["hands"] = await hands_phase(session, raisers, room_id, watchers, args.timeout)
        log(f"hands: {res['hands']['hands']} raised, PUT p50 {res['hands']['put']['p50_ms']} ms")

        # ---- 3: stage changes
        res["stage"] = await stage_phase(session, moderator, raisers or listeners, room_id,
                                         watchers, args.stage_changes, args.timeout)
        res["sync"] = {k: {"errors": w.errors, "limited_timelines": w.limited}
                       for k, w in watchers.items()}
    finally:
        for t in watcher_tasks:
            t.cancel()
        await asyncio.gather(*watcher_tasks, return_exceptions=True)
        await session.close()
        for n in nodes.values():
            n.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def print_table(res: dict) -> None:
    j = res["join"]
    print(f"Stage benchmark: 3 of our homeservers as subprocesses on 127.0.0.1; audio room on A;"
          f" {res['listeners']} listeners over A, B, C")
    print(f"\nRegistration (set-up): {res['register']['users']} users in "
          f"{res['register']['wall_s']} s ({res['register']['per_s']}/s)")
    print(f"\nJoins ({res['concurrency_per_server']} in flight per server, all servers at once): "
          f"{j['ok']}/{j['joins']} in {j['wall_s']} s = {fmt(j['joins_per_s'])} joins/s")
    print(f"  {'server':<8}{'joins':>7}{'wall s':>9}{'joins/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'max ms':>9}{'all members listed after s':>28}")
    for label, s in j["per_server"].items():
        print(f"  {label:<8}{s['ok']:>7}{fmt(s['wall_s']):>9}{fmt(s['joins_per_s']):>9}"
              f"{fmt(s['p50_ms']):>9}{fmt(s['p95_ms']):>9}{fmt(s['max_ms']):>9}"
              f"{fmt(j['converged_s'].get(label)):>28}")
    h = res["hands"]
    print(f"\nHand raises: {h['hands']} at once; PUT p50 {fmt(h['put']['p50_ms'])} ms, "
          f"p95 {fmt(h['put']['p95_ms'])} ms; seen in each server's /sync (from before the PUT):")
    for label, s in h["per_server"].items():
        print(f"  {label:<8}p50 {fmt(s['p50_ms']):>7} ms  p95 {fmt(s['p95_ms']):>7} ms  "
              f"all after {fmt(s['all_seen_after_s'])} s  missing {s['missing']}")
    st = res["stage"]
    print(f"\nStage changes: {st['changes']} role changes by the moderator, one at a time; "
          f"PUT p50 {fmt(st['put']['p50_ms'])} ms; from before the PUT to the event in /sync:")
    for label, s in st["per_server"].items():
        print(f"  {label:<8}p50 {fmt(s['p50_ms']):>7} ms  p95 {fmt(s['p95_ms']):>7} ms  "
              f"max {fmt(s['max_ms']):>7} ms")
    o = st["overall"]
    print(f"  {'all':<8}p50 {fmt(o['p50_ms']):>7} ms  p95 {fmt(o['p95_ms']):>7} ms  "
          f"max {fmt(o['max_ms']):>7} ms   (missing: {st['missing']})")
    bad = {k: v for k, v in res["sync"].items() if v["errors"] or v["limited_timelines"]}
    if bad:
        print(f"\nsync trouble: {bad}")
    for label, prof in (res.get("profile") or {}).items():
        if not prof:
            continue
        print(f"\nServer {label} during the joins: busy {prof['busy_pct']}% of py-spy samples;"
              " share of the busy samples, inclusive / own:")
        for r in prof["ours"]:
            print(f"  {r['inclusive_pct']:>5}% {r['own_pct']:>5}%  {r['function']}")
        print("  hottest leaves: " + ", ".join(f"{r['function']} {r['own_pct']}%"
                                               for r in prof["own"]))


def ok(res: dict) -> bool:
    return (res["join"]["failed"] == 0 and None not in res["join"]["converged_s"].values()
            and res["hands"]["failed"] == 0
            and not any(s["missing"] for s in res["hands"]["per_server"].values())
            and res["stage"]["missing"] == 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listeners", type=int, default=1000)
    ap.add_argument("--hands", type=int, default=50)
    ap.add_argument("--stage-changes", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=8, help="joins in flight per server")
    ap.add_argument("--timeout", type=float, default=120, help="bound on each wait (s)")
    ap.add_argument("--profile", metavar="DIR", help="py-spy the servers during the joins")
    ap.add_argument("--keep", action="store_true", help="keep the servers' data and logs")
    ap.add_argument("--max-time", type=float, default=1200, help="hard limit for the whole run")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = ap.parse_args()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    return run_bench(run, args, print_table, ok)


if __name__ == "__main__":
    sys.exit(main())
