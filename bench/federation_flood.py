"""Client latency while a remote server floods us with transactions.

    python bench/federation_flood.py [--json] [--txns 100] [--pdus 50] [--in-flight N]
                                     [--max-time 300]

Set-up (not measured): our homeserver A runs as a subprocess (`homeserver run`); this process
plays a remote server S: it publishes an ed25519 key under S's name (A's `federation.servers`
maps S to it), swallows the transactions A relays back, and signs what it sends exactly as a
federating server does. A user of A creates a public room; S's user joins it (make_join /
send_join). Then --txns transactions of --pdus m.room.message PDUs each from S's user are signed
beforehand.

Measured: GET /_matrix/client/versions latency (a fresh request each time, one at a time) on
an idle A, then while all the transactions are PUT to A at once (or --in-flight at a time;
`--in-flight 1` is an honest sender at full speed: one in flight, no backlog); p50/p95 of both
and their ratio. Also: how long A took to answer them all, that every answer was 200 with no
per-PDU error, and that every PDU is in the room afterwards (read back through the client API).
`run_flood()` is what tests/integration/test_federation_flood.py runs.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import aiohttp
import yarl
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CLIENT, Node, call, federate, fmt, log, pct, r1, register_user, run_bench  # noqa: E402
from federation.signing import SigningKey, add_content_hash, compute_event_id, sign_event, sign_json  # noqa: E402
from federation.xmatrix import sign_request  # noqa: E402

SECRET = "bench-flood-secret"
F1 = "/_matrix/federation/v1"
F2 = "/_matrix/federation/v2"
VERSIONS = "/_matrix/client/versions"


def q(s: str) -> str:
    return quote(s, safe="")


class RemoteSender:
    """The remote server S: its key endpoint, a sink for A's transactions, and signing."""

    def __init__(self, port: int):
        self.key = SigningKey.generate()
        self.port = port
        self.name = f"127.0.0.1:{port}"
        self.url = f"http://127.0.0.1:{port}"
        self.user_id = f"@flooder:{self.name}"
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/_matrix/key/v2/server", self._keys)
        app.router.add_put(F1 + "/send/{txn}", self._swallow)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        await self._runner.cleanup()

    async def _keys(self, request):
        body = {"server_name": self.name, "valid_until_ts": int(time.time() * 1000) + 3600_000,
                "verify_keys": {self.key.key_id: {"key": self.key.verify_key.public_base64}},
                "old_verify_keys": {}}
        return web.json_response(sign_json(body, self.name, self.key))

    async def _swallow(self, request):
        await request.read()
        return web.json_response({"pdus": {}})

    def signed(self, method: str, path: str, dest: str, body=None) -> tuple[dict, bytes | None]:
        headers = {"Authorization": sign_request(self.key, method, path, self.name, dest, body)}
        if body is None:
            return headers, None
        headers["Content-Type"] = "application/json"
        return headers, json.dumps(body, separators=(",", ":")).encode()

    async def request(self, session, base_url: str, dest: str, method: str, path: str,
                      body=None) -> tuple[int, dict]:
        headers, data = self.signed(method, path, dest, body)
        async with session.request(method, yarl.URL(base_url + path, encoded=True),
                                   data=data, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    def event(self, **fields) -> dict:
        ev = sign_event(add_content_hash(dict(fields)), self.name, self.key)
        return ev

    async def join(self, session, node: Node, room_id: str) -> dict:
        status, made = await self.request(
            session, node.base_url, node.server_name, "GET",
            f"{F1}/make_join/{q(room_id)}/{q(self.user_id)}?ver=org.audiorooms.1")
        if status != 200:
            raise RuntimeError(f"make_join: {status} {made}")
        ev = {k: made["event"][k] for k in ("room_id", "sender", "type", "state_key", "depth",
                                            "prev_events", "auth_events", "content")}
        ev["origin_server_ts"] = int(time.time() * 1000)
        ev = self.event(**ev)
        event_id = compute_event_id(ev)
        status, sent = await self.request(session, node.base_url, node.server_name, "PUT",
                                          f"{F2}/send_join/{q(room_id)}/{q(event_id)}", ev)
        if status != 200:
            raise RuntimeError(f"send_join: {status} {sent}")
        return dict(ev, event_id=event_id)


async def versions_latency(session, base_url: str, stop: asyncio.Event | None = None,
                           count: int | None = None) -> list[float]:
    """/versions round trips in ms, one after the other, until `stop` is set (or `count`)."""
    out: list[float] = []
    while (stop is None or not stop.is_set()) and (count is None or len(out) < count):
        t0 = time.perf_counter()
        async with session.get(base_url + VERSIONS, headers={"Connection": "close"}) as resp:
            await resp.read()
            assert resp.status == 200
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.005)  # a client polling, not a tight loop
    return out


async def room_bodies(session, base_url: str, token: str, room_id: str) -> list[str]:
    bodies: list[str] = []
    since = None
    while True:
        params = {"dir": "b", "limit": "1000", **({"from": since} if since else {})}
        url = f"{base_url}{CLIENT}/rooms/{q(room_id)}/messages?" + "&".join(
            f"{k}={q(v)}" for k, v in params.items())
        page = await call(session, "GET", url, token)
        bodies += [e["content"].get("body") for e in page["chunk"]
                   if e["type"] == "m.room.message"]
        if not page["chunk"] or not page.get("end") or page.get("end") == since:
            return bodies
        since = page["end"]


async def run_flood(workdir: Path, txns: int = 100, pdus: int = 50, idle_samples: int = 200,
                    in_flight: int | None = None) -> dict:
    from bench.common import free_port
    sender = RemoteSender(free_port())
    await sender.start()
    node = Node("A", workdir / "A", SECRET, host="127.0.0.1")
    try:
        node.start(node.configure(federate({sender.name: sender.url}, 30)))
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn) as session, \
                aiohttp.ClientSession() as client:
            await node.wait_ready(session)
            alice = await register_user(session, node.base_url, SECRET, "alice")
            room_id = (await call(session, "POST", f"{node.base_url}{CLIENT}/createRoom",
                                  alice["access_token"], {"preset": "public_chat"}))["room_id"]
            join = await sender.join(session, node, room_id)
            # Every PDU follows the join; the host orders them as they come.
            batches = []
            for t in range(txns):
                batch = []
                for i in range(pdus):
                    batch.append(sender.event(
                        room_id=room_id, sender=sender.user_id, type="m.room.message",
                        content={"msgtype": "m.text", "body": f"flood {t}:{i}"},
                        origin_server_ts=int(time.time() * 1000), depth=join["depth"] + 1,
                        prev_events=[join["event_id"]], auth_events=[]))
                path = f"{F1}/send/{uuid.uuid4().hex}"
                body = {"origin": sender.name, "origin_server_ts": int(time.time() * 1000),
                        "pdus": batch, "edus": []}
                batches.append((path, *sender.signed("PUT", path, node.server_name, body)))
            log(f"signed {txns} x {pdus} PDUs")

            idle = await versions_latency(client, node.base_url, count=idle_samples)
            stop = asyncio.Event()
            measuring = asyncio.ensure_future(versions_latency(client, node.base_url, stop))

            slots = asyncio.Semaphore(in_flight or len(batches))

            async def put(path, headers, data):
                async with slots, session.put(yarl.URL(node.base_url + path, encoded=True),
                                       data=data, headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=300)) as resp:
                    return resp.status, await resp.json(content_type=None)

            t0 = time.perf_counter()
            answers = await asyncio.gather(*(put(*b) for b in batches))
            flood_s = time.perf_counter() - t0
            stop.set()
            loaded = await measuring
            statuses = [s for s, _ in answers]
            refused = sum(1 for s, a in answers if s == 200
                          for r in a.get("pdus", {}).values() if r.get("error"))
            bodies = set(await room_bodies(session, node.base_url, alice["access_token"],
                                           room_id))
            missing = sum(1 for t in range(txns) for i in range(pdus)
                          if f"flood {t}:{i}" not in bodies)
    finally:
        node.stop()
        await sender.close()
    return {
        "txns": txns, "pdus_per_txn": pdus, "in_flight": in_flight, "flood_s": round(flood_s, 2),
        "pdus_per_s": round(txns * pdus / flood_s), "statuses": sorted(set(statuses)),
        "non_200": sum(1 for s in statuses if s != 200), "pdus_refused": refused,
        "pdus_missing": missing,
        "idle": {"n": len(idle), "p50_ms": r1(pct(idle, 50)), "p95_ms": r1(pct(idle, 95)),
                 "max_ms": r1(max(idle))},
        "flood": {"n": len(loaded), "p50_ms": r1(pct(loaded, 50)), "p95_ms": r1(pct(loaded, 95)),
                  "max_ms": r1(max(loaded)) if loaded else None},
    }


def print_table(res: dict) -> None:
    idle, flood = res["idle"], res["flood"]
    ratio = lambda k: fmt(round(flood[k] / idle[k], 1) if idle[k] and flood[k] else None)  # noqa: E731
    at_once = f"{res['in_flight']} at a time" if res.get("in_flight") else "all at once"
    print(f"{res['txns']} transactions x {res['pdus_per_txn']} PDUs ({at_once}) answered in "
          f"{res['flood_s']} s ({res['pdus_per_s']} PDUs/s); non-200: {res['non_200']}, "
          f"PDUs refused: {res['pdus_refused']}, missing from the room: {res['pdus_missing']}")
    print(f"{'GET /versions':<16}{'idle':>10}{'flood':>10}{'ratio':>8}")
    for k in ("p50_ms", "p95_ms", "max_ms"):
        print(f"{k:<16}{fmt(idle[k]):>10}{fmt(flood[k]):>10}{ratio(k):>8}")
    print(f"{'samples':<16}{idle['n']:>10}{flood['n']:>10}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--txns", type=int, default=100)
    p.add_argument("--pdus", type=int, default=50)
    p.add_argument("--in-flight", type=int, default=None,
                   help="transactions in flight at once (default: all of them)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--max-time", type=float, default=300)
    args = p.parse_args()

    async def run(a):
        with tempfile.TemporaryDirectory(prefix="flood-") as tmp:
            return await run_flood(Path(tmp), a.txns, a.pdus, in_flight=a.in_flight)

    return run_bench(run, args, print_table,
                     lambda r: r["non_200"] == 0 and r["pdus_missing"] == 0)


if __name__ == "__main__":
    sys.exit(main())
