"""Federation refuses to dial private and loopback addresses unless the config allows them."""
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

from federation.client import BlockedAddress, FederationClient, RemoteServerError
from federation.signing import SigningKey


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
