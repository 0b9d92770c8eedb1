from collections.abc import Iterator

import pytest
from django.db import connection


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def drop_leftover_database_connections(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """
    On PostgreSQL, close the connections that ``database_sync_to_async`` worker threads still hold
    when the run ends (they are thread-local: only the server can end them), or dropping the test
    database fails. Torn down before ``django_db_setup``, which drops it.
    """
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
