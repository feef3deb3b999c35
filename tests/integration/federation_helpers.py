"""Starting several federating homeservers in one test."""
from __future__ import annotations

import asyncio
import socket
import time

from tests.storage_engine import follow_engine


def hold_port() -> socket.socket:
    """A loopback port, kept bound (not listening) until its server is about to bind it.

    Each server must know the others' ports before any starts. A port only looked up and let go
    can be handed out meanwhile, as the local port of a connection a server started first opens
    (CI met it once: "Address already in use"); the kernel hands out no port that is bound."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


async def start_servers(make_homeserver, names=("a", "b", "c"), **overrides):
    """Start servers that know each other's loopback URLs (no DNS, no TLS)."""
    held = {n: hold_port() for n in names}
    ports = {n: s.getsockname()[1] for n, s in held.items()}
    servers = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
    urls = {s: f"http://{s}" for s in servers.values()}
    handles = {}
    try:
        for n in names:
            held[n].close()
            handles[n] = await make_homeserver(
                n, port=ports[n],
                federation={"servers": urls, "retry_base_seconds": 0.05,
                            "retry_max_seconds": 0.5, "request_timeout_seconds": 5},
                **overrides)
    finally:
        for s in held.values():
            s.close()
    return handles


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async or sync predicate until it returns a truthy value; return it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")


async def room_bodies(client, room_id: str) -> list[str]:
    """All message bodies in the room, oldest first, as the client sees them."""
    data = await client.messages(room_id, dir="b", limit="1000")
    return [e["content"]["body"] for e in reversed(data["chunk"])
            if e["type"] == "m.room.message"]



async def bodies_once_all_in(client, room_id: str, want) -> list[str] | None:
    """The room's message bodies, once every one of ``want`` is among them (else None)."""
    got = await room_bodies(client, room_id)
    return got if set(want) <= set(got) else None

async def restart(make_homeserver, handle, name: str):
    """Start a stopped server again on the same port and database."""
    import dataclasses
    fed = dataclasses.asdict(handle.config.federation)
    return await make_homeserver(name, port=handle.config.listeners[0].port, federation=fed,
                                 database={"path": handle.config.database.path})


def start_process(tmp_path, name: str, port: int, servers: dict, ready_timeout: float = 20.0):
    """Run a homeserver as a real process (generate-config, then run); returns the Popen."""
    import subprocess
    import sys

    import yaml
    data = tmp_path / name
    data.mkdir(parents=True, exist_ok=True)
    cfg_path = data / "hs.yaml"
    if not cfg_path.exists():
        out = subprocess.run(
            [sys.executable, "-m", "homeserver", "generate-config", "--server-name",
             f"127.0.0.1:{port}", "--port", str(port), "--data-dir", str(data),
             "--open-registration"], capture_output=True, text=True, check=True).stdout
        cfg = yaml.safe_load(follow_engine(out))
        cfg["federation"].update(servers=servers, ip_range_whitelist=["127.0.0.1/32"],
                                 retry_base_seconds=0.05, retry_max_seconds=0.5)
        cfg["ratelimit"] = {"login": {"per_second": 100, "burst": 100},
                            "register": {"per_second": 100, "burst": 100},
                            "message": {"per_second": 1000, "burst": 1000}}
        cfg["limits"] = {"password_scrypt_n": 1024}
        cfg_path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "homeserver", "run", "--config",
                             str(cfg_path), "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "ready at" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"homeserver {name} did not start")


class ModuleServers:
    """Homeservers (and other test servers) started once for a whole test module: tests/conftest.py's
    ``make_homeserver`` fixture is per test, and these worlds hold many cases each."""

    def __init__(self, tmp, session):
        self.tmp, self.session = tmp, session
        self.started: list = []  # TestServers, closed in reverse order

    async def make_homeserver(self, name: str, port: int, **overrides):
        from aiohttp.test_utils import TestServer

        from homeserver.app import make_app
        from tests.conftest import ServerHandle, homeserver_config
        config = homeserver_config(self.tmp / name, port, **overrides)
        app = make_app(config)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        self.started.append(server)
        return ServerHandle.of(config, app, server, self.session)

    async def start(self, server) -> None:
        """Start another TestServer (an evil peer, a canary) and close it with the rest."""
        await server.start_server()
        self.started.append(server)

    async def close(self) -> None:
        for server in reversed(self.started):
            await server.close()
