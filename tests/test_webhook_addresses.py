"""Webhooks go to public addresses only (issue 14, finding 7): refused at save and at send."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from sessions_app.models import App
from webhooks import delivery
from webhooks.addresses import is_public
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

PRIVATE_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://localhost:9/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
]


@pytest.fixture(autouse=True)
def private_addresses_refused(settings: Any) -> None:
    settings.CALLS_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def local_receiver() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records the paths it is sent."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_addresses_are_refused_when_an_endpoint_is_saved(url: str) -> None:
    endpoint = WebhookEndpoint(app=App.create_with_keys("Acme")[0], name="inside", url=url)
    with pytest.raises(ValidationError, match="private addresses"):
        endpoint.full_clean()


def test_public_addresses_and_unresolvable_names_may_be_saved() -> None:
    """A public address is fine; a name this server cannot resolve yet is checked again at every send."""
    app = App.create_with_keys("Acme")[0]
    for url in ("https://8.8.8.8/hook", "https://hooks.example.invalid/calls"):
        WebhookEndpoint(app=app, name="outside", url=url).full_clean()


def test_the_admin_refuses_a_private_webhook_url(client: Client) -> None:
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only"))
    app = App.create_with_keys("Acme")[0]
    response = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {
            "app": app.pk,
            "name": "metadata",
            "url": "http://169.254.169.254/",
            "enabled": "on",
            "events": ["meeting_started"],
        },
    )
    assert response.status_code == 200 and "private addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_send_to_a_private_address_is_refused_before_connecting(local_receiver: tuple[str, list[str]]) -> None:
    """
    At send time the host is resolved and checked: a receiver on 127.0.0.1 gets nothing, and the
    outcome reads the same whether or not anything listens there.
    """
    url, seen = local_receiver
    listening = delivery.send(target(url), timeout_seconds=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nothing = delivery.send(target(f"http://127.0.0.1:{closed_port}/hook"), timeout_seconds=2)
    assert seen == []
    assert listening.status_code is None and listening.error.startswith("refused")
    assert listening.error == nothing.error


def test_a_name_that_resolves_to_loopback_is_refused_at_send(local_receiver: tuple[str, list[str]]) -> None:
    url, seen = local_receiver
    outcome = delivery.send(target(url.replace("127.0.0.1", "localhost")), timeout_seconds=2)
    assert outcome.error.startswith("refused") and seen == []


def test_private_receivers_work_when_allowed(settings: Any, local_receiver: tuple[str, list[str]]) -> None:
    """CALLS_WEBHOOKS_ALLOW_PRIVATE (development) lets a local receiver have its POST."""
    settings.CALLS_WEBHOOKS_ALLOW_PRIVATE = True
    url, seen = local_receiver
    outcome = delivery.send(target(url + "?k=1"), timeout_seconds=2)
    assert outcome.delivered and seen == ["/hook?k=1"]


def test_what_counts_as_public() -> None:
    assert is_public("203.0.113.7") is False  # documentation range: reserved
    assert is_public("8.8.8.8") and is_public("2001:4860:4860::8888")
    assert not any(is_public(a) for a in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "169.254.1.1", "::1", "fc00::1"))
    assert not is_public("224.0.0.1") and not is_public("::ffff:10.0.0.1")


def target(url: str) -> delivery.Target:
    return delivery.Target(
        delivery_id=1, url=url, secret="whsec_test", event_id="e1", trigger="meeting_started", body=b"{}"
    )
