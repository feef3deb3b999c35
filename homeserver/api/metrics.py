"""The metrics listener: Prometheus text format at ``/metrics`` on its own port
(``metrics.port`` / ``metrics.bind_address``), never on the client or federation listener."""
from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..metrics import Metrics

log = logging.getLogger(__name__)


class MetricsListener:
    def __init__(self, metrics: Metrics, bind_address: str, port: int):
        self.metrics = metrics
        self.bind_address = bind_address
        self.port = port
        self._runner: web.AppRunner | None = None

    async def scrape(self, request: web.Request) -> web.Response:
        await self.metrics.refresh()
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self.scrape)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind_address, self.port, reuse_address=True)
        await site.start()
        log.info("metrics at http://%s:%d/metrics", self.bind_address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
