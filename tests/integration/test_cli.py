"""The command line: ``homeserver generate-config`` and ``homeserver run``."""
from __future__ import annotations

import argparse
import asyncio
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import unused_port

from homeserver.cli import generate_config as generate_config_text
from homeserver.config import load_config
from tests.integration.processes import REPO, ServerProcess, generate_config


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "homeserver", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_generate_config_has_the_contract_keys(tmp_path):
    port = unused_port()
    out = run_cli("generate-config", "--server-name", f"127.0.0.1:{port}", "--port", str(port),
                  "--data-dir", str(tmp_path / "data"), "--open-registration")
    assert out.returncode == 0, out.stderr
    raw = yaml.safe_load(out.stdout)
    # The contract keys are spelled out in the file itself, so operators can see them.
    assert raw["server_name"] == f"127.0.0.1:{port}"
    assert raw["listeners"][0]["port"] == port
    assert {"port", "bind_address", "tls"} <= set(raw["listeners"][0])
    assert raw["database"]["path"] == str(tmp_path / "data" / "homeserver.db")
    assert raw["registration"]["open"] is True
    assert isinstance(raw["registration"]["shared_secret"], str)
    assert len(raw["registration"]["shared_secret"]) >= 32
    assert raw["federation"]["servers"] == {}
    assert raw["federation"]["verify_certificates"] is True
    assert raw["federation"]["ip_range_whitelist"] == []
    assert {"audio_slots", "public_ip", "udp_port_range"} <= set(raw["media"])
    path = tmp_path / "hs.yaml"
    path.write_text(out.stdout)
    cfg = load_config(path)
    assert cfg.server_name == f"127.0.0.1:{port}"
    assert cfg.listeners[0].port == port and cfg.listeners[0].tls is False
    assert cfg.database.path == str(tmp_path / "data" / "homeserver.db")
    assert cfg.registration.open is True
    assert cfg.registration.shared_secret == raw["registration"]["shared_secret"]
    assert cfg.federation.servers == {}
    assert cfg.federation.verify_certificates is True
    assert cfg.federation.ip_range_whitelist == []
    assert cfg.media.audio_slots == 3
    assert cfg.media.public_ip is None and cfg.media.udp_port_range is None


def test_generate_config_secrets_differ_and_registration_defaults_closed(tmp_path):
    args = ("generate-config", "--server-name", "example.org", "--port", "8448",
            "--data-dir", str(tmp_path))
    a, b = yaml.safe_load(run_cli(*args).stdout), yaml.safe_load(run_cli(*args).stdout)
    assert a["registration"]["open"] is False
    assert a["registration"]["shared_secret"] != b["registration"]["shared_secret"]


def test_generate_config_requires_its_arguments():
    out = run_cli("generate-config", "--server-name", "example.org")
    assert out.returncode != 0
    assert "--port" in out.stderr and "Traceback" not in out.stderr


async def test_tls_self_signed_serves_https(tmp_path, servers):
    port = unused_port()
    config = generate_config(tmp_path, port, "--tls-self-signed")
    cfg = load_config(config)
    lst = cfg.listeners[0]
    assert lst.tls is True
    cert, key = Path(lst.tls_certificate_path), Path(lst.tls_private_key_path)
    assert cert.is_file() and key.is_file()
    assert key.stat().st_mode & 0o077 == 0  # the private key is not world-readable
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)  # ssl can load the pair
    client_ctx = ssl.create_default_context(cafile=str(cert))  # and the cert verifies itself

    sp = servers(config)
    line = await sp.start()
    assert f"https://127.0.0.1:{port}/" in line
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        url = f"https://127.0.0.1:{port}/_matrix/client/versions"
        async with session.get(url, ssl=False) as resp:
            assert resp.status == 200
            assert "versions" in await resp.json()
        # The certificate names 127.0.0.1, so a client that trusts it verifies the host too.
        async with session.get(url, ssl=client_ctx) as resp:
            assert resp.status == 200
        # Plain HTTP on the TLS port is not served.
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/_matrix/client/versions") as r:
                await r.read()
    assert await sp.terminate() == 0


def test_sample_config_loads():
    cfg = load_config(REPO / "config.sample.yaml")
    assert cfg.server_name
    assert cfg.listeners and cfg.listeners[0].port
    assert cfg.database.path
    assert cfg.media.audio_slots >= 1


@pytest.mark.parametrize("extra, key", [
    ("bogus_key: 1\n", "bogus_key"),
    ("registration:\n  opn: true\n", "registration.opn"),
    ("media:\n  audio_slots: \"3\"\n", "media.audio_slots"),
], ids=["unknown-top-level", "unknown-nested", "wrong-type"])
def test_run_with_bad_config_prints_one_line_naming_the_key(tmp_path, extra, key):
    port = unused_port()
    config = generate_config(tmp_path, port)
    text = config.read_text()
    data = yaml.safe_load(text)
    top = extra.split(":")[0]
    if top in data:  # replace that section rather than repeating a YAML key
        data.pop(top)
    config.write_text(yaml.safe_dump(data) + extra)
    out = run_cli("run", "--config", str(config), timeout=30)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert key in lines[0]
    assert "Traceback" not in out.stderr
    assert out.stdout == ""  # never got as far as "ready"


def test_run_with_missing_config_file(tmp_path):
    out = run_cli("run", "--config", str(tmp_path / "nope.yaml"), timeout=30)
    assert out.returncode != 0
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "nope.yaml" in out.stderr


def test_run_with_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("server_name: [unclosed\n")
    out = run_cli("run", "--config", str(path), timeout=30)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "bad.yaml" in out.stderr


async def test_run_on_a_busy_port_fails_cleanly(tmp_path):
    port = unused_port()
    config = generate_config(tmp_path, port)
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "homeserver", "run", "--config", str(config), cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert proc.returncode != 0
    assert b"Traceback" not in stderr, stderr.decode()
    assert b"ready at" not in stdout


@pytest.mark.sqlite_only(reason="the lock that keeps a second process off one SQLite file")
async def test_run_port_overrides_the_listener_and_one_sqlite_file_has_one_server(tmp_path):
    """``run --port`` listens where asked; a second process on the same SQLite database is
    refused with one clear line (it would keep its own caches and orderings) while the first
    keeps serving; once the first is SIGKILLed the database is free again."""
    config = generate_config(tmp_path, unused_port())
    port, other = unused_port(), unused_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "homeserver", "run", "--config", str(config), "--port", str(port),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert f":{port}".encode() in line and b"ready at" in line, line
        second = run_cli("run", "--config", str(config), "--port", str(other), timeout=60)
        assert second.returncode != 0 and "Traceback" not in second.stderr
        assert "in use by another homeserver process" in second.stderr, second.stderr
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/_matrix/client/versions") as r:
                assert r.status == 200
        bad = run_cli("run", "--config", str(config), "--port", "70000", timeout=30)
        assert bad.returncode == 2 and "--port" in bad.stderr
    finally:
        proc.kill()
        await proc.wait()
    again = ServerProcess(config, tmp_path / "again.log")
    try:
        assert "ready at" in await again.start()
    finally:
        await again.kill()


async def test_run_metrics_port_overrides_the_configs_metrics_port(tmp_path):
    """Several processes share one config, so each needs its own metrics port:
    ``run --metrics-port`` serves /metrics there instead of ``metrics.port``; a port that is
    not one, or that clashes with the client listener, is refused with one clear line."""
    port, configured, asked = unused_port(), unused_port(), unused_port()
    config = generate_config(tmp_path, port)
    raw = yaml.safe_load(config.read_text())
    raw["metrics"] = {"enabled": True, "port": configured, "bind_address": "127.0.0.1"}
    config.write_text(yaml.safe_dump(raw))
    for bad, why in (("0", "is not a TCP port"), (str(port), "a listener's port")):
        out = run_cli("run", "--config", str(config), "--metrics-port", bad, timeout=30)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert why in out.stderr, out.stderr
    server = ServerProcess(config, tmp_path / "hs.log", "--metrics-port", str(asked))
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{asked}/metrics") as r:
                assert r.status == 200
                assert "# HELP homeserver_http_requests" in await r.text()
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.get(f"http://127.0.0.1:{configured}/metrics")
    finally:
        await server.kill()


def test_generated_shared_secrets_pass_as_a_command_line_argument(tmp_path):
    """generate-config prints ``register_new_matrix_user -a -u admin -k '<secret>' URL`` for
    the operator to paste. A secret starting with "-" made that command fail (argparse reads it
    as an option: one config in 64 had one, and CI met it), so no generated secret may."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", "--shared-secret")
    parser.add_argument("-u")
    for _ in range(300):
        secret = yaml.safe_load(generate_config_text("127.0.0.1:8008", 8008, str(tmp_path), False, False))[
            "registration"]["shared_secret"]
        assert len(secret) >= 32 and secret.isalnum(), secret
        assert parser.parse_args(["-u", "admin", "-k", secret]).shared_secret == secret
