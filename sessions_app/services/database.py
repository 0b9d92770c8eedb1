"""The services' way to the database from the event loop: Channels' thread hop, with its types kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from channels.db import database_sync_to_async

Params = ParamSpec("Params")
Result = TypeVar("Result")


def off_the_loop(function: Callable[Params, Result]) -> Callable[Params, Awaitable[Result]]:
    """
    ``function`` (blocking database work) as a coroutine run in Channels' database thread, which also
    closes stale connections around it. Channels ships no types: this keeps ``function``'s.
    """
    return cast(Callable[Params, Awaitable[Result]], database_sync_to_async(function))
