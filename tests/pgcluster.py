"""A throwaway PostgreSQL cluster on loopback, for CI and for running the suite on PostgreSQL
locally (README, "Tests on PostgreSQL"). Debian's PostgreSQL: ``initdb`` and ``pg_ctl`` from
/usr/lib/postgresql/<newest version>/bin, run as the ``postgres`` OS user when we are root
(PostgreSQL refuses to run as root). Everything lives in one folder: the data directory, the
log and the unix socket; trust authentication, listening on 127.0.0.1 only, fsync off (a test
cluster never has to survive a power cut).

    python tests/pgcluster.py start DIR   # prints postgresql://postgres@127.0.0.1:PORT/postgres
    python tests/pgcluster.py stop DIR    # stops it and removes DIR
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Each test server has a pool; a test module can have many servers and processes.
    "max_connections": "300",
    "log_min_messages": "warning",
}
START_TIMEOUT_S = 60


class ClusterError(Exception):
    pass


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: $AUDIOROOMS_PG_BINDIR, else Debian's newest version."""
    if os.environ.get("AUDIOROOMS_PG_BINDIR"):
        return Path(os.environ["AUDIOROOMS_PG_BINDIR"])
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        raise ClusterError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb):"
                           " apt-get install postgresql")
    return versions[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One cluster in ``folder`` (created if missing; removed by ``stop``); without one, in a
    new temporary folder (the postgres user must be able to reach it: pytest's own tmp_path
    is private to root)."""

    def __init__(self, folder: Path | str | None = None):
        folder = folder or tempfile.mkdtemp(prefix="pgcluster-")
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port_file = self.folder / "port"

    @property
    def port(self) -> int:
        return int(self.port_file.read_text())

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        cmd = list(args)
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as postgres
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise ClusterError(f"{' '.join(args[:2])} failed ({done.returncode}):"
                               f" {done.stdout}{done.stderr}{log}")

    def start(self, port: int | None = None) -> str:
        bindir = find_bindir()
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        os.chmod(self.folder, 0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run(str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        port = port or free_port()
        settings = {**SETTINGS, "port": str(port),
                    "unix_socket_directories": f"'{self.folder}'"}
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/pgcluster.py\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self.port_file.write_text(str(port))
        self._run(str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(START_TIMEOUT_S), "start", timeout=START_TIMEOUT_S + 10)
        self.wait_ready()
        return self.url

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the TCP port accepts connections (pg_ctl -w already waited on the socket)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"PostgreSQL not listening on {self.port}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the cluster (immediately: it is thrown away) and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(find_bindir() / "pg_ctl"), "-D", str(self.data), "-m",
                          "immediate", "-w", "stop")
            except ClusterError as e:
                print(f"pgcluster: {e}", file=sys.stderr)
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    cluster = PgCluster(argv[1])
    try:
        if argv[0] == "start":
            print(cluster.start())
        else:
            cluster.stop()
    except (ClusterError, subprocess.TimeoutExpired) as e:
        print(f"pgcluster: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
