import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

# Every test connects from one address: the per-address websocket limit has tests of its own.
os.environ.setdefault("CALLS_WS_CONNECT_RATE", "100000/m")
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection
from django.test import override_settings

REDIS_LAYER = "channels_redis.core.RedisChannelLayer"


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


@pytest.fixture(scope="session", autouse=True)
def redis_layer_of_this_run() -> Iterator[None]:
    """
    On Redis, this run's channel layer keys get a prefix of their own (``CALLS_REDIS_PREFIX``, which
    the servers the tests start inherit), so runs sharing one Redis database never see each other's
    groups and messages; the run deletes its keys when it ends.
    """
    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"] != REDIS_LAYER:
        yield
        return
    prefix = f"calls-test-{secrets.token_hex(6)}:"
    previous = os.environ.get("CALLS_REDIS_PREFIX")
    os.environ["CALLS_REDIS_PREFIX"] = prefix
    try:
        # override_settings resets channels' cached layers (its setting_changed handler).
        # The suite's own cache stays in memory: tests clear it, and clearing a Redis cache flushes the whole
        # database the channel layer shares (tests/test_limits.py proves the Redis cache across processes).
        with override_settings(
            CHANNEL_LAYERS={"default": {**layer, "CONFIG": {**layer["CONFIG"], "prefix": prefix}}},
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        ):
            yield
    finally:
        if previous is None:
            os.environ.pop("CALLS_REDIS_PREFIX")
        else:
            os.environ["CALLS_REDIS_PREFIX"] = previous
        delete_redis_keys(settings.REDIS_URL, prefix)


def delete_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def channel_layer_of_this_test() -> Iterator[None]:
    """
    Every test gets new channel layer instances. A Redis layer keeps receive locks and buffers on
    the instance, bound to the event loop that first used them: shared with the next test's loop,
    they fail ("bound to a different event loop") or wait for a loop that is gone.
    """
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


# The services' tests (tests/service_fakes.py): a recording MediaService in place of the SFU, and the bus.


@pytest.fixture
async def recording_media(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app's MediaService for this test: a RecordingMedia (Django is set up by now to import it)."""
    from sessions_app.services import media
    from tests.service_fakes import RecordingMedia

    fake = RecordingMedia()
    monkeypatch.setattr(media, "_sfu", fake)
    return fake


@pytest.fixture
async def bus() -> AsyncIterator[tuple[list[dict[str, Any]], Any]]:
    """What the session's bus carries, as a socket of the session would hear it."""
    from channels.layers import get_channel_layer

    from sessions_app.services.broadcast import group_name

    layer = get_channel_layer()
    channel = await layer.new_channel()
    heard: list[dict[str, Any]] = []

    async def receive() -> None:
        while True:
            heard.append(await layer.receive(channel))

    tasks: list[asyncio.Task[None]] = []

    async def listen(session_id: str) -> None:
        """Hear ``session_id``'s bus from now on (in its group before this returns)."""
        await layer.group_add(group_name(session_id), channel)
        if not tasks:
            tasks.append(asyncio.ensure_future(receive()))

    yield heard, listen
    for task in tasks:
        task.cancel()
