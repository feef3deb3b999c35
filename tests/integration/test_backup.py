"""``homeserver backup`` against a running server under write load: a server restored from the
backup has every message acknowledged before the backup began, and the copy is a consistent
snapshot (a prefix of what was sent) that passes SQLite's integrity check."""
from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import unused_port

from tests.integration.federation_helpers import room_bodies
from tests.integration.processes import REPO, ServerProcess, generate_config
from tests.matrix_client import Client

pytestmark = pytest.mark.sqlite_only(reason="homeserver backup copies a SQLite file")

FILLER = "x" * 30_000  # big events: a database of some megabytes, copied in many steps


def server_config(tmp_path: Path) -> tuple[Path, int]:
    port = unused_port()
    path = generate_config(tmp_path, port)
    cfg = yaml.safe_load(path.read_text())
    cfg["ratelimit"] = {"message": {"per_second": 1000, "burst": 1000},
                        "register": {"per_second": 1000, "burst": 1000}}
    cfg["limits"] = {"password_scrypt_n": 1024}
    path.write_text(yaml.safe_dump(cfg))
    return path, port


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "homeserver", *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_backup_of_a_server_under_write_load_restores_every_acknowledged_message(
        tmp_path):
    config, port = server_config(tmp_path)
    backup = tmp_path / "backup.db"
    server = ServerProcess(config, tmp_path / "server.log")
    await server.start()
    async with aiohttp.ClientSession() as session:
        try:
            alice = Client(session, f"http://127.0.0.1:{port}")
            await alice.register("alice")
            room = await alice.create_room(preset="private_chat")
            for i in range(200):
                await alice.send(room, f"filler {i} {FILLER}")

            acked: list[tuple[float, str]] = []  # (when the 200 came back, body)
            stop = asyncio.Event()

            async def writer() -> None:
                i = 0
                while not stop.is_set():
                    body = f"load {i}"
                    await alice.send(room, body)  # raises unless 200
                    acked.append((time.monotonic(), body))
                    i += 1

            task = asyncio.create_task(writer())
            await asyncio.sleep(0.3)
            began = time.monotonic()
            code, out, err = await run_cli("backup", "--config", str(config), "--to",
                                           str(backup), "--pages-per-step", "16")
            ended = time.monotonic()
            await asyncio.sleep(0.2)
            stop.set()
            await task
        finally:
            await server.terminate()
        assert code == 0, err
        assert "pages (" in out and "integrity_check ok" in out, out
        before = [body for t, body in acked if t < began]
        during = [body for t, body in acked if began <= t < ended]
        assert len(before) >= 3 and during, (len(before), len(during))  # it ran under load
        print(f"backup: {len(before)} messages acked before it began, {len(during)} while it"
              f" ran ({ended - began:.2f} s)")

        # the copy is sound, and a snapshot: a prefix of the messages in the order sent
        with sqlite3.connect(backup) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert not Path(f"{backup}-wal").exists()

        # restore: the config pointed at the backup, the server started on it
        cfg = yaml.safe_load(config.read_text())
        cfg["database"]["path"] = str(backup)
        restored_cfg = tmp_path / "restored.yaml"
        restored_cfg.write_text(yaml.safe_dump(cfg))
        restored = ServerProcess(restored_cfg, tmp_path / "restored.log")
        await restored.start()
        try:
            alice2 = Client(session, f"http://127.0.0.1:{port}")
            alice2.token = (await alice2.ok("POST", "/login", {
                "type": "m.login.password", "password": "correct horse",
                "identifier": {"type": "m.id.user", "user": "alice"}}))["access_token"]
            bodies = [b for b in await room_bodies(alice2, room) if b.startswith("load ")]
        finally:
            await restored.terminate()
    sent = [body for _, body in acked]
    assert set(before) <= set(bodies), set(before) - set(bodies)
    assert bodies == sent[:len(bodies)]  # nothing out of order, nothing from after a gap


async def test_backup_refuses_to_overwrite_unless_forced(tmp_path):
    config, _port = server_config(tmp_path)
    server = ServerProcess(config, tmp_path / "server.log")
    await server.start()  # creates the database
    try:
        target = tmp_path / "existing.db"
        target.write_bytes(b"precious")
        code, _out, err = await run_cli("backup", "--config", str(config), "--to", str(target))
        assert code == 1 and "--force" in err
        assert target.read_bytes() == b"precious"
        code, out, err = await run_cli("backup", "--config", str(config), "--to", str(target),
                                       "--force")
        assert code == 0, err
        with sqlite3.connect(target) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] > 0
        assert not (tmp_path / "existing.db.partial").exists()
    finally:
        await server.terminate()


async def test_backup_of_a_postgres_config_points_at_postgres_tools(tmp_path):
    config = tmp_path / "pg.yaml"
    config.write_text(yaml.safe_dump({
        "server_name": "example.org",
        "database": {"engine": "postgres", "url": "postgresql://u@127.0.0.1:1/db"}}))
    code, _out, err = await run_cli("backup", "--config", str(config), "--to",
                                    str(tmp_path / "b.db"))
    assert code == 2 and "pg_dump" in err
    assert not (tmp_path / "b.db").exists()
