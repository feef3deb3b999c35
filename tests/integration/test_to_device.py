"""To-device messages over real HTTP: /sendToDevice to one device and to "*", sync's
to_device (served until a later since token acknowledges them, paged 100 at a time),
idempotent transactions; across servers as m.direct_to_device EDUs, delivered durably through
an outage of the receiver and a SIGKILL of the sender; and the EDUs a server must ignore."""
from __future__ import annotations

import asyncio
import itertools
import signal
import time
from urllib.parse import quote

from aiohttp.test_utils import unused_port

from tests.integration.federation_helpers import eventually, restart, start_process, start_servers
from tests.integration.test_receipts_typing import send_edus
from tests.matrix_client import Client

_txn = itertools.count()


async def send_to_device(client: Client, messages: dict, etype: str = "m.room_key_test",
                         txn: str | None = None) -> tuple[int, dict]:
    txn = txn or f"td{next(_txn)}"
    status, data = await client.request("PUT", f"/sendToDevice/{quote(etype)}/{quote(txn)}",
                                        {"messages": messages})
    assert isinstance(data, dict)
    return status, data


def to_device(sync: dict) -> list[dict]:
    return sync["to_device"]["events"]


async def login(server, username: str, device_id: str) -> Client:
    c = server.client()
    data = await c.ok("POST", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": username},
        "password": "correct horse", "device_id": device_id})
    c.token, c.user_id = data["access_token"], data["user_id"]
    return c


async def test_to_one_device_and_to_all_seen_until_acknowledged(homeserver):
    alice = await homeserver.user("alice")
    bob_phone = await homeserver.user("bob")
    bob_laptop = await login(homeserver, "bob", "LAPTOP")
    phone_since = (await bob_phone.sync())["next_batch"]
    laptop_since = (await bob_laptop.sync())["next_batch"]

    # A long-polling sync is woken by the message.
    poll = asyncio.create_task(bob_laptop.sync(laptop_since, timeout=10_000))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    assert await send_to_device(alice, {bob_laptop.user_id: {"LAPTOP": {"n": 1}}}) == (200, {})
    got = await poll
    assert time.monotonic() - t0 < 5
    assert to_device(got) == [{"sender": alice.user_id, "type": "m.room_key_test",
                               "content": {"n": 1}}]
    # Only the device it was for.
    assert to_device(await bob_phone.sync(phone_since)) == []
    # Not acknowledged yet: the same since token serves it again (a lost response loses
    # nothing); an initial sync serves it too.
    assert to_device(await bob_laptop.sync(laptop_since)) == to_device(got)
    assert to_device(await bob_laptop.sync()) == to_device(got)
    # A sync with the later token acknowledges it: gone, even for older tokens then.
    after = await bob_laptop.sync(got["next_batch"])
    assert to_device(after) == []
    assert to_device(await bob_laptop.sync(laptop_since)) == []
    assert homeserver.hs.to_device.store.count(bob_laptop.user_id) == 0

    # "*": every device of the user, once each.
    await send_to_device(alice, {bob_phone.user_id: {"*": {"n": 2}}})
    phone = await bob_phone.sync(phone_since)
    laptop = await bob_laptop.sync(after["next_batch"])
    assert [e["content"] for e in to_device(phone)] == [{"n": 2}]
    assert [e["content"] for e in to_device(laptop)] == [{"n": 2}]
    assert to_device(await bob_phone.sync(phone["next_batch"])) == []
    assert to_device(await bob_laptop.sync(laptop["next_batch"])) == []
    # A device that does not exist and a user who does not exist get nothing, and nothing
    # is stored for them.
    assert (await send_to_device(alice, {bob_phone.user_id: {"NOPE": {"n": 3}},
                                         f"@ghost:{homeserver.server_name}": {"*": {}}}))[0] \
        == 200
    assert homeserver.hs.to_device.store.count() == 0


async def test_more_than_a_sync_carries_come_in_order_over_several_syncs(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    since = (await bob.sync())["next_batch"]
    bob_device = (await bob.ok("GET", "/account/whoami"))["device_id"]
    for i in range(250):
        await send_to_device(alice, {bob.user_id: {bob_device: {"i": i}}})
    seen: list[int] = []
    pages = 0
    while True:
        t0 = time.monotonic()
        # More waiting: answered at once, not after the long-poll's timeout.
        page = await bob.sync(since, timeout=5000 if pages else 0)
        got = [e["content"]["i"] for e in to_device(page)]
        if not got:
            assert time.monotonic() - t0 > 4  # nothing left: the long poll waits
            break
        assert time.monotonic() - t0 < 3
        assert len(got) <= 100
        seen += got
        since = page["next_batch"]
        pages += 1
    assert seen == list(range(250)) and pages == 3
    assert homeserver.hs.to_device.store.count(bob.user_id) == 0
    # The paged token still works as an ordinary since token for rooms and /messages.
    room = await bob.create_room()
    await bob.send(room, "after paging")
    assert (await bob.sync(since))["rooms"]["join"][room]["timeline"]["events"]


async def test_a_retried_transaction_delivers_once(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    since = (await bob.sync())["next_batch"]
    for _ in range(3):
        assert await send_to_device(alice, {bob.user_id: {"*": {"once": True}}},
                                    txn="same") == (200, {})
    assert len(to_device(await bob.sync(since))) == 1
    # The transaction ID is per device: alice's other device may use the same one.
    other = await login(homeserver, "alice", "OTHER")
    await send_to_device(other, {bob.user_id: {"*": {"once": False}}}, txn="same")
    assert [e["content"] for e in to_device(await bob.sync(since))] == \
        [{"once": True}, {"once": False}]


async def test_bad_requests_get_matrix_errors_and_store_nothing(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    since = (await bob.sync())["next_batch"]
    big = {"k": "x" * 70_000}
    many = {bob.user_id: {f"D{i}": {} for i in range(1001)}}
    cases = [
        ({bob.user_id: {"*": big}}, 413, "M_TOO_LARGE"),
        (many, 413, "M_TOO_LARGE"),
        ({bob.user_id: {"*": "text"}}, 400, "M_BAD_JSON"),
        ({bob.user_id: ["*"]}, 400, "M_BAD_JSON"),
        ({"not-a-user": {"*": {}}}, 400, "M_INVALID_PARAM"),
        ({"@x:bad host": {"*": {}}}, 400, "M_INVALID_PARAM"),
        ({bob.user_id: {"": {}}}, 400, "M_INVALID_PARAM"),
        ("nope", 400, "M_BAD_JSON"),
    ]
    for messages, status, errcode in cases:
        got, data = await send_to_device(alice, messages)
        assert (got, data.get("errcode")) == (status, errcode), (messages, data)
    status, data = await alice.request("PUT", "/sendToDevice/t/x", {"messages": {
        bob.user_id: {"*": {"f": 1.5}}}})
    assert (status, data["errcode"]) == (400, "M_BAD_JSON")
    # A valid message in a request with a bad one was not delivered: all or nothing.
    got, _ = await send_to_device(alice, {bob.user_id: {"*": {"ok": 1}}, "nope": {}})
    assert got == 400
    assert to_device(await bob.sync(since)) == []
    assert homeserver.hs.to_device.store.count() == 0
    assert homeserver.hs.outbox.count() == 0


async def test_to_device_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    bob2 = await login(hs["b"], "bob", "TABLET")
    since = (await bob.sync())["next_batch"]
    since2 = (await bob2.sync())["next_batch"]
    await send_to_device(alice, {bob.user_id: {"TABLET": {"n": 1}}})
    await send_to_device(alice, {bob.user_id: {"*": {"n": 2}}})

    async def tablet_has_both():
        return [e["content"]["n"] for e in to_device(await bob2.sync(since2))] == [1, 2]
    await eventually(tablet_has_both)
    got = to_device(await bob.sync(since))
    assert got == [{"sender": alice.user_id, "type": "m.room_key_test", "content": {"n": 2}}]
    assert await eventually(lambda: hs["a"].hs.outbox.count() == 0)
    # And back: bob answers alice.
    a_since = (await alice.sync())["next_batch"]
    await send_to_device(bob, {alice.user_id: {"*": {"reply": True}}})

    async def alice_has_reply():
        return to_device(await alice.sync(a_since))
    assert (await eventually(alice_has_reply))[0]["content"] == {"reply": True}


async def test_receiver_down_then_up_gets_everything_in_order(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    since = (await bob.sync())["next_batch"]
    await hs["b"].server.close()  # B is down
    for i in range(30):
        await send_to_device(alice, {bob.user_id: {"*": {"i": i}}})
    await asyncio.sleep(0.5)  # several failed attempts: kept, not dropped like typing
    assert hs["a"].hs.outbox.count(hs["b"].server_name) == 30
    hs["b"] = await restart(make_homeserver, hs["b"], "b")

    async def all_in():
        got = [e["content"]["i"] for e in to_device(await bob.sync(since))]
        return got if len(got) >= 30 else None
    assert await eventually(all_in, timeout=20) == list(range(30))
    assert await eventually(lambda: hs["a"].hs.outbox.count() == 0)


async def test_sender_killed_with_queued_to_device_delivers_after_restart(
        make_homeserver, tmp_path, http_session):
    port_a, port_b = unused_port(), unused_port()
    name_a, name_b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
    servers = {name_a: f"http://{name_a}", name_b: f"http://{name_b}"}
    proc = start_process(tmp_path, "a", port_a, servers)
    try:
        b = await make_homeserver("b", port=port_b, federation={
            "servers": servers, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5})
        alice = Client(http_session, f"http://{name_a}")
        await alice.register("alice")
        bob = await b.user("bob")
        since = (await bob.sync())["next_batch"]
        await b.server.close()  # B is down: A must queue
        for i in range(20):
            assert (await send_to_device(alice, {bob.user_id: {"*": {"i": i}}}))[0] == 200
        proc.send_signal(signal.SIGKILL)  # no clean shutdown; the queue is only on disk
        proc.wait(10)
        proc = start_process(tmp_path, "a", port_a, servers)
        b = await restart(make_homeserver, b, "b")

        async def all_in():
            got = [e["content"]["i"] for e in to_device(await bob.sync(since))]
            return got if len(got) >= 20 else None
        assert await eventually(all_in, timeout=20) == list(range(20))  # in order, once
    finally:
        proc.kill()
        proc.wait(10)


def direct(sender: str, messages: dict, message_id: str, etype: str = "m.room.encrypted"):
    return {"edu_type": "m.direct_to_device", "content": {
        "sender": sender, "type": etype, "message_id": message_id, "messages": messages}}


async def test_hostile_to_device_edus_are_ignored(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b", "c"))
    a, b, c = hs["a"], hs["b"], hs["c"]
    alice = await a.user("alice")
    bob = await b.user("bob")
    carol = await c.user("carol")
    since = (await alice.sync())["next_batch"]
    bad = [
        direct(bob.user_id, {alice.user_id: {"*": {"forged": 1}}}, "m1"),  # C speaks for B
        direct(carol.user_id, {bob.user_id: {"*": {"not_ours": 1}}}, "m2"),  # not A's user
        direct(carol.user_id, {alice.user_id: {"*": {"k": "x" * 70_000}}}, "m3"),  # too big
        direct(carol.user_id, {alice.user_id: {f"D{i}": {} for i in range(1001)}}, "m4"),
        direct(carol.user_id, {alice.user_id: {"*": "text"}}, "m5"),
        direct(carol.user_id, "nope", "m6"),
        direct(carol.user_id, {alice.user_id: {"*": {}}}, ""),
        direct(carol.user_id, {alice.user_id: {"*": {}}}, 7),  # type: ignore[arg-type]
        {"edu_type": "m.direct_to_device", "content": "nope"},
    ]
    assert await send_edus(c, a, bad) == 200
    assert a.hs.to_device.store.count() == 0
    assert to_device(await alice.sync(since)) == []
    # A good one is delivered; the same message_id again (a retried transaction under a new
    # transaction ID) is not delivered twice, even in the same transaction.
    good = direct(carol.user_id, {alice.user_id: {"*": {"hello": 1}}}, "once")
    assert await send_edus(c, a, [good, good]) == 200
    assert await send_edus(c, a, [good]) == 200
    got = to_device(await alice.sync(since))
    assert got == [{"sender": carol.user_id, "type": "m.room.encrypted",
                    "content": {"hello": 1}}]
    # The same message_id from another server is another message.
    assert await send_edus(b, a, [direct(bob.user_id, {alice.user_id: {"*": {"b": 1}}},
                                         "once")]) == 200
    assert [e["sender"] for e in to_device(await alice.sync(since))] == \
        [carol.user_id, bob.user_id]


async def test_a_deleted_device_takes_its_inbox_with_it(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    gone = await login(homeserver, "bob", "GONE")
    await send_to_device(alice, {bob.user_id: {"*": {"n": 1}}})
    assert homeserver.hs.to_device.store.count(bob.user_id) == 2
    await gone.ok("POST", "/logout", {})
    assert homeserver.hs.to_device.store.count(bob.user_id) == 1
    # Logging in again with that device ID starts with an empty inbox.
    again = await login(homeserver, "bob", "GONE")
    assert to_device(await again.sync()) == []
    assert [e["content"] for e in to_device(await bob.sync())] == [{"n": 1}]


async def test_sends_are_rate_limited_per_user_one_token_a_request(make_homeserver):
    # A token every 4 s: the four sends below must not see one come back meanwhile (at 2 per
    # second, CI on PostgreSQL once took longer than 0.5 s over the 600-device send).
    hs = await make_homeserver("a", ratelimit={"to_device": {"per_second": 0.25, "burst": 3}})
    alice = await hs.user("alice")
    bob = await hs.user("bob")
    carol = await hs.user("carol")
    # A room key for 600 devices (bob's, named one by one, most unknown) is one request.
    many = {bob.user_id: {"*": {"k": 0}, **{f"D{i}": {"k": 0} for i in range(599)}}}
    assert await send_to_device(alice, many, txn="t0") == (200, {})
    for i in (1, 2):
        assert await send_to_device(alice, {bob.user_id: {"*": {"k": i}}},
                                    txn=f"t{i}") == (200, {})
    status, err = await send_to_device(alice, {bob.user_id: {"*": {"k": 3}}}, txn="t3")
    assert (status, err["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert 0 < err["retry_after_ms"] <= 4000
    # A retry of a send that happened is answered, and delivers nothing twice.
    assert await send_to_device(alice, {bob.user_id: {"*": {"k": 1}}}, txn="t1") == (200, {})
    # Another user has a bucket of its own.
    assert await send_to_device(carol, {bob.user_id: {"*": {"c": 1}}}) == (200, {})
    await asyncio.sleep(err["retry_after_ms"] / 1000)
    assert await send_to_device(alice, {bob.user_id: {"*": {"k": 3}}}, txn="t3") == (200, {})
    got = [e["content"] for e in to_device(await bob.sync())]
    assert got == [{"k": 0}, {"k": 1}, {"k": 2}, {"c": 1}, {"k": 3}]


async def test_logout_all_takes_every_inbox_with_it(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    await login(homeserver, "bob", "SECOND")
    await send_to_device(alice, {bob.user_id: {"*": {"n": 1}}})
    assert homeserver.hs.to_device.store.count(bob.user_id) == 2
    await bob.ok("POST", "/logout/all", {})
    assert homeserver.hs.to_device.store.count(bob.user_id) == 0
