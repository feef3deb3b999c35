"""The bridge's application service endpoint on its own (no Synapse needed): hs_token auth,
malformed and oversized transactions, idempotency per txnId, retry after a transient failure,
user and alias queries, ping."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from aiohttp.test_utils import unused_port

from bridge.appservice import AppserviceServer, TransientError, transaction_key

TOKEN = "the-hs-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVENT = {"type": "m.room.message", "room_id": "!r:m", "sender": "@a:m", "event_id": "$1",
         "content": {"msgtype": "m.text", "body": "hi"}}


class Fake:
    def __init__(self):
        self.calls: list[tuple[str, list]] = []
        self.done: set[str] = set()
        self.fail_next = False

    async def on_transaction(self, txn_id, events):
        self.calls.append((txn_id, events))
        if self.fail_next:
            self.fail_next = False
            raise TransientError("the audio homeserver is down")

    async def on_user_query(self, user_id):
        return user_id.startswith("@audio_")


@pytest.fixture
async def appservice(http_session):
    fake = Fake()
    server = AppserviceServer(TOKEN, fake.on_transaction, fake.on_user_query,
                              fake.done.__contains__, fake.done.add, max_body=64 * 1024)
    port = unused_port()
    await server.start("127.0.0.1", port)
    base = f"http://127.0.0.1:{port}"

    async def call(method, path, headers=None, **kw):
        async with http_session.request(method, base + path, headers=headers, **kw) as r:
            return r.status, await r.json()
    try:
        yield fake, call
    finally:
        await server.stop()


async def test_hs_token_is_required_and_checked(appservice):
    fake, call = appservice
    path = "/_matrix/app/v1/transactions/1"
    assert await call("PUT", path, json={"events": [EVENT]}) == (
        401, {"errcode": "M_UNAUTHORIZED", "error": "missing hs_token"})
    assert await call("PUT", path, {"Authorization": "Bearer nope"}, json={"events": []}) == (
        403, {"errcode": "M_FORBIDDEN", "error": "invalid hs_token"})
    status, _ = await call("PUT", path + "?access_token=nope", json={"events": []})
    assert status == 403
    status, _ = await call("GET", "/_matrix/app/v1/users/" + quote("@audio_x:m"),
                           {"Authorization": "Basic " + TOKEN})
    assert status == 401
    assert fake.calls == []
    # The legacy query parameter and the legacy unprefixed path still work.
    assert await call("PUT", "/transactions/2?access_token=" + TOKEN, json={"events": []}) \
        == (200, {})


@pytest.mark.parametrize("kw,errcode,fragment", [
    ({"data": b"{nope"}, "M_NOT_JSON", "not valid JSON"),
    ({"data": b"\xff\xfe"}, "M_NOT_JSON", "not valid JSON"),
    ({"json": []}, "M_BAD_JSON", "must be a JSON object"),
    ({"json": {}}, "M_BAD_JSON", "'events' must be a list"),
    ({"json": {"events": [1]}}, "M_BAD_JSON", "events[0] must be an object"),
    ({"json": {"events": [EVENT, {**EVENT, "sender": None}]}}, "M_BAD_JSON",
     "events[1].sender must be a string"),
    ({"json": {"events": [{**EVENT, "content": "x"}]}}, "M_BAD_JSON",
     "events[0].content must be an object"),
    ({"json": {"events": [], "ephemeral": {}}}, "M_BAD_JSON", "'ephemeral' must be a list"),
])
async def test_malformed_transactions_are_refused(appservice, kw, errcode, fragment):
    fake, call = appservice
    status, body = await call("PUT", "/_matrix/app/v1/transactions/bad", AUTH, **kw)
    assert (status, body["errcode"]) == (400, errcode)
    assert fragment in body["error"]
    assert fake.calls == [] and fake.done == set()


async def test_oversized_transactions_are_refused(appservice):
    fake, call = appservice
    big = {"events": [{**EVENT, "content": {"body": "x" * 70000}}]}
    status, body = await call("PUT", "/_matrix/app/v1/transactions/big", AUTH, json=big)
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    assert fake.calls == []


async def test_transactions_are_processed_once_and_retried_after_transient_failure(appservice):
    fake, call = appservice
    for _ in range(3):
        assert await call("PUT", "/_matrix/app/v1/transactions/7", AUTH,
                          json={"events": [EVENT]}) == (200, {})
    assert fake.calls == [("7", [EVENT])]
    # Synapse on SQLite numbers transactions from 1 again after a restart: the same ID with
    # other events is another transaction.
    other = {**EVENT, "event_id": "$2"}
    assert await call("PUT", "/_matrix/app/v1/transactions/7", AUTH,
                      json={"events": [other]}) == (200, {})
    assert fake.calls == [("7", [EVENT]), ("7", [other])]
    del fake.calls[1]

    fake.fail_next = True
    status, body = await call("PUT", "/_matrix/app/v1/transactions/8", AUTH,
                              json={"events": [EVENT]})
    assert (status, body["errcode"]) == (503, "M_UNKNOWN")
    assert transaction_key("8", [EVENT]) not in fake.done
    assert await call("PUT", "/_matrix/app/v1/transactions/8", AUTH,
                      json={"events": [EVENT]}) == (200, {})
    assert [c[0] for c in fake.calls] == ["7", "8", "8"]


async def test_queries_and_ping(appservice):
    _, call = appservice
    assert await call("GET", "/_matrix/app/v1/users/" + quote("@audio_x:m"), AUTH) == (200, {})
    status, body = await call("GET", "/_matrix/app/v1/users/" + quote("@bob:m"), AUTH)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await call("GET", "/_matrix/app/v1/rooms/" + quote("#a:m"), AUTH)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert await call("POST", "/_matrix/app/v1/ping", AUTH,
                      json={"transaction_id": "p"}) == (200, {})
    status, body = await call("POST", "/_matrix/app/v1/ping", json={})
    assert status == 401
    status, body = await call("GET", "/_matrix/app/v1/nothing", AUTH)
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")
