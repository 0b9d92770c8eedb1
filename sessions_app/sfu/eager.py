"""Running a coroutine at once, on the caller's stack, for the hot paths that almost never wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)
# Tasks finishing coroutines that waited, held until they end (the event loop keeps only weak references).
_finishing: set[asyncio.Task[None]] = set()


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """
    Run ``coroutine`` until it finishes or first waits. aiortc's packet handlers are coroutines that
    only wait when they send RTCP, which never blocks (a datagram written at once), so they finish
    here without a task, a queue or a turn of the event loop. One that does wait is finished by a task.
    """
    try:
        awaited = coroutine.send(None)
    except StopIteration:
        return
    except Exception:
        logger.exception("a packet handler failed")
        return
    task = asyncio.ensure_future(_finish(coroutine, awaited))
    _finishing.add(task)
    task.add_done_callback(_finishing.discard)


async def _finish(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Drive a started coroutine on: wait for what it waits for, resume it, until it returns."""
    while True:
        if awaited is None:
            await asyncio.sleep(0)
        else:
            with contextlib.suppress(Exception):  # the coroutine reads the outcome itself when resumed
                await awaited
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return
        except Exception:
            logger.exception("a packet handler failed")
            return
