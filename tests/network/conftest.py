"""Fixtures for tests on Linux network namespaces (tests/netns.py).

The tests need root and iproute2; without them they are skipped with the reason, unless
``AUDIOROOMS_REQUIRE_NETNS=1`` (as ``.ci/run`` sets) turns that into a failure. Every test gets
its own namespaces (unique names), and the fixture fails the test if anything it made - a
namespace, a link, a process, a thread - is still there after teardown.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.conftest import FAST_TEST_CONFIG, deep_merge
from tests.netns import Network, netns_unavailable

REPO = Path(__file__).resolve().parents[2]
PORT = 8008  # every homeserver listens here, inside its own namespace


def _unavailable(reason: str):
    if os.environ.get("AUDIOROOMS_REQUIRE_NETNS") == "1":
        pytest.fail(f"network namespace tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture
async def network(tmp_path):
    reason = netns_unavailable()
    if reason:
        _unavailable(reason)
    for tool in ("nft", "iptables"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed (apt-get install nftables iptables)")
    net = Network(tmp_path)
    try:
        yield net
    finally:
        left = await asyncio.to_thread(net.close)
        assert not left, f"left over after the test: {left}"


class ImpairerHandle:
    """The impairer process (tests/netimpair.py) in a router namespace, and its switches."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc

    async def command(self, line: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        return (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode().strip()

    async def stats(self) -> dict:
        return json.loads(await self.command("stats"))


async def start_impairer(net: Network, ns: str, *, loss: float = 0, delay_ms: float = 0,
                         jitter_ms: float = 0, queue: int = 0, seed: int = 1) -> ImpairerHandle:
    """Every packet the router ``ns`` forwards goes through the impairer (iptables FORWARD ->
    NFQUEUE without bypass: if the impairer dies, forwarding stops rather than silently
    becoming perfect)."""
    argv = ["ip", "netns", "exec", ns, sys.executable, "-m", "tests.netimpair",
            "--queue", str(queue), "--loss", str(loss), "--delay", str(delay_ms),
            "--jitter", str(jitter_ms), "--seed", str(seed)]
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        start_new_session=True)
    net.processes.append(_Waitable(proc))  # killed and checked at teardown
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert line.strip() == b"ready", f"impairer did not start: {line!r}"
    await asyncio.to_thread(net_iptables, ns, "-A", "FORWARD", "-j", "NFQUEUE",
                            "--queue-num", str(queue))
    return ImpairerHandle(proc)


def net_iptables(ns: str, *args: str) -> None:
    from tests.netns import sh
    sh("ip", "netns", "exec", ns, "iptables", *args)


class _Waitable:
    """An asyncio subprocess seen through the subprocess.Popen calls Network.close() makes."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.pid = proc.pid
        self.args = "tests.netimpair"

    def poll(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        # a zombie (exited, not yet reaped by asyncio) counts as gone
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return 0 if f.read().split(") ", 1)[1].startswith("Z") else None
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return 0  # reaped between the two looks (reading /proc/<pid>/stat then says ESRCH)

    def wait(self, timeout=None):

        deadline = time.monotonic() + (timeout or 5)
        while self.poll() is None:
            if time.monotonic() > deadline:
                import subprocess
                raise subprocess.TimeoutExpired(self.args, timeout or 5)
            time.sleep(0.05)
        return 0


async def start_homeserver(network, ns: str, tmp_path, server_name: str = "rooms.test",
                           **overrides) -> int:
    """``python -m homeserver run`` in ``ns`` on 0.0.0.0:PORT, its files in ``tmp_path``;
    returns a port on 127.0.0.1 forwarded to it, for the test's own HTTP client."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = deep_merge(deep_merge({
        "server_name": server_name,
        "listeners": [{"port": PORT, "bind_address": "0.0.0.0"}],
        "database": {"path": str(tmp_path / "homeserver.db")},
        "registration": {"open": True, "shared_secret": "test-shared-secret"},
        "media_repository": {"store_path": str(tmp_path / "media")},
    }, FAST_TEST_CONFIG), overrides)
    path = tmp_path / "homeserver.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = (tmp_path / "homeserver.log").open("wb")
    proc = network.popen(ns, [sys.executable, "-m", "homeserver", "run", "--config", str(path),
                              "--log-level", "WARNING"], cwd=REPO, stdout=log, stderr=log)
    port = await network.forward(ns, "127.0.0.1", PORT)
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.get(f"http://127.0.0.1:{port}/_matrix/client/versions") as r:
                    if r.status == 200:
                        return port
            except aiohttp.ClientError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("homeserver did not start: "
                                     + (tmp_path / "homeserver.log").read_text()[-2000:])
            await asyncio.sleep(0.2)
