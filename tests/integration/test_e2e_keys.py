"""End-to-end encryption keys over real HTTP: upload, query and claim on one server and across
two, fallback keys, device list changes on sync and /keys/changes (local and remote, including
a device deletion reaching the other server), cross-signing, and what hostile clients and
servers must not achieve (bad signatures, someone else's device, another server's user, a
claim flood). Every key is a real ed25519 key signing canonical JSON."""
from __future__ import annotations

import asyncio
import time
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.signing import SigningKey, encode_base64, sign_json
from federation.xmatrix import sign_request
from tests.integration.federation_helpers import eventually, start_servers
from tests.matrix_client import Client


class Device:
    """A client device: its ed25519 identity key signs its device keys and one-time keys."""

    def __init__(self, client: Client, device_id: str):
        self.client = client
        self.device_id = device_id
        self.key = SigningKey(f"ed25519:{device_id}", Ed25519PrivateKey.generate())
        self.curve = encode_base64(uuid.uuid4().bytes * 2)
        self.n = 0

    @property
    def user_id(self) -> str:
        assert self.client.user_id
        return self.client.user_id

    def device_keys(self) -> dict:
        return sign_json({
            "user_id": self.user_id, "device_id": self.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{self.device_id}": self.curve,
                     f"ed25519:{self.device_id}": self.key.verify_key.public_base64}},
            self.user_id, self.key)

    def otks(self, n: int, fallback: bool = False) -> dict:
        out = {}
        for _ in range(n):
            self.n += 1
            body: dict = {"key": encode_base64(uuid.uuid4().bytes * 2)}
            if fallback:
                body["fallback"] = True
            out[f"signed_curve25519:K{self.n:05d}"] = sign_json(body, self.user_id, self.key)
        return out

    async def upload(self, otks: int = 0, fallback: bool = False) -> dict:
        body: dict = {"device_keys": self.device_keys()}
        if otks:
            body["one_time_keys"] = self.otks(otks)
        if fallback:
            body["fallback_keys"] = self.otks(1, fallback=True)
        return await self.client.ok("POST", "/keys/upload", body)


async def device(client: Client) -> Device:
    who = await client.ok("GET", "/account/whoami")
    return Device(client, who["device_id"])


async def login(server, username: str, device_id: str) -> Client:
    c = server.client()
    data = await c.ok("POST", "/login", {"type": "m.login.password", "password": "correct horse",
                                         "identifier": {"type": "m.id.user", "user": username},
                                         "device_id": device_id})
    c.token, c.user_id = data["access_token"], data["user_id"]
    return c


async def query(client: Client, *user_ids: str) -> dict:
    return await client.ok("POST", "/keys/query", {"device_keys": {u: [] for u in user_ids}})


async def claim(client: Client, user_id: str, device_id: str) -> dict:
    got = await client.ok("POST", "/keys/claim", {
        "one_time_keys": {user_id: {device_id: "signed_curve25519"}}})
    return got["one_time_keys"].get(user_id, {}).get(device_id, {})


async def test_upload_query_claim_on_one_server(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    a = await device(alice)
    counts = await a.upload(otks=2, fallback=True)
    assert counts["one_time_key_counts"]["signed_curve25519"] == 2
    keys = (await query(bob, alice.user_id))["device_keys"][alice.user_id]
    assert keys[a.device_id]["keys"] == a.device_keys()["keys"]
    assert keys[a.device_id]["signatures"] == a.device_keys()["signatures"]
    # Each one-time key is given out once; then the fallback key, over and over.
    first, second = await claim(bob, alice.user_id, a.device_id), \
        await claim(bob, alice.user_id, a.device_id)
    assert len(first) == len(second) == 1 and first != second
    assert not any("fallback" in v for v in [*first.values(), *second.values()])
    fb = await claim(bob, alice.user_id, a.device_id)
    assert list(fb.values())[0]["fallback"] is True
    assert await claim(bob, alice.user_id, a.device_id) == fb
    # Alice's sync: no keys left, the fallback key used.
    s = await alice.sync()
    assert s["device_one_time_keys_count"]["signed_curve25519"] == 0
    assert s["device_unused_fallback_key_types"] == []
    await a.client.ok("POST", "/keys/upload", {"fallback_keys": a.otks(1, fallback=True)})
    assert (await alice.sync())["device_unused_fallback_key_types"] == ["signed_curve25519"]


async def test_hostile_uploads_store_nothing(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    a = await device(alice)
    # A signature that does not verify (the keys changed after signing).
    forged = a.device_keys()
    forged["keys"][f"curve25519:{a.device_id}"] = "AAAA" + forged["keys"][
        f"curve25519:{a.device_id}"][4:]
    status, err = await alice.request("POST", "/keys/upload", {"device_keys": forged})
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    # Signed by a key that is not the device's own.
    impostor = Device(alice, a.device_id)
    other = a.device_keys()
    other["signatures"] = impostor.device_keys()["signatures"]
    status, err = await alice.request("POST", "/keys/upload", {"device_keys": other})
    assert status == 400
    # Device keys for another user or another device.
    b = await device(bob)
    status, _ = await alice.request("POST", "/keys/upload", {"device_keys": b.device_keys()})
    assert status == 400
    status, _ = await alice.request("POST", "/keys/upload",
                                    {"device_keys": Device(alice, "NOTMINE").device_keys()})
    assert status == 400
    assert (await query(bob, alice.user_id))["device_keys"][alice.user_id] == {}
    # One-time keys signed by a stranger, or too many: refused, none kept.
    await a.upload()
    bad = impostor.otks(3)
    status, _ = await alice.request("POST", "/keys/upload", {"one_time_keys": bad})
    assert status == 400
    status, _ = await alice.request("POST", "/keys/upload", {"one_time_keys": a.otks(101)})
    assert status == 400
    assert (await a.upload())["one_time_key_counts"]["signed_curve25519"] == 0
    assert await claim(bob, alice.user_id, a.device_id) == {}


async def test_claim_flood_is_limited(homeserver):
    alice = await homeserver.user("alice")
    mallory = await homeserver.user("mallory")
    a = await device(alice)
    await a.upload(otks=100)
    taken, refused = 0, 0
    for _ in range(60):
        status, body = await mallory.request("POST", "/keys/claim", {
            "one_time_keys": {alice.user_id: {a.device_id: "signed_curve25519"}}})
        if status == 429:
            assert body["errcode"] == "M_LIMIT_EXCEEDED"
            refused += 1
        else:
            taken += 1
    assert refused >= 30 and taken <= 30
    left = (await a.upload())["one_time_key_counts"]["signed_curve25519"]
    assert left >= 70  # most of alice's keys survive the flood
    # A legitimate claimer is not affected by mallory's bucket.
    bob = await homeserver.user("bob")
    assert len(await claim(bob, alice.user_id, a.device_id)) == 1


async def test_room_keys_version_is_not_found(homeserver):
    alice = await homeserver.user("alice")
    status, err = await alice.request("GET", "/room_keys/version")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")


async def test_changes_and_sync_device_lists_locally(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")  # shares no room with alice
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    since = (await alice.sync())["next_batch"]
    carol_since = (await carol.sync())["next_batch"]
    poll = asyncio.create_task(alice.sync(since, timeout=10_000))
    await asyncio.sleep(0.1)
    b = await device(bob)
    await b.upload(otks=1)
    s = await poll  # the long poll is woken by the change
    assert bob.user_id in s["device_lists"]["changed"]
    changes = await alice.ok("GET", "/keys/changes", params={"from": since,
                                                             "to": s["next_batch"]})
    assert bob.user_id in changes["changed"]
    assert bob.user_id not in (await carol.sync(carol_since))["device_lists"]["changed"]
    # Bob leaves the only room they shared: alice sees him in "left".
    await bob.ok("POST", f"/rooms/{room}/leave", {})
    s2 = await alice.sync(s["next_batch"])
    assert bob.user_id in s2["device_lists"]["left"]


async def test_cross_signing_upload_and_signatures(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    a = await device(alice)
    await a.upload()
    master = SigningKey.generate()
    mpub = master.verify_key.public_base64
    master = SigningKey(f"ed25519:{mpub}", master.private)
    ssk = SigningKey.generate()
    spub = ssk.verify_key.public_base64
    ssk = SigningKey(f"ed25519:{spub}", ssk.private)

    def key(usage, k, pub):
        return {"user_id": alice.user_id, "usage": [usage], "keys": {f"ed25519:{pub}": pub}}
    mk = key("master", master, mpub)
    sk = sign_json(key("self_signing", ssk, spub), alice.user_id, master)
    # The first upload needs no password (no master key yet).
    await alice.ok("POST", "/keys/device_signing/upload",
                   {"master_key": mk, "self_signing_key": sk})
    got = await query(bob, alice.user_id)
    assert got["master_keys"][alice.user_id]["keys"] == mk["keys"]
    assert got["self_signing_keys"][alice.user_id]["keys"] == sk["keys"]
    # The self-signing key signs the device: verified, then visible to bob.
    signed = sign_json({k: v for k, v in a.device_keys().items() if k != "signatures"},
                       alice.user_id, ssk)
    res = await alice.ok("POST", "/keys/signatures/upload",
                         {alice.user_id: {a.device_id: signed}})
    assert res["failures"] == {}
    dev = (await query(bob, alice.user_id))["device_keys"][alice.user_id][a.device_id]
    assert f"ed25519:{spub}" in dev["signatures"][alice.user_id]
    # A signature by a key that is not alice's self-signing key is refused.
    rogue = sign_json({k: v for k, v in a.device_keys().items() if k != "signatures"},
                      alice.user_id, SigningKey(f"ed25519:{mpub}", Ed25519PrivateKey.generate()))
    res = await alice.ok("POST", "/keys/signatures/upload",
                         {alice.user_id: {a.device_id: rogue}})
    assert a.device_id in res["failures"][alice.user_id]
    # Replacing the master key needs the password (user-interactive auth).
    new_master = key("master", None, encode_base64(b"\x01" * 32))
    status, body = await alice.request("POST", "/keys/device_signing/upload",
                                       {"master_key": new_master})
    assert status == 401 and "session" in body
    auth = {"type": "m.login.password", "password": "correct horse", "session": body["session"],
            "identifier": {"type": "m.id.user", "user": alice.user_id}}
    await alice.ok("POST", "/keys/device_signing/upload",
                   {"master_key": new_master, "auth": auth})
    assert (await query(bob, alice.user_id))["master_keys"][alice.user_id]["keys"] == \
        new_master["keys"]


async def send_edu(origin, dest, edu: dict) -> int:
    path = f"/_matrix/federation/v1/send/{uuid.uuid4().hex}"
    body = {"origin": origin.server_name, "origin_server_ts": int(time.time() * 1000),
            "pdus": [], "edus": [edu]}
    auth = sign_request(origin.hs.signing_key, "PUT", path, origin.server_name,
                        dest.server_name, body)
    async with origin.session.put(dest.url + path, json=body,
                                  headers={"Authorization": auth}) as resp:
        return resp.status


async def test_keys_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b", "c"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    a = await device(alice)
    await a.upload(otks=1, fallback=True)
    b = await device(bob)
    await b.upload(otks=2)
    # Query and claim over federation, both ways.
    got = (await query(bob, alice.user_id))["device_keys"][alice.user_id]
    assert got[a.device_id]["keys"] == a.device_keys()["keys"]
    got = (await query(alice, bob.user_id))["device_keys"][bob.user_id]
    assert got[b.device_id]["keys"] == b.device_keys()["keys"]
    one = await claim(bob, alice.user_id, a.device_id)
    assert len(one) == 1 and "fallback" not in list(one.values())[0]
    fb = await claim(bob, alice.user_id, a.device_id)
    assert list(fb.values())[0]["fallback"] is True
    # Bob logs in a new device that uploads keys: alice's sync and /keys/changes say so,
    # and her query (from A's copy of bob's list, or B) shows the new device.
    since = (await alice.sync())["next_batch"]
    bob2 = await login(hs["b"], "bob", "BOBPHONE")
    b2 = Device(bob2, "BOBPHONE")
    await b2.upload(otks=1)

    async def alice_sees_change():
        s = await alice.sync(since)
        return bob.user_id in s["device_lists"]["changed"] and s
    s = await eventually(alice_sees_change)
    changes = await alice.ok("GET", "/keys/changes", params={"from": since,
                                                             "to": s["next_batch"]})
    assert bob.user_id in changes["changed"]
    got = (await query(alice, bob.user_id))["device_keys"][bob.user_id]
    assert set(got) == {b.device_id, "BOBPHONE"}
    # Bob deletes the new device: A learns it (through the EDU), alice's query drops it.
    since = s["next_batch"]
    status, body = await bob.request("DELETE", "/devices/BOBPHONE", {})
    auth = {"type": "m.login.password", "password": "correct horse",
            "session": body["session"], "identifier": {"type": "m.id.user", "user": "bob"}}
    await bob.ok("DELETE", "/devices/BOBPHONE", {"auth": auth})
    await eventually(alice_sees_change)

    async def gone():
        got = (await query(alice, bob.user_id))["device_keys"][bob.user_id]
        return set(got) == {b.device_id}
    await eventually(gone)
    assert "BOBPHONE" not in hs["a"].hs.e2e_keys.store.remote_devices(bob.user_id)
    # An unreachable server is a failure, not an error.
    got = await alice.ok("POST", "/keys/query", {
        "device_keys": {"@x:127.0.0.1:1": []}, "timeout": 1000})
    assert "127.0.0.1:1" in got["failures"]


async def test_device_list_update_for_another_servers_user_ignored(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b", "c"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    b = await device(bob)
    await b.upload()
    # B's update for bob reaches A, which (not following bob yet) reads his list from B.
    await eventually(lambda: b.device_id in hs["a"].hs.e2e_keys.store.remote_devices(
        bob.user_id))
    since = (await alice.sync())["next_batch"]
    before = hs["a"].hs.e2e_keys.store.remote_devices(bob.user_id)
    # C claims a new device for bob (bob is on B): A ignores it.
    fake = Device(bob, "EVIL")
    status = await send_edu(hs["c"], hs["a"], {"edu_type": "m.device_list_update", "content": {
        "user_id": bob.user_id, "device_id": "EVIL", "stream_id": 10**9, "prev_id": [],
        "deleted": False, "keys": fake.device_keys()}})
    assert status == 200
    await asyncio.sleep(0.3)
    assert hs["a"].hs.e2e_keys.store.remote_devices(bob.user_id) == before
    assert "EVIL" not in (await query(alice, bob.user_id))["device_keys"][bob.user_id]
    assert bob.user_id not in (await alice.sync(since))["device_lists"]["changed"]
    # A gap in B's chain for bob makes A read bob's whole list from B.
    status = await send_edu(hs["b"], hs["a"], {"edu_type": "m.device_list_update", "content": {
        "user_id": bob.user_id, "device_id": "GHOST", "stream_id": 10**9,
        "prev_id": [10**9 - 1], "deleted": False, "keys": Device(bob, "GHOST").device_keys()}})
    assert status == 200

    async def resynced():
        devices = hs["a"].hs.e2e_keys.store.remote_devices(bob.user_id)
        return b.device_id in devices and "GHOST" not in devices
    await eventually(resynced)


def _rows(server, user_id: str, device_id: str) -> int:
    return sum(server.hs.db.execute(
        f"SELECT COUNT(*) FROM {t} WHERE user_id = ? AND device_id = ?",
        (user_id, device_id)).fetchone()[0]
        for t in ("e2e_device_keys", "e2e_one_time_keys", "e2e_fallback_keys", "device_inbox"))


async def test_logout_takes_the_devices_keys_with_it(homeserver):
    """Logging out deletes the device (the spec), so its keys, one-time keys, fallback key
    and to-device inbox go too, and users who share a room are told; /logout/all the same
    for every device."""
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    a1 = await device(alice)
    a2 = Device(await login(homeserver, "alice", "SECOND"), "SECOND")
    for d in (a1, a2):
        await d.upload(otks=3, fallback=True)
    await bob.ok("PUT", "/sendToDevice/m.test/t1", {"messages": {alice.user_id: {"*": {}}}})
    assert _rows(homeserver, alice.user_id, "SECOND") == 6  # keys, 3 OTKs, fallback, inbox
    since = (await bob.sync())["next_batch"]
    await a2.client.ok("POST", "/logout", {})
    assert _rows(homeserver, alice.user_id, "SECOND") == 0
    assert set((await query(bob, alice.user_id))["device_keys"][alice.user_id]) == \
        {a1.device_id}
    assert await claim(bob, alice.user_id, "SECOND") == {}
    s = await bob.sync(since)
    assert alice.user_id in s["device_lists"]["changed"]
    # /logout/all: every device and its keys.
    await login(homeserver, "alice", "THIRD")
    await alice.ok("POST", "/logout/all", {})
    assert (await query(bob, alice.user_id))["device_keys"].get(alice.user_id, {}) == {}
    assert _rows(homeserver, alice.user_id, a1.device_id) == 0
    assert alice.user_id in (await bob.sync(s["next_batch"]))["device_lists"]["changed"]
