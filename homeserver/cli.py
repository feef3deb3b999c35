"""``homeserver generate-config``, ``run``, ``backup`` and ``port-db``."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import logging
import secrets
import signal
import ssl
import sys
from pathlib import Path

import yaml
from aiohttp import web

from .config import Config, ConfigError, load_config

SHUTDOWN_GRACE_S = 2.0


def generate_config(server_name: str, port: int, data_dir: str, open_registration: bool,
                    tls_self_signed: bool, requires_token: bool = False) -> str:
    data = Path(data_dir)
    listener = {"port": port, "bind_address": "127.0.0.1", "tls": False}
    if tls_self_signed:
        from .tls import write_self_signed_cert
        data.mkdir(parents=True, exist_ok=True)
        cert, key = write_self_signed_cert(data, server_name.split(":")[0])
        listener.update(tls=True, tls_certificate_path=str(cert), tls_private_key_path=str(key))
    cfg = {
        "server_name": server_name,
        "listeners": [listener],
        "database": {"path": str(data / "homeserver.db")},
        "registration": {"open": open_registration, "requires_token": requires_token,
                         # hex: the printed register_new_matrix_user command takes it as
                         # an argument, and one starting with "-" would read as an option
                         "shared_secret": secrets.token_hex(32)},
        "federation": {"servers": {}, "verify_certificates": True, "ip_range_whitelist": []},
        "media": {"audio_slots": 3, "public_ip": None, "udp_port_range": None,
                  "tcp_port": None, "loss_feedback": True},
        "media_repository": {"max_upload_bytes": 50 * 1024 * 1024,
                             "store_path": str(data / "media")},
    }
    header = ("# Homeserver configuration. Keys and defaults are documented in README.md.\n"
              "# registration.shared_secret lets admins create users (Synapse's admin API).\n")
    return header + yaml.safe_dump(cfg, sort_keys=False)


def client_url(config: Config) -> str:
    lst = config.listeners[0]
    host = lst.bind_address if lst.bind_address not in ("0.0.0.0", "::") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if lst.tls else 'http'}://{host}:{lst.port}/"


async def serve(config: Config) -> None:
    from .app import make_app

    app = make_app(config)
    # A long-polling /sync (up to its timeout) must not hold up a SIGTERM: requests still
    # running after this grace are cancelled (each database write is atomic) and clients retry.
    # aiohttp waits up to twice the grace in all.
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    for lst in config.listeners:
        ctx = None
        if lst.tls and lst.tls_certificate_path:  # the config requires both paths with tls
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(lst.tls_certificate_path, lst.tls_private_key_path)
        site = web.TCPSite(runner, lst.bind_address, lst.port, ssl_context=ctx,
                           reuse_address=True)
        await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"homeserver {config.server_name} ready at {client_url(config)}", flush=True)
    await stop.wait()
    logging.getLogger(__name__).info("shutting down")
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="homeserver",
                                     description="Federated live audio rooms homeserver")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate-config", help="print a new config file")
    gen.add_argument("--server-name", required=True)
    gen.add_argument("--port", type=int, required=True)
    gen.add_argument("--data-dir", required=True)
    gen.add_argument("--open-registration", action="store_true")
    gen.add_argument("--tls-self-signed", action="store_true")
    gen.add_argument("--requires-token", action="store_true",
                     help="sign-up needs a registration token an admin made")
    run = sub.add_parser("run", help="run the server")
    run.add_argument("--config", required=True)
    run.add_argument("--log-level", default="INFO")
    run.add_argument("--port", type=int, default=None,
                     help="listen on this port instead of the first listener's")
    run.add_argument("--metrics-port", type=int, default=None,
                     help="serve /metrics on this port instead of metrics.port (each of"
                     " several processes sharing one config needs its own)")
    bak = sub.add_parser("backup", help="a consistent copy of a (running) server's SQLite"
                         " database")
    bak.add_argument("--config", required=True)
    bak.add_argument("--to", required=True, help="the backup file to write")
    bak.add_argument("--force", action="store_true", help="overwrite an existing file")
    bak.add_argument("--pages-per-step", type=int, default=256,
                     help="pages copied between short pauses (default 256)")
    port = sub.add_parser("port-db", help="copy a SQLite database into PostgreSQL (the"
                          " server stopped)")
    port.add_argument("--config", required=True,
                      help="the config the server will run with (database.engine: postgres)")
    port.add_argument("--sqlite", required=True, help="the SQLite database to copy")
    port.add_argument("--batch-size", type=int, default=5000, help="rows per batch")
    args = parser.parse_args(argv)

    if args.command == "generate-config":
        text = generate_config(args.server_name, args.port, args.data_dir,
                               args.open_registration, args.tls_self_signed,
                               args.requires_token)
        sys.stdout.write(text)
        secret = yaml.safe_load(text)["registration"]["shared_secret"]
        scheme = "https" if args.tls_self_signed else "http"
        # stderr, so `generate-config ... > homeserver.yaml` keeps the file clean
        print("To make a server admin once it runs (Synapse's script, or any client of"
              " /_synapse/admin/v1/register):\n"
              f"  register_new_matrix_user -a -u admin -k '{secret}'"
              f" {scheme}://127.0.0.1:{args.port}", file=sys.stderr)
        return 0
    logging.basicConfig(level=getattr(args, "log_level", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"error: {args.config}: {e}", file=sys.stderr)
        return 2
    if args.command == "backup":
        return run_backup(config, args.to, args.force, args.pages_per_step)
    if args.command == "port-db":
        return run_port_db(config, args.sqlite, args.batch_size)
    for flag, value in (("--port", args.port), ("--metrics-port", args.metrics_port)):
        if value is not None and not 1 <= value <= 65535:
            print(f"error: {flag}: {value} is not a TCP port", file=sys.stderr)
            return 2
    try:
        if args.port is not None:
            first = dataclasses.replace(config.listeners[0], port=args.port)
            config = dataclasses.replace(config, listeners=[first, *config.listeners[1:]])
        if args.metrics_port is not None:
            metrics = dataclasses.replace(config.metrics, port=args.metrics_port)
            config = dataclasses.replace(config, metrics=metrics)
    except ConfigError as e:  # e.g. the two ports the same
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        # several processes share one PostgreSQL server; one SQLite file has one process
        lock = lock_database(config.database.path) if config.database.engine == "sqlite" \
            else None
    except DatabaseInUse as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(config))
    except OSError as e:
        print(f"error: cannot listen: {e}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.close()
    return 0


class DatabaseInUse(Exception):
    pass


def lock_database(path: str):
    """Hold an exclusive lock beside the SQLite file for the life of this process. A second
    server process on the same file would keep its own caches and stream positions and hand
    out duplicate orderings, so it is refused. The kernel drops the lock when the process
    dies, SIGKILL included, so a restart never finds a stale one."""
    if path == ":memory:":
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fh = open(path + ".lock", "a+")  # noqa: SIM115 - held open until the process exits
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise DatabaseInUse(
            f"{path} is in use by another homeserver process (one process serves a SQLite"
            " database)") from None
    return fh


def run_backup(config: Config, to: str, force: bool, pages: int) -> int:
    from .backup import BackupError, backup

    if config.database.engine != "sqlite":
        print("error: homeserver backup copies a SQLite database; back up PostgreSQL with"
              " its own tools (pg_dump, or continuous archiving)", file=sys.stderr)
        return 2
    if not 1 <= pages <= 1_000_000:
        print("error: --pages-per-step: must be between 1 and 1000000", file=sys.stderr)
        return 2
    try:
        backup(config.database.path, to, force=force, pages=pages,
               say=lambda line: print(line, flush=True))
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def run_port_db(config: Config, sqlite_path: str, batch: int) -> int:
    from .storage.port_db import PortError, port_db

    def lock(path: str):
        try:
            return lock_database(path)
        except DatabaseInUse as e:
            raise PortError(f"{e}: stop the server first") from None

    if not 1 <= batch <= 1_000_000:
        print("error: --batch-size: must be between 1 and 1000000", file=sys.stderr)
        return 2
    try:
        port_db(config, sqlite_path, lock=lock, batch=batch,
                say=lambda line: print(line, flush=True))
    except PortError as e:
        print(f"error: port-db: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: port-db: interrupted; nothing was committed to PostgreSQL",
              file=sys.stderr)
        return 1
    return 0
