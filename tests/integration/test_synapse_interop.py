"""Federation interop with a real Synapse on loopback: X-Matrix signatures and server keys,
both ways, over TLS as Synapse always dials other servers.

Run:  python -m pytest tests/integration/test_synapse_interop.py -v

The first run creates Synapse's virtualenv in <repo>/.synapse-venv (pip, ~40 s; override the
place with SYNAPSE_VENV); later runs reuse it. One Synapse serves every test in the module
(~5 s to start). The module is skipped, naming the reason, only when that venv cannot be
created (tests.synapse_env.ensure_venv raises SynapseUnavailable); once it exists, a Synapse
that fails to start or to interoperate fails the tests.

Set-up: Synapse's server name is localhost:<tls port>, so it serves HTTPS there (self-signed;
its plain HTTP port serves the same APIs, and our `federation.servers` maps its name to that).
Our server runs in-process with a TLS listener (make_homeserver(tls=True)); its name is
localhost:<port>, which Synapse resolves to 127.0.0.1 and dials directly over HTTPS. Synapse
is configured with federation_verify_certificates: false, loopback-only ip_range_whitelist and
no trusted key servers (tests.synapse_env.SynapseServer sets these), so it fetches our keys
from us.
"""
from __future__ import annotations

import base64
import dataclasses
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import signedjson.key
import signedjson.sign
import yarl
from aiohttp.test_utils import unused_port

from federation.exceptions import SignatureError
from federation.xmatrix import XMatrixAuth, sign_request
from tests.synapse_env import SynapseServer, SynapseUnavailable, _http_json, ensure_venv, free_port

SYNAPSE_DISPLAYNAME = "Bob on Synapse"
PROFILE = "/_matrix/federation/v1/query/profile"


@dataclasses.dataclass
class SynapseUser:
    server: SynapseServer
    user_id: str
    token: str


@pytest.fixture(scope="module")
def synapse(tmp_path_factory):
    try:
        venv = ensure_venv()
    except SynapseUnavailable as e:
        pytest.skip(f"Synapse is not installable here: {e}")
    server = SynapseServer(tmp_path_factory.mktemp("synapse"), venv=venv,
                           tls_federation_port=free_port())
    try:
        server.start()
    except SynapseUnavailable as e:  # installed but broken: that is a failure, not a skip
        pytest.fail(f"Synapse did not start: {e}")
    try:
        user = server.register_user("bob", "bob-password")
        _http_json("PUT", f"{server.base_url}/_matrix/client/v3/profile/"
                   f"{quote(user['user_id'])}/displayname",
                   {"displayname": SYNAPSE_DISPLAYNAME}, token=user["access_token"])
        yield SynapseUser(server, user["user_id"], user["access_token"])
    finally:
        server.stop()


@pytest.fixture
async def ours(make_homeserver, synapse):
    """Our server, reachable over HTTPS, knowing Synapse's plain HTTP URL. Named
    localhost:<port>, not 127.0.0.1:<port>: Synapse refuses to dial a server whose name is an
    IP literal in its ip_range_blacklist even when ip_range_whitelist allows it (its
    BlocklistingAgentWrapper consults only the blocklist); a hostname is resolved and then
    checked against both lists."""
    port = unused_port()
    return await make_homeserver(
        "ours", port=port, tls=True, server_name=f"localhost:{port}",
        federation={"servers": {synapse.server.server_name: synapse.server.base_url},
                    "request_timeout_seconds": 20})


def _signedjson_verify(obj: dict, server: str, key_id: str, key_b64: str) -> None:
    alg, version = key_id.split(":", 1)
    vk = signedjson.key.decode_verify_key_base64(alg, version, key_b64)
    signedjson.sign.verify_signed_json(obj, server, vk)


async def test_synapse_accepts_our_signed_request(ours, synapse):
    """(a) Synapse fetches our keys over TLS, verifies our X-Matrix signature and answers."""
    syn = synapse.server
    answer = await ours.hs.federation_client.request(
        syn.server_name, "GET", PROFILE, query={"user_id": synapse.user_id})
    assert answer.get("displayname") == SYNAPSE_DISPLAYNAME

    # Synapse now holds our key; as a notary it serves it with our signature on it.
    async with aiohttp.ClientSession() as s:
        async with s.post(syn.base_url + "/_matrix/key/v2/query",
                          json={"server_keys": {ours.server_name: {}}}) as resp:
            assert resp.status == 200, await resp.text()
            keys = (await resp.json())["server_keys"]
    ours_key = ours.hs.signing_key
    [resp_for_us] = [k for k in keys if k["server_name"] == ours.server_name]
    assert resp_for_us["verify_keys"][ours_key.key_id]["key"] == \
        ours_key.verify_key.public_base64
    _signedjson_verify(resp_for_us, ours.server_name, ours_key.key_id,
                       ours_key.verify_key.public_base64)


def _flip_a_bit(sig_b64: str) -> str:
    raw = bytearray(base64.b64decode(sig_b64 + "=" * (-len(sig_b64) % 4)))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode().rstrip("=")


async def test_synapse_rejects_a_broken_signature(ours, synapse):
    """(b) The same request with a tampered X-Matrix sig is refused with 401 M_UNAUTHORIZED."""
    syn = synapse.server
    uri = PROFILE + "?" + urlencode({"user_id": synapse.user_id})
    key = ours.hs.signing_key
    good = XMatrixAuth.parse(sign_request(key, "GET", uri, ours.server_name, syn.server_name))
    # A genuine signature of ours, but over another request (a different user_id).
    other_uri = PROFILE + "?" + urlencode({"user_id": "@mallory:" + syn.server_name})
    other = XMatrixAuth.parse(sign_request(key, "GET", other_uri, ours.server_name,
                                           syn.server_name))
    headers = {
        "good": str(good),
        "signature of another request": str(dataclasses.replace(good, sig=other.sig)),
        "one bit flipped": str(dataclasses.replace(good, sig=_flip_a_bit(good.sig))),
    }
    results = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as s:
        for name, header in headers.items():  # over Synapse's TLS federation listener
            # encoded=True: the URI must go out byte for byte as signed (yarl would
            # otherwise unquote %40 and %3A in the query).
            async with s.get(yarl.URL(syn.federation_url + uri, encoded=True),
                             headers={"Authorization": header}) as resp:
                results[name] = (resp.status, await resp.json(content_type=None))
    assert results["good"][0] == 200, results["good"]
    assert results["good"][1].get("displayname") == SYNAPSE_DISPLAYNAME
    for name in ("signature of another request", "one bit flipped"):
        status, body = results[name]
        assert (status, body.get("errcode")) == (401, "M_UNAUTHORIZED"), (name, status, body)


async def test_we_fetch_and_verify_synapse_keys_and_notarise_them(ours, synapse):
    """(c) Our keyring fetches Synapse's keys and checks its self-signature; our notary
    serves them, signed by Synapse and countersigned by us."""
    syn = synapse.server
    fetched = await ours.hs.keyring.fetch_server_keys(syn.server_name)
    direct = _http_json("GET", syn.base_url + "/_matrix/key/v2/server")
    assert fetched["server_name"] == syn.server_name
    assert fetched["verify_keys"] == direct["verify_keys"]
    key_id, key = next(iter(direct["verify_keys"].items()))
    assert (await ours.hs.keyring.get_verify_key(syn.server_name, key_id)).public_base64 == \
        key["key"]
    await ours.hs.keyring.verify_json_from(direct, syn.server_name)

    # A key response altered in transit is refused by our keyring.
    forged = dict(direct, valid_until_ts=direct["valid_until_ts"] + 1)
    with pytest.raises(SignatureError):
        ours.hs.keyring.store_key_response(syn.server_name, forged)

    ours_key = ours.hs.signing_key
    c = ours.client()
    got = await c.ok("GET", f"/_matrix/key/v2/query/{quote(syn.server_name)}")
    posted = await c.ok("POST", "/_matrix/key/v2/query",
                        {"server_keys": {syn.server_name: {}}})
    for answer in (got, posted):
        [notarised] = answer["server_keys"]
        assert notarised["server_name"] == syn.server_name
        assert notarised["verify_keys"] == direct["verify_keys"]
        _signedjson_verify(notarised, syn.server_name, key_id, key["key"])
        _signedjson_verify(notarised, ours.server_name, ours_key.key_id,
                           ours_key.verify_key.public_base64)


async def test_we_verify_a_request_from_synapse(ours, synapse):
    """(d) A Synapse user reads our user's profile: Synapse sends us a signed query/profile,
    which we verify with keys fetched from Synapse."""
    alice = await ours.user("alice")
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/displayname",
                   {"displayname": "Alice of the audio rooms"})
    syn = synapse.server
    # Asynchronous on purpose: Synapse calls back into our server, which runs on this loop.
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{syn.base_url}/_matrix/client/v3/profile/{quote(alice.user_id)}",
                         headers={"Authorization": f"Bearer {synapse.token}"}) as resp:
            body = await resp.json(content_type=None)
            assert resp.status == 200, body
    assert body.get("displayname") == "Alice of the audio rooms"
    # We verified Synapse's signature with its key, which we now hold.
    assert ours.hs.keyring.cache.response_json(syn.server_name) is not None
