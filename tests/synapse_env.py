"""Run a real Synapse locally, for interop tests and benchmarks.

Synapse lives in its own virtualenv (it pins many dependencies of its own and must not
disturb ours), created on first use by `ensure_venv()`. `SynapseServer` writes a small
homeserver.yaml into a work directory, starts Synapse as a subprocess on loopback and
waits until its client API answers.

Only the standard library is imported at module level, so this file is importable
without pytest and runnable on its own:

    python -m tests.synapse_env ensure                  # create the venv, print its path
    python -m tests.synapse_env run --port 8448 --workdir DIR
    python tests/synapse_env.py run ...                 # same, without tests/__init__.py
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# The newest release when this was written; it installs from wheels alone on
# CPython 3.11 (abi3 manylinux wheel, ~22 s for the whole venv). Override with
# SYNAPSE_VERSION=... to try another.
SYNAPSE_VERSION = os.environ.get("SYNAPSE_VERSION", "1.163.2")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "synapse-test-shared-secret"
HIGH_RATE = {"per_second": 100000, "burst_count": 100000}


class SynapseUnavailable(Exception):
    """Synapse cannot be installed or started here; tests should skip with this message."""


# --------------------------------------------------------------------------- venv


def _default_venv() -> Path:
    return Path(os.environ.get("SYNAPSE_VENV") or REPO_ROOT / ".synapse-venv")


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _has_synapse(venv: Path) -> bool:
    py = _venv_python(venv)
    if not py.exists():
        return False
    r = subprocess.run([str(py), "-c", "import synapse"], capture_output=True)
    return r.returncode == 0


def ensure_venv(path: Path | str | None = None) -> Path:
    """Create (once) a virtualenv with matrix-synapse installed; return its path."""
    venv = Path(path) if path else _default_venv()
    if _has_synapse(venv):  # the fast path: ~0.3 s
        return venv
    venv.mkdir(parents=True, exist_ok=True)  # `python -m venv` fills an existing directory
    # Several test processes may ask at once: the first installs, the others wait.
    with open(venv / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _has_synapse(venv):
            return venv
        log = []
        steps = []
        if not _venv_python(venv).exists():
            steps.append([sys.executable, "-m", "venv", str(venv)])
        # Wheels only: building Synapse's Rust extension from source needs a
        # toolchain we do not want to depend on.
        steps.append([str(_venv_python(venv)), "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", "--only-binary=:all:",
                      f"matrix-synapse=={SYNAPSE_VERSION}"])
        for cmd in steps:
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise SynapseUnavailable(f"cannot create Synapse venv at {venv}: {e}") from e
            log.append(r.stdout + r.stderr)
            if r.returncode != 0:
                tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
                raise SynapseUnavailable(
                    f"cannot create Synapse venv at {venv}: {' '.join(cmd)} "
                    f"exited {r.returncode}:\n{tail}")
        if not _has_synapse(venv):
            raise SynapseUnavailable(f"matrix-synapse installed into {venv} but does not import")
    return venv


def ensure_postgres_driver(venv: Path) -> None:
    """psycopg2 in Synapse's venv, for Synapse on PostgreSQL (`database: {name: psycopg2}`).
    Installed on first use only: the test suite runs Synapse on SQLite, the messages bench
    (`--engines synapse-postgres`) on PostgreSQL."""
    py = str(_venv_python(venv))
    if subprocess.run([py, "-c", "import psycopg2"], capture_output=True).returncode == 0:
        return
    with open(venv / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            r = subprocess.run([py, "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "--only-binary=:all:",
                                "psycopg2-binary"], capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SynapseUnavailable(f"cannot install psycopg2-binary into {venv}: {e}") from e
        if r.returncode != 0:
            raise SynapseUnavailable(f"pip install psycopg2-binary into {venv} exited "
                                     f"{r.returncode}:\n{(r.stdout + r.stderr)[-2000:]}")


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (racy, but good enough for tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_self_signed_cert(cert_path: Path, key_path: Path) -> None:
    """Self-signed cert for CN=localhost, SAN localhost + 127.0.0.1 (needs `cryptography`)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    Path(cert_path).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(key_path).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))


def _http_json(method: str, url: str, body: dict | None = None, token: str | None = None,
               timeout: float = 30) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url} -> {e.code}: {e.read().decode(errors='replace')}") from e


def register_user(base_url: str, shared_secret: str, username: str, password: str,
                  admin: bool = False) -> dict:
    """Synapse's shared-secret registration; returns {user_id, access_token, device_id, ...}."""
    url = base_url.rstrip("/") + "/_synapse/admin/v1/register"
    nonce = _http_json("GET", url)["nonce"]
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), username.encode(), password.encode(),
                             b"admin" if admin else b"notadmin"]))
    return _http_json("POST", url, {"nonce": nonce, "username": username, "password": password,
                                    "admin": admin, "mac": mac.hexdigest()})


# --------------------------------------------------------------------------- server


class SynapseServer:
    """One Synapse process on 127.0.0.1 with SQLite in `workdir`.

    `base_url` is plain HTTP serving both the client and the federation API. With
    `tls_federation_port`, a second listener speaks HTTPS (self-signed) on that port, and
    the default server name becomes localhost:<tls port>, since Synapse, and any Matrix
    server, dials other servers by https on the port in their name.
    """

    def __init__(self, workdir: Path | str, server_name: str | None = None,
                 port: int | None = None, shared_secret: str = DEFAULT_SECRET,
                 tls_federation_port: int | None = None, extra_config: dict | None = None,
                 venv: Path | str | None = None):
        self.workdir = Path(workdir).resolve()
        self.port = port or free_port()
        self.tls_federation_port = tls_federation_port
        self.server_name = server_name or f"localhost:{tls_federation_port or self.port}"
        self.shared_secret = shared_secret
        self.extra_config = extra_config or {}
        self.venv = Path(venv) if venv else None
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.federation_url = (f"https://127.0.0.1:{tls_federation_port}"
                               if tls_federation_port else self.base_url)
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"      # Synapse's own log (WARNING+)
        self.stdout_path = self.workdir / "stdout.log"       # crashes before logging starts
        self.proc: subprocess.Popen | None = None

    # -- config

    def _config(self) -> dict:
        w = self.workdir
        listeners = [{
            "port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["client", "federation"], "compress": False}],
        }]
        cfg = {
            "server_name": self.server_name,
            "listeners": listeners,
            "database": {"name": "sqlite3", "args": {"database": str(w / "homeserver.db")}},
            "log_config": str(w / "log.config"),
            "media_store_path": str(w / "media_store"),
            "signing_key_path": str(w / "signing.key"),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "report_stats": False,
            # Fixed secrets so tokens survive restart(); the values are test-only.
            "macaroon_secret_key": "test-macaroon-secret",
            "form_secret": "test-form-secret",
            # No matrix.org notary: keys are fetched directly from the servers under test.
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_verify_certificates": False,
            # Synapse refuses to contact private/loopback addresses by default; we want the
            # opposite: loopback only, so a test can never make it dial out anywhere else.
            # (No federation_ip_range_blacklist: federation then uses these two lists.)
            "ip_range_blacklist": ["0.0.0.0/0", "::/0"],
            "ip_range_whitelist": ["127.0.0.1/32", "::1/128"],
            # Cheap password hashing: registration is setup, not what we measure.
            "bcrypt_rounds": 4,
            # Rate limits raised far out of the way so benchmarks measure throughput.
            "rc_message": HIGH_RATE,
            "rc_registration": HIGH_RATE,
            "rc_registration_token_validity": HIGH_RATE,
            "rc_login": {"address": HIGH_RATE, "account": HIGH_RATE, "failed_attempts": HIGH_RATE},
            "rc_admin_redaction": HIGH_RATE,
            "rc_joins": {"local": HIGH_RATE, "remote": HIGH_RATE},
            "rc_joins_per_room": HIGH_RATE,
            "rc_invites": {"per_room": HIGH_RATE, "per_user": HIGH_RATE, "per_issuer": HIGH_RATE},
            "rc_third_party_invite": HIGH_RATE,
            "rc_3pid_validation": HIGH_RATE,
            "rc_media_create": HIGH_RATE,
            "rc_presence": {"per_user": HIGH_RATE},
            "rc_room_creation": HIGH_RATE,
            "rc_delayed_event_mgmt": HIGH_RATE,
            "rc_reports": HIGH_RATE,
            "rc_user_directory": HIGH_RATE,
            "rc_profile": HIGH_RATE,
            "rc_key_requests": HIGH_RATE,
            "rc_federation": {"window_size": 1000, "sleep_limit": 100000, "sleep_delay": 1,
                              "reject_limit": 100000, "concurrent": 100000},
            "federation_rr_transactions_per_room_per_second": 100000,
        }
        if self.tls_federation_port:
            listeners.append({
                "port": self.tls_federation_port, "bind_addresses": ["127.0.0.1"],
                "type": "http", "tls": True, "x_forwarded": False,
                "resources": [{"names": ["client", "federation"], "compress": False}],
            })
            cfg["tls_certificate_path"] = str(w / "tls.crt")
            cfg["tls_private_key_path"] = str(w / "tls.key")
        cfg.update(self.extra_config)
        return cfg

    def _write_files(self, python: Path) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "media_store").mkdir(exist_ok=True)
        log_config = {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                                  "filename": str(self.log_path)}},
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        # JSON is valid YAML, so no YAML library is needed on our side.
        (self.workdir / "log.config").write_text(json.dumps(log_config, indent=1))
        self.config_path.write_text(json.dumps(self._config(), indent=1))
        if self.tls_federation_port and not (self.workdir / "tls.crt").exists():
            try:
                write_self_signed_cert(self.workdir / "tls.crt", self.workdir / "tls.key")
            except ImportError:  # no cryptography here: Synapse's venv always has it
                subprocess.run([str(python), str(Path(__file__).resolve()), "selfsigned",
                                str(self.workdir / "tls.crt"), str(self.workdir / "tls.key")],
                               check=True)
        if not (self.workdir / "signing.key").exists():
            r = subprocess.run([str(python), "-m", "synapse.app.homeserver", "--generate-keys",
                                "-c", str(self.config_path)],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise SynapseUnavailable(f"synapse --generate-keys failed:\n{r.stderr[-2000:]}")

    # -- lifecycle

    def start(self, timeout: float = 60) -> SynapseServer:
        venv = ensure_venv(self.venv)
        python = _venv_python(venv)
        self._write_files(python)
        with open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(
                [str(python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # Ctrl-C on a test run must not hit it half-way
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SynapseUnavailable(
                    f"Synapse exited with {self.proc.returncode} during startup:\n"
                    + self.log_tail())
            try:
                with urllib.request.urlopen(self.base_url + "/_matrix/client/versions",
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise SynapseUnavailable(f"Synapse did not answer within {timeout} s:\n" + self.log_tail())

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SynapseServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for p in (self.stdout_path, self.log_path):
            if p.exists():
                text += "\n".join(p.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    # -- convenience

    def register_user(self, username: str, password: str, admin: bool = False) -> dict:
        return register_user(self.base_url, self.shared_secret, username, password, admin)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ensure", help="create the Synapse venv and print its path")
    p.add_argument("--venv")
    p = sub.add_parser("run", help="run Synapse in the foreground until Ctrl-C")
    p.add_argument("--port", type=int, default=8008)
    p.add_argument("--workdir", required=True)
    p.add_argument("--server-name")
    p.add_argument("--shared-secret", default=DEFAULT_SECRET)
    p.add_argument("--tls-federation-port", type=int)
    p.add_argument("--venv")
    p = sub.add_parser("selfsigned", help=argparse.SUPPRESS)
    p.add_argument("cert")
    p.add_argument("key")
    args = ap.parse_args(argv)

    try:
        if args.cmd == "ensure":
            t0 = time.monotonic()
            venv = ensure_venv(args.venv)
            print(venv)
            print(f"({time.monotonic() - t0:.1f} s)", file=sys.stderr)
        elif args.cmd == "selfsigned":
            write_self_signed_cert(Path(args.cert), Path(args.key))
        else:
            server = SynapseServer(args.workdir, server_name=args.server_name, port=args.port,
                                   shared_secret=args.shared_secret,
                                   tls_federation_port=args.tls_federation_port, venv=args.venv)
            # SIGTERM too must stop Synapse (it runs in its own session, see start()), and
            # SIGINT even when started in the background, where it is inherited ignored.
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            t0 = time.monotonic()
            with server:
                print(f"Synapse {server.server_name} ready in {time.monotonic() - t0:.1f} s at "
                      f"{server.base_url} (shared secret {server.shared_secret!r}); Ctrl-C stops",
                      flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    while server.proc and server.proc.poll() is None:
                        time.sleep(0.5)
    except SynapseUnavailable as e:
        print(f"Synapse unavailable: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
