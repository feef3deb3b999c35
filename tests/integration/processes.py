"""The homeserver as a real process, for tests that kill it, signal it or run its CLI."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.storage_engine import follow_engine

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30


def generate_config(tmp: Path, port: int, *extra: str) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "homeserver", "generate-config", "--server-name",
         f"127.0.0.1:{port}", "--port", str(port), "--data-dir", str(tmp / "data"),
         "--open-registration", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    path = tmp / "hs.yaml"
    path.write_text(follow_engine(out.stdout))
    return path


class ServerProcess:
    """``homeserver run`` as a subprocess; stderr goes to a file so it can never block."""

    def __init__(self, config: Path, log: Path, *args: str):
        self.config, self.log, self.args = config, log, args
        self.proc: asyncio.subprocess.Process | None = None
        self.ready_line = ""

    async def start(self) -> str:
        with open(self.log, "ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "homeserver", "run", "--config", str(self.config),
                *self.args,
                cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            while True:
                line = await asyncio.wait_for(self.proc.stdout.readline(), READY_TIMEOUT)
                if not line:
                    raise AssertionError(f"server exited before ready: {self.log.read_text()}")
                if b"ready at" in line:
                    self.ready_line = line.decode().strip()
                    return self.ready_line
        except TimeoutError:
            raise AssertionError(f"server not ready in {READY_TIMEOUT}s: {self.log.read_text()}") from None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 10)

    async def terminate(self, timeout: float = 10) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)
