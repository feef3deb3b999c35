"""Federation refuses to dial private and loopback addresses unless the config allows them."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from federation.client import (
    BlockedAddress,
    FederationClient,
    InvalidDestination,
    RefusedAddressError,
    RemoteServerError,
)
from federation.signing import SigningKey, sign_json
from federation.xmatrix import sign_request
from tests import storage_engine


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


# -- names that are not server names ------------------------------------------------------------
#
# Before the fix, "127.0.0.3:PORT/" (or "#x", "?") was not taken for an IP literal, so it went to
# .well-known discovery: https://127.0.0.3:PORT/... was dialled, and aiohttp does not consult
# the guarded resolver for an IP-literal host. Every vector must now refuse such a name before
# any connection, even when the canary's address is whitelisted; the control (the same vector
# with the valid name "127.0.0.3:PORT") is refused by the address guard, or dialled when the
# address is whitelisted.

WEIRD = {"slash": "{}/", "fragment": "{}#x", "query": "{}?"}
NAMES = {**WEIRD, "valid": "{}"}


async def notary_post(a, name: str) -> tuple[int, dict]:
    async with a.session.post(a.url + "/_matrix/key/v2/query",
                              json={"server_keys": {name: {}}}) as resp:
        return resp.status, await resp.json()


async def notary_get(a, name: str) -> tuple[int, dict]:
    url = yarl.URL(a.url + "/_matrix/key/v2/query/" + quote(name, safe=""), encoded=True)
    async with a.session.get(url) as resp:
        return resp.status, await resp.json()


async def xmatrix_origin(a, name: str) -> tuple[int, dict]:
    path = "/_matrix/federation/v1/version"
    auth = sign_request(SigningKey.generate(), "GET", path, name, a.server_name)
    async with a.session.get(a.url + path, headers={"Authorization": auth}) as resp:
        return resp.status, await resp.json()


async def public_rooms(a, name: str) -> tuple[int, dict]:
    alice = await a.user("alice")
    return await alice.request("GET", "/publicRooms", params={"server": name})


async def public_rooms_post(a, name: str) -> tuple[int, dict]:
    alice = await a.user("alice")
    return await alice.request("POST", "/publicRooms", {"server": name, "limit": 5})


# vector: (send, answer to a name that is not a server name, answer to the valid name)
VECTORS = {
    "notary-body": (notary_post, (400, "M_BAD_JSON"), (200, None)),
    "notary-path": (notary_get, (400, "M_INVALID_PARAM"), (200, None)),
    "x-matrix-origin": (xmatrix_origin, (401, "M_UNAUTHORIZED"), (401, "M_UNAUTHORIZED")),
    "public-rooms-server": (public_rooms, (400, "M_INVALID_PARAM"), (502, "M_UNKNOWN")),
    "public-rooms-server-in-body": (public_rooms_post, (400, "M_INVALID_PARAM"),
                                    (502, "M_UNKNOWN")),
}


@pytest.mark.parametrize("whitelisted", [False, True], ids=["default", "canary-whitelisted"])
@pytest.mark.parametrize("kind", list(NAMES))
@pytest.mark.parametrize("vector", list(VECTORS))
async def test_server_name_vectors(make_homeserver, canary, vector, kind, whitelisted):
    a = await make_homeserver("a")
    if whitelisted:
        allow_canary(a)
    send, refused, answered = VECTORS[vector]
    name = NAMES[kind].format(f"{CANARY_HOST}:{canary.port}")
    status, body = await send(a, name)
    if kind in WEIRD:  # the attack: refused as a name, whatever the whitelist says
        assert canary.connections == 0, (status, body)
        assert (status, body.get("errcode")) == refused, body
        assert "server name" in body["error"] or "origin" in body["error"], body
    else:  # the control: a server name, then the address guard decides
        assert (status, body.get("errcode") if status != 200 else None) == answered, body
        if status == 200:
            assert body == {"server_keys": []}, body  # unreachable: left out
        if whitelisted:
            assert canary.connections >= 1  # the vector does reach the network
        else:
            assert canary.connections == 0
            if vector.startswith("public-rooms"):
                assert "may not dial" in body["error"], body
    await still_serving(a)


# -- .well-known -----------------------------------------------------------------------------

class WellKnown:
    """An HTTPS server answering /.well-known/matrix/server for the name "localhost" (A's
    discovery is pointed at its port instead of 443)."""

    def __init__(self, tmp_path):
        from homeserver.tls import write_self_signed_cert
        cert, key = write_self_signed_cert(tmp_path, "127.0.0.1")
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(cert, key)
        self.answer: web.Response = web.json_response({})
        self.hits = 0
        app = web.Application()
        app.router.add_get("/.well-known/matrix/server", self.serve)
        self.server = TestServer(app, host="127.0.0.1", port=unused_port())

    async def serve(self, request):
        self.hits += 1
        return self.answer


@pytest.fixture
async def well_known(tmp_path):
    wk = WellKnown(tmp_path)
    await wk.server.start_server(ssl=wk.ssl)
    yield wk
    await wk.server.close()


def well_known_answers(canary: Canary) -> dict:
    target = f"{CANARY_HOST}:{canary.port}"
    return {
        "redirect-to-http": web.Response(status=302, headers={
            "Location": f"http://{target}/.well-known/matrix/server"}),
        "redirect-permanent": web.Response(status=308, headers={
            "Location": f"http://{target}/"}),
        "m.server-not-a-server-name": web.json_response({"m.server": target + "/"}),
        "m.server-in-a-body-over-64KiB": web.json_response(
            {"m.server": target, "padding": "x" * 70_000}),
        "m.server": web.json_response({"m.server": target}),  # the control
    }


@pytest.mark.parametrize("whitelisted", [False, True], ids=["default", "canary-whitelisted"])
@pytest.mark.parametrize("answer", ["redirect-to-http", "redirect-permanent",
                                    "m.server-not-a-server-name",
                                    "m.server-in-a-body-over-64KiB", "m.server"])
async def test_well_known_cannot_lead_anywhere(make_homeserver, canary, well_known, answer,
                                               whitelisted):
    """A notary query for "localhost" makes A discover it through .well-known. Whatever
    .well-known answers, A dials only a server name the guard allows: redirects are not
    followed, an m.server that is not a server name or sits in an oversized body is ignored;
    the control (a plain m.server pointing at the canary) is dialled only when whitelisted."""
    a = await make_homeserver("a")
    a.hs.federation_client.well_known_port = well_known.server.port
    if whitelisted:
        allow_canary(a)
    well_known.answer = well_known_answers(canary)[answer]
    status, body = await notary_post(a, "localhost")
    assert status == 200 and body == {"server_keys": []}, body
    assert well_known.hits == 1  # discovery did ask .well-known
    if answer == "m.server" and whitelisted:
        assert canary.connections >= 1
    else:
        assert canary.connections == 0
    await still_serving(a)


async def test_every_socket_is_guarded_even_for_ip_literal_hosts(canary):
    """aiohttp skips the resolver for an IP-literal host; the socket factory does not."""
    fc = client(["127.0.0.1/32"])
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as e:
            await fc.session.get(f"http://{CANARY_HOST}:{canary.port}/")
        assert isinstance(e.value.os_error, RefusedAddressError)
        assert canary.connections == 0
        fc.policy.whitelist.append(ipaddress.ip_network(CANARY_HOST + "/32"))  # control
        with pytest.raises(aiohttp.ClientError):
            await fc.session.get(f"http://{CANARY_HOST}:{canary.port}/")
        assert canary.connections >= 1  # aiohttp retries a GET once on a closed connection
    finally:
        await fc.close()


@pytest.mark.parametrize("name", ["127.0.0.3:{port}/", "127.0.0.3:{port}#x", "127.0.0.3:{port}?",
                                  "localhost:{port}/x", "evil.example/../127.0.0.3:{port}"])
async def test_client_refuses_non_server_names_before_any_network_activity(canary, name):
    fc = client([CANARY_HOST + "/32"], {"127.0.0.3:1/": f"http://{CANARY_HOST}:{canary.port}"})
    try:
        with pytest.raises(InvalidDestination, match="not a valid server name"):
            await fc.request(name.format(port=canary.port), "GET", "/_matrix/key/v2/server",
                             signed=False)
        with pytest.raises(InvalidDestination):
            await fc.base_url(name.format(port=canary.port))
        with pytest.raises(InvalidDestination):  # even one the servers map names
            await fc.request("127.0.0.3:1/", "GET", "/_matrix/key/v2/server", signed=False)
    finally:
        await fc.close()
    assert canary.connections == 0


async def test_notary_fan_out_is_bounded(make_homeserver, canary):
    """One unauthenticated notary query may make A contact at most 20 servers, for at most
    32 key IDs each; the controls at the limits are answered (the names are in a blocked
    range, so nothing is dialled)."""
    a = await make_homeserver("a")
    blocked = [f"10.0.0.{i}:8448" for i in range(1, 22)]
    for wanted, error in (({n: {} for n in blocked}, "at most 20"),
                          ({blocked[0]: {f"ed25519:k{i}": {} for i in range(33)}},
                           "at most 32")):
        async with a.session.post(a.url + "/_matrix/key/v2/query",
                                  json={"server_keys": wanted}) as resp:
            body = await resp.json()
            assert resp.status == 400 and body["errcode"] == "M_BAD_JSON", body
            assert error in body["error"], body
    for wanted in ({n: {} for n in blocked[:20]},
                   {blocked[0]: {f"ed25519:k{i}": {} for i in range(32)}},
                   {f"{CANARY_HOST}:{canary.port}": {}, a.server_name: {}}):
        async with a.session.post(a.url + "/_matrix/key/v2/query",
                                  json={"server_keys": wanted}) as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert [k["server_name"] for k in body["server_keys"]] == \
                ([a.server_name] if a.server_name in wanted else []), body
    assert canary.connections == 0
    await still_serving(a)


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
    """What the server's database holds: its SQLite file (and WAL), or its PostgreSQL schema."""
    return storage_engine.current().stored_bytes(Path(hs.config.database.path))


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
