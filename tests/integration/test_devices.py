"""Devices over real HTTP: the device a login names is kept and listed, renamed, and deleted
behind user-interactive auth (m.login.password), after which its tokens stop working; nobody
touches another user's devices; devices of tokens from before the devices table appear."""
from __future__ import annotations

import sqlite3
from urllib.parse import quote

import pytest

from homeserver.storage.database import Database


async def login(server, user: str, device_id: str | None = None, **extra):
    c = server.client()
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": "correct horse", **extra}
    if device_id:
        body["device_id"] = device_id
    data = await c.ok("POST", "/login", body)
    c.token, c.user_id = data["access_token"], data["user_id"]
    return c, data


def password_auth(client, session, password="correct horse") -> dict:
    return {"type": "m.login.password", "session": session, "password": password,
            "identifier": {"type": "m.id.user", "user": client.user_id}}


async def test_login_keeps_device_id_and_name_listed_and_renamed(homeserver):
    await homeserver.user("alice")
    phone, data = await login(homeserver, "alice", "PHONE",
                              initial_device_display_name="Alice's phone")
    assert data["device_id"] == "PHONE"
    assert (await phone.ok("GET", "/account/whoami"))["device_id"] == "PHONE"
    devices = (await phone.ok("GET", "/devices"))["devices"]
    by_id = {d["device_id"]: d for d in devices}
    assert set(by_id) >= {"PHONE"} and len(by_id) == 2  # the registration's device too
    assert by_id["PHONE"]["display_name"] == "Alice's phone"
    assert isinstance(by_id["PHONE"]["last_seen_ts"], int)
    assert by_id["PHONE"]["last_seen_ip"] == "127.0.0.1"

    await phone.ok("PUT", "/devices/PHONE", {"display_name": "Work phone"})
    assert (await phone.ok("GET", "/devices/PHONE"))["display_name"] == "Work phone"
    for bad in ({"display_name": "x" * 101}, {"display_name": 5}):
        status, body = await phone.request("PUT", "/devices/PHONE", bad)
        assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    assert (await phone.ok("GET", "/devices/PHONE"))["display_name"] == "Work phone"
    status, body = await phone.request("GET", "/devices/NOPE")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"

    # Logging in again on the same device replaces its token; the name stays.
    again, data = await login(homeserver, "alice", "PHONE",
                              initial_device_display_name="ignored")
    assert data["device_id"] == "PHONE"
    status, body = await phone.request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    devices = (await again.ok("GET", "/devices"))["devices"]
    assert [d["display_name"] for d in devices if d["device_id"] == "PHONE"] == ["Work phone"]
    assert len(devices) == 2


async def test_delete_device_needs_password_and_revokes_its_tokens(homeserver):
    alice = await homeserver.user("alice")
    laptop, _ = await login(homeserver, "alice", "LAPTOP")
    path = "/devices/LAPTOP"
    status, body = await alice.request("DELETE", path)
    assert status == 401
    assert body["flows"] == [{"stages": ["m.login.password"]}] and body["params"] == {}
    session = body["session"]
    assert isinstance(session, str) and session
    assert (await laptop.ok("GET", "/account/whoami"))["device_id"] == "LAPTOP"

    # A wrong password: still 401, now with M_FORBIDDEN, and nothing deleted.
    status, body = await alice.request("DELETE", path,
                                       {"auth": password_auth(alice, session, "wrong")})
    assert status == 401 and body["errcode"] == "M_FORBIDDEN" and body["session"] == session
    assert (await laptop.ok("GET", "/account/whoami"))["device_id"] == "LAPTOP"

    # The session is bound to this request: it does not authorise deleting another device.
    status, body = await alice.request("POST", "/delete_devices", {
        "devices": [alice_device := (await alice.ok("GET", "/account/whoami"))["device_id"]],
        "auth": password_auth(alice, session)})
    assert status == 403
    assert alice_device in {d["device_id"] for d in
                            (await alice.ok("GET", "/devices"))["devices"]}

    await alice.ok("DELETE", path, {"auth": password_auth(alice, session)})
    status, body = await laptop.request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    assert "LAPTOP" not in {d["device_id"] for d in (await alice.ok("GET", "/devices"))["devices"]}
    # A used session is gone.
    status, _ = await alice.request("DELETE", f"/devices/{quote(alice_device)}",
                                    {"auth": password_auth(alice, session)})
    assert status in (400, 403)


async def test_other_users_devices_are_not_found(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    bobs = (await bob.ok("GET", "/account/whoami"))["device_id"]
    for method, body in (("GET", None), ("PUT", {"display_name": "mine now"}),
                         ("DELETE", {})):
        status, data = await alice.request(method, f"/devices/{quote(bobs)}", body)
        assert status == 404 and data["errcode"] == "M_NOT_FOUND", (method, data)
    # /delete_devices with Bob's device ID deletes nothing of Bob's.
    status, body = await alice.request("POST", "/delete_devices", {"devices": [bobs]})
    await alice.ok("POST", "/delete_devices", {"devices": [bobs],
                                               "auth": password_auth(alice, body["session"])})
    assert (await bob.ok("GET", "/account/whoami"))["device_id"] == bobs
    assert [d["device_id"] for d in (await bob.ok("GET", "/devices"))["devices"]] == [bobs]


async def test_delete_devices_removes_several(homeserver):
    alice = await homeserver.user("alice")
    one, _ = await login(homeserver, "alice", "ONE")
    two, _ = await login(homeserver, "alice", "TWO")
    status, body = await alice.request("POST", "/delete_devices", {"devices": ["ONE", "TWO"]})
    assert status == 401
    for bad in ({"devices": "ONE"}, {"devices": [1]}):
        status, err = await alice.request("POST", "/delete_devices", bad)
        assert status == 400 and err["errcode"] == "M_BAD_JSON"
    await alice.ok("POST", "/delete_devices", {"devices": ["TWO", "ONE"],
                                               "auth": password_auth(alice, body["session"])})
    for c in (one, two):
        status, err = await c.request("GET", "/devices")
        assert status == 401 and err["errcode"] == "M_UNKNOWN_TOKEN"
    assert len((await alice.ok("GET", "/devices"))["devices"]) == 1


@pytest.mark.sqlite_only(reason="edits an old SQLite file with sqlite3 before migrating it")
async def test_devices_of_tokens_from_before_the_migration_appear(tmp_path):
    path = tmp_path / "old.db"
    db = Database(path)
    db.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM schema_migrations WHERE version = 9")
    conn.executescript("DROP TABLE devices; DROP TABLE presence;"
                       " DROP INDEX access_tokens_device;")
    conn.execute("INSERT INTO users (user_id, created_ts) VALUES ('@old:x', 1)")
    conn.executemany("INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts)"
                     " VALUES (?, '@old:x', ?, ?)",
                     [(b"a", "DEV1", 5), (b"b", "DEV1", 3), (b"c", "DEV2", 7)])
    conn.commit()
    conn.close()
    db = Database(path)
    rows = db.execute("SELECT device_id, created_ts FROM devices WHERE user_id = '@old:x'"
                      " ORDER BY device_id").fetchall()
    db.close()
    assert rows == [("DEV1", 3), ("DEV2", 7)]
