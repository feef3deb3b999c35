"""Operators' limits: the per-user message limit (here and, at the host, for other servers'
users), X-Forwarded-For believed only from configured proxies, the key notary's fan-out per
requester, and received transactions pruned."""
from __future__ import annotations

import time
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from federation.pdus import to_pdu
from homeserver.storage.database import Database
from homeserver.storage.federation import TransactionStore
from tests.integration.federation_helpers import eventually, room_bodies
from tests.integration.keyed_server import F1, KeyedServer

SLOW = {"per_second": 0.001, "burst": 5}  # five, then (for this test's life) no more


async def _burst(client, room, prefix, n):
    answers = []
    for i in range(n):
        answers.append(await client.request(
            "PUT", f"/rooms/{quote(room)}/send/m.room.message/{prefix}{i}",
            {"msgtype": "m.text", "body": f"{prefix} {i}"}))
    return answers


async def test_message_burst_is_cut_with_429_and_nothing_of_the_excess_is_stored(
        make_homeserver):
    hs = await make_homeserver("a", ratelimit={"message": SLOW})
    alice, bob = await hs.user("alice"), await hs.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    answers = await _burst(alice, room, "flood", 8)
    assert [s for s, _ in answers] == [200] * 5 + [429] * 3
    for _, err in answers[5:]:
        assert err["errcode"] == "M_LIMIT_EXCEEDED" and err["retry_after_ms"] > 0
    bodies = await room_bodies(bob, room)
    assert bodies == [f"flood {i}" for i in range(5)]  # nothing of the excess
    assert (await _burst(bob, room, "bob", 1))[0][0] == 200  # another user is unaffected
    assert "bob 0" in await room_bodies(alice, room)


async def test_the_host_holds_other_servers_users_to_the_message_limit(
        make_homeserver, http_session):
    pa, pb = unused_port(), unused_port()
    servers = {f"127.0.0.1:{p}": f"http://127.0.0.1:{p}" for p in (pa, pb)}
    fed = {"servers": servers, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5}
    a = await make_homeserver("a", port=pa, federation=fed, ratelimit={"message": SLOW})
    b = await make_homeserver("b", port=pb, federation=fed)  # B itself lets its users flood
    alice, bob, bea = await a.user("alice"), await b.user("bob"), await b.user("bea")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await bea.join(room)
    answers = await _burst(bob, room, "remote", 8)
    assert all(s == 200 for s, _ in answers)  # B took them all: the host decides
    await eventually(lambda: b.hs.outbox.count(a.server_name) == 0)
    assert (await _burst(bea, room, "bea", 1))[0][0] == 200
    assert await eventually(lambda: _has(alice, room, "bea 0"))  # another user unaffected
    on_a = [x for x in await room_bodies(alice, room) if x.startswith("remote")]
    assert on_a == [f"remote {i}" for i in range(5)]
    assert a.hs.remote_sender_limit.refused == 3
    stored = a.hs.events.db.execute(
        "SELECT COUNT(*) FROM events WHERE sender = ? AND type = 'm.room.message'",
        (bob.user_id,)).fetchone()[0]
    assert stored == 5
    # The refusal is in the transaction's answer, for that PDU.
    ev = b.hs.rooms.prepare_event(room, bob.user_id, "m.room.message",
                                  {"msgtype": "m.text", "body": "one more"})
    srv = KeyedServer(b.server_name, b.hs.signing_key)
    status, resp = await srv.request(http_session, a.url, a.server_name, "PUT",
                                     f"{F1}/send/limit-{time.time()}",
                                     {"origin": b.server_name, "pdus": [to_pdu(ev)], "edus": []})
    assert status == 200
    assert "rate limit" in resp["pdus"][ev["event_id"]]["error"]
    assert not a.hs.events.has_event(ev["event_id"])


async def _has(client, room, body) -> bool:
    return body in await room_bodies(client, room)


async def _login_statuses(session, url, n, xff=None):
    out = []
    for _ in range(n):
        async with session.post(url + "/_matrix/client/v3/login",
                                json={"type": "m.login.password", "password": "nope",
                                      "identifier": {"type": "m.id.user", "user": "nobody"}},
                                headers={"X-Forwarded-For": xff} if xff else {}) as resp:
            out.append(resp.status)
    return out


async def test_x_forwarded_for_is_believed_only_from_trusted_proxies(make_homeserver):
    hs = await make_homeserver("a", trusted_proxies=["127.0.0.2/32"],
                               ratelimit={"login": {"per_second": 0.001, "burst": 2}})
    direct = aiohttp.ClientSession()
    via_proxy = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    try:
        # A client (not a proxy) spoofing a new X-Forwarded-For each time stays in its own
        # IP's bucket: the third attempt is refused.
        got = [(await _login_statuses(direct, hs.url, 1, f"10.1.1.{i}"))[0] for i in range(3)]
        assert got[:2] != [429, 429] and got[2] == 429
        # From the trusted proxy, each client named by the header has its own bucket.
        assert 429 not in await _login_statuses(via_proxy, hs.url, 2, "10.0.0.1")
        assert (await _login_statuses(via_proxy, hs.url, 1, "10.0.0.1")) == [429]
        assert 429 not in await _login_statuses(via_proxy, hs.url, 2, "10.0.0.2")
        # What the client put in the header before the proxy appended its address counts
        # for nothing: "6.6.6.6, 10.0.0.1" is 10.0.0.1, whose bucket is empty.
        assert (await _login_statuses(via_proxy, hs.url, 1, "6.6.6.6, 10.0.0.1")) == [429]
    finally:
        await direct.close()
        await via_proxy.close()


class CountingKeyServer(KeyedServer):
    def __init__(self, name: str):
        super().__init__(name)
        self.fetches = 0

    async def keys(self, request):
        self.fetches += 1
        return await super().keys(request)


async def test_notary_fan_out_is_capped_per_request_and_rate_limited_per_requester(
        make_homeserver):
    key_servers = [CountingKeyServer(f"k{i}.test") for i in range(5)]
    for k in key_servers:
        await k.start()
    try:
        hs = await make_homeserver(
            "a", trusted_proxies=["127.0.0.2/32"],
            federation={"servers": {k.name: k.url for k in key_servers}},
            ratelimit={"notary_fetch": {"per_second": 0.001, "burst": 3}})
        names = [k.name for k in key_servers]
        url = hs.url + "/_matrix/key/v2/query"
        async with aiohttp.ClientSession() as s:
            # More than 20 server names in one request: refused outright, nothing dialled.
            async with s.post(url, json={"server_keys": {f"x{i}.test": {}
                                                         for i in range(21)}}) as r:
                assert r.status == 400 and (await r.json())["errcode"] == "M_BAD_JSON"
            async with s.post(url, json={"server_keys": {n: {} for n in names}}) as r:
                first = {k["server_name"] for k in (await r.json())["server_keys"]}
            assert len(first) == 3 and sum(k.fetches for k in key_servers) == 3
            # Asking again: what is cached is served, the rest is still not dialled.
            async with s.post(url, json={"server_keys": {n: {} for n in names}}) as r:
                again = {k["server_name"] for k in (await r.json())["server_keys"]}
            assert again == first and sum(k.fetches for k in key_servers) == 3
        # Another requester (behind the trusted proxy) has its own allowance.
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as s:
            async with s.post(url, json={"server_keys": {n: {} for n in names}},
                              headers={"X-Forwarded-For": "10.9.9.9"}) as r:
                third = {k["server_name"] for k in (await r.json())["server_keys"]}
        assert third == set(names) and sum(k.fetches for k in key_servers) == 5
        assert all(k.fetches == 1 for k in key_servers)
    finally:
        for k in key_servers:
            await k.close()


@pytest.mark.sqlite_only(reason="a store test on its own SQLite file, not a server")
def test_received_transactions_are_pruned_by_age_and_count(tmp_path):
    now = [1_000_000.0]
    db = Database(tmp_path / "txns.db")
    store = TransactionStore(db, retention_ms=3600_000, max_per_origin=10,
                             clock=lambda: now[0])
    for i in range(35):
        store.put("flood.example", f"t{i}", {"pdus": {}})
        assert store.count("flood.example") <= 20  # never past twice the bound
        now[0] += 1
    store.put("quiet.example", "q0", {"pdus": {"$x": {}}})
    # The newest answers stay, so a retry of the in-flight transaction is answered the same.
    assert store.get("flood.example", "t34") == {"pdus": {}}
    assert store.get("quiet.example", "q0") == {"pdus": {"$x": {}}}
    store.prune()
    assert store.count("flood.example") == 10 and store.get("flood.example", "t0") is None
    # A day later (past the retention), the next insert sweeps what is old.
    now[0] += 3601
    store.put("fresh.example", "f0", {"pdus": {}})
    assert store.count() == 1 and store.get("quiet.example", "q0") is None
    db.close()


async def test_a_retried_transaction_gets_the_same_answer(make_homeserver, http_session):
    srv = KeyedServer()
    await srv.start()
    hs = await make_homeserver("a", federation={"servers": {srv.name: srv.url}})
    try:
        body = {"origin": srv.name, "pdus": [], "edus": []}
        first = await srv.request(http_session, hs.url, hs.server_name, "PUT",
                                  f"{F1}/send/retry-me", body)
        second = await srv.request(http_session, hs.url, hs.server_name, "PUT",
                                   f"{F1}/send/retry-me", body)
        assert first == second == (200, {"pdus": {}})
        assert hs.hs.federation.txns.count(srv.name) == 1
    finally:
        await srv.close()
