"""Hostile federation requests against a real server A.

B is a real, key-publishing homeserver whose identity (server name and signing key) the
attacker uses; E ("evil") is a tiny aiohttp server that publishes its own ed25519 key, under the
same key ID as B's, so that a key cache keyed by key ID alone would mix the two up. Every request
is built here byte by byte (aiohttp + X-Matrix + event signing), so nothing is repaired on the
way. Each case asserts the HTTP status and errcode (or, for PDUs inside a transaction, the
per-PDU error of the 200 answer); afterwards A must still serve, must have logged no internal
error, and its rooms, seen through its own user's client API, must be exactly as before (or,
for the few cases where something legitimately happens, changed exactly as stated).

The servers are started once for the module (a fresh pair per case would take half a minute);
every case compares A against a snapshot taken just before it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
import yarl

from federation.signing import (
    SigningKey,
    add_content_hash,
    compute_event_id,
    encode_base64,
    sign_event,
)
from federation.xmatrix import XMatrixAuth, sign_request
from tests.integration.federation_helpers import ModuleServers, eventually, start_servers
from tests.integration.keyed_server import KeyedServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

MSG = "m.room.message"
F1 = "/_matrix/federation/v1"
F2 = "/_matrix/federation/v2"


def q(s: str) -> str:
    return quote(s, safe="")


def lenient_json(value: Any) -> bytes:
    """What a Synapse-style encoder (python canonicaljson) produces: sorted, compact, but with
    floats, big integers and deep nesting left in, so we can sign what ours refuses to."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def lenient_sig(key: SigningKey, obj: dict) -> str:
    unsigned = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return encode_base64(key.sign(lenient_json(unsigned)))


# -- the evil server ---------------------------------------------------------------------------

class EvilServer(KeyedServer):
    """Publishes a key for its server name and swallows whatever is sent to it."""

    def __init__(self, key: SigningKey):
        super().__init__(key=key)


# -- the world every case starts from -----------------------------------------------------------

@dataclass
class World:
    a: Any  # ServerHandle of A, the server under attack
    b: Any  # ServerHandle of B, whose identity the attacker uses
    evil: EvilServer
    session: aiohttp.ClientSession
    alice: Any  # Client of A's local user, creator of `room`
    bob: Any  # Client of B's user, joined to `room`
    room: str  # hosted by A, public; alice and bob are in it
    b_room: str  # hosted by B; bob, alice and mallory (on E) are in it

    @property
    def A(self) -> str:
        return self.a.server_name

    @property
    def B(self) -> str:
        return self.b.server_name

    @property
    def E(self) -> str:
        return self.evil.name

    @property
    def mallory(self) -> str:
        return f"@mallory:{self.E}"

    @property
    def b_key(self) -> SigningKey:
        return self.b.hs.signing_key

    def key_of(self, server: str) -> SigningKey:
        return {self.B: self.b_key, self.E: self.evil.key}[server]

    # requests ------------------------------------------------------------------------------

    async def fed(self, method: str, path: str, body: Any = None, *, origin: str | None = None,
                  key: SigningKey | None = None, destination: str | None = None,
                  signed_path: str | None = None, signed_body: Any = "same",
                  auth: str | None = "sign", raw: bytes | None = None,
                  headers: dict | None = None, to: Any = None) -> tuple[int, Any]:
        """Send a federation request to A (or ``to``), X-Matrix signed as ``origin`` (default
        B) unless ``auth`` is given (None: no header). ``signed_path``/``signed_body`` sign
        something other than what is sent; ``raw`` sends those exact bytes."""
        to = to or self.a
        origin = origin or self.B
        key = key or self.key_of(origin)
        destination = destination or to.server_name
        hdrs = dict(headers or {})
        if signed_body == "same":
            signed_body = body
        if auth == "sign":
            try:
                hdrs["Authorization"] = sign_request(key, method, signed_path or path, origin,
                                                     destination, signed_body)
            except ValueError:  # not canonical JSON: sign it as a lenient encoder would
                obj = {"method": method, "uri": signed_path or path, "origin": origin,
                       "destination": destination, "content": signed_body}
                hdrs["Authorization"] = str(XMatrixAuth(origin=origin, key=key.key_id,
                                                        sig=lenient_sig(key, obj),
                                                        destination=destination))
        elif auth is not None:
            hdrs["Authorization"] = auth
        data = raw
        if data is None and body is not None:
            data = lenient_json(body)
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        url = yarl.URL(to.url + path, encoded=True)  # byte for byte as signed
        async with self.session.request(method, url, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, {"_text": text}

    async def send_txn(self, pdus: list, edus: list | None = None, *, txn_id: str | None = None,
                       origin: str | None = None, **kw) -> tuple[int, Any]:
        origin = origin or self.B
        body = {"origin": origin, "origin_server_ts": int(time.time() * 1000), "pdus": pdus,
                "edus": edus or []}
        return await self.fed("PUT", f"{F1}/send/{txn_id or uuid.uuid4().hex}", body,
                              origin=origin, **kw)

    # events --------------------------------------------------------------------------------

    def pdu(self, etype: str = MSG, content: dict | None = None, *, sender: str | None = None,
            state_key: str | None = None, room: str | None = None, signer: str | None = None,
            **fields) -> dict:
        """A correctly hashed and signed PDU (from bob, signed by B, by default) that follows
        the room's latest event on A; ``fields`` override or add top-level keys before hashing
        (a value of None deletes the key)."""
        room = room or self.room
        sender = sender or self.bob.user_id
        latest = self.a.hs.events.latest_event(room)
        ev = {"room_id": room, "sender": sender, "type": etype,
              "content": {"msgtype": "m.text", "body": "hi"} if content is None else content,
              "origin_server_ts": int(time.time() * 1000),
              "depth": min(latest[1] + 1, 2**53 - 1) if latest else 1,
              "prev_events": [latest[0]] if latest else [], "auth_events": []}
        if state_key is not None:
            ev["state_key"] = state_key
        for k, v in fields.items():
            if v is None:
                ev.pop(k, None)
            else:
                ev[k] = v
        # The content hash as a lenient encoder computes it (ours refuses floats etc.); the
        # signature covers the redacted event, which is canonical for a message.
        stripped = {k: v for k, v in ev.items() if k not in ("unsigned", "signatures", "hashes")}
        ev["hashes"] = {"sha256": encode_base64(hashlib.sha256(lenient_json(stripped)).digest())}
        signer = signer or sender.split(":", 1)[1]
        return sign_event(ev, signer, self.key_of(signer))

    def member_event(self, user_id: str, membership: str = "join", **kw) -> dict:
        return self.pdu("m.room.member", {"membership": membership}, sender=kw.pop(
            "sender", user_id), state_key=user_id, **kw)

    async def evil_joins_b_room(self) -> None:
        """E's user joins B's room the proper way: make_join and send_join, signed by E."""
        status, made = await self.fed(
            "GET", f"{F1}/make_join/{q(self.b_room)}/{q(self.mallory)}?ver=org.audiorooms.1",
            origin=self.E, to=self.b)
        assert status == 200, made
        ev = {k: made["event"][k] for k in ("room_id", "sender", "type", "state_key", "depth",
                                            "prev_events", "auth_events", "content")}
        ev["origin_server_ts"] = int(time.time() * 1000)
        ev = sign_event(add_content_hash(ev), self.E, self.evil.key)
        status, sent = await self.fed(
            "PUT", f"{F2}/send_join/{q(self.b_room)}/{q(compute_event_id(ev))}", ev,
            origin=self.E, to=self.b)
        assert status == 200, sent

    # what A's own user sees ----------------------------------------------------------------

    async def joined_on_a(self, room: str, user_id: str) -> bool:
        members = await self.alice.ok("GET", f"/rooms/{q(room)}/joined_members")
        return user_id in members["joined"]

    async def snapshot(self) -> dict:
        out = {}
        for room in (self.room, self.b_room):
            msgs = await self.alice.messages(room, dir="b", limit="1000")
            state = await self.alice.ok("GET", f"/rooms/{q(room)}/state")
            members = await self.alice.ok("GET", f"/rooms/{q(room)}/joined_members")
            out[room] = {
                "timeline": [e["event_id"] for e in reversed(msgs["chunk"])],
                "bodies": [e["content"].get("body") for e in reversed(msgs["chunk"])
                           if e["type"] == MSG],
                "state": sorted((e["type"], e["state_key"], e["event_id"]) for e in state),
                "members": sorted(members["joined"])}
        return out

    async def still_serving(self) -> None:
        status, body = await self.fed("GET", F1 + "/version")
        assert status == 200 and body["server"]["name"], body
        async with self.session.get(self.a.url + "/_matrix/client/versions") as resp:
            assert resp.status == 200
        # A can still order its room: its own user's message goes through.
        await self.alice.send(self.room, "still alive")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory):
    """One world for all cases (they are many; each checks A against its own snapshot)."""
    tmp = tmp_path_factory.mktemp("hostile")
    async with aiohttp.ClientSession() as session:
        servers = ModuleServers(tmp, session)

        try:
            hs = await start_servers(servers.make_homeserver, names=("a", "b"))
            a, b = hs["a"], hs["b"]
            evil = EvilServer(SigningKey.generate(b.hs.signing_key.version))  # B's key ID
            await servers.start(evil.server)
            for server in (a, b):  # what federation.servers would say: where E is
                server.hs.federation_client.servers[evil.name] = evil.url
            alice = await a.user("alice")
            bob = await b.user("bob")
            room = await alice.create_room(preset="public_chat", name="Hostile")
            await bob.join(room)
            await alice.send(room, "hello")
            # A room hosted by B that A is resident in, with a member on E (joined via B).
            b_room = await bob.create_room(preset="public_chat", name="On B")
            await alice.join(b_room)
            w = World(a, b, evil, session, alice, bob, room, b_room)
            await w.evil_joins_b_room()
            await eventually(lambda: w.joined_on_a(b_room, w.mallory))
            yield w
        finally:
            await servers.close()


# -- the cases ---------------------------------------------------------------------------------

Check = Callable[[World, dict, dict, Any], Awaitable[None]]


@dataclass
class Case:
    id: str
    send: Callable[[World], Awaitable[tuple[int, Any]]]
    status: int
    errcode: str | None = None
    error: str | None = None  # substring of the error message (why it was refused)
    pdu_error: str | None = None  # substring of the per-PDU error of the only PDU sent
    check: Check | None = None  # what may change on A; default: nothing at all


def txn_of(make_pdu: Callable[[World], Any], **kw):
    async def send(w: World):
        extra = {k: (v(w) if callable(v) else v) for k, v in kw.items()}
        return await w.send_txn([make_pdu(w)], **extra)
    return send


def req(method: str, path: Callable[[World], str] | str, body=None, **kw):
    async def send(w: World):
        p = path(w) if callable(path) else path
        b = body(w) if callable(body) else body
        extra = {k: (v(w) if callable(v) else v) for k, v in kw.items()}
        return await w.fed(method, p, b, **extra)
    return send


def version_req(**kw):
    return req("GET", F1 + "/version", **kw)


def altered(pdu: dict, **changes) -> dict:
    """``pdu`` with ``changes`` made after it was hashed and signed."""
    return {**pdu, **changes}


def nested(levels: int) -> dict:
    value: dict = {"x": 1}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


async def _unchanged(w: World, before: dict, after: dict, resp: Any) -> None:
    assert after == before


async def _replayed(w: World):
    pdu = w.pdu(content={"msgtype": "m.text", "body": "replayed once"})
    txn = uuid.uuid4().hex
    first = await w.send_txn([pdu], txn_id=txn)
    second = await w.send_txn([pdu], txn_id=txn)
    assert first == second, (first, second)  # the same answer
    return second


async def _resent_in_new_txn(w: World):
    pdu = w.pdu(content={"msgtype": "m.text", "body": "resent once"})
    first = await w.send_txn([pdu])
    second = await w.send_txn([pdu])
    assert first == second, (first, second)
    return second


def _applied_once(body: str, in_b_room: bool = False) -> Check:
    async def check(w: World, before: dict, after: dict, resp: Any) -> None:
        assert resp[1]["pdus"] and all(r == {} for r in resp[1]["pdus"].values()), resp
        changed = w.b_room if in_b_room else w.room
        b, a = before[changed], after[changed]
        assert a["bodies"] == b["bodies"] + [body]  # exactly once
        assert a["timeline"] == b["timeline"] + list(resp[1]["pdus"])
        assert a["state"] == b["state"] and a["members"] == b["members"]
        assert all(after[r] == before[r] for r in before if r != changed)
    return check


async def _check_depth_limit(w: World, before: dict, after: dict, resp: Any) -> None:
    # The host assigns depth (one more than the event's prev_events), so the deep event is
    # refused and nothing changes; A's own next events and join templates follow the room.
    await _unchanged(w, before, after, resp)
    depth = w.a.hs.events.latest_event(w.room)[1]
    await w.alice.send(w.room, "after the deep one")  # A can still build events...
    assert w.a.hs.events.latest_event(w.room)[1] == depth + 1 < 2**53 - 1
    status, made = await w.fed(  # ...and join templates
        "GET", f"{F1}/make_join/{q(w.room)}/{q('@newbie:' + w.B)}?ver=org.audiorooms.1")
    assert status == 200 and made["event"]["depth"] == depth + 2, made


async def _bad_hash(w: World):
    pdu = w.pdu(content={"msgtype": "m.text", "body": "what B signed"})
    # The signature covers the redacted event (a message keeps no content), so it is still
    # valid after the content is swapped; only the content hash no longer matches.
    return await w.send_txn([altered(pdu, content={"msgtype": "m.text", "body": "swapped"})])


async def _check_bad_hash(w: World, before: dict, after: dict, resp: Any) -> None:
    # Spec: an event whose content hash does not match is redacted and processed as redacted.
    # A redacted m.room.message has empty content, which the room's rules allow, so A accepts
    # and orders the event with its content stripped: no body, neither signed nor swapped,
    # is ever shown.
    (event_id, result), = resp[1]["pdus"].items()
    assert result == {}, result
    b, a = before[w.room], after[w.room]
    assert a["timeline"] == b["timeline"] + [event_id]
    assert a["bodies"] == b["bodies"] + [None]
    assert a["state"] == b["state"] and after[w.b_room] == before[w.b_room]
    ev = await w.alice.ok("GET", f"/rooms/{q(w.room)}/event/{q(event_id)}")
    assert ev["content"] == {} and ev["sender"] == w.bob.user_id and ev["type"] == MSG


def _txn_origin_mismatch(w: World):
    body = {"origin": w.E, "origin_server_ts": 1, "pdus": [w.pdu()], "edus": []}
    return w.fed("PUT", f"{F1}/send/{uuid.uuid4().hex}", body)


def _send_join(w: World, user: str, *, path_room: str | None = None,
               path_event: str | None = None, **kw):
    ev = w.member_event(user, **kw)
    eid = path_event or compute_event_id(ev)
    return w.fed("PUT", f"{F2}/send_join/{q(path_room or w.room)}/{q(eid)}", ev)


def _invite(w: World, target: str, *, path_room: str | None = None, origin: str | None = None,
            room_version: str = "org.audiorooms.1", **kw):
    ev = w.pdu("m.room.member", {"membership": "invite"}, state_key=target,
               room=kw.pop("room", w.b_room), **kw)
    body = {"event": ev, "room_version": room_version, "invite_room_state": []}
    return w.fed("PUT", f"{F2}/invite/{q(path_room or ev['room_id'])}/"
                        f"{q(compute_event_id(ev))}", body, origin=origin)


def _latest_id(w: World) -> str:
    return w.a.hs.events.latest_event(w.room)[0]


CASES = [
    # -- authentication of the request ------------------------------------------------------
    Case("no-auth-header", version_req(auth=None), 401, "M_UNAUTHORIZED"),
    Case("auth-not-x-matrix", version_req(auth="Bearer abc"), 401, "M_UNAUTHORIZED"),
    Case("x-matrix-missing-sig",
         version_req(auth=lambda w: f'X-Matrix origin="{w.B}",destination="{w.A}",'
                                    f'key="{w.b_key.key_id}"'), 401, "M_UNAUTHORIZED",
         error="missing 'sig'"),
    Case("x-matrix-garbage", version_req(auth='X-Matrix ,,="=;;origin'), 401,
         "M_UNAUTHORIZED", error="Malformed"),
    Case("x-matrix-sig-not-base64",
         version_req(auth=lambda w: f'X-Matrix origin="{w.B}",destination="{w.A}",'
                                    f'key="{w.b_key.key_id}",sig="!!!notbase64!!!"'),
         401, "M_UNAUTHORIZED", error="Invalid signature"),
    Case("bad-signature",  # B's key, over another request
         version_req(auth=lambda w: sign_request(w.b_key, "GET", F1 + "/versions", w.B, w.A)),
         401, "M_UNAUTHORIZED", error="Invalid signature"),
    Case("unknown-key-id",
         version_req(auth=lambda w: sign_request(SigningKey.generate("nosuchkey"), "GET",
                                                 F1 + "/version", w.B, w.A)),
         401, "M_UNAUTHORIZED", error="ed25519:nosuchkey"),
    # E publishes a key under the same key ID as B's: neither may stand in for the other.
    Case("signed-as-E-with-Bs-key", version_req(origin=lambda w: w.E, key=lambda w: w.b_key),
         401, "M_UNAUTHORIZED", error="Invalid signature"),
    Case("signed-as-B-with-Es-key", version_req(key=lambda w: w.evil.key), 401,
         "M_UNAUTHORIZED", error="Invalid signature"),
    Case("signed-as-unreachable-server", version_req(origin="127.0.0.1:1",
                                                     key=lambda w: w.b_key),
         401, "M_UNAUTHORIZED"),
    Case("origin-is-A-itself", version_req(origin=lambda w: w.A, key=lambda w: w.b_key), 401,
         "M_UNAUTHORIZED", error="origin"),
    Case("origin-not-a-server-name", version_req(origin="evil/../x", key=lambda w: w.b_key),
         401, "M_UNAUTHORIZED", error="origin"),
    Case("wrong-destination", version_req(destination="other.example.org"), 401,
         "M_UNAUTHORIZED", error="other.example.org"),
    Case("query-string-changed-after-signing",
         req("GET", lambda w: f"{F1}/backfill/{q(w.room)}?v={q(_latest_id(w))}&limit=100",
             signed_path=lambda w: f"{F1}/backfill/{q(w.room)}?v={q(_latest_id(w))}&limit=1"),
         401, "M_UNAUTHORIZED", error="Invalid signature"),
    Case("body-altered-after-signing",
         req("PUT", f"{F1}/send/altered", lambda w: {"origin": w.B, "pdus": [
             w.pdu(content={"msgtype": "m.text", "body": "smuggled"})], "edus": []},
             signed_body=lambda w: {"origin": w.B, "pdus": [], "edus": []}),
         401, "M_UNAUTHORIZED", error="Invalid signature"),
    Case("json-array-body", req("PUT", f"{F1}/send/array", []), 400, "M_BAD_JSON"),
    Case("body-not-json", req("PUT", f"{F1}/send/notjson", raw=b"{pdus:"), 400, "M_NOT_JSON"),
    # -- transactions -----------------------------------------------------------------------
    Case("replayed-transaction", _replayed, 200, check=_applied_once("replayed once")),
    Case("pdu-resent-in-a-new-transaction", _resent_in_new_txn, 200,
         check=_applied_once("resent once")),
    Case("51-pdus", lambda w: w.send_txn([w.pdu(content={"msgtype": "m.text", "body": f"{i}"})
                                          for i in range(51)]), 400, "M_BAD_JSON"),
    Case("101-edus", lambda w: w.send_txn([], [{"edu_type": "m.typing", "content": {}}] * 101),
         400, "M_BAD_JSON"),
    Case("txn-origin-differs-from-signer", _txn_origin_mismatch, 403, "M_FORBIDDEN"),
    # -- PDUs inside a transaction ----------------------------------------------------------
    Case("pdu-sender-on-another-server-than-origin",
         txn_of(lambda w: w.pdu(sender=w.mallory)), 200, pdu_error="may not send"),
    Case("pdu-spoofing-As-own-user",
         txn_of(lambda w: w.pdu(sender=w.alice.user_id, signer=w.B)), 200,
         pdu_error="may not send"),
    Case("pdu-bad-content-hash", _bad_hash, 200, check=_check_bad_hash),
    Case("pdu-bad-signature",
         txn_of(lambda w: altered(w.pdu(), signatures={w.B: {
             w.b_key.key_id: encode_base64(b"\x01" * 64)}})), 200, pdu_error="signature"),
    Case("pdu-signed-by-another-server-than-sender",
         txn_of(lambda w: w.pdu(signer=w.E)), 200, pdu_error="signature"),
    Case("pdu-oversized",
         txn_of(lambda w: w.pdu(content={"msgtype": "m.text", "body": "x" * 66000})), 200,
         pdu_error="byte limit"),
    Case("pdu-type-over-255-bytes", txn_of(lambda w: w.pdu("x" * 300)), 200,
         pdu_error="255 bytes"),
    # Floats and integers beyond 2**53 cannot be canonical JSON, so no signature over a body
    # holding them verifies: the whole transaction is refused before any PDU is looked at.
    Case("pdu-float-in-content",
         txn_of(lambda w: w.pdu(content={"msgtype": "m.text", "body": "f", "n": 1.5})),
         401, "M_UNAUTHORIZED", error="floats are not allowed"),
    Case("pdu-integer-2-pow-53",
         txn_of(lambda w: w.pdu(content={"msgtype": "m.text", "body": "i", "n": 2**53})),
         401, "M_UNAUTHORIZED", error="outside"),
    Case("pdu-content-nested-200-levels",
         txn_of(lambda w: w.pdu(content={"msgtype": "m.text", "body": "d", "n": nested(200)})),
         400, "M_BAD_JSON", error="nesting"),
    Case("pdu-missing-fields",
         txn_of(lambda w: {k: v for k, v in w.pdu().items() if k not in ("depth", "hashes")}),
         200, pdu_error="'depth' is missing"),
    Case("pdu-not-an-object", txn_of(lambda w: "junk"), 200, pdu_error="not an object"),
    Case("pdu-unknown-room-hosted-by-A",
         txn_of(lambda w: w.pdu(room=f"!nosuchroom:{w.A}")), 200, pdu_error="unknown room"),
    Case("pdu-room-A-is-not-in",
         txn_of(lambda w: w.pdu(room=f"!elsewhere:{w.B}")), 200, pdu_error="unknown room"),
    Case("pdu-from-non-member",
         txn_of(lambda w: w.pdu(sender=f"@stranger:{w.B}")), 200, pdu_error="not in the room"),
    Case("pdu-power-levels-grab",
         txn_of(lambda w: w.pdu("m.room.power_levels", {"users": {w.bob.user_id: 100}},
                                state_key="")), 200, pdu_error="power level"),
    Case("pdu-kicks-As-user",
         txn_of(lambda w: w.member_event(w.alice.user_id, "leave", sender=w.bob.user_id)),
         200, pdu_error="power to kick"),
    Case("pdu-second-create",
         txn_of(lambda w: w.pdu("m.room.create", {"room_version": "org.audiorooms.1"},
                                state_key="")), 200, pdu_error="already exists"),
    # Depth 2**53-1 is a valid integer, but not the depth the host assigns after the event's
    # prev_events: refused, so the events after it cannot overflow (depth 2**53 is not
    # canonical JSON) and A can still order its own room.
    Case("pdu-depth-at-the-integer-limit",
         txn_of(lambda w: w.pdu(content={"msgtype": "m.text", "body": "deep"},
                                depth=2**53 - 1)), 200, pdu_error="depth",
         check=_check_depth_limit),
    # B's room, where A is resident: only B, the host, may hand A its events, even those of a
    # member on another server (E), which must go through B to be ordered.
    Case("pdu-bypassing-the-host",
         txn_of(lambda w: w.pdu(sender=w.mallory, room=w.b_room), origin=lambda w: w.E),
         200, pdu_error="host"),
    # (The host puts its place for the event in the room's order in ``unsigned``, as B does;
    # the number is taken from B's own counter so that B's later events still come after it.)
    Case("control-same-event-relayed-by-the-host",  # not hostile: what the rule must allow
         txn_of(lambda w: {**w.pdu(content={"msgtype": "m.text", "body": "via B"},
                                   sender=w.mallory, room=w.b_room),
                           "unsigned": {"org.audiorooms.order": w.b.hs.stream.next()}}),
         200, check=_applied_once("via B", in_b_room=True)),
    # -- joins ------------------------------------------------------------------------------
    Case("make-join-for-user-of-another-server",
         req("GET", lambda w: f"{F1}/make_join/{q(w.room)}/{q(w.mallory)}"
             "?ver=org.audiorooms.1"), 403, "M_FORBIDDEN"),
    Case("make-join-for-As-user",
         req("GET", lambda w: f"{F1}/make_join/{q(w.room)}/{q(w.alice.user_id)}"
             "?ver=org.audiorooms.1"), 403, "M_FORBIDDEN"),
    Case("send-join-room-differs-from-path",
         lambda w: _send_join(w, f"@newbie:{w.B}", path_room=f"!other:{w.A}"),
         400, "M_BAD_JSON"),
    Case("send-join-event-id-mismatch",
         lambda w: _send_join(w, f"@newbie:{w.B}", path_event="$notthisevent"),
         400, "M_BAD_JSON", error="event ID"),
    Case("send-join-for-user-of-another-server",
         lambda w: _send_join(w, w.mallory), 403, "M_FORBIDDEN"),
    Case("send-join-bad-signature",
         lambda w: _send_join(w, f"@newbie:{w.B}", signer=w.E), 403, "M_FORBIDDEN",
         error="signature"),
    # -- invites ----------------------------------------------------------------------------
    Case("invite-user-not-on-A", lambda w: _invite(w, f"@someone:{w.B}"), 403, "M_FORBIDDEN"),
    Case("invite-unknown-local-user", lambda w: _invite(w, f"@ghost:{w.A}"), 404,
         "M_NOT_FOUND"),
    Case("invite-room-differs-from-path",
         lambda w: _invite(w, w.alice.user_id, path_room=f"!other:{w.B}"), 400, "M_BAD_JSON"),
    Case("invite-sender-on-another-server-than-origin",
         lambda w: _invite(w, w.alice.user_id, sender=w.mallory, room=w.room), 403,
         "M_FORBIDDEN",
         error="may not send"),
    Case("invite-bad-signature",
         lambda w: _invite(w, w.alice.user_id, signer=w.E), 403, "M_FORBIDDEN",
         error="signature"),
    Case("invite-unsupported-room-version",
         lambda w: _invite(w, w.alice.user_id, room_version="1"), 400,
         "M_INCOMPATIBLE_ROOM_VERSION"),
    # -- reading a room the origin has no users in ------------------------------------------
    Case("state-for-room-origin-is-not-in",
         req("GET", lambda w: f"{F1}/state/{q(w.room)}", origin=lambda w: w.E), 403,
         "M_FORBIDDEN"),
    Case("state-ids-for-room-origin-is-not-in",
         req("GET", lambda w: f"{F1}/state_ids/{q(w.room)}", origin=lambda w: w.E), 403,
         "M_FORBIDDEN"),
    Case("backfill-for-room-origin-is-not-in",
         req("GET", lambda w: f"{F1}/backfill/{q(w.room)}?v={q(_latest_id(w))}&limit=10",
             origin=lambda w: w.E), 403, "M_FORBIDDEN"),
    Case("event-of-room-origin-is-not-in",
         req("GET", lambda w: f"{F1}/event/{q(_latest_id(w))}", origin=lambda w: w.E), 403,
         "M_FORBIDDEN"),
    # -- queries ----------------------------------------------------------------------------
    Case("public-rooms-limit-not-an-integer",
         req("POST", F1 + "/publicRooms", {"limit": "ten"}), 400, "M_BAD_JSON"),
    Case("public-rooms-since-not-a-string",
         req("POST", F1 + "/publicRooms", {"since": ["0"]}), 400, "M_INVALID_PARAM"),
    Case("public-rooms-search-term-not-a-string",
         req("POST", F1 + "/publicRooms", {"filter": {"generic_search_term": 5}}), 400,
         "M_BAD_JSON"),
    Case("profile-of-a-user-not-on-A",
         req("GET", lambda w: f"{F1}/query/profile?user_id={q(w.bob.user_id)}"), 404,
         "M_NOT_FOUND"),
    Case("backfill-limit-not-an-integer",
         req("GET", lambda w: f"{F1}/backfill/{q(w.room)}?v={q(_latest_id(w))}&limit=many"),
         400, "M_INVALID_PARAM"),
    # -- keys -------------------------------------------------------------------------------
    Case("key-query-server-keys-not-an-object",
         req("POST", "/_matrix/key/v2/query", {"server_keys": ["x"]}, auth=None), 400,
         "M_BAD_JSON"),
    Case("key-query-criteria-not-an-object",
         req("POST", "/_matrix/key/v2/query", lambda w: {"server_keys": {w.B: "junk"}},
             auth=None), 400, "M_BAD_JSON"),
    Case("key-query-bad-minimum-valid-until",
         req("POST", "/_matrix/key/v2/query", lambda w: {"server_keys": {w.B: {
             w.b_key.key_id: {"minimum_valid_until_ts": "soon"}}}}, auth=None),
         400, "M_BAD_JSON"),
    Case("key-query-array-body", req("POST", "/_matrix/key/v2/query", [], auth=None), 400,
         "M_BAD_JSON"),
    # Names that are not server names would become URLs with a path, query or fragment.
    Case("key-query-name-with-path",
         req("POST", "/_matrix/key/v2/query", lambda w: {"server_keys": {w.E + "/": {}}},
             auth=None), 400, "M_BAD_JSON", error="not a valid server name"),
    Case("key-query-path-name-with-fragment",
         req("GET", lambda w: f"/_matrix/key/v2/query/{q(w.E + '#x')}", auth=None), 400,
         "M_INVALID_PARAM", error="not a valid server name"),
    Case("key-query-21-servers",
         req("POST", "/_matrix/key/v2/query",
             {"server_keys": {f"s{i}.example.org": {} for i in range(21)}}, auth=None),
         400, "M_BAD_JSON", error="at most 20"),
    Case("origin-with-fragment", version_req(origin=lambda w: w.B + "#x",
                                             key=lambda w: w.b_key), 401,
         "M_UNAUTHORIZED", error="origin"),
    Case("destination-with-path", version_req(destination=lambda w: w.A + "/x"), 401,
         "M_UNAUTHORIZED", error="destination"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_hostile_request(world: World, case: Case, caplog):
    caplog.set_level(logging.WARNING)
    before = await world.snapshot()
    status, body = await case.send(world)
    assert status == case.status, body
    if case.errcode:
        assert isinstance(body, dict) and body.get("errcode") == case.errcode, body
    if case.error:
        assert case.error in body.get("error", ""), body
    if case.pdu_error:
        results = list(body["pdus"].values())
        assert len(results) == 1 and case.pdu_error in results[0].get("error", ""), body
    after = await world.snapshot()
    await (case.check or _unchanged)(world, before, after, (status, body))
    await world.still_serving()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_enough_cases():
    assert len(CASES) >= 28 and len({c.id for c in CASES}) == len(CASES)
