"""Work that repeats in the background while the app runs (settling expired grants, purging old records,
delivering the audit stream): one task for the life of a block, turn after turn, a failed turn logged and
tried again, never stopping the app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio


@asynccontextmanager
async def repeating(
    turn: Callable[[], Awaitable[float]], every: float, log: logging.Logger, failed: str
) -> AsyncIterator[None]:
    """Run ``turn`` again and again in a task of its own while the block runs, waiting after each as many seconds
    as it returns; a turn that raises is logged (``failed``), then the next one comes after ``every`` seconds.
    The task is cancelled when the block ends."""

    async def loop() -> None:
        while True:
            pause = every
            try:
                pause = await turn()
            except Exception:
                log.exception(failed)
            await anyio.sleep(pause)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(loop)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
