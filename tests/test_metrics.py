"""/metrics: off without CALLS_METRICS_TOKEN, token-guarded, and counts what the SFU holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.test import AsyncClient

from sessions_app.services.media import get_sfu
from sessions_app.sfu import MediaEvent
from tests.calls_state import reset_calls

TOKEN = "metrics-test-token"


@pytest.fixture(autouse=True)
async def loopback_media(settings: Any) -> AsyncIterator[None]:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    settings.CALLS_METRICS_TOKEN = TOKEN
    yield
    await reset_calls()


def gauges(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


async def scrape(client: AsyncClient) -> dict[str, float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return gauges(response.content.decode())


async def test_without_a_token_configured_metrics_is_not_found(async_client: AsyncClient, settings: Any) -> None:
    """With CALLS_METRICS_TOKEN unset, /metrics is a 404 whatever the request carries."""
    settings.CALLS_METRICS_TOKEN = ""
    response = await async_client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404


@pytest.mark.parametrize("authorization", ["", f"Basic {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x"])
async def test_a_missing_or_wrong_token_is_not_found(async_client: AsyncClient, authorization: str) -> None:
    """Without the right bearer token, /metrics looks like any unknown path."""
    response = await async_client.get("/metrics", headers={"Authorization": authorization} if authorization else {})
    assert response.status_code == 404


async def test_an_idle_server_reports_zeros_in_prometheus_text(async_client: AsyncClient) -> None:
    """Each gauge has HELP and TYPE lines; an idle process has no rooms or peer connections."""
    response = await async_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = response.content.decode()
    assert "# TYPE calls_peer_connections_open gauge" in text
    values = gauges(text)
    assert values["calls_rooms"] == values["calls_participants"] == values["calls_peer_connections_open"] == 0
    assert values["calls_live_participants"] == 0
    assert values["calls_asyncio_tasks"] >= 1
    assert values["calls_threads"] >= 1


async def test_peer_connections_are_counted_while_held_and_not_once_closed(async_client: AsyncClient) -> None:
    """A participant's server-side peer connection counts as held and open until it leaves."""
    offers: list[MediaEvent] = []

    async def send_signal(event: MediaEvent) -> None:
        offers.append(event)

    sfu = get_sfu()
    await sfu.join("metrics-session", "p1", send_signal)
    during = await scrape(async_client)
    assert (during["calls_rooms"], during["calls_participants"]) == (1, 1)
    assert during["calls_peer_connections_held"] == during["calls_peer_connections_open"] == 1
    await sfu.leave("metrics-session", "p1")
    after = await scrape(async_client)
    assert after["calls_rooms"] == after["calls_peer_connections_held"] == after["calls_peer_connections_open"] == 0
