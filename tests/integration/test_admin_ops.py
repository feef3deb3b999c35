"""Operating this server with the admin API, for what Synapse has no counterpart of: deleting a
live audio room ends its audio for everyone and takes it out of the hallway; and making the
first admin as an operator would, with ``generate-config`` and Synapse's
``register_new_matrix_user`` script (from the tests' Synapse venv) against a real process."""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import unused_port

from media.testing import AudioClient, ToneTrack
from tests.integration.federation_helpers import eventually
from tests.integration.processes import REPO
from tests.integration.test_admin_api import A, Target, wait_deleted
from tests.matrix_client import Client
from tests.storage_engine import follow_engine

U = "/_matrix/client/unstable/org.audiorooms"
AUDIO = {"type": "org.audiorooms.audio"}


async def open_audio(client: Client, room: str, mic=None) -> tuple[AudioClient, str]:
    audio = AudioClient(mic=mic)
    answer = await client.ok("POST", f"{U}/rooms/{quote(room)}/media",
                             {"type": "offer", "sdp": await audio.offer()})
    await audio.accept(answer["sdp"])
    return audio, answer["session_id"]


def packets_lately(audio: AudioClient, seconds: float = 0.5) -> int:
    now = time.monotonic()
    return sum(r.packets_between(now - seconds, now) for r in audio.records)


async def hallway_rooms(client: Client) -> list[str]:
    h = await client.ok("GET", f"{U}/hallway")
    return [e["room_id"] for e in h["live"]]


async def test_deleting_a_live_room_closes_its_audio_and_ends_it_in_the_hallway(
        make_homeserver, http_session):
    hs = await make_homeserver("a")
    target = Target("ours", hs.url, hs.server_name, http_session, hs)
    admin = await target.admin()
    alice = await target.user("alice")
    bob = await target.user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Live")
    await alice.ok("PUT", f"/directory/list/room/{quote(room)}", {"visibility": "public"})
    await bob.join(room)
    assert room in await hallway_rooms(bob)

    clients = []
    try:
        speaker, _ = await open_audio(alice, room, ToneTrack(440, 0.5))
        listener, _ = await open_audio(bob, room)
        clients += [speaker, listener]
        await eventually(lambda: packets_lately(listener) > 10, timeout=15)

        out = await admin.ok("DELETE", f"{A}/v2/rooms/{quote(room)}",
                             {"block": True, "purge": True})
        status = await wait_deleted(admin, out["delete_id"])
        assert status["status"] == "complete", status
        assert sorted(status["shutdown_room"]["kicked_users"]) == sorted(
            [alice.user_id, bob.user_id])

        # every session of the room is gone on the server, and nothing reaches the listener
        assert room not in hs.hs.sfu.rooms
        await eventually(lambda: packets_lately(listener) == 0, timeout=5)
        await asyncio.sleep(0.5)
        assert packets_lately(listener, 0.5) == 0
        # out of the hallway, and no way back in: the room is blocked
        assert room not in await hallway_rooms(bob)
        status_code, body = await bob.request("POST", f"/join/{quote(room)}", {})
        assert status_code == 403, body
        again = AudioClient()
        clients.append(again)
        status_code, body = await bob.request(
            "POST", f"{U}/rooms/{quote(room)}/media",
            {"type": "offer", "sdp": await again.offer()})
        assert status_code in (403, 404), body
    finally:
        for c in clients:
            await c.close()


def _synapse_script() -> Path | None:
    venv = Path(os.environ.get("SYNAPSE_VENV") or REPO / ".synapse-venv")
    script = venv / "bin" / "register_new_matrix_user"
    return script if script.exists() else None


async def test_generate_config_and_register_new_matrix_user_make_an_admin(
        tmp_path, servers, http_session):
    script = _synapse_script()
    if script is None:
        pytest.skip("Synapse's register_new_matrix_user is not installed (SYNAPSE_VENV)")
    port = unused_port()
    gen = subprocess.run(
        [sys.executable, "-m", "homeserver", "generate-config", "--server-name",
         f"127.0.0.1:{port}", "--port", str(port), "--data-dir", str(tmp_path / "data"),
         "--open-registration", "--requires-token"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    config = tmp_path / "hs.yaml"
    config.write_text(follow_engine(gen.stdout))
    # generate-config told the operator how to make an admin; do exactly that
    hint = re.search(r"register_new_matrix_user -a -u admin -k '([^']+)' (\S+)", gen.stderr)
    assert hint, gen.stderr
    secret, url = hint.group(1), hint.group(2)
    await servers(config).start()

    proc = await asyncio.create_subprocess_exec(
        str(script), "-a", "-u", "root", "-p", "root-password", "-k", secret, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()

    root = Client(http_session, url)
    login = await root.ok("POST", "/login", {"type": "m.login.password", "user": "root",
                                             "password": "root-password"})
    root.token = login["access_token"]
    me = await root.ok("GET", f"{A}/v2/users/{quote(login['user_id'])}")
    assert me["admin"] is True
    # sign-up on this config needs a token, which the new admin can now hand out
    status, body = await Client(http_session, url).request(
        "POST", "/register", {"username": "x", "password": "y",
                              "auth": {"type": "m.login.dummy"}})
    assert status == 401 and body["flows"] == [
        {"stages": ["m.login.registration_token", "m.login.dummy"]}]
    made = await root.ok("POST", f"{A}/v1/registration_tokens/new", {"uses_allowed": 1})
    assert made["uses_allowed"] == 1

    # without -a the script makes an ordinary user, refused by the admin API
    proc = await asyncio.create_subprocess_exec(
        str(script), "--no-admin", "-u", "plain", "-p", "plain-password", "-k", secret, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
    plain = Client(http_session, url)
    login = await plain.ok("POST", "/login", {"type": "m.login.password", "user": "plain",
                                              "password": "plain-password"})
    plain.token = login["access_token"]
    status, body = await plain.request("GET", f"{A}/v2/users")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
