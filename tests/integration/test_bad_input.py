"""Malformed and hostile client requests, table-driven.

Every case asserts the exact HTTP status and Matrix errcode, then that the server still serves
(``/versions``, an authenticated ``whoami`` and ``/sync``) and that nothing changed: the rooms'
state and timelines, the stream position, profiles, account data, users, tokens and aliases are
exactly as before the request.

Deep nesting: JSON nested 1000 levels is syntactically valid, so the server answers
``400 M_BAD_JSON`` (valid JSON it refuses), not ``M_NOT_JSON``, whatever depth the parser gives
up at. ``NaN`` / ``Infinity`` are not JSON at all, so they are ``M_NOT_JSON``.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

OTHER_SERVER = "other.example.org"


@dataclass
class World:
    server: Any
    alice: Any  # owner of both rooms (level 100)
    bob: Any  # joined the public room with level 50 (a moderator)
    eve: Any  # an outsider: in no room
    private: str  # invite-only room, only alice in it
    public: str  # public room: alice and bob

    def client(self, who: str | None):
        return self.server.client() if who is None else getattr(self, who)

    def fill(self, text: str) -> str:
        """Substitute {private}, {public}, {alice}, ... (URL-quoted) into a path."""
        return text.format(**{k: quote(v, safe="") for k, v in self.names().items()})

    def names(self) -> dict[str, str]:
        return {"private": self.private, "public": self.public, "alice": self.alice.user_id,
                "bob": self.bob.user_id, "eve": self.eve.user_id,
                "server": self.server.server_name}


@pytest.fixture
async def world(make_homeserver) -> World:
    hs = await make_homeserver("a")
    alice = await hs.user("alice")
    bob = await hs.user("bob")
    eve = await hs.user("eve")
    private = await alice.create_room(preset="private_chat", name="Private")
    public = await alice.create_room(
        preset="public_chat", name="Public", room_alias_name="public",
        power_level_content_override={
            "users": {alice.user_id: 100, bob.user_id: 50},
            "events": {"m.room.power_levels": 50, "m.room.name": 50}})
    await bob.join(public)
    await alice.send(private, "secret plans")
    await alice.send(public, "hello world")
    await alice.ok("PUT", f"/user/{quote(alice.user_id)}/account_data/org.example.secret",
                   {"pin": "1234"})
    return World(hs, alice, bob, eve, private, public)


async def snapshot(w: World) -> dict:
    """Everything a bad request could have changed, seen through the API and the database."""
    out: dict[str, Any] = {"stream": w.server.hs.stream.current}
    for name in ("private", "public"):
        room = quote(getattr(w, name), safe="")
        state = await w.alice.ok("GET", f"/rooms/{room}/state")
        out[f"{name}.state"] = sorted((e["type"], e["state_key"], e["event_id"]) for e in state)
        msgs = await w.alice.ok("GET", f"/rooms/{room}/messages",
                                params={"dir": "b", "limit": "1000"})
        out[f"{name}.messages"] = [e["event_id"] for e in msgs["chunk"]]
    for who in ("alice", "bob", "eve"):
        uid = quote(getattr(w, who).user_id, safe="")
        out[f"{who}.profile"] = await w.alice.ok("GET", f"/profile/{uid}")
        out[f"{who}.rooms"] = sorted((await getattr(w, who).ok("GET", "/joined_rooms"))
                                     ["joined_rooms"])
    db = w.server.hs.db
    for table in ("users", "access_tokens", "rooms", "room_aliases", "account_data", "events",
                  "filters"):
        out[f"db.{table}"] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    out["alice.secret"] = await w.alice.ok(
        "GET", f"/user/{quote(w.alice.user_id)}/account_data/org.example.secret")
    return out


async def assert_still_serving(w: World) -> None:
    status, body = await w.server.client().request("GET", "/_matrix/client/versions")
    assert status == 200 and "v1.1" in body["versions"]
    for who in ("alice", "bob", "eve"):
        c = getattr(w, who)
        assert (await c.ok("GET", "/account/whoami"))["user_id"] == c.user_id
    await w.alice.sync(timeout=0)


@dataclass
class Case:
    id: str
    method: str
    path: str
    status: int
    errcode: str
    who: str | None = "eve"
    body: Any = None  # JSON body (a callable builds it from the world's names)
    raw: bytes | Callable[[], bytes] | None = None  # a raw body instead
    headers: dict = field(default_factory=dict)
    params: dict | None = None
    token: bool = True  # send the client's access token


def deep(levels: int) -> bytes:
    return b'{"msgtype":"m.text","body":"x","n":' + b'{"a":' * levels + b"1" + \
        b"}" * levels + b"}"


MSG = {"msgtype": "m.text", "body": "hi"}
SEND_PUBLIC = "/rooms/{public}/send/m.room.message/t1"
SEND_PRIVATE = "/rooms/{private}/send/m.room.message/t1"

CASES = [
    # -- wrong JSON types in createRoom --------------------------------------------------------
    Case("createRoom-name-int", "POST", "/createRoom", 400, "M_BAD_JSON", body={"name": 5}),
    Case("createRoom-topic-list", "POST", "/createRoom", 400, "M_BAD_JSON",
         body={"topic": ["a"]}),
    Case("createRoom-invite-string", "POST", "/createRoom", 400, "M_INVALID_PARAM",
         body={"invite": "x"}),
    Case("createRoom-invite-bad-user-id", "POST", "/createRoom", 400, "M_INVALID_PARAM",
         body={"invite": ["not a user id"]}),
    Case("createRoom-preset-int", "POST", "/createRoom", 400, "M_INVALID_PARAM",
         body={"preset": 3}),
    Case("createRoom-visibility-bogus", "POST", "/createRoom", 400, "M_INVALID_PARAM",
         body={"visibility": "secret"}),
    Case("createRoom-is_direct-string", "POST", "/createRoom", 400, "M_INVALID_PARAM",
         body={"is_direct": "yes"}),
    Case("createRoom-initial_state-content-not-object", "POST", "/createRoom", 400,
         "M_BAD_JSON", body={"initial_state": [{"type": "m.room.topic", "state_key": "",
                                               "content": "not an object"}]}),
    Case("createRoom-creation_content-not-object", "POST", "/createRoom", 400, "M_BAD_JSON",
         body={"creation_content": ["x"]}),
    Case("createRoom-unsupported-room-version", "POST", "/createRoom", 400,
         "M_UNSUPPORTED_ROOM_VERSION", body={"room_version": "1"}),
    Case("createRoom-alias-taken", "POST", "/createRoom", 400, "M_ROOM_IN_USE",
         body={"room_alias_name": "public"}),
    # -- bodies that are not (acceptable) JSON -------------------------------------------------
    Case("send-not-json", "PUT", SEND_PUBLIC, 400, "M_NOT_JSON", who="bob", raw=b"{not json"),
    Case("send-not-utf8", "PUT", SEND_PUBLIC, 400, "M_NOT_JSON", who="bob",
         raw=b'{"msgtype":"m.text","body":"\xff\xfe"}'),
    Case("send-json-array", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         body=[MSG]),
    Case("send-json-string", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         raw=b'"hello"'),
    Case("send-empty-body", "PUT", SEND_PUBLIC, 400, "M_NOT_JSON", who="bob", raw=b""),
    Case("createRoom-empty-body", "POST", "/createRoom", 400, "M_NOT_JSON", raw=b""),
    Case("login-json-array", "POST", "/login", 400, "M_BAD_JSON", who=None,
         body=[{"type": "m.login.password"}]),
    Case("send-float", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         body={**MSG, "n": 1.5}),
    Case("send-int-above-2**53", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         body={**MSG, "n": 2**53}),
    Case("send-int-below-minus-2**53", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         body={**MSG, "n": -(2**60)}),
    Case("send-nan", "PUT", SEND_PUBLIC, 400, "M_NOT_JSON", who="bob",
         raw=b'{"msgtype":"m.text","body":"x","n":NaN}'),
    Case("account-data-infinity", "PUT", "/user/{eve}/account_data/org.example.x", 400,
         "M_NOT_JSON", raw=b'{"n":Infinity}'),
    Case("send-lone-surrogate", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         raw=b'{"msgtype":"m.text","body":"\\ud800"}'),
    Case("account-data-lone-surrogate", "PUT", "/user/{eve}/account_data/org.example.x", 400,
         "M_BAD_JSON", raw=b'{"k":"\\udfff"}'),
    Case("put-state-float", "PUT", "/rooms/{public}/state/m.room.topic/", 400, "M_BAD_JSON",
         who="alice", body={"topic": "t", "n": 0.1}),
    Case("send-nested-120", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         raw=lambda: deep(120)),
    Case("send-nested-1000", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         raw=lambda: deep(1000)),
    Case("send-nested-10000", "PUT", SEND_PUBLIC, 400, "M_BAD_JSON", who="bob",
         raw=lambda: deep(10_000)),
    Case("createRoom-nested-1000", "POST", "/createRoom", 400, "M_BAD_JSON",
         raw=lambda: b'{"creation_content":' + b'{"a":' * 1000 + b"1" + b"}" * 1001),
    # -- sizes ---------------------------------------------------------------------------------
    Case("send-body-over-64KiB", "PUT", SEND_PUBLIC, 413, "M_TOO_LARGE", who="bob",
         body={"msgtype": "m.text", "body": "x" * 70_000}),
    Case("send-event-over-64KiB-once-signed", "PUT", SEND_PUBLIC, 413, "M_TOO_LARGE",
         who="bob", body={"msgtype": "m.text", "body": "x" * 65_300}),
    Case("put-state-over-64KiB", "PUT", "/rooms/{public}/state/m.room.topic/", 413,
         "M_TOO_LARGE", who="alice", body={"topic": "x" * 70_000}),
    Case("createRoom-over-max_request_bytes", "POST", "/createRoom", 413, "M_TOO_LARGE",
         body={"topic": "x" * (1024 * 1024 + 10)}),
    Case("long-event-type", "PUT", "/rooms/{public}/send/" + "t" * 300 + "/t1", 413,
         "M_TOO_LARGE", who="bob", body=MSG),
    Case("long-state-key", "PUT", "/rooms/{public}/state/org.example.x/" + "k" * 300, 413,
         "M_TOO_LARGE", who="alice", body={"a": "b"}),
    # -- authentication ------------------------------------------------------------------------
    Case("missing-token", "GET", "/joined_rooms", 401, "M_MISSING_TOKEN", token=False),
    Case("missing-token-send", "PUT", SEND_PUBLIC, 401, "M_MISSING_TOKEN", who="bob",
         token=False, body=MSG),
    Case("unknown-token", "GET", "/joined_rooms", 401, "M_UNKNOWN_TOKEN", token=False,
         headers={"Authorization": "Bearer syt_not_a_real_token"}),
    Case("unknown-token-in-query", "GET", "/joined_rooms", 401, "M_UNKNOWN_TOKEN",
         token=False, params={"access_token": "nope"}),
    Case("authorization-basic-scheme", "GET", "/joined_rooms", 401, "M_MISSING_TOKEN",
         token=False, headers={"Authorization": "Basic YWxpY2U6cGFzcw=="}),
    Case("authorization-bearer-without-token", "GET", "/joined_rooms", 401, "M_MISSING_TOKEN",
         token=False, headers={"Authorization": "Bearer"}),
    # -- other people's rooms and accounts -----------------------------------------------------
    Case("send-into-invite-only-room", "PUT", SEND_PRIVATE, 403, "M_FORBIDDEN", body=MSG),
    Case("join-invite-only-room", "POST", "/join/{private}", 403, "M_FORBIDDEN", body={}),
    Case("read-messages-not-member", "GET", "/rooms/{private}/messages", 403, "M_FORBIDDEN"),
    Case("read-state-not-member", "GET", "/rooms/{private}/state", 403, "M_FORBIDDEN"),
    Case("read-state-event-not-member", "GET", "/rooms/{private}/state/m.room.name/", 403,
         "M_FORBIDDEN"),
    Case("read-members-not-member", "GET", "/rooms/{private}/members", 403, "M_FORBIDDEN"),
    Case("leave-room-not-in", "POST", "/rooms/{private}/leave", 403, "M_FORBIDDEN", body={}),
    Case("invite-into-room-not-in", "POST", "/rooms/{private}/invite", 403, "M_FORBIDDEN",
         body={"user_id": "{eve}"}),
    Case("set-other-users-displayname", "PUT", "/profile/{alice}/displayname", 403,
         "M_FORBIDDEN", body={"displayname": "pwned"}),
    Case("read-other-users-account-data", "GET",
         "/user/{alice}/account_data/org.example.secret", 403, "M_FORBIDDEN"),
    Case("write-other-users-account-data", "PUT",
         "/user/{alice}/account_data/org.example.secret", 403, "M_FORBIDDEN",
         body={"pin": "0000"}),
    Case("read-other-users-room-account-data", "GET",
         "/user/{alice}/rooms/{public}/account_data/m.tag", 403, "M_FORBIDDEN"),
    # -- invalid identifiers -------------------------------------------------------------------
    Case("invite-invalid-user-id", "POST", "/rooms/{public}/invite", 400, "M_INVALID_PARAM",
         who="alice", body={"user_id": "not-a-user"}),
    Case("kick-invalid-user-id", "POST", "/rooms/{public}/kick", 400, "M_INVALID_PARAM",
         who="alice", body={"user_id": "@nocolon"}),
    Case("ban-invalid-user-id", "POST", "/rooms/{public}/ban", 400, "M_INVALID_PARAM",
         who="alice", body={"user_id": "@has space:example.org"}),
    Case("ban-user-id-not-string", "POST", "/rooms/{public}/ban", 400, "M_BAD_JSON",
         who="alice", body={"user_id": 5}),
    Case("profile-invalid-user-id", "GET", "/profile/not-a-user", 400, "M_INVALID_PARAM"),
    Case("set-displayname-invalid-user-id", "PUT", "/profile/bogus/displayname", 400,
         "M_INVALID_PARAM", body={"displayname": "x"}),
    Case("send-invalid-room-id", "PUT", "/rooms/not-a-room/send/m.room.message/t1", 400,
         "M_INVALID_PARAM", body=MSG),
    Case("messages-invalid-room-id", "GET", "/rooms/%21nocolon/messages", 400,
         "M_INVALID_PARAM"),
    Case("join-invalid-room-id", "POST", "/join/not-a-room", 400, "M_INVALID_PARAM", body={}),
    Case("send-unknown-room", "PUT", "/rooms/%21nope:{server}/send/m.room.message/t1", 404,
         "M_NOT_FOUND", body=MSG),
    Case("messages-unknown-room", "GET", "/rooms/%21nope:{server}/messages", 404,
         "M_NOT_FOUND"),
    Case("join-unknown-room", "POST", "/join/%21nope:{server}", 404, "M_NOT_FOUND", body={}),
    Case("join-unknown-alias", "POST", "/join/%23nope:{server}", 404, "M_NOT_FOUND", body={}),
    # -- routing -------------------------------------------------------------------------------
    Case("unknown-endpoint", "GET", "/no/such/endpoint", 404, "M_UNRECOGNIZED"),
    Case("unknown-api-version", "GET", "/_matrix/client/v9/joined_rooms", 404,
         "M_UNRECOGNIZED"),
    Case("wrong-method-createRoom", "GET", "/createRoom", 405, "M_UNRECOGNIZED"),
    Case("wrong-method-send", "POST", SEND_PUBLIC, 405, "M_UNRECOGNIZED", who="bob",
         body=MSG),
    # -- pagination and query parameters -------------------------------------------------------
    Case("messages-bad-from-token", "GET", "/rooms/{public}/messages", 400, "M_INVALID_PARAM",
         who="bob", params={"from": "garbage"}),
    Case("messages-negative-from-token", "GET", "/rooms/{public}/messages", 400,
         "M_INVALID_PARAM", who="bob", params={"from": "s-5"}),
    Case("messages-bad-to-token", "GET", "/rooms/{public}/messages", 400, "M_INVALID_PARAM",
         who="bob", params={"to": "t_1_2"}),
    Case("messages-limit-not-integer", "GET", "/rooms/{public}/messages", 400,
         "M_INVALID_PARAM", who="bob", params={"limit": "ten"}),
    Case("messages-bad-dir", "GET", "/rooms/{public}/messages", 400, "M_INVALID_PARAM",
         who="bob", params={"dir": "sideways"}),
    Case("sync-bad-since", "GET", "/sync", 400, "M_INVALID_PARAM", params={"since": "xyz"}),
    Case("sync-timeout-not-integer", "GET", "/sync", 400, "M_INVALID_PARAM",
         params={"timeout": "soon"}),
    Case("sync-filter-not-json", "GET", "/sync", 400, "M_INVALID_PARAM",
         params={"filter": "{not json"}),
    Case("publicRooms-limit-not-integer", "GET", "/publicRooms", 400, "M_INVALID_PARAM",
         params={"limit": "lots"}),
    Case("publicRooms-bad-since", "GET", "/publicRooms", 400, "M_INVALID_PARAM",
         params={"since": "nope"}),
    # -- events the rules refuse ---------------------------------------------------------------
    Case("send-m.room.create", "PUT", "/rooms/{public}/send/m.room.create/t1", 403,
         "M_FORBIDDEN", who="alice", body={"room_version": "org.audiorooms.1"}),
    Case("send-m.room.member", "PUT", "/rooms/{public}/send/m.room.member/t1", 403,
         "M_FORBIDDEN", who="alice", body={"membership": "join"}),
    Case("put-state-m.room.member", "PUT", "/rooms/{public}/state/m.room.member/{eve}", 403,
         "M_FORBIDDEN", who="alice", body={"membership": "join"}),
    Case("put-state-m.room.create", "PUT", "/rooms/{public}/state/m.room.create/", 403,
         "M_FORBIDDEN", who="alice", body={"room_version": "org.audiorooms.1"}),
    Case("power-level-escalation-self", "PUT", "/rooms/{public}/state/m.room.power_levels/",
         403, "M_FORBIDDEN", who="bob",
         body=lambda n: {"users": {n["alice"]: 100, n["bob"]: 100},
                         "events": {"m.room.power_levels": 50, "m.room.name": 50}}),
    Case("power-level-demote-owner", "PUT", "/rooms/{public}/state/m.room.power_levels/", 403,
         "M_FORBIDDEN", who="bob",
         body=lambda n: {"users": {n["alice"]: 0, n["bob"]: 50},
                         "events": {"m.room.power_levels": 50, "m.room.name": 50}}),
    Case("power-level-raise-ban-above-own", "PUT",
         "/rooms/{public}/state/m.room.power_levels/", 403, "M_FORBIDDEN", who="bob",
         body=lambda n: {"users": {n["alice"]: 100, n["bob"]: 50}, "ban": 75,
                         "events": {"m.room.power_levels": 50, "m.room.name": 50}}),
    Case("state-keyed-by-another-user", "PUT", "/rooms/{public}/state/org.example.x/{alice}",
         403, "M_FORBIDDEN", who="bob", body={"a": "b"}),
    Case("kick-higher-level-user", "POST", "/rooms/{public}/kick", 403, "M_FORBIDDEN",
         who="bob", body={"user_id": "{alice}"}),
    Case("unban-not-banned", "POST", "/rooms/{public}/unban", 403, "M_FORBIDDEN",
         who="alice", body={"user_id": "{eve}"}),
    # -- directory -----------------------------------------------------------------------------
    Case("alias-on-another-server", "PUT", "/directory/room/%23x:" + OTHER_SERVER, 400,
         "M_INVALID_PARAM", who="alice", body={"room_id": "{public}"}),
    Case("alias-malformed", "PUT", "/directory/room/no-hash", 400, "M_INVALID_PARAM",
         who="alice", body={"room_id": "{public}"}),
    Case("alias-room-id-invalid", "PUT", "/directory/room/%23fresh:{server}", 400,
         "M_INVALID_PARAM", who="alice", body={"room_id": "garbage"}),
    Case("alias-for-room-not-in", "PUT", "/directory/room/%23fresh:{server}", 403,
         "M_FORBIDDEN", body={"room_id": "{private}"}),
    Case("delete-someone-elses-alias", "DELETE", "/directory/room/%23public:{server}", 403,
         "M_FORBIDDEN"),
    # -- account data, profiles ----------------------------------------------------------------
    Case("m.direct-not-lists", "PUT", "/user/{eve}/account_data/m.direct", 400, "M_BAD_JSON",
         body={"@x:example.org": "!notalist:example.org"}),
    Case("displayname-not-string", "PUT", "/profile/{eve}/displayname", 400,
         "M_INVALID_PARAM", body={"displayname": 5}),
    Case("displayname-missing", "PUT", "/profile/{eve}/displayname", 400, "M_MISSING_PARAM",
         body={"name": "x"}),
    # -- registration and login ----------------------------------------------------------------
    Case("register-invalid-username", "POST", "/register", 400, "M_INVALID_USERNAME",
         who=None, body={"username": "Bad Name!", "password": "pw",
                         "auth": {"type": "m.login.dummy"}}),
    Case("register-username-with-colon", "POST", "/register", 400, "M_INVALID_USERNAME",
         who=None, body={"username": "a:b", "password": "pw",
                         "auth": {"type": "m.login.dummy"}}),
    Case("register-username-too-long", "POST", "/register", 400, "M_INVALID_USERNAME",
         who=None, body={"username": "u" * 300, "password": "pw",
                         "auth": {"type": "m.login.dummy"}}),
    Case("register-taken-username", "POST", "/register", 400, "M_USER_IN_USE",
         who=None, body={"username": "alice", "password": "pw",
                         "auth": {"type": "m.login.dummy"}}),
    Case("register-username-not-string", "POST", "/register", 400, "M_BAD_JSON",
         who=None, body={"username": 7, "password": "pw", "auth": {"type": "m.login.dummy"}}),
    # Guests are welcome (test_guests.py); a bad guest request or an unknown kind is not.
    Case("register-guest-bad-device-name", "POST", "/register", 400, "M_INVALID_PARAM",
         who=None, params={"kind": "guest"}, body={"initial_device_display_name": 5}),
    Case("register-unknown-kind", "POST", "/register", 400, "M_INVALID_PARAM", who=None,
         params={"kind": "admin"}, body={"username": "k", "password": "pw",
                                         "auth": {"type": "m.login.dummy"}}),
    Case("login-unknown-type", "POST", "/login", 400, "M_UNKNOWN", who=None,
         body={"type": "m.login.magic", "user": "alice", "password": "correct horse"}),
    Case("login-missing-password", "POST", "/login", 400, "M_MISSING_PARAM", who=None,
         body={"type": "m.login.password", "user": "alice"}),
    Case("login-unknown-identifier-type", "POST", "/login", 400, "M_UNKNOWN", who=None,
         body={"type": "m.login.password", "password": "correct horse",
               "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": "a@b"}}),
    Case("login-wrong-password", "POST", "/login", 403, "M_FORBIDDEN", who=None,
         body={"type": "m.login.password", "user": "alice", "password": "wrong"}),
    Case("login-user-on-other-server", "POST", "/login", 403, "M_FORBIDDEN", who=None,
         body={"type": "m.login.password", "user": "@alice:" + OTHER_SERVER,
               "password": "correct horse"}),
]


def _resolve(value, names: dict[str, str]):
    """Fill {alice}-style placeholders into string values of a JSON body (unquoted)."""
    if callable(value):
        return value(names)
    if isinstance(value, str):
        return value.format(**names) if "{" in value and "}" in value else value
    if isinstance(value, dict):
        return {_resolve(k, names): _resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    return value


def test_enough_cases():
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_request_is_refused_and_changes_nothing(world: World, case: Case):
    before = await snapshot(world)
    client = world.client(case.who)
    path = world.fill(case.path)
    raw = case.raw() if callable(case.raw) else case.raw
    body = None
    if raw is None and case.body is not None:
        body = _resolve(case.body, world.names())
        raw = json.dumps(body).encode()
    headers = dict(case.headers)
    if raw is not None:
        headers.setdefault("Content-Type", "application/json")
    status, data = await client.request(case.method, path, raw=raw, params=case.params,
                                        headers=headers, token=case.token)
    assert (status, data.get("errcode") if isinstance(data, dict) else data) == \
        (case.status, case.errcode), data
    assert isinstance(data.get("error"), str)
    await assert_still_serving(world)
    assert await snapshot(world) == before


async def _pieces(data: bytes, size: int):
    """A chunked request body sent in pieces, yielding to the loop between them so each
    piece reaches the server separately."""
    for i in range(0, len(data), size):
        yield data[i:i + size]
        await asyncio.sleep(0)


async def test_body_arriving_in_pieces_is_read_whole(world: World):
    body = json.dumps({"msgtype": "m.text", "body": "y" * 20_000}).encode()
    status, data = await world.bob.request(
        "PUT", world.fill("/rooms/{public}/send/m.room.message/pieces"),
        raw=_pieces(body, 1000), headers={"Content-Type": "application/json"})
    assert status == 200, data
    ev = await world.bob.ok("GET", world.fill("/rooms/{public}/event/") +
                            quote(data["event_id"], safe=""))
    assert ev["content"]["body"] == "y" * 20_000


async def test_chunked_body_over_the_limit_is_413(world: World):
    before = await snapshot(world)
    body = json.dumps({"msgtype": "m.text", "body": "y" * 80_000}).encode()
    status, data = await world.bob.request(
        "PUT", world.fill("/rooms/{public}/send/m.room.message/big"),
        raw=_pieces(body, 8192), headers={"Content-Type": "application/json"})
    assert (status, data["errcode"]) == (413, "M_TOO_LARGE")
    await assert_still_serving(world)
    assert await snapshot(world) == before
