"""Accounts over real HTTP: versions, registration (open, closed, shared-secret admin), login,
logout, whoami, profiles and the login/registration rate limits."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from tests.matrix_client import Client

DUMMY = {"type": "m.login.dummy"}


def user_id(hs, localpart: str) -> str:
    return f"@{localpart}:{hs.server_name}"


async def test_versions(homeserver):
    status, body = await homeserver.client().request("GET", "/_matrix/client/versions")
    assert status == 200
    assert "v1.1" in body["versions"] and "r0.6.1" in body["versions"]
    assert isinstance(body.get("unstable_features", {}), dict)


# registration -------------------------------------------------------------------------------

async def test_register_with_dummy_auth(homeserver):
    c = homeserver.client()
    status, body = await c.request("POST", "/register", {
        "username": "alice", "password": "pw1", "auth": DUMMY, "device_id": "MYDEVICE"})
    assert status == 200, body
    assert body["user_id"] == user_id(homeserver, "alice")
    assert body["home_server"] == homeserver.server_name
    assert body["device_id"] == "MYDEVICE"
    assert body["access_token"]
    me = Client(homeserver.session, homeserver.url, body["access_token"])
    who = await me.ok("GET", "/account/whoami")
    assert who["user_id"] == user_id(homeserver, "alice")
    assert who["device_id"] == "MYDEVICE"


async def test_register_without_auth_answers_the_uia_flows(homeserver):
    c = homeserver.client()
    status, body = await c.request("POST", "/register", {"username": "bob", "password": "pw"})
    assert status == 401
    assert {"stages": ["m.login.dummy"]} in body["flows"]
    assert isinstance(body["session"], str) and body["session"]
    assert "params" in body
    # Completing the flow with the session from the 401 registers the user.
    status, done = await c.request("POST", "/register", {
        "username": "bob", "password": "pw",
        "auth": {"type": "m.login.dummy", "session": body["session"]}})
    assert status == 200, done
    assert done["user_id"] == user_id(homeserver, "bob")
    # The first call created nothing on its own: the name is taken only now.
    status, again = await c.request("GET", "/register/available", params={"username": "bob"})
    assert status == 400 and again["errcode"] == "M_USER_IN_USE"


async def test_register_inhibit_login_returns_no_token(homeserver):
    status, body = await homeserver.client().request("POST", "/register", {
        "username": "quiet", "password": "pw", "auth": DUMMY, "inhibit_login": True})
    assert status == 200, body
    assert body["user_id"] == user_id(homeserver, "quiet")
    assert "access_token" not in body


async def test_registration_disabled(make_homeserver):
    hs = await make_homeserver(registration={"open": False})
    status, body = await hs.client().request("POST", "/register", {
        "username": "carol", "password": "pw", "auth": DUMMY})
    assert status == 403
    assert body["errcode"] == "M_FORBIDDEN"
    # Nothing was created: login as that user fails.
    status, body = await hs.client().request("POST", "/login", {
        "type": "m.login.password", "user": "carol", "password": "pw"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # Guests are refused too; the operator's shared-secret registration still works.
    status, body = await hs.client().request("POST", "/register", {"auth": DUMMY},
                                             params={"kind": "guest"})
    assert status == 403 and body["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"
    c = hs.client()
    nonce = (await c.ok("GET", "/_synapse/admin/v1/register"))["nonce"]
    secret = hs.config.registration.shared_secret
    status, body = await c.request("POST", "/_synapse/admin/v1/register", {
        "nonce": nonce, "username": "carol", "password": "pw",
        "mac": admin_mac(secret, nonce, "carol", "pw", False)})
    assert status == 200, body
    assert body["user_id"] == user_id(hs, "carol")


async def test_register_user_in_use(homeserver):
    await homeserver.user("dave")
    status, body = await homeserver.client().request("POST", "/register", {
        "username": "dave", "password": "other", "auth": DUMMY})
    assert status == 400
    assert body["errcode"] == "M_USER_IN_USE"
    # The original password still works: the second attempt changed nothing.
    status, body = await homeserver.client().request("POST", "/login", {
        "type": "m.login.password", "user": "dave", "password": "correct horse"})
    assert status == 200, body


async def test_register_invalid_username(homeserver):
    for bad in ("has space", "caf\u00e9", "a:b", "@x", ""):
        status, body = await homeserver.client().request("POST", "/register", {
            "username": bad, "password": "pw", "auth": DUMMY})
        assert status == 400, (bad, body)
        assert body["errcode"] == "M_INVALID_USERNAME", (bad, body)


async def test_register_available(homeserver):
    c = homeserver.client()
    status, body = await c.request("GET", "/register/available", params={"username": "erin"})
    assert (status, body) == (200, {"available": True})
    await homeserver.user("erin")
    status, body = await c.request("GET", "/register/available", params={"username": "erin"})
    assert status == 400 and body["errcode"] == "M_USER_IN_USE"
    status, body = await c.request("GET", "/register/available",
                                   params={"username": "Not Valid!"})
    assert status == 400 and body["errcode"] == "M_INVALID_USERNAME"


# shared-secret admin registration ------------------------------------------------------------

def admin_mac(secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(),
                             b"admin" if admin else b"notadmin"]))
    return mac.hexdigest()


async def test_shared_secret_admin_registration(homeserver):
    c = homeserver.client()
    secret = homeserver.config.registration.shared_secret
    nonce = (await c.ok("GET", "/_synapse/admin/v1/register"))["nonce"]
    assert isinstance(nonce, str) and nonce
    body = {"nonce": nonce, "username": "root", "password": "s3cret", "admin": True,
            "mac": admin_mac(secret, nonce, "root", "s3cret", True)}
    status, resp = await c.request("POST", "/_synapse/admin/v1/register", body)
    assert status == 200, resp
    assert resp["user_id"] == user_id(homeserver, "root")
    assert resp["access_token"]
    me = Client(homeserver.session, homeserver.url, resp["access_token"])
    assert (await me.ok("GET", "/account/whoami"))["user_id"] == user_id(homeserver, "root")
    # The nonce is single-use.
    status, resp = await c.request("POST", "/_synapse/admin/v1/register", body)
    assert status == 400, resp
    assert resp["errcode"] == "M_UNKNOWN"
    # Logging in with the registered password works.
    status, resp = await c.request("POST", "/login", {
        "type": "m.login.password", "user": "root", "password": "s3cret"})
    assert status == 200, resp


async def test_shared_secret_registration_wrong_mac(homeserver):
    c = homeserver.client()
    nonce = (await c.ok("GET", "/_synapse/admin/v1/register"))["nonce"]
    bad = admin_mac("not-the-secret", nonce, "mallory", "pw", False)
    status, resp = await c.request("POST", "/_synapse/admin/v1/register", {
        "nonce": nonce, "username": "mallory", "password": "pw", "admin": False, "mac": bad})
    assert status == 403
    assert resp["errcode"] == "M_FORBIDDEN"
    status, resp = await c.request("GET", "/register/available", params={"username": "mallory"})
    assert (status, resp) == (200, {"available": True})


async def test_shared_secret_registration_unknown_nonce(homeserver):
    secret = homeserver.config.registration.shared_secret
    status, resp = await homeserver.client().request("POST", "/_synapse/admin/v1/register", {
        "nonce": "made-up", "username": "x", "password": "pw",
        "mac": admin_mac(secret, "made-up", "x", "pw", False)})
    assert status == 400 and resp["errcode"] == "M_UNKNOWN"


# login / logout / whoami ---------------------------------------------------------------------

async def test_login_flows(homeserver):
    body = await homeserver.client().ok("GET", "/login")
    assert {"type": "m.login.password"} in body["flows"]


async def test_login_with_identifier_and_legacy_user(homeserver):
    await homeserver.user("frank", "pw-frank")
    c = homeserver.client()
    status, a = await c.request("POST", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "frank"},
        "password": "pw-frank", "device_id": "DEV1"})
    assert status == 200, a
    assert a["user_id"] == user_id(homeserver, "frank")
    assert a["device_id"] == "DEV1"
    assert a["home_server"] == homeserver.server_name
    status, b = await c.request("POST", "/login", {
        "type": "m.login.password", "user": user_id(homeserver, "frank"), "password": "pw-frank"})
    assert status == 200, b
    assert b["user_id"] == user_id(homeserver, "frank")
    assert a["access_token"] != b["access_token"]
    for token, device in ((a["access_token"], "DEV1"), (b["access_token"], b["device_id"])):
        who = await Client(homeserver.session, homeserver.url, token).ok("GET",
                                                                         "/account/whoami")
        assert who == {"user_id": user_id(homeserver, "frank"), "device_id": device,
                       "is_guest": False}


async def test_login_wrong_password_and_unknown_user(homeserver):
    await homeserver.user("gina", "right")
    c = homeserver.client()
    for body in ({"type": "m.login.password", "user": "gina", "password": "wrong"},
                 {"type": "m.login.password", "user": "nobody", "password": "right"},
                 {"type": "m.login.password", "user": "@gina:elsewhere.example",
                  "password": "right"}):
        status, resp = await c.request("POST", "/login", body)
        assert status == 403, resp
        assert resp["errcode"] == "M_FORBIDDEN"
        assert "access_token" not in resp


async def test_whoami_requires_a_valid_token(homeserver):
    status, body = await homeserver.client().request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_MISSING_TOKEN"
    status, body = await homeserver.client("syt_bogus").request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"


async def test_logout_invalidates_only_that_token(homeserver):
    alice = await homeserver.user("henry")
    other = homeserver.client()
    login = await other.ok("POST", "/login", {"type": "m.login.password", "user": "henry",
                                              "password": "correct horse"})
    other.token = login["access_token"]
    assert await alice.ok("POST", "/logout", {}) == {}
    status, body = await alice.request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    # The other session is untouched.
    assert (await other.ok("GET", "/account/whoami"))["user_id"] == user_id(homeserver, "henry")


async def test_logout_all(homeserver):
    first = await homeserver.user("ivy")
    second = homeserver.client()
    login = await second.ok("POST", "/login", {"type": "m.login.password", "user": "ivy",
                                               "password": "correct horse"})
    second.token = login["access_token"]
    bystander = await homeserver.user("jack")
    assert await second.ok("POST", "/logout/all", {}) == {}
    for c in (first, second):
        status, body = await c.request("GET", "/account/whoami")
        assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    assert (await bystander.ok("GET", "/account/whoami"))["user_id"] == user_id(homeserver,
                                                                                 "jack")


# profiles ------------------------------------------------------------------------------------

async def test_profile_get_and_put_displayname(homeserver):
    kim = await homeserver.user("kim")
    leo = await homeserver.user("leo")
    uid = quote(kim.user_id)
    assert await leo.ok("GET", f"/profile/{uid}") == {"displayname": "kim"}
    assert await kim.ok("PUT", f"/profile/{uid}/displayname", {"displayname": "Kim K"}) == {}
    assert await leo.ok("GET", f"/profile/{uid}/displayname") == {"displayname": "Kim K"}
    assert (await homeserver.client().ok("GET", f"/profile/{uid}"))["displayname"] == "Kim K"
    # Someone else's profile cannot be changed.
    status, body = await leo.request("PUT", f"/profile/{uid}/displayname",
                                     {"displayname": "hacked"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await leo.ok("GET", f"/profile/{uid}/displayname") == {"displayname": "Kim K"}
    # Unset avatar: 404; unknown user: 404.
    status, body = await leo.request("GET", f"/profile/{uid}/avatar_url")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    status, body = await leo.request(
        "GET", f"/profile/{quote('@ghost:' + homeserver.server_name)}")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_displayname_change_is_announced_in_joined_rooms(homeserver):
    mia = await homeserver.user("mia")
    ned = await homeserver.user("ned")
    room = await mia.create_room(preset="public_chat")
    await ned.join(room)
    since = (await ned.sync())["next_batch"]
    await mia.ok("PUT", f"/profile/{quote(mia.user_id)}/displayname", {"displayname": "Mia!"})
    later = await ned.sync(since=since)
    members = [e for e in later["rooms"]["join"][room]["timeline"]["events"]
               if e["type"] == "m.room.member"]
    assert len(members) == 1
    assert members[0]["state_key"] == mia.user_id
    assert members[0]["content"] == {"membership": "join", "displayname": "Mia!"}
    assert members[0]["unsigned"]["prev_content"]["displayname"] == "mia"
    assert (await ned.state(room, "m.room.member", mia.user_id))["displayname"] == "Mia!"
    joined = await ned.ok("GET", f"/rooms/{quote(room)}/joined_members")
    assert joined["joined"][mia.user_id]["display_name"] == "Mia!"


# rate limits ---------------------------------------------------------------------------------

async def test_login_rate_limit(make_homeserver):
    hs = await make_homeserver(ratelimit={"login": {"per_second": 0.01, "burst": 2}})
    await hs.user("olga", "pw")
    c = hs.client()
    body = {"type": "m.login.password", "user": "olga", "password": "pw"}
    assert (await c.request("POST", "/login", body))[0] == 200
    assert (await c.request("POST", "/login", {**body, "password": "bad"}))[0] == 403
    status, resp = await c.request("POST", "/login", body)
    assert status == 429, resp
    assert resp["errcode"] == "M_LIMIT_EXCEEDED"
    assert isinstance(resp["retry_after_ms"], int) and resp["retry_after_ms"] > 0


async def test_register_rate_limit(make_homeserver):
    hs = await make_homeserver(ratelimit={"register": {"per_second": 0.01, "burst": 2}})
    c = hs.client()
    for name in ("p1", "p2"):
        status, resp = await c.request("POST", "/register", {
            "username": name, "password": "pw", "auth": DUMMY})
        assert status == 200, resp
    status, resp = await c.request("POST", "/register", {
        "username": "p3", "password": "pw", "auth": DUMMY})
    assert status == 429, resp
    assert resp["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp["retry_after_ms"] > 0
    status, resp = await c.request("GET", "/register/available", params={"username": "p3"})
    assert (status, resp) == (200, {"available": True})


async def test_message_rate_limit_per_user(make_homeserver):
    """ratelimit.message: a script flooding a room gets 429 with a wait; another user in the
    same room is not held back, and nothing refused is stored."""
    hs = await make_homeserver(ratelimit={"message": {"per_second": 0.01, "burst": 3}})
    alice, bob = await hs.user("alice"), await hs.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    sent = [await alice.send(room, f"m{i}") for i in range(3)]
    status, resp = await alice.request(
        "PUT", f"/rooms/{quote(room)}/send/m.room.message/flood", {"msgtype": "m.text",
                                                                  "body": "one too many"})
    assert status == 429 and resp["errcode"] == "M_LIMIT_EXCEEDED", resp
    assert resp["retry_after_ms"] > 0
    assert await bob.send(room, "bob is fine")
    bodies = [e["content"].get("body") for e in (await bob.ok(
        "GET", f"/rooms/{quote(room)}/messages", params={"dir": "b", "limit": "20"}))["chunk"]
        if e["type"] == "m.room.message"]
    assert "one too many" not in bodies and len(sent) == 3 and "bob is fine" in bodies


async def test_admin_register_nonce_is_single_use_and_unforgeable(homeserver):
    """The nonce carries its own MAC and expiry (several processes of one server accept it),
    yet is good for one registration here, and a forged or altered one is refused."""
    c = homeserver.client()
    secret = homeserver.config.registration.shared_secret

    async def register(nonce: str, user: str) -> tuple[int, dict]:
        return await c.request("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": user, "password": "pw",
            "mac": admin_mac(secret, nonce, user, "pw", False)})

    nonce = (await c.ok("GET", "/_synapse/admin/v1/register"))["nonce"]
    assert (await register(nonce, "erin"))[0] == 200
    status, body = await register(nonce, "frank")  # used already
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    fresh = (await c.ok("GET", "/_synapse/admin/v1/register"))["nonce"]
    expiry, rand, mac = fresh.split(".")
    for forged in [f"{int(expiry, 16) + 3600:x}.{rand}.{mac}", f"{expiry}.{rand}.{'0' * 32}",
                   "deadbeef", ""]:
        status, body = await register(forged, "frank")
        assert (status, body["errcode"]) == (400, "M_UNKNOWN"), forged
    assert (await register(fresh, "frank"))[0] == 200
