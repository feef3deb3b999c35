"""Fixtures shared by the integration tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.processes import ServerProcess


@pytest.fixture
async def servers(tmp_path):
    """Start server processes; whatever happens, every one is killed at the end."""
    started: list[ServerProcess] = []

    def make(config: Path) -> ServerProcess:
        sp = ServerProcess(config, tmp_path / f"server{len(started)}.log")
        started.append(sp)
        return sp

    try:
        yield make
    finally:
        for sp in started:
            await sp.kill()
