"""Reactions in audio rooms (org.audiorooms.reaction): seen live on every server, limited per
user on the sender's server, and a flood from another server cut at the room's host without
delaying the room's other events (stage changes), with the figures printed.

Three servers: A hosts the room (alice moderates), B (bob) and C (carol) join it.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
from urllib.parse import quote

from aiohttp.test_utils import unused_port

from tests import storage_engine
from tests.integration.federation_helpers import eventually
from tests.integration.keyed_server import F1, KeyedServer

AUDIO = {"type": "org.audiorooms.audio"}
REACTION = "org.audiorooms.reaction"
ROLE = "org.audiorooms.role"
FILTER = json.dumps({"room": {"timeline": {"limit": 100}}})
SEEN_WITHIN_S = 1.0
# A stage change reaches the other servers in tens of milliseconds on a quiet machine, burst
# or not; the bound is generous because the machine is shared with other test runs.
STAGE_P95_BOUND_MS = 1000


def stage_bound_ms() -> float:
    """The stage's p95 bound during a flood. On PostgreSQL (the second CI run) every write
    takes the server-wide lock and several round trips, so the same flood queues longer: 3 s
    there (a stalled stage would still fail it); SQLite keeps the 1 s bound."""
    return STAGE_P95_BOUND_MS * (3 if storage_engine.current().engine == "postgres" else 1)


async def start_world(make_homeserver, extra_servers=None, per_server=None):
    """Servers a, b, c (each with ``per_server[name]`` config) federating over loopback, plus
    ``extra_servers`` (name -> URL) they may dial, e.g. a hostile KeyedServer."""
    ports = {n: unused_port() for n in "abc"}
    urls = {f"127.0.0.1:{p}": f"http://127.0.0.1:{p}" for p in ports.values()}
    urls.update(extra_servers or {})
    fed = {"servers": urls, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5,
           "request_timeout_seconds": 5}
    return {n: await make_homeserver(n, port=ports[n], federation=fed,
                                     **(per_server or {}).get(n, {})) for n in "abc"}


async def audio_room(hs):
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat", visibility="public", name="Reacts",
                                   creation_content=AUDIO)
    for c in (bob, carol):
        await c.join(room)
    for c in (alice, bob, carol):  # everyone's server has everyone's join
        await eventually(lambda c=c: members_joined(c, room, 3))
    return room, alice, bob, carol


async def members_joined(client, room, n):
    data = await client.ok("GET", f"/rooms/{quote(room)}/joined_members")
    return len(data["joined"]) >= n


_txn = iter(range(10**9))


async def react(client, room, key) -> tuple[int, dict]:
    return await client.request(
        "PUT", f"/rooms/{quote(room)}/send/{REACTION}/r{next(_txn)}", {"key": key})


class Watcher:
    """A client's /sync long-poll in the background: when each event arrived (monotonic)."""

    def __init__(self, client):
        self.client = client
        self.arrived: dict[str, float] = {}
        self.events: dict[str, dict] = {}
        self.task: asyncio.Task | None = None

    async def start(self):
        since = (await self.client.sync(filter=FILTER))["next_batch"]
        self.task = asyncio.ensure_future(self._loop(since))
        return self

    async def _loop(self, since):
        while True:
            res = await self.client.sync(since, timeout=5000, filter=FILTER)
            now = time.monotonic()
            for room in res.get("rooms", {}).get("join", {}).values():
                for ev in room.get("timeline", {}).get("events", []):
                    self.arrived.setdefault(ev["event_id"], now)
                    self.events[ev["event_id"]] = ev
            since = res["next_batch"]

    def reactions(self, room) -> list[dict]:
        return [e for e in self.events.values()
                if e["type"] == REACTION and e["room_id"] == room]

    async def stop(self):
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def room_reactions(client, room) -> list[dict]:
    data = await client.messages(room, dir="b", limit="1000")
    return [e for e in data["chunk"] if e["type"] == REACTION]


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


async def stage_changes(alice, room, target, n, gap_s, watchers) -> list[float]:
    """``n`` stage changes by the moderator on A (``target`` on stage, then off, ...), one every
    ``gap_s``; returns each one's worst arrival delay (ms) over ``watchers``' servers."""
    sent: list[tuple[str, float]] = []
    for i in range(n):
        t0 = time.monotonic()
        role = "speaker" if i % 2 == 0 else "listener"
        eid = await alice.put_state(room, ROLE, {"role": role, "muted": False}, target)
        sent.append((eid, t0))
        await asyncio.sleep(gap_s)
    delays = []
    for eid, t0 in sent:
        arrivals = [await eventually(lambda w=w, eid=eid: w.arrived.get(eid), timeout=15)
                    for w in watchers]
        delays.append((max(arrivals) - t0) * 1000)
    return delays


# --- seen everywhere ------------------------------------------------------------------------


async def test_reactions_seen_on_every_server_within_a_second(make_homeserver):
    hs = await start_world(make_homeserver)
    room, alice, bob, carol = await audio_room(hs)
    watchers = [await Watcher(c).start() for c in (alice, bob, carol)]
    try:
        figures = []
        for client, key in ((alice, "👏"), (bob, "❤️"), (carol, "🇫🇷")):
            t0 = time.monotonic()
            status, sent = await react(client, room, key)
            assert status == 200, sent
            eid = sent["event_id"]
            seen = []
            for w in watchers:  # polled with a deadline: on A, B and C within a second
                at = await eventually(lambda w=w: w.arrived.get(eid), timeout=SEEN_WITHIN_S)
                ev = w.events[eid]
                assert ev["type"] == REACTION and ev["sender"] == client.user_id
                assert ev["content"] == {"key": key}
                seen.append((at - t0) * 1000)
            figures.append(f"{key} from {client.user_id.split(':')[0]}: "
                           + ", ".join(f"{s:.0f} ms" for s in seen))
        print("\nreaction seen on A, B, C after: " + "; ".join(figures))
    finally:
        for w in watchers:
            await w.stop()


# --- refused on the client API --------------------------------------------------------------


async def test_bad_keys_refused_and_non_members_forbidden(make_homeserver):
    hs = await start_world(make_homeserver)
    room, alice, bob, carol = await audio_room(hs)
    bad = ["", "x" * 17, "🔥" * 5, "a b", "👏\n", "\u0000", "\u200b", "\u0301a", 5, None,
           ["👏"], {"k": 1}]
    for key in bad:
        for client in (alice, bob):  # the host's user and a remote user, each on its server
            status, err = await react(client, room, key)
            assert status == 400 and err["errcode"] == "M_INVALID_PARAM", (key, status, err)
    status, err = await alice.request(
        "PUT", f"/rooms/{quote(room)}/send/{REACTION}/nokey", {"emoji": "👏"})
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"
    # Keys people use are fine: a family with skin tones, a flag, a keycap, text.
    for key in ("👨🏽‍👩🏽‍👧🏽", "🏳️‍🌈", "1️⃣", "+1", "lol", "🔥🔥"):
        status, sent = await react(alice, room, key)
        assert status == 200, (key, sent)

    outsider = await hs["a"].user("outsider")
    remote_outsider = await hs["c"].user("remote_outsider")
    status, err = await react(outsider, room, "👏")
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    status, err = await react(remote_outsider, room, "👏")  # C has the room, through carol
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    await carol.ok("POST", f"/rooms/{quote(room)}/leave", {})
    await eventually(lambda: _not_member(alice, room, carol.user_id))  # the host took it
    await eventually(lambda: _not_member(carol, room, carol.user_id))  # relayed back to C
    status, err = await react(carol, room, "👏")  # left: no longer a member
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"

    # Nothing refused reached the room: only the six good keys are in it, on A and on B.
    good = {"👨🏽‍👩🏽‍👧🏽", "🏳️‍🌈", "1️⃣", "+1", "lol", "🔥🔥"}
    for client in (alice, bob):
        got = await eventually(lambda c=client: _keys_if(c, room, good))
        assert sorted(got) == sorted(good)


async def _not_member(client, room, user):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/m.room.member/{quote(user)}")
    return status == 200 and data.get("membership") == "leave"


async def _keys_if(client, room, want):
    keys = [e["content"].get("key") for e in await room_reactions(client, room)]
    return keys if set(keys) >= want else None


async def test_rate_limit_per_user_answers_429_with_retry_after(make_homeserver):
    hs = await start_world(make_homeserver)  # the default limit: 10 per second, burst 10
    room, alice, bob, carol = await audio_room(hs)
    for client in (alice, bob):  # on the host, and on a resident for a room hosted elsewhere
        t0 = time.monotonic()
        results = await asyncio.gather(*(react(client, room, "🔥") for _ in range(40)))
        elapsed = time.monotonic() - t0
        ok = [r for s, r in results if s == 200]
        limited = [r for s, r in results if s == 429]
        assert len(ok) + len(limited) == 40, results
        assert limited and all(r["errcode"] == "M_LIMIT_EXCEEDED" and r["retry_after_ms"] > 0
                               for r in limited)
        assert 10 <= len(ok) <= 10 + 10 * elapsed + 1, (len(ok), elapsed)
        # Waiting as told is enough; and one user's limit is not another's.
        await asyncio.sleep(max(r["retry_after_ms"] for r in limited) / 1000)
        status, sent = await react(client, room, "🔥")
        assert status == 200, sent
    status, sent = await react(carol, room, "🔥")
    assert status == 200, sent


# --- floods from other servers --------------------------------------------------------------


async def test_burst_from_one_remote_user_cut_at_the_host_without_delaying_the_stage(
        make_homeserver):
    # B lets its user send anything (a lenient or careless server): the host is the one
    # that must cut bob's 100-reaction burst to the per-user rate.
    lenient = {"ratelimit": {"reaction": {"per_second": 10000, "burst": 10000}}}
    hs = await start_world(make_homeserver, per_server={"b": lenient})
    room, alice, bob, carol = await audio_room(hs)
    watchers = [await Watcher(c).start() for c in (alice, bob, carol)]
    try:
        quiet = await stage_changes(alice, room, carol.user_id, 10, 0.02, watchers[1:])
        t0 = time.monotonic()
        burst = asyncio.gather(*(react(bob, room, "🎉") for _ in range(100)))
        during = await stage_changes(alice, room, carol.user_id, 20, 0.05, watchers[1:])
        results = await burst
        assert all(s == 200 for s, _ in results), results  # B took them all

        # The host accepted at most bob's allowance (burst 20 for a remote sender, then
        # 10 per second) and dropped the rest; no more arrive once B's queue is drained.
        # (Two sent in the same millisecond on the same prev_event are one event, one ID.)
        distinct = len({r["event_id"] for _, r in results})
        await eventually(lambda: hs["a"].hs.reactions.dropped + len(
            watchers[0].reactions(room)) >= distinct, timeout=15)
        elapsed = time.monotonic() - t0
        accepted = watchers[0].reactions(room)
        assert 10 <= len(accepted) <= 20 + 10 * elapsed + 1, (len(accepted), elapsed)
        assert hs["a"].hs.reactions.dropped >= distinct - len(accepted)
        # Exactly what the host accepted reached each server's clients: nothing dropped was
        # relayed (B learns of its own reactions only from the host's relay) or shown.
        want = {e["event_id"] for e in accepted}
        for client in (alice, bob, carol):
            got = await eventually(lambda c=client: _reaction_ids_if(c, room, want))
            assert got == want
        await asyncio.sleep(0.3)
        for w in watchers:
            assert {e["event_id"] for e in w.reactions(room)} == want

        print(f"\nstage change seen on B and C: quiet p95 {p95(quiet):.0f} ms; during a"
              f" 100-reaction burst from one remote user p95 {p95(during):.0f} ms"
              f" (median {statistics.median(during):.0f} ms, max {max(during):.0f} ms);"
              f" host accepted {len(accepted)} of {distinct} in {elapsed:.1f} s")
        assert p95(during) < stage_bound_ms(), during
    finally:
        for w in watchers:
            await w.stop()


async def _reaction_ids_if(client, room, want):
    ids = {e["event_id"] for e in await room_reactions(client, room)}
    return ids if ids == want else None


class HostileServer(KeyedServer):
    """A server whose users join the room properly, then flood it with reactions."""

    def reaction(self, room: str, user: str, prev: dict, key: str, ts: int) -> dict:
        return self.event(room_id=room, sender=user, type=REACTION, content={"key": key},
                          origin_server_ts=ts,
                          depth=prev["depth"] + 1, prev_events=[prev["event_id"]],
                          auth_events=prev["auth_events"])


async def test_hostile_server_flooding_through_many_users_is_cut_and_the_room_keeps_pace(
        make_homeserver):
    evil = HostileServer()
    await evil.start()
    # A caps what one server's users together may add to one room (tight here, to show it).
    per_origin = {"ratelimit": {"reaction_per_origin": {"per_second": 5, "burst": 30}}}
    try:
        hs = await start_world(make_homeserver, extra_servers={evil.name: evil.url},
                               per_server={"a": per_origin})
        room, alice, bob, carol = await audio_room(hs)
        a = hs["a"]
        users = [f"@troll{i}:{evil.name}" for i in range(6)]
        joins = [await evil.join(a.session, a.url, a.server_name, room, u) for u in users]
        last = joins[-1]
        await eventually(lambda: members_joined(alice, room, 3 + len(users)))
        # 6 users x 50 reactions, in 6 transactions of 50 sent at once.
        now = int(time.time() * 1000)
        pdus = [evil.reaction(room, users[i % 6], last, "💩", now + i) for i in range(300)]
        txns = [[{k: v for k, v in p.items() if k != "event_id"} for p in pdus[i:i + 50]]
                for i in range(0, 300, 50)]
        watchers = [await Watcher(c).start() for c in (alice, bob, carol)]
        try:
            t0 = time.monotonic()
            flood = asyncio.gather(*(
                evil.request(a.session, a.url, a.server_name, "PUT", f"{F1}/send/flood{i}",
                             {"origin": evil.name, "origin_server_ts": int(time.time() * 1000),
                              "pdus": t})
                for i, t in enumerate(txns)))
            during = await stage_changes(alice, room, carol.user_id, 20, 0.05, watchers[1:])
            answers = await flood
            elapsed = time.monotonic() - t0
            assert all(status == 200 for status, _ in answers), answers
            refused = [r["error"] for _, body in answers for r in body["pdus"].values()
                       if "error" in r]
            accepted_ids = {eid for _, body in answers for eid, r in body["pdus"].items()
                            if "error" not in r}
            assert refused and all("rate limit" in e for e in refused), refused[:3]
            # Per origin: at most the cap (burst 30, then 5 a second) of the 300.
            assert len(accepted_ids) <= 30 + 5 * elapsed + 1, (len(accepted_ids), elapsed)
            assert len(accepted_ids) + len(refused) == 300
            for client in (alice, bob, carol):  # the accepted ones, and only those, shown
                got = await eventually(lambda c=client: _reaction_ids_if(c, room, accepted_ids))
                assert got == accepted_ids
            print(f"\nhostile server: 300 reactions from 6 users, host accepted"
                  f" {len(accepted_ids)}; stage change on B and C p95 {p95(during):.0f} ms"
                  f" (max {max(during):.0f} ms)")
            assert p95(during) < stage_bound_ms(), during
        finally:
            for w in watchers:
                await w.stop()
    finally:
        await evil.close()
