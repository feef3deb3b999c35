"""The Matrix bridge against a real Synapse: links, chat both ways, edits, redactions, room-life
notices, restarts of the bridge and of both homeservers, and refusals.

Run:  python -m pytest tests/integration/test_bridge_synapse.py -v

One Synapse (its own virtualenv, SQLite, loopback; tests.synapse_env) serves the module, with
the bridge registered as an application service on a fixed loopback port. Each test starts our
homeserver in-process (make_homeserver) and a bridge (bridge.core.Bridge, in-process) with its
own SQLite database. The module is skipped, naming the reason, only when Synapse cannot be
installed (ensure_venv raises SynapseUnavailable).
"""
from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from bridge.config import config_from_dict, resolve_tokens
from bridge.core import Bridge
from bridge.formatting import SENDER_KEY, redaction_target
from bridge.ids import PuppetNamer
from bridge.registration import registration_dict
from tests.matrix_client import Client
from tests.synapse_env import SynapseServer, SynapseUnavailable, _http_json, ensure_venv, free_port

AUDIO = {"type": "org.audiorooms.audio"}
WEB = "https://audio.example"
BOT_PASSWORD = "bridge-password"
MAX_BYTES = 2048


@dataclasses.dataclass
class SynapseEnv:
    server: SynapseServer
    bridge_port: int
    registration: Path
    hs_token: str
    users: dict  # name -> {"user_id", "access_token"}

    @property
    def bot(self) -> str:
        return f"@audiobridge:{self.server.server_name}"


@pytest.fixture(scope="module")
def synapse(tmp_path_factory):
    try:
        venv = ensure_venv()
    except SynapseUnavailable as e:
        pytest.skip(f"Synapse is not installable here: {e}")
    work = tmp_path_factory.mktemp("synapse-bridge")
    server = SynapseServer(work / "synapse", venv=venv)
    port = free_port()
    # The registration as `python -m bridge generate-registration` writes it; the bridges in
    # these tests read their tokens from it.
    reg = registration_dict(config_from_dict({
        "matrix": {"homeserver_url": server.base_url, "server_name": server.server_name},
        "appservice": {"port": port},
        "audiorooms": {"homeserver_url": "http://127.0.0.1:1", "user_id": "@b:x",
                       "password": "unused"}}))
    reg_path = work / "registration.yaml"
    reg_path.write_text(yaml.safe_dump(reg))
    server.extra_config = {"app_service_config_files": [str(reg_path)]}
    try:
        server.start()
    except SynapseUnavailable as e:  # installed but broken: a failure, not a skip
        pytest.fail(f"Synapse did not start: {e}")
    try:
        users = {}
        for name, display in (("alice", "Alice Liddell"), ("bob", None)):
            u = server.register_user(name, f"{name}-password")
            if display:
                _http_json("PUT", f"{server.base_url}/_matrix/client/v3/profile/"
                           f"{quote(u['user_id'])}/displayname", {"displayname": display},
                           token=u["access_token"])
            users[name] = u
        yield SynapseEnv(server, port, reg_path, reg["hs_token"], users)
    finally:
        server.stop()


async def eventually(check, what: str, timeout: float = 15.0, interval: float = 0.2):
    """Await ``check()`` until it returns something truthy; that value is returned."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


async def timeline(client: Client, room_id: str) -> list[dict]:
    """The room's events, oldest first (the last 200 are plenty here)."""
    data = await client.ok("GET", f"/rooms/{quote(room_id)}/messages",
                           params={"dir": "b", "limit": "200"})
    return list(reversed(data["chunk"]))


def messages_with(events: list[dict], text: str) -> list[dict]:
    return [e for e in events if e["type"] == "m.room.message"
            and text in str(e["content"].get("body", ""))]


class Env:
    """One test's world: Synapse users, our homeserver and its users, bridges."""

    def __init__(self, synapse: SynapseEnv, hs, session, tmp_path: Path):
        self.synapse, self.hs, self.session, self.tmp = synapse, hs, session, tmp_path
        s = synapse.users
        self.alice = Client(session, synapse.server.base_url, s["alice"]["access_token"],
                            s["alice"]["user_id"])
        self.bob = Client(session, synapse.server.base_url, s["bob"]["access_token"],
                          s["bob"]["user_id"])
        self.bridges: list[Bridge] = []
        self.namer = PuppetNamer("audio_", synapse.server.server_name, "audiobridge")

    async def setup(self):
        await self.hs.user("bridge", BOT_PASSWORD)
        self.carol = await self.hs.user("carol")
        self.bot_audio = f"@bridge:{self.hs.server_name}"
        return self

    def config_dict(self, **options) -> dict:
        return {
            "matrix": {"homeserver_url": self.synapse.server.base_url,
                       "server_name": self.synapse.server.server_name},
            "appservice": {"port": self.synapse.bridge_port,
                           "registration": str(self.synapse.registration)},
            "audiorooms": {"homeserver_url": self.hs.url, "user_id": self.bot_audio,
                           "password": BOT_PASSWORD, "web_client_url": WEB},
            "bridge": {"database": str(self.tmp / "bridge.db"), "sync_timeout_ms": 2000,
                       "retry_base_seconds": 0.2, "retry_max_seconds": 2.0,
                       "max_message_bytes": MAX_BYTES, **options},
        }

    def config(self, **options):
        return resolve_tokens(config_from_dict(self.config_dict(**options)))

    async def start_bridge(self, **options) -> Bridge:
        bridge = Bridge.from_config(self.config(**options))
        await bridge.start()
        self.bridges.append(bridge)
        await asyncio.wait_for(bridge.audio_ready.wait(), 15)
        await asyncio.wait_for(bridge.matrix_ready.wait(), 15)
        return bridge

    async def stop_bridge(self, bridge: Bridge) -> None:
        self.bridges.remove(bridge)
        await bridge.stop()

    async def matrix_room(self, wait_for_bot: bool = True) -> str:
        """Alice's invite-only room with Bob in it and the bridge bot invited (and joined)."""
        room = await self.alice.create_room(preset="private_chat", name="Book club",
                                            invite=[self.synapse.bot, self.bob.user_id])
        await self.bob.join(room)
        if not wait_for_bot:
            return room

        async def bot_joined():
            members = await self.alice.ok("GET", f"/rooms/{quote(room)}/joined_members")
            return self.synapse.bot in members["joined"]
        await eventually(bot_joined, "the bot to accept its invite")
        return room

    async def audio_room(self, alias: str | None = None, live: bool | None = None) -> str:
        body = {"preset": "public_chat", "name": "Friday talks", "creation_content": AUDIO}
        if alias:
            body["room_alias_name"] = alias
        if live is not None:
            body["initial_state"] = [{"type": "org.audiorooms.live", "state_key": "",
                                      "content": {"live": live}}]
        return await self.carol.create_room(**body)

    async def link(self, mroom: str, target: str) -> None:
        await self.alice.send(mroom, f"!audio link {target}")
        await self.notice(mroom, "Linked to the audio room")

    async def notice(self, room: str, text: str, client: Client | None = None) -> dict:
        """The bot's one notice containing ``text`` (waits for it; fails on duplicates)."""
        client = client or self.alice

        async def found():
            return [e for e in messages_with(await timeline(client, room), text)
                    if e["content"].get("msgtype") == "m.notice"]
        try:
            hits = await eventually(found, f"a notice saying {text!r}")
        except AssertionError as e:
            seen = [ev["content"].get("body") for ev in await timeline(client, room)
                    if ev["type"] == "m.room.message"]
            raise AssertionError(f"{e}; the room has: {seen}") from None
        assert len(hits) == 1, hits
        return hits[0]

    async def arrives_once(self, client: Client, room: str, text: str,
                           settle: float = 0.0) -> dict:
        async def found():
            return messages_with(await timeline(client, room), text)
        await eventually(found, f"{text!r} to arrive")
        if settle:
            await asyncio.sleep(settle)
        hits = await found()
        assert len(hits) == 1, f"{text!r} arrived {len(hits)} times: {hits}"
        return hits[0]


@pytest.fixture
async def env(synapse, make_homeserver, http_session, tmp_path):
    hs = await make_homeserver("a")
    e = await Env(synapse, hs, http_session, tmp_path).setup()
    try:
        yield e
    finally:
        for b in list(e.bridges):
            await b.stop()


async def test_link_chat_edits_redactions_and_refusals(env):
    bridge = await env.start_bridge()
    mroom = await env.matrix_room()
    aroom = await env.audio_room(alias="talks")
    alias = f"#talks:{env.hs.server_name}"

    # Refusals: no power, a room that does not exist, a bad command.
    await env.bob.send(mroom, f"!audio link {alias}")
    await env.notice(mroom, f"Sorry, {env.bob.user_id}: link needs power level 50")
    await env.alice.send(mroom, f"!audio link #nowhere:{env.hs.server_name}")
    await env.notice(mroom, f"the audio room #nowhere:{env.hs.server_name} does not exist")
    await env.alice.send(mroom, "!audio link not-a-room")
    await env.notice(mroom, "'not-a-room' is not a room ID")
    assert bridge.store.link_for_matrix(mroom) is None

    await env.link(mroom, alias)
    link = bridge.store.link_for_matrix(mroom)
    assert link.audio_room == aroom

    # Matrix -> audio room: the bot posts it, naming the Matrix sender.
    mx_hello = await env.alice.send(mroom, "hello from matrix")
    ev = await env.arrives_once(env.carol, aroom, "hello from matrix")
    assert ev["sender"] == env.bot_audio
    assert ev["content"]["body"] == "<Alice Liddell> hello from matrix"
    assert ev["content"][SENDER_KEY] == {"user_id": env.alice.user_id,
                                         "displayname": "Alice Liddell"}

    # Audio room -> Matrix: Carol's puppet posts it.
    au_hello = await env.carol.send(aroom, "hello from the audio room")
    mev = await env.arrives_once(env.alice, mroom, "hello from the audio room")
    puppet = env.namer.puppet_for(env.carol.user_id)
    assert mev["sender"] == puppet
    assert mev["content"]["body"] == "hello from the audio room"
    profile = await env.alice.ok("GET", f"/profile/{quote(puppet)}")
    assert profile["displayname"] == "carol (audio)"

    # Edits both ways.
    await env.alice.ok("PUT", f"/rooms/{quote(mroom)}/send/m.room.message/edit1", {
        "msgtype": "m.text", "body": "* hello from matrix, edited",
        "m.new_content": {"msgtype": "m.text", "body": "hello from matrix, edited"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": mx_hello}})
    edit = await env.arrives_once(env.carol, aroom, "hello from matrix, edited")
    assert edit["content"]["m.relates_to"] == {"rel_type": "m.replace",
                                               "event_id": ev["event_id"]}
    assert edit["content"]["m.new_content"]["body"] == "<Alice Liddell> hello from matrix, edited"
    await env.carol.ok("PUT", f"/rooms/{quote(aroom)}/send/m.room.message/edit2", {
        "msgtype": "m.text", "body": "* hello from the audio room, edited",
        "m.new_content": {"msgtype": "m.text", "body": "hello from the audio room, edited"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": au_hello}})
    medit = await env.arrives_once(env.alice, mroom, "hello from the audio room, edited")
    assert medit["sender"] == puppet
    assert medit["content"]["m.relates_to"] == {"rel_type": "m.replace",
                                                "event_id": mev["event_id"]}

    # Redactions both ways.
    await env.alice.ok("PUT", f"/rooms/{quote(mroom)}/redact/{quote(mx_hello)}/r1",
                       {"reason": "oops"})

    async def redacted_on_ours():
        events = await timeline(env.carol, aroom)
        return [e for e in events if e["type"] == "m.room.redaction"
                and redaction_target(e) == ev["event_id"] and e["sender"] == env.bot_audio]
    assert len(await eventually(redacted_on_ours, "the redaction on our side")) == 1
    status, _ = await env.carol.request("PUT", f"/rooms/{quote(aroom)}/redact/"
                                        f"{quote(au_hello)}/r2", {})
    if status == 404:  # our homeserver has no /redact endpoint yet: the v11 event form
        await env.carol.ok("PUT", f"/rooms/{quote(aroom)}/send/m.room.redaction/r2",
                           {"redacts": au_hello})

    async def redacted_on_matrix():
        got = await env.alice.ok("GET", f"/rooms/{quote(mroom)}/event/"
                                 f"{quote(mev['event_id'])}")
        return "redacted_because" in got.get("unsigned", {}) and not got["content"]
    await eventually(redacted_on_matrix, "the puppet's message to be redacted")

    # Over the size limit, either way: refused with a notice, not bridged.
    await env.alice.send(mroom, "big-matrix " + "x" * MAX_BYTES)
    await env.notice(mroom, "Not bridged to the audio room: the message from Alice Liddell")
    await env.carol.send(aroom, "big-audio " + "y" * MAX_BYTES)
    await env.notice(aroom, "Not bridged to Matrix: the message from carol", env.carol)

    # Exactly once, and no echoes: nothing the bridge posted came back.
    await asyncio.sleep(1.0)
    ours, theirs = await timeline(env.carol, aroom), await timeline(env.alice, mroom)
    assert not messages_with(ours, "big-matrix") and not messages_with(theirs, "big-audio")
    # Carol's puppet said two things (the message, its edit); our bot three (Alice's message,
    # its edit, the size refusal). Nothing was echoed back or sent twice.
    assert len([e for e in theirs if e["sender"] == puppet
                and e["type"] == "m.room.message"]) == 2
    # Alice's first message was redacted on Matrix, so our copy is pruned to no content.
    assert [e["content"].get("body", "<redacted>")[:30] for e in ours
            if e["sender"] == env.bot_audio and e["type"] == "m.room.message"] == [
        "<redacted>", "* <Alice Liddell> hello from m", "Not bridged to Matrix: the mes"]


async def test_room_life_notices_and_status(env):
    mroom = await env.matrix_room(wait_for_bot=False)  # the bridge is not running yet
    aroom = await env.audio_room(live=False)  # scheduled, not live yet
    bridge = await env.start_bridge(links=[{"matrix_room": mroom, "audio_room": aroom}])

    async def linked():
        return bridge.store.link_for_matrix(mroom)
    await eventually(linked, "the configured link")
    dave = await env.hs.user("dave")
    erin = await env.hs.user("erin")
    await dave.join(aroom)
    await erin.join(aroom)
    join = f"{WEB}/#/room/{aroom}"

    await env.carol.put_state(aroom, "org.audiorooms.live", {"live": True})
    live = await env.notice(mroom, "“Friday talks” is live now.")
    assert join in live["content"]["body"] and join in live["content"]["formatted_body"]
    assert live["sender"] == env.synapse.bot

    await env.carol.put_state(aroom, "org.audiorooms.role",
                              {"role": "speaker", "muted": False}, dave.user_id)
    stage = await env.notice(mroom, "dave is on stage in “Friday talks”.")
    assert join in stage["content"]["body"]

    await env.bob.send(mroom, "!audio status")  # anyone may ask
    status = await env.notice(mroom, "“Friday talks” is live;")
    assert "on stage: carol (moderator), dave" in status["content"]["body"] or \
        "on stage: dave, carol (moderator)" in status["content"]["body"]
    assert "1 person listens" in status["content"]["body"]

    await env.carol.put_state(aroom, "org.audiorooms.live", {"live": False})
    ended = await env.notice(mroom, "“Friday talks” has ended.")
    assert join in ended["content"]["body"]
    await asyncio.sleep(0.5)
    for text in ("is live now", "is on stage", "has ended"):
        await env.notice(mroom, text)  # still exactly one each

    # Kicked from the audio room: the Matrix room is told and the link is gone.
    await env.carol.ok("POST", f"/rooms/{quote(aroom)}/kick", {"user_id": env.bot_audio})
    await env.notice(mroom, "The bridge was removed from the audio room “Friday talks”")
    assert bridge.store.link_for_matrix(mroom) is None


async def test_bridge_restart_loses_and_duplicates_nothing(env, synapse):
    bridge = await env.start_bridge()
    mroom = await env.matrix_room()
    aroom = await env.audio_room()
    await env.link(mroom, aroom)
    await env.alice.send(mroom, "matrix before restart")
    await env.carol.send(aroom, "audio before restart")
    await env.arrives_once(env.carol, aroom, "matrix before restart")
    await env.arrives_once(env.alice, mroom, "audio before restart")

    await env.stop_bridge(bridge)
    await env.alice.send(mroom, "matrix while the bridge was down")
    await env.carol.send(aroom, "audio while the bridge was down")
    # More than one sync timeline holds (50): the bridge pages back through the gap.
    for i in range(55):
        await env.carol.send(aroom, f"burst #{i:02d}.")
    bridge = await env.start_bridge()

    await env.arrives_once(env.carol, aroom, "matrix while the bridge was down")
    await env.arrives_once(env.alice, mroom, "audio while the bridge was down")
    await env.arrives_once(env.alice, mroom, "burst #54.")
    bursts = [e["content"]["body"] for e in messages_with(await timeline(env.alice, mroom),
                                                          "burst #")]
    assert bursts == [f"burst #{i:02d}." for i in range(55)]  # all, once each, in order

    # The Matrix homeserver retrying a transaction, or sending an event again in another one,
    # changes nothing (the bridge records transactions and events in SQLite).
    event = {"type": "m.room.message", "room_id": mroom, "sender": env.alice.user_id,
             "event_id": "$replayed-event", "origin_server_ts": 1,
             "content": {"msgtype": "m.text", "body": "replayed transaction"}}
    url = f"http://127.0.0.1:{synapse.bridge_port}/_matrix/app/v1/transactions/"
    auth = {"Authorization": f"Bearer {synapse.hs_token}"}
    for txn in ("replay-1", "replay-1", "replay-2"):
        async with env.session.put(url + txn, json={"events": [event]}, headers=auth) as r:
            assert r.status == 200, await r.text()
    await env.arrives_once(env.carol, aroom, "replayed transaction")

    await asyncio.sleep(1.0)
    for text in ("matrix before restart", "matrix while the bridge was down",
                 "replayed transaction"):
        await env.arrives_once(env.carol, aroom, text)
    for text in ("audio before restart", "audio while the bridge was down"):
        await env.arrives_once(env.alice, mroom, text)


async def test_homeserver_restarts_are_survived(env, synapse, make_homeserver):
    await env.start_bridge()
    mroom = await env.matrix_room()
    aroom = await env.audio_room()
    await env.link(mroom, aroom)

    # Synapse goes away; what happens meanwhile in the audio room arrives once it is back.
    await asyncio.to_thread(synapse.server.stop)
    await env.carol.send(aroom, "said while Synapse was down")
    await asyncio.sleep(1.0)
    await asyncio.to_thread(synapse.server.start)
    await env.arrives_once(env.alice, mroom, "said while Synapse was down", settle=0.5)
    # (Synapse on SQLite numbers its transactions from 1 again now: not taken for repeats.)
    await env.alice.send(mroom, "matrix after Synapse restarted")
    await env.arrives_once(env.carol, aroom, "matrix after Synapse restarted")

    # Our homeserver goes away; Synapse keeps what Matrix users say, the bridge catches up.
    port = int(env.hs.url.rsplit(":", 1)[1])
    await env.hs.server.close()
    await env.alice.send(mroom, "matrix while the audio server was down")
    await asyncio.sleep(1.5)
    env.hs = await make_homeserver("a", port=port)  # same database, same port
    await env.arrives_once(env.carol, aroom, "matrix while the audio server was down",
                           settle=0.5)
    await env.carol.send(aroom, "audio after its restart")
    await env.arrives_once(env.alice, mroom, "audio after its restart")


async def test_appservice_api_refuses_bad_requests(env, synapse):
    bridge = await env.start_bridge()
    base = f"http://127.0.0.1:{synapse.bridge_port}/_matrix/app/v1"
    good = {"Authorization": f"Bearer {synapse.hs_token}"}

    async def put(path, headers=None, **kw):
        async with env.session.put(base + path, headers=headers, **kw) as r:
            return r.status, await r.json()

    assert await put("/transactions/t1", json={"events": []}) == (
        401, {"errcode": "M_UNAUTHORIZED", "error": "missing hs_token"})
    status, body = await put("/transactions/t1", {"Authorization": "Bearer wrong"},
                             json={"events": []})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = await put("/transactions/t1?access_token=wrong", json={"events": []})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = await put("/transactions/t2", good, data=b"{not json")
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")
    status, body = await put("/transactions/t3", good, json={"events": "nope"})
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body = await put("/transactions/t4", good, json={"events": [{"type": "x"}]})
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    assert "events[0].room_id" in body["error"]
    status, body = await put("/transactions/t5", good,
                             data=b"[" + b" " * (11 * 1024 * 1024) + b"]")
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    # A refused transaction was not recorded: the same ID with a good body is processed.
    assert not [k for k in bridge.store.conn.execute("SELECT txn_id FROM txns")
                if k[0].startswith("t3:")]
    assert await put("/transactions/t3?access_token=" + synapse.hs_token,
                     json={"events": []}) == (200, {})

    async with env.session.get(base + "/users/" + quote("@stranger:" +
                               synapse.server.server_name), headers=good) as r:
        assert r.status == 404
    puppet = env.namer.puppet_for(f"@zed:{env.hs.server_name}")
    async with env.session.get(base + "/users/" + quote(puppet), headers=good) as r:
        assert r.status == 200
    async with env.session.get(base + "/users/" + quote(puppet)) as r:
        assert r.status == 401

    # Linking something that is not an audio room, and linking twice.
    mroom = await env.matrix_room()
    plain = await env.carol.create_room(preset="public_chat", name="Just chat")
    await env.alice.send(mroom, f"!audio link {plain}")
    await env.notice(mroom, f"Cannot link: {plain} is not an audio room.")
    aroom = await env.audio_room()
    await env.link(mroom, aroom)
    await env.alice.send(mroom, f"!audio link {aroom}")
    await env.notice(mroom, "This room is already linked")
    await env.bob.send(mroom, "!audio unlink")
    await env.notice(mroom, "unlink needs power level 50")
    await env.alice.send(mroom, "!audio unlink")
    await env.notice(mroom, "Unlinked from the audio room")
    assert bridge.store.link_for_matrix(mroom) is None
    await env.alice.send(mroom, "after unlink")
    await asyncio.sleep(1.0)
    assert not messages_with(await timeline(env.carol, aroom), "after unlink")


async def test_command_line_bridge_runs_and_stops_cleanly(env, synapse):
    """`python -m bridge --config FILE`, as an operator runs it, until SIGTERM."""
    conf = env.tmp / "bridge.yaml"
    conf.write_text(yaml.safe_dump(env.config_dict()))
    with open(env.tmp / "bridge.log", "wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge", "--config", str(conf),
            cwd=Path(__file__).resolve().parents[2], stdout=asyncio.subprocess.PIPE,
            stderr=log)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"bridge ready: appservice on http://127.0.0.1:"), line
        mroom = await env.matrix_room()
        aroom = await env.audio_room()
        await env.link(mroom, aroom)
        await env.carol.send(aroom, "through the command-line bridge")
        mev = await env.arrives_once(env.alice, mroom, "through the command-line bridge")
        assert mev["sender"] == env.namer.puppet_for(env.carol.user_id)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
