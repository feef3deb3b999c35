"""What the benchmarks share: HTTP calls, figures, and our homeserver as a subprocess.

Imported by bench/federation.py, bench/stage.py, bench/messages.py and bench/fanout.py (each
puts the repository root on sys.path first, so they still run as `python bench/X.py`). Only
aiohttp and the standard library at import time; PyYAML is imported when a Node writes its config.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
CLIENT = "/_matrix/client/v3"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no data."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def r1(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def fmt(v, missing: str = "-", digits: int | None = None) -> str:
    """A figure for a table: floats as %g (or with `digits` decimals), None as `missing`."""
    if v is None:
        return missing
    if isinstance(v, float):
        return f"{v:g}" if digits is None else f"{v:.{digits}f}"
    return str(v)


class HttpError(Exception):
    def __init__(self, status: int, body: str, retry_after_ms: int | None = None):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status, self.retry_after_ms = status, retry_after_ms


async def call(session: aiohttp.ClientSession, method: str, url: str, token: str | None = None,
               body: dict | None = None, timeout: float = 60) -> dict:
    """One JSON request; anything but 200 is an HttpError (a 429 carries retry_after_ms)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        text = await resp.text()
        if resp.status != 200:
            retry = None
            if resp.status == 429:
                retry = (json.loads(text) if text.startswith("{") else {}).get("retry_after_ms")
            raise HttpError(resp.status, text, retry)
        return json.loads(text) if text else {}


async def register_user(session, base_url: str, secret: str, username: str,
                        timeout: float = 60) -> dict:
    """Synapse-style shared-secret registration (`/_synapse/admin/v1/register`, which our
    server implements too) of a non-admin user; returns user_id, access_token, ..."""
    url = base_url + "/_synapse/admin/v1/register"
    nonce = (await call(session, "GET", url, timeout=timeout))["nonce"]
    password = "bench-" + username
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), username.encode(), password.encode(), b"notadmin"]))
    return await call(session, "POST", url, body={
        "nonce": nonce, "username": username, "password": password, "admin": False,
        "mac": mac.hexdigest()}, timeout=timeout)


async def register(session, node: Node, username: str, timeout: float = 60) -> dict:
    """register_user() on `node` with its shared secret; the user dict also gets "node"."""
    user = await register_user(session, node.base_url, node.secret, username, timeout)
    user["node"] = node
    return user


# --------------------------------------------------------------------------- servers


ConfigEdit = Callable[[dict], None]


def federate(peers: dict[str, str], request_timeout_seconds: float) -> ConfigEdit:
    """The config edit of the three-server benches: `peers` (server name -> loopback URL) as
    `federation.servers`, loopback allowed, certificates not checked, a short retry back-off,
    and the login and registration rate limits out of the way."""
    def edit(cfg: dict) -> None:
        cfg["federation"].update({
            "servers": peers, "ip_range_whitelist": ["127.0.0.1/32"],
            "verify_certificates": False, "retry_base_seconds": 0.05,
            "retry_max_seconds": 2.0, "request_timeout_seconds": request_timeout_seconds})
        huge = {"per_second": 1_000_000, "burst": 1_000_000}
        cfg["ratelimit"] = {"login": huge, "register": huge, "message": huge}
    return edit


class Node:
    """One of our homeservers as a subprocess, configured through generate-config.

    Its server name is `host`:port (the port is a free one unless given); `secret` becomes its
    `registration.shared_secret`, which register() uses.
    """

    def __init__(self, label: str, workdir: Path, secret: str, *, host: str = "localhost",
                 port: int | None = None, tls: bool = False):
        self.label, self.workdir, self.secret, self.tls = label, workdir, secret, tls
        self.port = port or free_port()
        self.server_name = f"{host}:{self.port}"
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.db_path = workdir / "data" / "homeserver.db"
        self.log_path = workdir / "homeserver.log"
        self.proc: subprocess.Popen | None = None

    def configure(self, *edits: ConfigEdit) -> Path:
        """`homeserver generate-config`, the shared secret set and each of `edits` applied in
        turn to the parsed config, written as homeserver.yaml; returns its path."""
        import yaml  # not needed by `messages.py --base-url`

        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "homeserver", "generate-config", "--server-name",
               self.server_name, "--port", str(self.port), "--data-dir",
               str(self.workdir / "data")]
        if self.tls:
            cmd.append("--tls-self-signed")
        gen = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        if gen.returncode != 0:
            raise RuntimeError(f"generate-config exited {gen.returncode}: {gen.stderr[-1500:]}")
        cfg = yaml.safe_load(gen.stdout) or {}
        cfg.setdefault("registration", {})["shared_secret"] = self.secret
        for edit in edits:
            edit(cfg)
        path = self.workdir / "homeserver.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    def start(self, config: Path, log_level: str | None = "WARNING") -> None:
        """`homeserver run` in its own session (log_level None: the server's default)."""
        cmd = [sys.executable, "-m", "homeserver", "run", "--config", str(config)]
        if log_level:
            cmd += ["--log-level", log_level]
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    async def wait_ready(self, session, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                await call(session, "GET", self.base_url + "/_matrix/client/versions", timeout=2)
                return
            except (TimeoutError, HttpError, aiohttp.ClientError):
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.label} did not answer within {timeout} s:\n" + self.log_tail())

    def log_tail(self, n: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10) -> None:
        self.terminate()
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


# --------------------------------------------------------------------------- main


def run_bench(run: Callable[..., Awaitable[dict]], args, print_table: Callable[[dict], None],
              ok: Callable[[dict], bool]) -> int:
    """The exit code of `run(args)` bounded by args.max_time; prints its result as a table, or
    as one JSON object with args.json."""
    # SIGTERM ends the run like Ctrl-C, so the servers are stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        res = asyncio.run(asyncio.wait_for(run(args), args.max_time))
    except TimeoutError:
        print(f"gave up after --max-time {args.max_time} s", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(res))
    else:
        print_table(res)
    return 0 if ok(res) else 1


class SyncPoller:
    """Long-polls /sync for one user; subclasses ``record`` what they look for in each joined
    room, keyed in ``arrivals`` by the first time it showed up."""

    request_timeout = 60.0

    def __init__(self, session, user: dict, sync_filter: str):
        self.session, self.user, self.sync_filter = session, user, sync_filter
        self.arrivals: dict = {}
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()
        self.errors = 0
        self.limited = 0

    def record(self, room: dict, now: float) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        api = self.user["node"].base_url + CLIENT
        since = None
        while True:
            q = {"filter": self.sync_filter, "timeout": "30000" if since else "0"}
            if since:
                q["since"] = since
            try:
                body = await call(self.session, "GET", api + "/sync?" + urllib.parse.urlencode(q),
                                  self.user["access_token"], timeout=self.request_timeout)
            except (TimeoutError, HttpError, aiohttp.ClientError):
                self.errors += 1
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            incremental = since is not None
            since = body.get("next_batch", since)
            for room in body.get("rooms", {}).get("join", {}).values():
                self.limited += bool(incremental and room.get("timeline", {}).get("limited"))
                self.record(room, now)
            self.ready.set()
            self.changed.set()

    async def wait_until(self, done, timeout: float) -> bool:
        """Wait until ``done()`` holds (re-checked after each sync), at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return False
        return True
