"""Federation refuses to dial private and loopback addresses unless the config allows them."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from federation.client import BlockedAddress, FederationClient, RemoteServerError
from federation.signing import SigningKey, sign_json
from federation.xmatrix import sign_request


@pytest.fixture
async def target(aiohttp_server):
    """A loopback server an attacker would like our server to probe."""
    hits = []

    async def anything(request):
        hits.append(request.path)
        return web.json_response({"server_name": "x"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = await aiohttp_server(app, host="127.0.0.1", port=unused_port())
    return server, hits


def client(whitelist, servers=None):
    return FederationClient("us.example", SigningKey.generate(), servers or {}, whitelist,
                            verify_certificates=False, timeout_s=3)


@pytest.mark.parametrize("name", ["127.0.0.1:{port}", "[::1]:{port}", "10.0.0.1:{port}",
                                  "192.168.1.1:{port}", "169.254.169.254:{port}"])
async def test_ip_literals_in_private_ranges_are_refused(target, name):
    server, hits = target
    fc = client([])
    try:
        with pytest.raises(BlockedAddress):
            await fc.request(name.format(port=server.port), "GET", "/_matrix/key/v2/server",
                             signed=False)
    finally:
        await fc.close()
    assert hits == []


async def test_hostnames_resolving_to_loopback_are_refused(target):
    server, hits = target
    fc = client([])
    try:
        with pytest.raises(RemoteServerError):
            await fc.request(f"localhost:{server.port}", "GET", "/_matrix/key/v2/server",
                             signed=False)
    finally:
        await fc.close()
    assert hits == []


async def test_a_servers_map_entry_pointing_inside_is_refused_too(target):
    server, hits = target
    fc = client([], {"evil.example": f"http://127.0.0.1:{server.port}"})
    try:
        with pytest.raises(BlockedAddress):
            await fc.request("evil.example", "GET", "/_matrix/key/v2/server", signed=False)
    finally:
        await fc.close()
    assert hits == []


async def test_whitelisted_range_may_be_dialled(target):
    server, hits = target
    fc = client(["127.0.0.1/32"], {"ok.example": f"http://127.0.0.1:{server.port}"})
    try:
        await fc.request("ok.example", "GET", "/_matrix/key/v2/server", signed=False)
    finally:
        await fc.close()
    assert hits == ["/_matrix/key/v2/server"]


async def test_a_user_cannot_make_the_server_probe_its_network(make_homeserver, target):
    """Joining a room 'on' an internal address is refused without the request being made."""
    server, hits = target
    hs = await make_homeserver("a", federation={"ip_range_whitelist": []})
    alice = await hs.user("alice")
    status, err = await alice.request("POST", f"/join/%21room%3A127.0.0.1%3A{server.port}", {})
    assert status == 502 and err["errcode"] == "M_UNKNOWN"
    assert "may not dial" in err["error"]
    status, _ = await alice.request("GET", f"/profile/@x:127.0.0.1:{server.port}")
    assert status == 502
    assert hits == []


# -- hostile: a real server A, real sockets -----------------------------------------------------
#
# A canary listens on another loopback address (127.0.0.3, never in A's whitelist unless a
# control case puts it there) and counts the TCP connections it accepts: an attack passes
# when the canary saw none at all. Each attack has a control that differs only in the attack,
# showing the same vector does reach the canary when the name is valid and the address
# allowed, so a count of zero means "refused" and not "the canary cannot be reached".

CANARY_HOST = "127.0.0.3"


class Canary:
    """A TCP listener that counts accepted connections and closes them at once."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, CANARY_HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def canary():
    c = Canary()
    await c.start()
    yield c
    await c.close()


def allow_canary(hs) -> None:
    """A control case: the operator whitelists the canary's address."""
    hs.hs.federation_client.policy.whitelist.append(ipaddress.ip_network(CANARY_HOST + "/32"))


async def still_serving(hs) -> None:
    async with hs.session.get(hs.url + "/_matrix/key/v2/server") as resp:
        assert resp.status == 200
        assert (await resp.json())["server_name"] == hs.server_name
    async with hs.session.get(hs.url + "/_matrix/client/versions") as resp:
        assert resp.status == 200


# -- key response amplification ------------------------------------------------------------------

class KeyPublisher:
    """A server publishing ``n`` keys, each signing the response (E, the evil server)."""

    def __init__(self, n: int):
        self.keys = [SigningKey.generate(f"k{i}") for i in range(n)]
        self.port = unused_port()
        self.name = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.name}"
        self.fetches = 0
        body = {"server_name": self.name,
                "valid_until_ts": int(time.time() * 1000) + 3600_000,
                "verify_keys": {k.key_id: {"key": k.verify_key.public_base64}
                                for k in self.keys},
                "old_verify_keys": {}}
        for k in self.keys:
            body = sign_json(body, self.name, k)
        self.body = json.dumps(body).encode()
        app = web.Application()
        app.router.add_get("/_matrix/key/v2/server", self.serve)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)

    async def serve(self, request):
        self.fetches += 1
        return web.Response(body=self.body, content_type="application/json")


def db_bytes(hs) -> int:
    path = hs.config.database.path
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


class LoopLag:
    """The longest time the event loop was blocked while this was running."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - t - 0.005)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()


async def signed_by(hs, publisher: KeyPublisher, key: SigningKey) -> tuple[int, dict]:
    path = "/_matrix/federation/v1/version"
    auth = sign_request(key, "GET", path, publisher.name, hs.server_name)
    async with hs.session.get(hs.url + path, headers={"Authorization": auth}) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("n_keys,refused", [
    (1, None), (32, None),  # controls: what a server may publish
    (33, "at most 32"),  # one key over the cap: refused after parsing, before verifying
    (1500, "over 65536 bytes"),  # the attack: ~250 KB, refused while reading it
], ids=["control-1-key", "control-32-keys", "33-keys", "1500-keys"])
async def test_key_response_amplification(make_homeserver, n_keys, refused):
    """E publishes a key response; a request signed by E with a key ID A does not know yet
    makes A fetch it. 1,500 keys (each signing the response, ~250 KB) cost A 7.8 s of blocked
    event loop and 410 MB of database before the fix; now the response is refused cheaply:
    no long event-loop stall, no database growth. A normal response still works."""
    a = await make_homeserver("a")
    evil = KeyPublisher(n_keys)
    await evil.server.start_server()
    try:
        a.hs.federation_client.servers[evil.name] = evil.url
        size_before = db_bytes(a)
        started = time.monotonic()
        async with LoopLag() as lag:
            status, body = await signed_by(a, evil, evil.keys[0])
        elapsed = time.monotonic() - started
        growth = db_bytes(a) - size_before
        print(f"\n{n_keys} keys ({len(evil.body)} bytes): {status} in {elapsed:.2f} s, loop"
              f" blocked at most {lag.worst:.3f} s, database grew {growth} bytes")
        if refused is None:
            assert status == 200, body
            # Every listed key is usable, and the response is stored once for the notary.
            status, body = await signed_by(a, evil, evil.keys[-1])
            assert status == 200, body
            assert a.hs.keyring.cache.response_json(evil.name)["server_name"] == evil.name
        else:
            assert status == 401 and body["errcode"] == "M_UNAUTHORIZED", body
            assert refused in body["error"], body
            assert elapsed < 2.0 and lag.worst < 0.5  # generous: the attack took seconds
            assert growth < 1_000_000
            assert a.hs.keyring.cache.response_json(evil.name) is None
            # A burst of requests naming unknown keys does not make A fetch again and again.
            for key in evil.keys[1:4]:
                status, body = await signed_by(a, evil, key)
                assert status == 401, body
            assert evil.fetches == 1
        await still_serving(a)
    finally:
        await evil.server.close()
