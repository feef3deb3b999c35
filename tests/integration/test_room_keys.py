"""Server-side room key backups over real HTTP: versions (create, current, read, update, delete,
numbers never reused), keys uploaded to the current version (all rooms, a room, a session),
the spec's rule for which of two keys of a session is kept, count and etag, reads and deletes;
and what hostile clients must not achieve: uploads to another version, non-object auth_data,
bodies and keys over the bounds, half-valid uploads, another user's backups. The server cannot
read a key (session_data is encrypted to the backup's key), so the tests use opaque objects."""
from __future__ import annotations

from urllib.parse import quote

from tests.integration.federation_helpers import restart

ALG = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM, ROOM2 = "!room:example.org", "!other:example.org"


def auth_data(tag: str = "k") -> dict:
    return {"public_key": f"pub-{tag}", "signatures": {"@alice:x": {"ed25519:DEV": "sig"}}}


def key(fmi: int = 0, fc: int = 0, verified: bool = False, tag: str = "s") -> dict:
    return {"first_message_index": fmi, "forwarded_count": fc, "is_verified": verified,
            "session_data": {"ephemeral": f"e-{tag}", "ciphertext": f"c-{tag}", "mac": "m"}}


def keys_path(version, room: str | None = None, session: str | None = None) -> str:
    path = "/room_keys/keys"
    if room is not None:
        path += "/" + quote(room)
        if session is not None:
            path += "/" + quote(session)
    return path + ("" if version is None else f"?version={version}")


async def new_version(client, tag: str = "k") -> str:
    got = await client.ok("POST", "/room_keys/version", {"algorithm": ALG,
                                                         "auth_data": auth_data(tag)})
    return got["version"]


async def test_versions_created_read_updated_deleted_never_reused(homeserver):
    alice = await homeserver.user("alice")
    status, err = await alice.request("GET", "/room_keys/version")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")  # none: the spec's answer
    assert await new_version(alice) == "1"
    assert await alice.ok("GET", "/room_keys/version") == {
        "algorithm": ALG, "auth_data": auth_data(), "count": 0,
        "etag": (await alice.ok("GET", "/room_keys/version/1"))["etag"], "version": "1"}
    # Only auth_data may change; the body's version, if given, must be the path's.
    await alice.ok("PUT", "/room_keys/version/1", {"algorithm": ALG, "auth_data": auth_data("2"),
                                                   "version": "1"})
    assert (await alice.ok("GET", "/room_keys/version"))["auth_data"] == auth_data("2")
    for body in ({"algorithm": "other", "auth_data": {}},
                 {"algorithm": ALG, "auth_data": {}, "version": "7"}):
        status, err = await alice.request("PUT", "/room_keys/version/1", body)
        assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    assert (await alice.ok("GET", "/room_keys/version"))["auth_data"] == auth_data("2")
    # A new version becomes current; the old one can still be read.
    assert await new_version(alice, "b") == "2"
    assert (await alice.ok("GET", "/room_keys/version"))["version"] == "2"
    assert (await alice.ok("GET", "/room_keys/version/1"))["auth_data"] == auth_data("2")
    # Deleting the current one makes the previous current; its number is never given again.
    assert await alice.ok("DELETE", "/room_keys/version/2") == {}
    assert (await alice.ok("GET", "/room_keys/version"))["version"] == "1"
    for path in ("/room_keys/version/2", "/room_keys/version/99", "/room_keys/version/abc",
                 "/room_keys/version/-1", "/room_keys/version/0"):
        status, err = await alice.request("GET", path)
        assert (status, err["errcode"]) == (404, "M_NOT_FOUND"), path
    status, err = await alice.request("DELETE", "/room_keys/version/2")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")
    assert await new_version(alice, "c") == "3"
    # Anything else under /room_keys is "not found", not "unrecognised".
    status, err = await alice.request("GET", "/room_keys/nothing")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")


async def test_keys_uploaded_read_replaced_by_better_and_deleted(homeserver):
    alice = await homeserver.user("alice")
    v = await new_version(alice)
    etag0 = (await alice.ok("GET", "/room_keys/version"))["etag"]
    # The three forms of upload: every room, one room, one session.
    got = await alice.ok("PUT", keys_path(v), {"rooms": {ROOM: {"sessions": {
        "s1": key(5, 1, tag="a"), "s2": key(0, 0, tag="b")}}}})
    assert got["count"] == 2 and got["etag"] != etag0
    got = await alice.ok("PUT", keys_path(v, ROOM2), {"sessions": {"s3": key(tag="c")}})
    assert got["count"] == 3
    got = await alice.ok("PUT", keys_path(v, ROOM2, "s4"), key(tag="d"))
    assert got["count"] == 4
    etag = got["etag"]
    info = await alice.ok("GET", "/room_keys/version")
    assert (info["count"], info["etag"]) == (4, etag)
    assert await alice.ok("GET", keys_path(v)) == {"rooms": {
        ROOM: {"sessions": {"s1": key(5, 1, tag="a"), "s2": key(0, 0, tag="b")}},
        ROOM2: {"sessions": {"s3": key(tag="c"), "s4": key(tag="d")}}}}
    assert await alice.ok("GET", keys_path(v, ROOM)) == {
        "sessions": {"s1": key(5, 1, tag="a"), "s2": key(0, 0, tag="b")}}
    assert await alice.ok("GET", keys_path(v, ROOM, "s2")) == key(0, 0, tag="b")
    assert await alice.ok("GET", keys_path(v, "!empty:x")) == {"sessions": {}}
    status, err = await alice.request("GET", keys_path(v, ROOM, "nope"))
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")

    # The spec's order: verified beats unverified, then the lower first_message_index, then
    # the lower forwarded_count. A worse (or equal) key changes nothing, etag included.
    async def put_s1(k: dict) -> dict:
        return await alice.ok("PUT", keys_path(v, ROOM, "s1"), k)

    for worse in (key(6, 0, tag="x"), key(5, 2, tag="x"), key(5, 1, tag="x")):
        assert (await put_s1(worse))["etag"] == etag
    assert await alice.ok("GET", keys_path(v, ROOM, "s1")) == key(5, 1, tag="a")
    steps = [key(5, 0, tag="fc"), key(2, 9, tag="fmi"), key(9, 9, verified=True, tag="ver")]
    for better in steps:
        got = await put_s1(better)
        assert got["etag"] != etag and got["count"] == 4
        etag = got["etag"]
        assert await alice.ok("GET", keys_path(v, ROOM, "s1")) == better
    # Once verified, an unverified key never replaces it, however early it starts.
    assert (await put_s1(key(0, 0, tag="unverified")))["etag"] == etag
    assert await alice.ok("GET", keys_path(v, ROOM, "s1")) == steps[-1]

    # Deletes: one session, one room, everything; count and etag follow.
    got = await alice.ok("DELETE", keys_path(v, ROOM, "s1"))
    assert got["count"] == 3 and got["etag"] != etag
    assert (await alice.ok("DELETE", keys_path(v, ROOM2)))["count"] == 1
    assert await alice.ok("GET", keys_path(v)) == {"rooms": {ROOM: {"sessions": {
        "s2": key(0, 0, tag="b")}}}}
    assert (await alice.ok("DELETE", keys_path(v)))["count"] == 0
    assert await alice.ok("GET", keys_path(v)) == {"rooms": {}}


async def test_uploads_only_to_the_current_version(homeserver):
    alice = await homeserver.user("alice")
    status, err = await alice.request("PUT", keys_path(1, ROOM, "s"), key())
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")  # no backup at all
    old = await new_version(alice)
    await alice.ok("PUT", keys_path(old, ROOM, "s"), key())
    new = await new_version(alice)
    for version in (old, "77", "x"):
        status, err = await alice.request("PUT", keys_path(version, ROOM, "t"), key())
        assert (status, err["errcode"]) == (403, "M_WRONG_ROOM_KEYS_VERSION"), version
        assert err["current_version"] == new
    status, err = await alice.request("PUT", keys_path(None, ROOM, "t"), key())
    assert (status, err["errcode"]) == (400, "M_MISSING_PARAM")
    # The old version keeps its keys and can still be read; the new one has none.
    assert (await alice.ok("GET", f"/room_keys/version/{old}"))["count"] == 1
    assert await alice.ok("GET", keys_path(old, ROOM, "s")) == key()
    assert (await alice.ok("GET", "/room_keys/version"))["count"] == 0
    status, err = await alice.request("GET", keys_path("99"))
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")
    # Deleting a version deletes its keys.
    await alice.ok("DELETE", f"/room_keys/version/{old}")
    status, _ = await alice.request("GET", keys_path(old, ROOM, "s"))
    assert status == 404
    assert homeserver.hs.room_keys.store.count_all(alice.user_id) == 0


async def test_hostile_input_stores_nothing(homeserver):
    alice = await homeserver.user("alice")
    for bad, code in [({"algorithm": ALG, "auth_data": []}, "M_BAD_JSON"),
                      ({"algorithm": ALG, "auth_data": "key"}, "M_BAD_JSON"),
                      ({"algorithm": ALG, "auth_data": 5}, "M_BAD_JSON"),
                      ({"algorithm": ALG}, "M_MISSING_PARAM"),
                      ({"algorithm": 5, "auth_data": {}}, "M_BAD_JSON"),
                      ({"algorithm": "a" * 300, "auth_data": {}}, "M_BAD_JSON"),
                      ({"algorithm": ALG, "auth_data": {"x": "y" * 20000}}, "M_TOO_LARGE")]:
        status, err = await alice.request("POST", "/room_keys/version", bad)
        assert err["errcode"] == code and status in (400, 413), bad
    status, err = await alice.request("POST", "/room_keys/version",
                                      raw=b"{" + b" " * 70000 + b"}")
    assert (status, err["errcode"]) == (413, "M_TOO_LARGE")
    status, _ = await alice.request("GET", "/room_keys/version")
    assert status == 404  # none of those created a backup
    v = await new_version(alice)
    # A non-object auth_data does not replace a good one either.
    status, _ = await alice.request("PUT", f"/room_keys/version/{v}",
                                    {"algorithm": ALG, "auth_data": ["x"]})
    assert status == 400
    assert (await alice.ok("GET", "/room_keys/version"))["auth_data"] == auth_data()

    good = key()
    bad_keys = [
        {**good, "first_message_index": -1}, {**good, "first_message_index": True},
        {**good, "first_message_index": 2 ** 60}, {**good, "forwarded_count": "1"},
        {**good, "is_verified": "yes"}, {**good, "session_data": ["x"]},
        {k: v for k, v in good.items() if k != "session_data"}, "a string",
        {**good, "session_data": {"ciphertext": "c" * 20000}},
    ]
    for bad in bad_keys:
        # A bad key among good ones: the whole upload is refused, nothing stored.
        status, err = await alice.request("PUT", keys_path(v), {"rooms": {ROOM: {"sessions": {
            "good": good, "bad": bad}}}})
        assert status in (400, 413) and err["errcode"] in ("M_BAD_JSON", "M_TOO_LARGE"), bad
    for body in ({"rooms": []}, {"rooms": {ROOM: []}}, {"rooms": {ROOM: {"sessions": 1}}},
                 {"rooms": {"not-a-room": {"sessions": {"s": good}}}},
                 {"rooms": {ROOM: {"sessions": {"x" * 300: good}}}}):
        status, err = await alice.request("PUT", keys_path(v), body)
        assert status == 400, body
    # A body over limits.max_request_bytes: 413 before anything is parsed.
    huge = {"rooms": {ROOM: {"sessions": {f"s{i}": key(tag="p" * 900) for i in range(1200)}}}}
    status, err = await alice.request("PUT", keys_path(v), huge)
    assert (status, err["errcode"]) == (413, "M_TOO_LARGE")
    info = await alice.ok("GET", "/room_keys/version")
    assert info["count"] == 0 and homeserver.hs.room_keys.store.count_all(alice.user_id) == 0
    # The server still serves, and the same user's good upload works.
    assert (await alice.ok("PUT", keys_path(v, ROOM, "good"), good))["count"] == 1


async def test_keys_per_user_are_bounded(homeserver):
    alice = await homeserver.user("alice")
    homeserver.hs.room_keys.max_keys = 5  # the bound (100,000 by default), made small to reach
    v = await new_version(alice)
    await alice.ok("PUT", keys_path(v, ROOM), {"sessions": {f"s{i}": key() for i in range(4)}})
    # Two more would pass the bound: refused whole, nothing stored. One more fits.
    status, err = await alice.request("PUT", keys_path(v, ROOM2), {"sessions": {
        "a": key(), "b": key()}})
    assert (status, err["errcode"]) == (413, "M_TOO_LARGE")
    assert (await alice.ok("GET", "/room_keys/version"))["count"] == 4
    assert (await alice.ok("PUT", keys_path(v, ROOM2, "a"), key()))["count"] == 5
    # Replacing a stored session's key adds none: still allowed at the bound.
    assert (await alice.ok("PUT", keys_path(v, ROOM, "s0"), key(verified=True)))["count"] == 5
    status, _ = await alice.request("PUT", keys_path(v, ROOM, "s9"), key())
    assert status == 413
    # The bound counts every version: a new version does not make room.
    v2 = await new_version(alice)
    status, _ = await alice.request("PUT", keys_path(v2, ROOM, "n"), key())
    assert status == 413
    await alice.ok("DELETE", f"/room_keys/version/{v}")  # deleting the old one does
    assert (await alice.ok("PUT", keys_path(v2, ROOM, "n"), key()))["count"] == 1


async def test_versions_per_user_are_bounded(homeserver):
    alice = await homeserver.user("alice")
    keep = homeserver.hs.room_keys.keep_versions
    for i in range(keep + 5):
        v = await new_version(alice, str(i))
        await alice.ok("PUT", keys_path(v, ROOM, "s"), key())
    assert v == str(keep + 5)
    # The newest ``keep`` versions live; the older ones went with their keys.
    assert (await alice.ok("GET", f"/room_keys/version/{keep + 5 - keep + 1}"))["count"] == 1
    status, _ = await alice.request("GET", f"/room_keys/version/{keep + 5 - keep}")
    assert status == 404
    assert homeserver.hs.room_keys.store.count_all(alice.user_id) == keep
    rows = homeserver.hs.db.execute("SELECT COUNT(*) FROM room_key_versions WHERE user_id = ?",
                                    (alice.user_id,)).fetchone()[0]
    assert rows <= keep + 1
    # Created and deleted many times: the rows do not pile up, the numbers still go up.
    for _ in range(30):
        v = await new_version(alice)
        await alice.ok("DELETE", f"/room_keys/version/{v}")
    assert await new_version(alice) == str(keep + 5 + 31)
    rows = homeserver.hs.db.execute("SELECT COUNT(*) FROM room_key_versions WHERE user_id = ?",
                                    (alice.user_id,)).fetchone()[0]
    assert rows <= keep + 1


async def test_other_users_backups_are_invisible(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    v = await new_version(alice)
    await alice.ok("PUT", keys_path(v, ROOM, "secret"), key(tag="alice"))
    for method, path, body in [
            ("GET", "/room_keys/version", None), ("GET", f"/room_keys/version/{v}", None),
            ("GET", keys_path(v), None), ("GET", keys_path(v, ROOM), None),
            ("GET", keys_path(v, ROOM, "secret"), None), ("DELETE", keys_path(v), None),
            ("DELETE", f"/room_keys/version/{v}", None),
            ("PUT", f"/room_keys/version/{v}", {"algorithm": ALG, "auth_data": {}}),
            ("PUT", keys_path(v, ROOM, "secret"), key(verified=True, tag="bob"))]:
        status, err = await bob.request(method, path, body)
        assert (status, err["errcode"]) == (404, "M_NOT_FOUND"), (method, path)
    # bob's own backup is his own, numbered from 1, and sees nothing of alice's.
    assert await new_version(bob) == "1"
    assert await bob.ok("GET", keys_path("1")) == {"rooms": {}}
    status, _ = await bob.request("PUT", keys_path("1", ROOM, "secret"), key(verified=True))
    assert status == 200
    assert await alice.ok("GET", keys_path(v, ROOM, "secret")) == key(tag="alice")
    assert (await alice.ok("GET", "/room_keys/version"))["auth_data"] == auth_data()
    # And no token, no backup.
    status, err = await alice.request("GET", "/room_keys/version", token=False)
    assert (status, err["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_backup_survives_a_restart(make_homeserver):
    a = await make_homeserver("a")
    alice = await a.user("alice")
    v = await new_version(alice)
    etag = (await alice.ok("PUT", keys_path(v, ROOM, "s"), key(3, 1)))["etag"]
    await a.server.close()
    a = await restart(make_homeserver, a, "a")
    alice.base = a.url
    info = await alice.ok("GET", "/room_keys/version")
    assert (info["version"], info["count"], info["etag"]) == (v, 1, etag)
    assert await alice.ok("GET", keys_path(v, ROOM, "s")) == key(3, 1)
