"""
The services' way to the database: from the event loop, Channels' thread hop with its types kept; for
workers that share a job table (webhook deliveries, compositions), claiming rows without colliding.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from channels.db import database_sync_to_async
from django.db import connection
from django.db.models import Model, QuerySet

Params = ParamSpec("Params")
Result = TypeVar("Result")
Row = TypeVar("Row", bound=Model)


def off_the_loop(function: Callable[Params, Result]) -> Callable[Params, Awaitable[Result]]:
    """
    ``function`` (blocking database work) as a coroutine run in Channels' database thread, which also
    closes stale connections around it. Channels ships no types: this keeps ``function``'s.
    """
    return cast(Callable[Params, Awaitable[Result]], database_sync_to_async(function))


def lock_for_claim(queryset: QuerySet[Row]) -> QuerySet[Row]:
    """
    Lock the rows a worker is claiming (inside a transaction). PostgreSQL skips rows another worker
    holds; SQLite has no row locks, but its write transaction serialises claims across processes.
    """
    features = connection.features
    if not features.has_select_for_update:
        return queryset
    options: dict[str, object] = {}
    if features.has_select_for_update_skip_locked:
        options["skip_locked"] = True
    if features.has_select_for_update_of:
        options["of"] = ("self",)
    return queryset.select_for_update(**options)
