"""Over real HTTP: /voip/turnServer (empty, and configured with credentials a real coturn
accepts), the well-known files from config, event and room reports stored for admins (and bad
reports refused with nothing stored), and unsigned.age / redacted_because on served events."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import socket
import struct
import time
from urllib.parse import quote

import pytest

from tests.integration.federation_helpers import eventually, start_servers

TURN_SECRET = "turn-test-secret"


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


# /voip/turnServer --------------------------------------------------------------------------

async def test_turn_server_empty_when_not_configured(homeserver):
    alice = await homeserver.user("alice")
    assert await alice.ok("GET", "/voip/turnServer") == {}
    status, data = await alice.request("GET", "/voip/turnServer", token=False)
    assert (status, data["errcode"]) == (401, "M_MISSING_TOKEN")


async def test_turn_server_credentials(make_homeserver):
    uris = ["turn:turn.example.org?transport=udp", "turns:turn.example.org:5349"]
    hs = await make_homeserver("a", turn={"uris": uris, "shared_secret": TURN_SECRET,
                                          "user_lifetime_seconds": 600})
    alice = await hs.user("alice")
    before = int(time.time())
    got = await alice.ok("GET", "/voip/turnServer")
    assert got["uris"] == uris and got["ttl"] == 600
    expiry, _, user = got["username"].partition(":")
    assert user == alice.user_id
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    expected = base64.b64encode(hmac.new(TURN_SECRET.encode(), got["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert got["password"] == expected


def _attr(atype: int, value: bytes) -> bytes:
    return struct.pack("!HH", atype, len(value)) + value + b"\0" * (-len(value) % 4)


def _parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    mtype, length, _, _ = struct.unpack_from("!HHI12s", data)
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        atype, alen = struct.unpack_from("!HH", data, off)
        attrs[atype] = data[off + 4:off + 4 + alen]
        off += 4 + alen + (-alen % 4)
    return mtype, attrs


def turn_allocate(port: int, username: str, password: str) -> int:
    """A TURN Allocate (RFC 8656) with long-term credentials against 127.0.0.1:port; the STUN
    message type of the answer: 0x0103 success, 0x0113 error."""
    cookie = 0x2112A442
    transport = _attr(0x0019, b"\x11\0\0\0")  # REQUESTED-TRANSPORT: UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(struct.pack("!HHI12s", 0x0003, len(transport), cookie, os.urandom(12))
                 + transport, ("127.0.0.1", port))
        _, attrs = _parse(s.recv(4096))  # 401 with REALM and NONCE
        realm, nonce = attrs[0x0014], attrs[0x0015]
        body = (transport + _attr(0x0006, username.encode()) + _attr(0x0014, realm)
                + _attr(0x0015, nonce))
        head = struct.pack("!HHI12s", 0x0003, len(body) + 24, cookie, os.urandom(12))
        key = hashlib.md5(username.encode() + b":" + realm + b":" + password.encode()).digest()
        integrity = hmac.new(key, head + body, hashlib.sha1).digest()
        s.sendto(head + body + _attr(0x0008, integrity), ("127.0.0.1", port))
        mtype, _ = _parse(s.recv(4096))
        return mtype


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn is not installed")
async def test_real_coturn_accepts_the_credentials(make_homeserver, tmp_path):
    port = free_udp_port()
    log_file = (tmp_path / "turn.log").open("wb")
    coturn = await asyncio.create_subprocess_exec(
        "turnserver", "-n", "--listening-ip", "127.0.0.1", "--listening-port", str(port),
        "--relay-ip", "127.0.0.1", "--min-port", "49160", "--max-port", "49400",
        "--use-auth-secret", "--static-auth-secret", TURN_SECRET, "--realm", "example.org",
        "--no-tls", "--no-dtls", "--no-tcp", "--no-cli", "--userdb", str(tmp_path / "turndb"),
        "--pidfile", str(tmp_path / "turn.pid"), "--log-file", "stdout", "--simple-log",
        stdout=log_file, stderr=asyncio.subprocess.STDOUT)
    try:
        hs = await make_homeserver("a", turn={"uris": [f"turn:127.0.0.1:{port}"],
                                              "shared_secret": TURN_SECRET})
        alice = await hs.user("alice")
        creds = await alice.ok("GET", "/voip/turnServer")

        async def allocate(username, password):
            return await asyncio.to_thread(turn_allocate, port, username, password)

        async def coturn_up():
            try:
                return await allocate(creds["username"], creds["password"])
            except OSError:  # not listening yet: the ICMP refusal, or no answer
                return None
        # coturn can take a while to listen on a loaded machine; if it never answers, say why.
        try:
            assert await eventually(coturn_up, timeout=30) == 0x0103  # Allocate success
        except AssertionError:
            log = (tmp_path / "turn.log").read_text(errors="replace")[-2000:]
            raise AssertionError(
                f"coturn (exit {coturn.returncode}) never allocated:\n{log}") from None
        # coturn checks what we computed: a wrong password or an expired username is refused.
        assert await allocate(creds["username"], "x" + creds["password"]) == 0x0113
        expired = f"{int(time.time()) - 10}:{alice.user_id}"
        password = base64.b64encode(hmac.new(TURN_SECRET.encode(), expired.encode(),
                                             hashlib.sha1).digest()).decode()
        assert await allocate(expired, password) == 0x0113
    finally:
        coturn.terminate()
        await coturn.wait()
        log_file.close()


# /.well-known/matrix/* ---------------------------------------------------------------------

async def get_well_known(hs, which: str):
    async with hs.session.get(f"{hs.url}/.well-known/matrix/{which}") as resp:
        return resp.status, resp.headers, await resp.json(content_type=None)


async def test_well_known_unset_is_404(homeserver):
    for which in ("client", "server"):
        status, headers, body = await get_well_known(homeserver, which)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
        assert headers["Content-Type"].startswith("application/json")
        assert headers["Access-Control-Allow-Origin"] == "*"


async def test_well_known_from_config(make_homeserver):
    hs = await make_homeserver("a", public_baseurl="https://matrix.example.org/")
    status, headers, body = await get_well_known(hs, "client")
    assert status == 200 and body == {"m.homeserver": {"base_url": "https://matrix.example.org/"}}
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert (await get_well_known(hs, "server"))[0] == 404

    hs2 = await make_homeserver("b", public_baseurl="https://matrix.example.org/", well_known={
        "client_base_url": "https://client.example.org", "server": "matrix.example.org:443",
        "identity_server": "https://id.example.org"})
    status, headers, body = await get_well_known(hs2, "client")
    assert status == 200 and body == {"m.homeserver": {"base_url": "https://client.example.org"},
                                      "m.identity_server": {"base_url": "https://id.example.org"}}
    status, headers, body = await get_well_known(hs2, "server")
    assert status == 200 and body == {"m.server": "matrix.example.org:443"}
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    # CORS preflight, as a web client on another origin sends it.
    async with hs2.session.options(f"{hs2.url}/.well-known/matrix/client") as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "*"


# reports -----------------------------------------------------------------------------------

async def test_event_report_stored_for_admins(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    eid = await alice.send(room, "something nasty")
    await bob.ok("POST", f"{r(room)}/report/{quote(eid)}", {"reason": "spam", "score": -100})
    await bob.ok("POST", f"{r(room)}/report/{quote(eid)}", {})  # both fields are optional
    await alice.ok("POST", f"{r(room)}/report", {"reason": "the whole room"})
    reports = homeserver.hs.reports.list_reports()
    assert [(x["room_id"], x["event_id"], x["user_id"], x["reason"], x["score"])
            for x in reports] == [
        (room, None, alice.user_id, "the whole room", None),
        (room, eid, bob.user_id, None, None),
        (room, eid, bob.user_id, "spam", -100),
    ]
    assert all(abs(x["received_ts"] - time.time() * 1000) < 60_000 for x in reports)
    assert homeserver.hs.reports.list_reports(limit=1, before_id=reports[0]["id"]) \
        == [reports[1]]


async def test_bad_or_unauthorised_reports_store_nothing(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")  # not in the room
    room = await alice.create_room(preset="public_chat")
    other = await alice.create_room(preset="public_chat")
    await bob.join(room)
    eid = await alice.send(room, "hello")
    elsewhere = await alice.send(other, "in the other room")
    report = f"{r(room)}/report/{quote(eid)}"
    cases = [
        (carol, report, {"reason": "x"}, 404, "M_NOT_FOUND"),  # not joined
        (bob, f"{r(room)}/report/{quote(elsewhere)}", {}, 404, "M_NOT_FOUND"),  # other room
        (bob, f"{r(room)}/report/{quote('$nope')}", {}, 404, "M_NOT_FOUND"),
        (bob, f"{r('!nope:example.org')}/report/{quote(eid)}", {}, 404, "M_NOT_FOUND"),
        (bob, f"{r('not a room')}/report/{quote(eid)}", {}, 404, "M_NOT_FOUND"),
        (bob, f"{r(room)}/report/{'x' * 300}", {}, 404, "M_NOT_FOUND"),
        (bob, report, {"reason": 5}, 400, "M_BAD_JSON"),
        (bob, report, {"reason": "x" * 1001}, 400, "M_INVALID_PARAM"),
        (bob, report, {"score": 1}, 400, "M_INVALID_PARAM"),
        (bob, report, {"score": -101}, 400, "M_INVALID_PARAM"),
        (bob, report, {"score": "-5"}, 400, "M_BAD_JSON"),
        (bob, report, {"score": True}, 400, "M_BAD_JSON"),
        (bob, report, {"score": -5.5}, 400, "M_BAD_JSON"),
        (bob, report, [1], 400, "M_BAD_JSON"),
        (bob, f"{r(room)}/report", {}, 400, "M_MISSING_PARAM"),  # a room report needs a reason
        (bob, f"{r(room)}/report", {"reason": ["x"]}, 400, "M_BAD_JSON"),
        (bob, f"{r('!nope:example.org')}/report", {"reason": "x"}, 404, "M_NOT_FOUND"),
    ]
    for who, path, body, status, errcode in cases:
        got_status, data = await who.request("POST", path, body)
        assert (got_status, data.get("errcode")) == (status, errcode), (path, body)
    status, data = await bob.request("POST", report, raw=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert (status, data["errcode"]) == (400, "M_NOT_JSON")
    status, data = await bob.request("POST", report, {}, token=False)
    assert (status, data["errcode"]) == (401, "M_MISSING_TOKEN")
    assert homeserver.hs.reports.list_reports() == []
    # The server keeps serving: a good report after all that is stored.
    await bob.ok("POST", report, {"reason": "ok now"})
    assert len(homeserver.hs.reports.list_reports()) == 1


# unsigned.age and redacted_because ---------------------------------------------------------

def check_redacted(ev: dict, redaction_id: str, sender: str) -> None:
    assert ev["content"] == {}
    because = ev["unsigned"]["redacted_because"]
    assert because["event_id"] == redaction_id and because["sender"] == sender
    assert because["type"] == "m.room.redaction" and because["redacts"] == ev["event_id"]
    assert because["content"]["reason"] == "rude"
    assert 0 <= because["unsigned"]["age"] < 60_000
    assert 0 <= ev["unsigned"]["age"] < 60_000


async def test_age_and_redacted_because_locally_and_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    eid = await alice.send(room, "oops")
    await asyncio.sleep(0.3)
    redaction = (await alice.ok("PUT", f"{r(room)}/redact/{quote(eid)}/t1",
                                {"reason": "rude"}))["event_id"]

    async def served(client) -> list[dict]:
        sync = await client.sync()
        timeline = sync["rooms"]["join"][room]["timeline"]["events"]
        msgs = (await client.messages(room, dir="b", limit="50"))["chunk"]
        single = await client.ok("GET", f"{r(room)}/event/{quote(eid)}")
        return [e for e in timeline + msgs if e["event_id"] == eid] + [single]

    for ev in await served(alice):
        check_redacted(ev, redaction, alice.user_id)

    async def bob_sees_it_redacted():
        evs = await served(bob)
        return all(e["content"] == {} for e in evs) and evs
    bobs = await eventually(bob_sees_it_redacted)
    assert len(bobs) == 3  # in his sync, his /messages and /event
    for ev in bobs:
        check_redacted(ev, redaction, alice.user_id)
    # Age is the time since it was sent: it grows.
    first = (await served(alice))[-1]["unsigned"]["age"]
    await asyncio.sleep(0.3)
    assert (await served(alice))[-1]["unsigned"]["age"] >= first + 250
    # Read back from the database (not the in-memory cache), as after a restart.
    hs["a"].hs.events._events.clear()
    for ev in await served(alice):
        check_redacted(ev, redaction, alice.user_id)
