"""Fixtures that start real homeservers on loopback ports (pytest-aiohttp)."""
from __future__ import annotations

import copy
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from homeserver.app import HOMESERVER, Homeserver, make_app
from homeserver.config import Config, config_from_dict
from tests import storage_engine
from tests.matrix_client import Client

FAST_TEST_CONFIG = {
    # Generous limits: tests register many users from one IP; the rate-limit test sets its own.
    "ratelimit": {"login": {"per_second": 1000, "burst": 1000},
                  "register": {"per_second": 1000, "burst": 1000},
                  "message": {"per_second": 1000, "burst": 1000},
                  "to_device": {"per_second": 1000, "burst": 1000}},
    # Cheaper scrypt keeps the suite fast; the production default is tested on its own.
    "limits": {"password_scrypt_n": 1024},
}


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def homeserver_config(data_dir: Path, port: int, listener: dict | None = None,
                      **overrides) -> Config:
    """The config every test server starts from: loopback, open registration, federation
    allowed to dial loopback, fast test limits; ``overrides`` are merged in."""
    data = deep_merge({
        "server_name": f"127.0.0.1:{port}",
        "listeners": [{"port": port, "bind_address": "127.0.0.1", **(listener or {})}],
        "registration": {"open": True, "shared_secret": "test-shared-secret"},
        "federation": {"ip_range_whitelist": ["127.0.0.1/32"], "verify_certificates": False},
    }, FAST_TEST_CONFIG)
    data = deep_merge(data, overrides)
    # SQLite in data_dir, or the test module's PostgreSQL database with a schema for this data
    # folder (pytest --engine); a database override naming a path keeps its folder's schema.
    data["database"] = storage_engine.database_config(data_dir / "homeserver.db",
                                                      overrides.get("database"))
    return config_from_dict(data)


def pytest_addoption(parser):
    parser.addoption("--engine", choices=storage_engine.ENGINES, default=None,
                     help="database engine of every test server: sqlite (default) or postgres"
                          " (needs AUDIOROOMS_TEST_PG_URL; env AUDIOROOMS_TEST_ENGINE works too)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about SQLite files themselves (backup, the file lock,"
        " the file's bytes); not run with --engine postgres")
    config.addinivalue_line(
        "markers", "own_databases(reason): sets up its own SQLite and PostgreSQL storage"
        " (port-db, several processes, the engine itself), whatever --engine says; run once,"
        " in the default run, not again with --engine postgres")
    config.audiorooms_engine = storage_engine.select_engine(config)


def pytest_report_header(config):
    return f"database engine: {config.audiorooms_engine}"


def pytest_collection_modifyitems(config, items):
    if config.audiorooms_engine != "postgres":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("sqlite_only") or item.get_closest_marker(
            "own_databases") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="module", autouse=True)
def module_storage(request):
    """The storage of this module's test servers: SQLite files, or (``--engine postgres``) a
    database of its own, dropped when the module ends."""
    if request.config.audiorooms_engine == "postgres":
        url = storage_engine.pg_url()
        storage_engine.check_reachable(url)
        storage = storage_engine.PostgresModuleStorage(url, request.module.__name__)
    else:
        storage = storage_engine.SqliteStorage()
    storage_engine.set_current(storage)
    try:
        yield storage
    finally:
        storage_engine.set_current(storage_engine.SqliteStorage())
        storage.close()


@dataclass
class ServerHandle:
    server_name: str
    url: str
    config: Config
    hs: Homeserver
    server: object
    session: aiohttp.ClientSession

    @classmethod
    def of(cls, config: Config, app, server, session, tls: bool = False) -> ServerHandle:
        port = config.listeners[0].port
        return cls(config.server_name, f"{'https' if tls else 'http'}://127.0.0.1:{port}",
                   config, app[HOMESERVER], server, session)

    def client(self, token: str | None = None) -> Client:
        return Client(self.session, self.url, token)

    async def user(self, username: str, password: str = "correct horse") -> Client:
        c = self.client()
        await c.register(username, password)
        return c


@pytest.fixture
async def http_session():
    # ssl=False: servers started with tls=True use self-signed certificates.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as s:
        yield s


@pytest.fixture
def make_homeserver(aiohttp_server, tmp_path, http_session):
    """``await make_homeserver(name="a", **config)`` starts a homeserver on a loopback port.
    With ``tls=True`` it listens with HTTPS (a self-signed certificate), as other Matrix
    servers such as Synapse require for federation."""
    counter = iter(range(1000))

    async def start(name: str | None = None, port: int | None = None, tls: bool = False,
                    **overrides) -> ServerHandle:
        port = port or unused_port()
        label = name or f"hs{next(counter)}"
        tls_listener, ssl_ctx = {}, None
        if tls:
            from homeserver.tls import write_self_signed_cert
            (tmp_path / label).mkdir(parents=True, exist_ok=True)
            cert, key = write_self_signed_cert(tmp_path / label, "127.0.0.1")
            tls_listener = {"tls": True, "tls_certificate_path": str(cert),
                            "tls_private_key_path": str(key)}
            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(cert, key)
        config = homeserver_config(tmp_path / label, port, tls_listener, **overrides)
        app = make_app(config)
        server = await aiohttp_server(app, host="127.0.0.1", port=port, ssl=ssl_ctx)
        return ServerHandle.of(config, app, server, http_session, tls)

    return start


@pytest.fixture
async def homeserver(make_homeserver) -> ServerHandle:
    return await make_homeserver("a")
