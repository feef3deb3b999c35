"""A handler's one long-running loop: started once when the server starts, cancelled and
awaited when it stops, so no task outlives the server (several run in one test process).
And ``soon``: deferred work that may touch the database."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

# Tasks started by ``soon``, held until done (the loop itself keeps only weak references).
_running: set[asyncio.Task] = set()


def soon(fn: Callable[..., None], *args: Any) -> asyncio.Task:
    """Run ``fn(*args)`` shortly, as ``loop.call_soon`` would, but in a task of its own: on
    PostgreSQL a store call waits through the task's greenback portal, which a bare loop
    callback lacks (it would block the loop, and deadlock on the write lock held by a task
    that needs the loop to finish)."""
    async def run() -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("deferred %s failed", getattr(fn, "__qualname__", fn))

    task = asyncio.get_running_loop().create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


class BackgroundTask:
    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]]):
        self._run = run
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
