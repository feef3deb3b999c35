"""Synapse's admin API, the same calls against this server and a real Synapse.

Run:  SYNAPSE_VENV=/work/main/.synapse-venv python -m pytest tests/integration/test_admin_api.py

Each test named ``*_both`` runs twice: against our homeserver (in-process, registration open
but gated by registration tokens) and against one Synapse for the module (its own venv, SQLite,
loopback, configured the same way: registration requiring a token, server notices on). Admins
are made as operators make them, by shared-secret registration with admin=true. The Synapse
half is skipped, naming the reason, only when Synapse cannot be installed here.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from tests.integration.federation_helpers import eventually
from tests.matrix_client import Client
from tests.synapse_env import SynapseServer, SynapseUnavailable, ensure_venv

A = "/_synapse/admin"
SECRET = "test-shared-secret"
TOKEN_STAGE = "m.login.registration_token"
_n = itertools.count()


@dataclass
class Target:
    kind: str  # "ours" or "synapse"
    url: str
    server_name: str
    session: object
    handle: object = None  # ours: the ServerHandle

    def client(self, token: str | None = None) -> Client:
        return Client(self.session, self.url, token)  # type: ignore[arg-type]

    async def shared_secret_register(self, name: str, password: str, admin: bool) -> Client:
        c = self.client()
        nonce = (await c.ok("GET", A + "/v1/register"))["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        data = await c.ok("POST", A + "/v1/register", {
            "nonce": nonce, "username": name, "password": password, "admin": admin,
            "mac": mac.hexdigest()})
        c.token, c.user_id = data["access_token"], data["user_id"]
        return c

    async def admin(self) -> Client:
        return await self.shared_secret_register(unique("admin"), "admin-pw", True)

    async def user(self, prefix: str = "user", password: str = "user-pw") -> Client:
        return await self.shared_secret_register(unique(prefix), password, False)

    def uid(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


def unique(prefix: str) -> str:
    return f"{prefix}{next(_n)}x{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def synapse_server(tmp_path_factory):
    try:
        venv = ensure_venv()
    except SynapseUnavailable as e:
        pytest.skip(f"Synapse is not installable here: {e}")
    server = SynapseServer(tmp_path_factory.mktemp("synapse-admin"), shared_secret=SECRET,
                           venv=venv, extra_config={
                               "enable_registration": True,
                               "registration_requires_token": True,
                               "server_notices": {"system_mxid_localpart": "notices",
                                                  "system_mxid_display_name": "Server notices",
                                                  "room_name": "Server notices"}})
    try:
        server.start()
    except SynapseUnavailable as e:
        pytest.fail(f"Synapse did not start: {e}")
    yield server
    server.stop()


@pytest.fixture(params=["ours", "synapse"])
async def target(request, make_homeserver, http_session) -> Target:
    if request.param == "ours":
        hs = await make_homeserver("a", registration={"requires_token": True})
        return Target("ours", hs.url, hs.server_name, http_session, hs)
    server = request.getfixturevalue("synapse_server")
    return Target("synapse", server.base_url, server.server_name, http_session)


async def status_of(c: Client, method: str, path: str, body=None, **kw):
    status, data = await c.request(method, path, body, **kw)
    return status, data


# users ------------------------------------------------------------------------------------

async def test_list_create_and_modify_users_both(target):
    admin = await target.admin()
    name = unique("carol")
    uid = target.uid(name)
    status, created = await admin.request("PUT", f"{A}/v2/users/{quote(uid)}",
                                          {"password": "carol-pw", "displayname": "Carol"})
    assert status == 201, created
    assert created["name"] == uid and created["displayname"] == "Carol"
    assert created["admin"] is False and created["deactivated"] is False

    # the new account logs in with the password the admin set
    carol = target.client()
    login = await carol.ok("POST", "/login", {"type": "m.login.password",
                                              "identifier": {"type": "m.id.user", "user": name},
                                              "password": "carol-pw"})
    assert login["user_id"] == uid

    got = await admin.ok("GET", f"{A}/v2/users/{quote(uid)}")
    assert got["name"] == uid and got["displayname"] == "Carol" and got["is_guest"] is False
    assert 10**9 < got["creation_ts"] < 10**11  # seconds here (as Synapse) ...

    listed = await admin.ok("GET", f"{A}/v2/users", params={"name": name})
    assert [u["name"] for u in listed["users"]] == [uid] and listed["total"] == 1
    assert listed["users"][0]["creation_ts"] > 10**12  # ... milliseconds in the list
    assert {"name", "admin", "deactivated", "displayname", "is_guest", "creation_ts",
            "user_type", "avatar_url", "shadow_banned"} <= set(listed["users"][0])

    everyone = await admin.ok("GET", f"{A}/v2/users", params={"limit": "1"})
    assert len(everyone["users"]) == 1 and everyone["total"] >= 2
    assert everyone["next_token"] == "1"
    admins = await admin.ok("GET", f"{A}/v2/users", params={"admins": "true", "limit": "1000"})
    assert admin.user_id in [u["name"] for u in admins["users"]]
    assert uid not in [u["name"] for u in admins["users"]]

    status, modified = await admin.request("PUT", f"{A}/v2/users/{quote(uid)}",
                                           {"displayname": "Carol B", "admin": True})
    assert status == 200 and modified["displayname"] == "Carol B" and modified["admin"] is True
    assert (await admin.ok("GET", f"/profile/{quote(uid)}"))["displayname"] == "Carol B"

    missing = await admin.request("GET", f"{A}/v2/users/{quote(target.uid('nobody-here'))}")
    assert missing[0] == 404 and missing[1]["errcode"] == "M_NOT_FOUND"


async def test_deactivate_kills_tokens_refuses_login_and_leaves_rooms_both(target):
    admin = await target.admin()
    dave = await target.user("dave", "dave-pw")
    room = await admin.create_room(preset="public_chat", name="Lobby")
    await dave.join(room)
    assert (await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}/members"))["total"] == 2

    out = await admin.ok("POST", f"{A}/v1/deactivate/{quote(dave.user_id)}", {"erase": False})
    assert out == {"id_server_unbind_result": "success"}

    status, body = await dave.request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    status, body = await target.client().request("POST", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": dave.user_id},
        "password": "dave-pw"})
    assert status == 403, body

    async def dave_left():  # Synapse parts a deactivated user in the background
        members = await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}/members")
        return dave.user_id not in members["members"]
    assert await eventually(dave_left, timeout=15, interval=0.2)
    assert (await admin.ok("GET", f"{A}/v2/users/{quote(dave.user_id)}"))["deactivated"] is True

    active = await admin.ok("GET", f"{A}/v2/users", params={"limit": "1000"})
    assert dave.user_id not in [u["name"] for u in active["users"]]
    all_users = await admin.ok("GET", f"{A}/v2/users",
                               params={"limit": "1000", "deactivated": "true"})
    assert dave.user_id in [u["name"] for u in all_users["users"]]


async def test_reset_password_logs_out_and_changes_login_both(target):
    admin = await target.admin()
    erin = await target.user("erin", "old-pw")
    await admin.ok("POST", f"{A}/v1/reset_password/{quote(erin.user_id)}",
                   {"new_password": "new-pw", "logout_devices": True})
    status, _ = await erin.request("GET", "/account/whoami")
    assert status == 401

    async def login(pw):
        return await target.client().request("POST", "/login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": erin.user_id}, "password": pw})

    assert (await login("old-pw"))[0] == 403
    status, body = await login("new-pw")
    assert status == 200 and body["user_id"] == erin.user_id

    whois = await admin.ok("GET", f"{A}/v1/whois/{quote(erin.user_id)}")
    assert whois["user_id"] == erin.user_id and "devices" in whois


async def test_what_an_account_has_both(target):
    """The pages of an admin UI's user view: rooms, devices, pushers, media."""
    admin = await target.admin()
    otto = await target.user("otto")
    room = await otto.create_room(preset="public_chat")
    u = quote(otto.user_id)
    assert (await admin.ok("GET", f"{A}/v1/users/{u}/joined_rooms")) == {
        "joined_rooms": [room], "total": 1}
    devices = await admin.ok("GET", f"{A}/v2/users/{u}/devices")
    assert devices["total"] == 1 and devices["devices"][0]["user_id"] == otto.user_id
    device_id = devices["devices"][0]["device_id"]
    assert (await admin.ok("GET", f"{A}/v1/users/{u}/pushers")) == {"pushers": [], "total": 0}
    media = await admin.ok("GET", f"{A}/v1/users/{u}/media")
    assert media["media"] == [] and media["total"] == 0
    status, up = await otto.request("POST", "/_matrix/media/v3/upload", raw=b"x" * 1234,
                                    params={"filename": "a.txt"},
                                    headers={"Content-Type": "text/plain"})
    assert status == 200, up
    media = await admin.ok("GET", f"{A}/v1/users/{u}/media")
    assert media["total"] == 1 and media["media"][0]["media_length"] == 1234
    assert up["content_uri"].endswith("/" + media["media"][0]["media_id"])
    stats = await admin.ok("GET", f"{A}/v1/statistics/users/media",
                           params={"search_term": otto.user_id[1:].split(":")[0]})
    assert [(x["user_id"], x["media_count"], x["media_length"]) for x in stats["users"]] == [
        (otto.user_id, 1, 1234)]
    await admin.ok("DELETE", f"{A}/v2/users/{u}/devices/{device_id}")
    assert (await otto.request("GET", "/account/whoami"))[0] == 401
    assert (await admin.ok("GET", f"{A}/v2/users/{u}/devices"))["total"] == 0


# rooms ------------------------------------------------------------------------------------

async def test_room_list_details_members_state_both(target):
    admin = await target.admin()
    frank = await target.user("frank")
    name = unique("Garden ")
    room = await frank.create_room(preset="public_chat", name=name, topic="plants")
    await admin.join(room)

    found = await admin.ok("GET", f"{A}/v1/rooms", params={"search_term": name})
    assert found["total_rooms"] == 1 and [r["room_id"] for r in found["rooms"]] == [room]
    entry = found["rooms"][0]
    assert entry["name"] == name and entry["joined_members"] == 2
    assert entry["joined_local_members"] == 2 and entry["creator"] == frank.user_id
    assert entry["join_rules"] == "public" and entry["state_events"] >= 5

    listed = await admin.ok("GET", f"{A}/v1/rooms",
                            params={"order_by": "joined_members", "dir": "b", "limit": "1"})
    assert len(listed["rooms"]) == 1 and listed["offset"] == 0
    assert "total_rooms" in listed

    details = await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}")
    assert details["room_id"] == room and details["topic"] == "plants"
    assert details["name"] == name and details["joined_members"] == 2

    members = await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}/members")
    assert sorted(members["members"]) == sorted([admin.user_id, frank.user_id])
    assert members["total"] == 2

    state = await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}/state")
    types = {e["type"] for e in state["state"]}
    assert {"m.room.create", "m.room.name", "m.room.topic", "m.room.member"} <= types


async def wait_deleted(admin: Client, delete_id: str) -> dict:
    async def done():
        st = await admin.ok("GET", f"{A}/v2/rooms/delete_status/{delete_id}")
        return st if st["status"] in ("complete", "failed") else None
    return await eventually(done, timeout=30, interval=0.2)


async def test_room_deletion_kicks_blocks_and_purges_both(target):
    admin = await target.admin()
    gina = await target.user("gina")
    hank = await target.user("hank")
    room = await gina.create_room(preset="public_chat", name="Doomed")
    await hank.join(room)
    await gina.send(room, "before the end")

    out = await admin.ok("DELETE", f"{A}/v2/rooms/{quote(room)}",
                         {"block": True, "purge": True})
    status = await wait_deleted(admin, out["delete_id"])
    assert status["status"] == "complete", status
    assert status["room_id"] == room
    assert sorted(status["shutdown_room"]["kicked_users"]) == sorted([gina.user_id,
                                                                      hank.user_id])
    by_room = await admin.ok("GET", f"{A}/v2/rooms/{quote(room)}/delete_status")
    assert [r["delete_id"] for r in by_room["results"]] == [out["delete_id"]]

    for member in (gina, hank):
        assert room not in (await member.ok("GET", "/joined_rooms"))["joined_rooms"]
        status_code, body = await member.request("POST", f"/join/{quote(room)}", {})
        # (Synapse says M_UNKNOWN, we M_FORBIDDEN: the status is what clients act on)
        assert status_code == 403 and body["errcode"] in ("M_FORBIDDEN", "M_UNKNOWN"), body
    assert (await admin.request("GET", f"{A}/v1/rooms/{quote(room)}"))[0] == 404

    # unsupported or wrong input is refused clearly, changing nothing
    other = await gina.create_room(preset="public_chat")
    status_code, body = await admin.request("DELETE", f"{A}/v2/rooms/{quote(other)}",
                                            {"block": "yes"})
    assert status_code == 400 and body["errcode"] == "M_BAD_JSON"
    assert (await admin.ok("GET", f"{A}/v1/rooms/{quote(other)}"))["joined_members"] == 1


async def test_server_notice_reaches_the_user_both(target):
    admin = await target.admin()
    ivy = await target.user("ivy")
    out = await admin.ok("POST", f"{A}/v1/send_server_notice", {
        "user_id": ivy.user_id, "content": {"msgtype": "m.text", "body": "maintenance at 9"}})
    assert out["event_id"].startswith("$")

    since: list[str | None] = [None]  # Synapse caches a repeated sync: always move on

    async def notice_received():
        sync = await ivy.sync(since[0])
        since[0] = sync["next_batch"]
        for room_id in sync["rooms"].get("invite", {}):
            await ivy.join(room_id)  # Synapse invites; we join the user at once
        return any("maintenance at 9" in [e["content"].get("body") for e in
                                          room["timeline"]["events"]]
                   for room in sync["rooms"].get("join", {}).values())

    assert await eventually(notice_received, timeout=15, interval=0.3)


# registration tokens ----------------------------------------------------------------------

async def register_with_token(target: Target, token: str, username: str):
    """The UIA dance a client does: ask, then the token stage, then the dummy stage.
    Returns (status, body) of the first failing step, or of the final success."""
    c = target.client()
    body = {"username": username, "password": "pw-" + username}
    status, first = await c.request("POST", "/register", body)
    assert status == 401 and any(TOKEN_STAGE in f["stages"] for f in first["flows"]), first
    session = first["session"]
    status, step = await c.request("POST", "/register", {
        **body, "auth": {"type": TOKEN_STAGE, "token": token, "session": session}})
    if status == 200 or TOKEN_STAGE not in step.get("completed", []):
        return status, step
    return await c.request("POST", "/register", {
        **body, "auth": {"type": "m.login.dummy", "session": session}})


async def test_registration_tokens_gate_sign_up_both(target):
    admin = await target.admin()
    made = await admin.ok("POST", f"{A}/v1/registration_tokens/new", {"uses_allowed": 1})
    token = made["token"]
    assert len(token) == 16 and made["uses_allowed"] == 1
    assert made["pending"] == 0 and made["completed"] == 0 and made["expiry_time"] is None
    listed = await admin.ok("GET", f"{A}/v1/registration_tokens")
    assert token in [t["token"] for t in listed["registration_tokens"]]

    validity = "/_matrix/client/v1/register/m.login.registration_token/validity"
    anon = target.client()
    assert (await anon.ok("GET", validity, params={"token": token}))["valid"] is True
    assert (await anon.ok("GET", validity, params={"token": "wrongtoken"}))["valid"] is False

    # no token, a wrong token: no account
    status, body = await target.client().request("POST", "/register", {
        "username": unique("x"), "password": "pw", "auth": {"type": "m.login.dummy"}})
    assert status == 401, body
    status, body = await register_with_token(target, "wrongtoken", unique("mallory"))
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED", body

    name = unique("jane")
    status, body = await register_with_token(target, token, name)
    assert status == 200 and body["user_id"] == target.uid(name), body
    used = await admin.ok("GET", f"{A}/v1/registration_tokens/{token}")
    assert used["completed"] == 1 and used["pending"] == 0
    assert (await anon.ok("GET", validity, params={"token": token}))["valid"] is False

    # used up: refused
    status, body = await register_with_token(target, token, unique("kim"))
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED", body
    invalid = await admin.ok("GET", f"{A}/v1/registration_tokens", params={"valid": "false"})
    assert token in [t["token"] for t in invalid["registration_tokens"]]

    # a sign-up that passed the token stage holds a use (pending) until it finishes
    one = await admin.ok("POST", f"{A}/v1/registration_tokens/new", {"uses_allowed": 1})
    c = target.client()
    first = (await c.request("POST", "/register", {"username": unique("p"), "password": "pw"}))[1]
    status, step = await c.request("POST", "/register", {
        "username": unique("p"), "password": "pw",
        "auth": {"type": TOKEN_STAGE, "token": one["token"], "session": first["session"]}})
    assert status == 401 and step["completed"] == [TOKEN_STAGE], step
    held = await admin.ok("GET", f"{A}/v1/registration_tokens/{one['token']}")
    assert held["pending"] == 1 and held["completed"] == 0
    assert (await anon.ok("GET", validity, params={"token": one["token"]}))["valid"] is False
    status, body = await register_with_token(target, one["token"], unique("racer"))
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED", body

    # an expired token is refused; raising uses_allowed makes a used-up one work again
    soon = await admin.ok("POST", f"{A}/v1/registration_tokens/new",
                          {"token": unique("soon"), "expiry_time": int(time.time() * 1000)
                           + 1500})
    await asyncio.sleep(2)
    status, body = await register_with_token(target, soon["token"], unique("late"))
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED", body
    updated = await admin.ok("PUT", f"{A}/v1/registration_tokens/{token}", {"uses_allowed": 2})
    assert updated["uses_allowed"] == 2
    status, body = await register_with_token(target, token, unique("lee"))
    assert status == 200, body

    await admin.ok("DELETE", f"{A}/v1/registration_tokens/{token}")
    assert (await admin.request("GET", f"{A}/v1/registration_tokens/{token}"))[0] == 404
    status, body = await admin.request("POST", f"{A}/v1/registration_tokens/new",
                                       {"token": "bad token!"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"


# event reports ----------------------------------------------------------------------------

async def test_event_report_is_listed_both(target):
    admin = await target.admin()
    liz = await target.user("liz")
    max_ = await target.user("max")
    room = await liz.create_room(preset="public_chat", name="Reported")
    await max_.join(room)
    event_id = await max_.send(room, "something nasty")
    await liz.ok("POST", f"/rooms/{quote(room)}/report/{quote(event_id)}",
                 {"reason": "nasty", "score": -100})

    reports = await admin.ok("GET", f"{A}/v1/event_reports", params={"room_id": room})
    assert reports["total"] == 1
    r = reports["event_reports"][0]
    assert r["event_id"] == event_id and r["user_id"] == liz.user_id
    assert r["sender"] == max_.user_id and r["reason"] == "nasty" and r["room_id"] == room
    assert r["name"] == "Reported"
    one = await admin.ok("GET", f"{A}/v1/event_reports/{r['id']}")
    assert one["event_json"]["content"]["body"] == "something nasty"


# who may ---------------------------------------------------------------------------------

def admin_endpoints(room: str, user: str) -> list[tuple[str, str, dict | None]]:
    u, r = quote(user), quote(room)
    return [
        ("GET", f"{A}/v2/users", None),
        ("GET", f"{A}/v2/users/{u}", None),
        ("PUT", f"{A}/v2/users/{u}", {"displayname": "x"}),
        ("POST", f"{A}/v1/deactivate/{u}", {}),
        ("POST", f"{A}/v1/reset_password/{u}", {"new_password": "x"}),
        ("GET", f"{A}/v1/whois/{u}", None),
        ("GET", f"{A}/v1/users/{u}/joined_rooms", None),
        ("GET", f"{A}/v2/users/{u}/devices", None),
        ("DELETE", f"{A}/v2/users/{u}/devices/ABC", None),
        ("GET", f"{A}/v1/users/{u}/pushers", None),
        ("GET", f"{A}/v1/users/{u}/media", None),
        ("GET", f"{A}/v1/statistics/users/media", None),
        ("GET", f"{A}/v1/rooms", None),
        ("GET", f"{A}/v1/rooms/{r}", None),
        ("GET", f"{A}/v1/rooms/{r}/members", None),
        ("GET", f"{A}/v1/rooms/{r}/state", None),
        ("DELETE", f"{A}/v2/rooms/{r}", {}),
        ("GET", f"{A}/v2/rooms/{r}/delete_status", None),
        ("GET", f"{A}/v2/rooms/delete_status/abc", None),
        ("POST", f"{A}/v1/send_server_notice", {"user_id": user, "content": {"body": "x"}}),
        ("GET", f"{A}/v1/registration_tokens", None),
        ("POST", f"{A}/v1/registration_tokens/new", {}),
        ("GET", f"{A}/v1/registration_tokens/abc", None),
        ("PUT", f"{A}/v1/registration_tokens/abc", {}),
        ("DELETE", f"{A}/v1/registration_tokens/abc", None),
        ("GET", f"{A}/v1/event_reports", None),
        ("GET", f"{A}/v1/event_reports/1", None),
        ("GET", f"{A}/v1/federation/destinations", None),
        ("GET", f"{A}/v1/federation/destinations/example.org", None),
        ("POST", f"{A}/v1/federation/destinations/example.org/reset_connection", {}),
    ]


async def test_federation_destinations_answer_alike_both(target):
    """Synapse Admin's Federation page: the list's shape, unknown destinations, bad input.
    (What a failing destination shows is in test_admin_more.py: one server alone has none.)"""
    admin = await target.admin()
    D = f"{A}/v1/federation/destinations"
    listing = await admin.ok("GET", D)
    assert isinstance(listing["destinations"], list) and isinstance(listing["total"], int)
    assert listing["total"] >= len(listing["destinations"])
    for d in listing["destinations"]:
        assert set(d) >= {"destination", "retry_last_ts", "retry_interval", "failure_ts",
                          "last_successful_stream_ordering"}, d
    for method, path in (("GET", f"{D}/unknown.example"),
                         ("GET", f"{D}/unknown.example/rooms"),
                         ("POST", f"{D}/unknown.example/reset_connection")):
        status, body = await admin.request(method, path, {} if method == "POST" else None)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), (path, body)
    status, body = await admin.request("GET", D, params={"order_by": "nonsense"})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), body
    status, body = await admin.request("GET", D, params={"from": "-1"})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), body


async def test_non_admin_gets_403_on_every_admin_endpoint_both(target):
    admin = await target.admin()
    norm = await target.user("norm")
    room = await admin.create_room(preset="public_chat")
    anon = target.client()
    for method, path, body in admin_endpoints(room, admin.user_id):
        status, out = await norm.request(method, path, body)
        assert status == 403 and out["errcode"] == "M_FORBIDDEN", (method, path, status, out)
        status, out = await anon.request(method, path, body)
        assert status == 401 and out["errcode"] == "M_MISSING_TOKEN", (method, path, out)
    # nothing changed: the admin is still one, the room still there
    assert (await admin.ok("GET", f"{A}/v2/users/{quote(admin.user_id)}"))["admin"] is True
    assert (await admin.ok("GET", f"{A}/v1/rooms/{quote(room)}"))["joined_members"] == 1
