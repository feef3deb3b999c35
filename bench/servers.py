"""The servers bench/messages.py starts itself: ours on SQLite or PostgreSQL with N processes
of one config, Synapse on SQLite or PostgreSQL, and the PostgreSQL databases they use.

A target is written `sqlite[:N]`, `postgres[:N]` (ours, N processes, default 1; N > 1 needs
PostgreSQL), `synapse` / `synapse-sqlite` or `synapse-postgres`. For PostgreSQL a fresh
database is made on the cluster at --pg-url for each target and dropped afterwards; when
no cluster answers there, a throwaway one is started the way tests/pgcluster.py does (when
that file exists), else the run stops with an error saying so.

asyncpg (ours' PostgreSQL driver) is imported only when a PostgreSQL target is run.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from bench.common import REPO_ROOT, ConfigEdit, Node, free_port, log

if TYPE_CHECKING:
    from tests.pgcluster import PgCluster

DEFAULT_PG_URL = os.environ.get("AUDIOROOMS_BENCH_PG_URL",
                                "postgresql://postgres@127.0.0.1:55432/postgres")
DB_PREFIX = "benchpg"  # every database this bench makes is named benchpg_<run>_<n>


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    server: str  # "ours" | "synapse"
    engine: str  # "sqlite" | "postgres"
    processes: int = 1

    @property
    def label(self) -> str:
        if self.server == "synapse":
            return f"synapse {self.engine}"
        return f"ours {self.engine}:{self.processes}"


def parse_target(text: str) -> Target:
    """`sqlite:1`, `postgres:2`, `synapse-postgres`, ... (see the module's doc)."""
    spec = text.strip().lower()
    if spec.startswith("synapse"):
        engine = spec.removeprefix("synapse").lstrip("-:") or "sqlite"
        if engine not in ("sqlite", "postgres"):
            raise ValueError(f"{text!r}: Synapse runs on sqlite or postgres")
        return Target("synapse", engine)
    engine, _, n = spec.partition(":")
    if engine not in ("sqlite", "postgres"):
        raise ValueError(f"{text!r}: not sqlite[:N], postgres[:N] or synapse-ENGINE")
    if n and not n.isdigit():
        raise ValueError(f"{text!r}: the process count must be a number")
    processes = int(n or 1)
    if not 1 <= processes <= 16:
        raise ValueError(f"{text!r}: 1 to 16 processes")
    if processes > 1 and engine != "postgres":
        raise ValueError(f"{text!r}: several processes of one server need PostgreSQL")
    return Target("ours", engine, processes)


# --------------------------------------------------------------------------- config edits


def raise_limits(node):
    """Every number under our config's `ratelimit` becomes huge (its shape is not fixed yet)."""
    if isinstance(node, dict):
        return {k: raise_limits(v) for k, v in node.items()}
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return 1_000_000
    return node


def raise_rate_limits(cfg: dict) -> None:
    """A config edit: every client-facing rate limit becomes huge (the bench measures the
    server, not its throttles; Synapse's are raised the same way by tests.synapse_env)."""
    huge = {"per_second": 1_000_000, "burst": 1_000_000}
    cfg["ratelimit"] = {"login": huge, "register": huge, "message": huge,
                        **raise_limits(cfg.get("ratelimit") or {})}


def use_postgres(url: str) -> ConfigEdit:
    def edit(cfg: dict) -> None:
        cfg["database"] = {"engine": "postgres", "url": url}
    return edit


# --------------------------------------------------------------------------- PostgreSQL


class PgUnavailable(Exception):
    pass


class PgDatabases:
    """Fresh databases on one cluster (the one at `url`, or a throwaway one), all dropped by
    close(). Use `async with`."""

    def __init__(self, url: str):
        self.admin_url = url
        self.cluster: PgCluster | None = None  # a throwaway cluster we started
        self.names: list[str] = []
        self.run_id = secrets.token_hex(3)

    async def __aenter__(self) -> PgDatabases:
        try:
            await self._admin("SELECT 1")
        except (OSError, TimeoutError, PgUnavailable) as e:
            log(f"[postgres] no cluster at {self.admin_url} ({e}); starting a throwaway one")
            self.admin_url = await asyncio.to_thread(self._start_cluster, str(e))
            try:
                await self._admin("SELECT 1")
            except BaseException:
                await self.__aexit__(None, None, None)
                raise
        return self

    def _start_cluster(self, why: str) -> str:
        try:
            from tests.pgcluster import PgCluster
        except ImportError:
            raise PgUnavailable(
                f"no PostgreSQL at {self.admin_url} ({why}), and tests/pgcluster.py is not"
                " there to start one: pass --pg-url or set AUDIOROOMS_BENCH_PG_URL") from None
        cluster = PgCluster()
        try:
            url = cluster.start()
        except Exception as e:
            cluster.stop()
            raise PgUnavailable(f"cannot start a throwaway PostgreSQL cluster: {e}") from e
        self.cluster = cluster
        return url

    async def _admin(self, *statements: str) -> None:
        try:
            import asyncpg
        except ImportError:
            raise PgUnavailable("asyncpg is not installed (pip install -e .)") from None
        try:
            conn = await asyncpg.connect(self.admin_url, timeout=10)
        except asyncpg.PostgresError as e:
            raise PgUnavailable(str(e)) from e
        try:
            for sql in statements:
                await conn.execute(sql, timeout=60)
        finally:
            await conn.close(timeout=10)

    async def create(self) -> str:
        """A new empty database (UTF8, C collation: what Synapse insists on); its URL."""
        name = f"{DB_PREFIX}_{self.run_id}_{len(self.names)}"
        await self._admin(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' LC_COLLATE \'C\''
                          " LC_CTYPE 'C' TEMPLATE template0")
        self.names.append(name)
        return self.url_of(name)

    def url_of(self, name: str) -> str:
        u = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))

    async def drop(self, url: str) -> None:
        name = urllib.parse.urlsplit(url).path.lstrip("/")
        if name in self.names:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.names.remove(name)

    async def __aexit__(self, *exc) -> None:
        try:
            for name in list(self.names):
                try:
                    await self.drop(self.url_of(name))
                except Exception as e:  # keep dropping the others
                    log(f"[postgres] could not drop {name}: {e}")
        finally:
            if self.cluster is not None:
                await asyncio.to_thread(self.cluster.stop)


def synapse_database(url: str) -> dict:
    """Synapse's `database` config for the PostgreSQL database at `url`."""
    u = urllib.parse.urlsplit(url)
    args = {"user": urllib.parse.unquote(u.username or "postgres"),
            "database": u.path.lstrip("/"), "host": u.hostname or "127.0.0.1",
            "port": u.port or 5432, "cp_min": 5, "cp_max": 10}
    if u.password:
        args["password"] = urllib.parse.unquote(u.password)
    return {"name": "psycopg2", "args": args}


# --------------------------------------------------------------------------- our processes


class OurServers:
    """`processes` of our `homeserver run`, one config, each on its own port (`--port`).

    The first process starts (and migrates the database) before the others start."""

    def __init__(self, label: str, workdir: Path, secret: str, processes: int = 1):
        self.label, self.workdir, self.secret = label, workdir, secret
        self.node = Node(label, workdir, secret)  # generate-config, with process 1's port
        self.ports = [self.node.port] + [free_port() for _ in range(processes - 1)]
        self.base_urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.procs: list[subprocess.Popen] = []

    def log_path(self, i: int) -> Path:
        return self.workdir / f"homeserver-{i + 1}.log"

    async def start(self, *edits: ConfigEdit, timeout: float = 60) -> None:
        config = self.node.configure(raise_rate_limits, *edits)
        try:
            for i, port in enumerate(self.ports):
                with open(self.log_path(i), "ab") as out:
                    self.procs.append(subprocess.Popen(
                        [sys.executable, "-m", "homeserver", "run", "--config", str(config),
                         "--port", str(port)], cwd=REPO_ROOT, stdout=out,
                        stderr=subprocess.STDOUT, start_new_session=True))
                await self._wait_ready(i, timeout)
        except BaseException:
            self.stop()
            raise

    async def _wait_ready(self, i: int, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        url = self.base_urls[i] + "/_matrix/client/versions"
        async with aiohttp.ClientSession() as session:
            while asyncio.get_running_loop().time() < deadline:
                if self.procs[i].poll() is not None:
                    raise RuntimeError(f"{self.label} process {i + 1} exited with "
                                       f"{self.procs[i].returncode}:\n{self.log_tail(i)}")
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.label} process {i + 1} did not answer within {timeout} s:\n"
                           + self.log_tail(i))

    def log_tail(self, i: int, n: int = 20) -> str:
        path = self.log_path(i)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 15) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        self.procs = []


# --------------------------------------------------------------------------- one target


def cpu_s(pids: list[int]) -> float | None:
    """User + system CPU seconds of these processes so far (Linux /proc; None elsewhere)."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")



async def start_target(target: Target, workdir: Path, secret: str, pg: PgDatabases | None,
                       stoppers: list) -> tuple[list[str], str | None, list[int]]:
    """Start `target` in `workdir` (a fresh database for a PostgreSQL one, from `pg`); returns
    its client URLs (one per process), its database URL and its process ids. What stops it
    is appended to `stoppers` before anything starts, so an interrupted start is cleaned up."""
    db_url = None
    if target.engine == "postgres":
        if pg is None:
            raise PgUnavailable("a PostgreSQL target without a cluster")
        db_url = await pg.create()
    if target.server == "synapse":
        from tests.synapse_env import SynapseServer, ensure_postgres_driver, ensure_venv

        extra = {}
        if db_url is not None:
            ensure_postgres_driver(ensure_venv())
            extra["database"] = synapse_database(db_url)
        syn = SynapseServer(workdir, shared_secret=secret, extra_config=extra)
        stoppers.append(syn.stop)
        syn.start()  # blocking (nothing else runs meanwhile): Ctrl-C cannot orphan it
        return [syn.base_url], db_url, [syn.proc.pid] if syn.proc else []
    ours = OurServers(target.label, workdir, secret, target.processes)
    stoppers.append(ours.stop)
    await ours.start(*([use_postgres(db_url)] if db_url else []))
    return ours.base_urls, db_url, [p.pid for p in ours.procs]
