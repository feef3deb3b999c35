"""End-to-end encrypted DMs driven by matrix-js-sdk with its Rust crypto (`initRustCrypto`, the
WebAssembly build of matrix-sdk-crypto that Element Web runs) under Node, against our federated
servers and against a pair of real Synapses with the same script.

The scenarios live in tests/clients/js/scenario.mjs (e2ee_*): alice on one server and bob on the
other open an encrypted DM and each decrypts the other's message; the same on one server; a
device bob logs in later decrypts what alice sends after it appeared; what the servers serve
(every member's raw /messages, every /sync response) and, here, every file the servers keep
(their SQLite databases with WAL and journal files) holds none of the plaintexts; and bob's
server down while alice sends her first encrypted message: once it is back, bob decrypts it
(the room key's to-device message was kept by alice's server until it could be delivered);
and server-side key backup: bob's client backs its room keys up (resetKeyBackup), then a device
bob logs in after the messages were sent, with no other device of his left to forward keys,
restores the backup (restoreKeyBackup) and decrypts them.

Our servers run here with the production default of ``ratelimit.to_device``: normal key sharing
never meets it.

Needs Node >= 20 and `npm ci` in tests/clients/js, as test_js_sdk.py.

Run:  python -m pytest tests/integration/test_js_sdk_e2ee.py -v
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import signal
import threading
from pathlib import Path

import pytest
from aiohttp.test_utils import unused_port

from homeserver.config import RateLimitConfig
from tests import storage_engine
from tests.integration.federation_helpers import restart, start_process, start_servers
from tests.integration.test_js_sdk import (  # noqa: F401  (fixtures used by name)
    PASSWORD,
    _user,
    node,
    run_scenario,
    synapse_pair,
)
from tests.matrix_client import Client
from tests.synapse_env import SynapseServer

SCENARIOS = ["e2ee_dm_federated", "e2ee_dm_local", "e2ee_new_device", "e2ee_no_plaintext",
             "e2ee_backup"]
# A scenario proven against Synapse before our server has what it needs goes here, with the
# reason: expected to fail against ours only, strictly, so the suite says so the moment it passes
# (then the entry goes). All pass against ours since e2ee-keys and e2ee-todevice were merged.
PENDING_ON_OURS: dict[str, str] = {}
# Answers that are not errors: the Rust crypto asks for a key backup at start, and 404
# M_NOT_FOUND there means "none" (e2ee_dm_federated checks the errcode); both servers answer so.
# Likewise a session's key asked of the backup (GET .../room_keys/keys/{room}/{session}) when a
# message arrives before its room key: 404 until the key is backed up (seen when the to-device
# key came after the message; the restore itself is checked by the scenario).
NONE_ANSWERS = ("/room_keys/version -> 404",)
_SESSION_KEY_NONE = re.compile(r"GET /_matrix/client/v3/room_keys/keys/[^/ ]+/[^/ ]+ -> 404$")


def _none_answer(error: str) -> bool:
    return error.endswith(NONE_ANSWERS) or _SESSION_KEY_NONE.search(error) is not None


def _params(scenarios):
    for scenario in scenarios:
        for backend in ("ours", "synapse"):
            marks = []
            if backend == "ours" and scenario in PENDING_ON_OURS:
                marks.append(pytest.mark.xfail(strict=True, reason=PENDING_ON_OURS[scenario]))
            yield pytest.param(scenario, backend, marks=marks, id=f"{scenario}-{backend}")


_names = itertools.count()


async def ours(make_homeserver) -> tuple[dict, dict]:
    """Servers a and b; alice and carol on a, bob on b."""
    hs = await start_servers(make_homeserver, names=("a", "b"), ratelimit={
        "to_device": dataclasses.asdict(RateLimitConfig().to_device)})  # the default, not the tests'
    users = {}
    for name, server in (("alice", "a"), ("bob", "b"), ("carol", "a")):
        users[name] = _user(hs[server].url, await hs[server].client().register(name, PASSWORD))
    return hs, users


async def on_synapse(servers: list[SynapseServer], scenario: str) -> dict:
    n = next(_names)
    users = {}
    for name, server in (("alice", servers[0]), ("bob", servers[1]), ("carol", servers[0])):
        data = await asyncio.to_thread(server.register_user, f"{name}-{scenario}-{n}", PASSWORD)
        users[name] = _user(server.base_url, data)
    return users


def plaintext_in_files(dirs: list[Path], secrets: list[str]) -> list[str]:
    """Every (file, secret) where a plaintext occurs in a file under ``dirs`` (as UTF-8, and as
    JSON would escape it: the secrets are ASCII, so both are the same bytes). On PostgreSQL a
    server's schema is dumped into its data folder first, so its database is read too."""
    found = []
    for d in dirs:
        storage_engine.current().dump_into(d)
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            data = f.read_bytes()
            found += [f"{f}: {s!r}" for s in secrets if s.encode() in data]
    return found


def check_common(result: dict) -> None:
    sync = result["sync"]
    assert sync["duplicates"] == [], sync["duplicates"]
    assert sync["plaintext_seen"] == [], sync["plaintext_seen"]
    # The SDK and its crypto met no error answer, save the "none" answers above.
    unexpected = [e for e in sync["http_errors"] if not _none_answer(e)]
    assert unexpected == [], sync["http_errors"]
    assert result["result"]["secrets"], "the scenario sent no encrypted message"


@pytest.mark.parametrize(("scenario", "backend"), _params(SCENARIOS))
async def test_e2ee(scenario, backend, node, make_homeserver, request):  # noqa: F811
    if backend == "ours":
        hs, users = await ours(make_homeserver)
        dirs = [Path(h.config.database.path).parent for h in hs.values()]
    else:
        servers = request.getfixturevalue("synapse_pair")
        users = await on_synapse(servers, scenario)
        dirs = [s.workdir for s in servers]
    result = await run_scenario(node, scenario, users, timeout=90)
    check_common(result)
    out = result["result"]
    if scenario == "e2ee_new_device":
        assert out["bob2_device"] in out["alice_knows"]
        assert out["on_new"]["event_id"] == out["on_old"]["event_id"]
    if scenario == "e2ee_backup":
        # The new device read none of the old messages before the restore, all after it.
        assert len(out["before"]) == 3
        assert all(not b["read"] and b["failure"] for b in out["before"]), out["before"]
        assert len(out["after"]) == 3
        assert out["restored"]["imported"] >= 2 and out["backup"]["count"] >= 2
        if backend == "ours":  # bob's server (b) holds the backup: encrypted session keys only
            keys = hs["b"].hs.room_keys.store.get_keys(users["bob"]["user_id"],
                                                       int(out["version"]))
            assert sum(len(sessions) for sessions in keys.values()) == out["backup"]["count"]
    # Nothing the servers keep holds a plaintext: events, to-device inboxes, queues, logs.
    # (Synapse keeps its databases in WAL mode too; every file is read.)
    assert plaintext_in_files(dirs, out["secrets"]) == []
    # (The scan does read where the servers keep events: the DM's name, state sent in the
    # clear, is found.)
    assert plaintext_in_files(dirs, ["js-sdk room"])


@pytest.mark.parametrize(("scenario", "backend"), _params(["e2ee_server_down"]))
async def test_e2ee_server_down(scenario, backend, node, make_homeserver, request,  # noqa: F811
                                tmp_path):
    """bob's server is stopped while alice sends her first encrypted message, and started again
    on the same database; bob's client (still running) then decrypts the message."""
    control = tmp_path / "control"
    control.mkdir()
    if backend == "ours":
        hs, users = await ours(make_homeserver)

        async def stop():
            await hs["b"].server.close()

        async def start():
            hs["b"] = await restart(make_homeserver, hs["b"], "b")
    else:
        servers = request.getfixturevalue("synapse_pair")
        users = await on_synapse(servers, scenario)

        async def stop():
            await asyncio.to_thread(servers[1].stop)

        async def start():
            await asyncio.to_thread(servers[1].start)

    try:
        result = await with_harness(node, scenario, users, control,
                                    {"stop_bob_server": stop, "start_bob_server": start})
    finally:
        if backend == "synapse" and servers[1].proc is None:  # leave the pair as it was
            await asyncio.to_thread(servers[1].start)
    check_common(result)


async def with_harness(node_path: str, scenario: str, users: dict, control: Path, steps: dict,
                       extra: dict | None = None) -> dict:
    """Run the scenario, doing each step's action when the script asks (<step>.ready) and
    telling it when done (<step>.done); every step must have been asked for and done."""

    async def harness():
        done: set[str] = set()
        while len(done) < len(steps):
            for step, act in steps.items():
                if step not in done and (control / f"{step}.ready").exists():
                    await act()
                    (control / f"{step}.done").write_text("")
                    done.add(step)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(harness())
    try:
        result = await run_scenario(node_path, scenario, users,
                                    {"control_dir": str(control), **(extra or {})}, timeout=120)
    finally:
        task.cancel()
    assert {p.name for p in control.iterdir()} >= {f"{s}.done" for s in steps}
    return result


def _drained(proc):
    """A started server process whose output is read (and dropped) so it can never block."""
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
    return proc


async def test_e2ee_sender_killed_with_room_key_queued(
        node, make_homeserver, http_session, tmp_path):  # noqa: F811
    """As above, and alice's server (a real process) is SIGKILLed while it holds the room
    key's to-device message (and the event) for bob's server, then started again: bob's
    client still decrypts alice's message once his server is back."""
    control = tmp_path / "control"
    control.mkdir()
    port_a, port_b = unused_port(), unused_port()
    name_a, name_b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
    servers = {name_a: f"http://{name_a}", name_b: f"http://{name_b}"}
    procs = [_drained(await asyncio.to_thread(start_process, tmp_path, "a", port_a, servers))]
    try:
        b = await make_homeserver("b", port=port_b, federation={
            "servers": servers, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5})
        users = {}
        for name, url in (("alice", servers[name_a]), ("bob", b.url)):
            users[name] = _user(url, await Client(http_session, url).register(name, PASSWORD))
        hs = {"b": b}

        async def stop_b():
            await hs["b"].server.close()

        async def start_b():
            hs["b"] = await restart(make_homeserver, hs["b"], "b")

        async def kill_a():
            procs[0].send_signal(signal.SIGKILL)  # no clean shutdown: only the disk remains
            await asyncio.to_thread(procs[0].wait, 10)
            procs[0] = _drained(await asyncio.to_thread(start_process, tmp_path, "a", port_a,
                                                        servers))

        result = await with_harness(
            node, "e2ee_server_down", users, control,
            {"stop_bob_server": stop_b, "kill_alice_server": kill_a, "start_bob_server": start_b},
            {"kill_sender": True})
    finally:
        procs[0].kill()
        await asyncio.to_thread(procs[0].wait, 10)
    check_common(result)
    assert plaintext_in_files([tmp_path / "a", Path(b.config.database.path).parent],
                              result["result"]["secrets"]) == []
