"""
Webhooks: the outbox is written with the state change it announces, and the worker delivers
every event at least once to a local receiver, through outages, 500s, timeouts and restarts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, transaction
from django.test import Client

from sessions_app import errors, signals
from sessions_app.models import App, CallSession
from sessions_app.services import presence
from sessions_app.tokens import CallIdentity
from webhooks import signing
from webhooks.conf import WebhookSettings
from webhooks.models import DeliveryStatus, Trigger, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.retry import RetryPolicy
from webhooks.worker import Worker, encode_body

ROOT = Path(__file__).resolve().parent.parent
WAIT_TIMEOUT_S = 20.0

# Tiny delays so retries happen within a test; the schedule's shape is tested on RetryPolicy itself.
FAST = WebhookSettings(
    timeout_seconds=0.5,
    max_attempts=50,
    backoff_base_seconds=0.02,
    backoff_max_seconds=0.2,
    poll_interval_seconds=0.02,
    batch_size=20,
    concurrency=2,
    claim_margin_seconds=1.0,
)

SIGNALS = {
    Trigger.MEETING_STARTED: signals.meeting_started,
    Trigger.MEETING_PARTICIPANT_JOINED: signals.meeting_participant_joined,
    Trigger.MEETING_PARTICIPANT_LEFT: signals.meeting_participant_left,
    Trigger.MEETING_ENDED: signals.meeting_ended,
    Trigger.RECORDING_GENERATED: signals.recording_generated,
}


# A local receiver.


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """
    A webhook receiver on 127.0.0.1: records every POST and answers from ``script``
    (a status code, or ``("hang", seconds)``), then 200 once the script has run out.
    """

    script: list[int | tuple[str, float]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)
    released: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.condition:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    answer = receiver.script.pop(0) if receiver.script else 200
                    receiver.condition.notify_all()
                if isinstance(answer, tuple):
                    receiver.released.wait(answer[1])  # Slower than the worker's timeout.
                    answer = 200
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # The worker gave up waiting and closed the connection.

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, count: int, timeout: float = WAIT_TIMEOUT_S) -> list[Received]:
        with self.condition:
            arrived = self.condition.wait_for(lambda: len(self.requests) >= count, timeout)
            assert arrived, f"the receiver got {len(self.requests)} request(s), not {count}, within {timeout} s"
            return list(self.requests)


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings: Any) -> None:
    """The receivers of these tests listen on 127.0.0.1 (tests/test_webhook_addresses.py refuses that)."""
    settings.CALLS_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def free_port() -> int:
    """A port nothing listens on (until a test starts a receiver there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_TIMEOUT_S) -> None:
    """Poll ``condition`` (a database query) until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def running_worker(config: WebhookSettings = FAST) -> Iterator[Worker]:
    """The worker delivering in background threads of this process until the block ends."""
    worker = Worker(config)
    thread = threading.Thread(target=worker.run, name="webhooks-test-worker")
    thread.start()
    try:
        yield worker
    finally:
        worker.stop.set()
        thread.join(timeout=WAIT_TIMEOUT_S)
        assert not thread.is_alive(), "the worker did not stop"


# Fixtures and helpers for the outbox.


@pytest.fixture
def app() -> App:
    return App.create_with_keys("Acme")[0]


def endpoint(app: App, url: str, **fields: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(app=app, name=fields.pop("name", "receiver"), url=url, **fields)


def session_of(app: App | None) -> CallSession:
    return CallSession.objects.create(app=app, title="Standup")


def announce(trigger: str, session: CallSession, data: dict[str, Any] | None = None) -> None:
    """Send a lifecycle signal as sessions_app does: inside the transaction of its state change."""
    with transaction.atomic():
        SIGNALS[trigger].send(CallSession, session=session, data=data or {"sessionId": session.session_id})


def delivery_status(pk: int) -> str:
    return WebhookDelivery.objects.get(pk=pk).status


def identity(session: CallSession, uid: str) -> CallIdentity:
    return CallIdentity(
        jti=secrets.token_hex(8),
        session_id=session.session_id,
        uid=uid,
        name=uid.title(),
        is_guest=False,
        role="participant",
        avatar="",
        may_rename=False,
    )


# The outbox is written with the state change.


@pytest.mark.django_db
@pytest.mark.parametrize("trigger", Trigger.values)
def test_each_signal_stores_one_event_with_a_delivery_per_subscribed_endpoint(app: App, trigger: str) -> None:
    """Each lifecycle signal stores one event, delivered to each enabled endpoint of the app subscribed to it."""
    everything = endpoint(app, "http://127.0.0.1:9/all", name="all")
    only_ended = endpoint(app, "http://127.0.0.1:9/ended", name="ended", events=[Trigger.MEETING_ENDED])
    endpoint(app, "http://127.0.0.1:9/off", name="off", enabled=False)
    endpoint(App.create_with_keys("Other")[0], "http://127.0.0.1:9/other", name="other app")
    session = session_of(app)

    announce(trigger, session, {"sessionId": session.session_id, "peakParticipants": 2})

    event = WebhookEvent.objects.get()
    assert event.trigger == trigger
    assert event.session_id == session.session_id
    expected = {everything.pk} | ({only_ended.pk} if trigger == Trigger.MEETING_ENDED else set())
    assert {d.endpoint_id for d in event.deliveries.all()} == expected
    assert set(event.deliveries.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


@pytest.mark.django_db
def test_event_payload_is_trigger_data_app_id_event_id_and_created_at(app: App) -> None:
    """The stored body is {trigger, data, appId, eventId, createdAt}, with the signal's data as it was sent."""
    endpoint(app, "http://127.0.0.1:9/hooks")
    session = session_of(app)
    announce(Trigger.MEETING_STARTED, session, {"sessionId": session.session_id, "type": "VIDEO"})

    event = WebhookEvent.objects.get()
    assert event.payload == {
        "trigger": "meeting_started",
        "data": {"sessionId": session.session_id, "type": "VIDEO"},
        "appId": app.app_id,
        "eventId": str(event.event_id),
        "createdAt": int(event.created_at.timestamp()),
    }


@pytest.mark.django_db
def test_rolled_back_state_change_stores_no_event(app: App) -> None:
    """A signal sent in a transaction that rolls back leaves neither an event nor a delivery."""
    endpoint(app, "http://127.0.0.1:9/hooks")
    session = session_of(app)

    with pytest.raises(RuntimeError), transaction.atomic():
        signals.meeting_started.send(CallSession, session=session, data={"sessionId": session.session_id})
        assert WebhookEvent.objects.count() == 1  # Stored inside the transaction...
        raise RuntimeError("the state change failed")

    assert WebhookEvent.objects.count() == 0  # ...and gone with it.
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_session_without_an_app_stores_no_event(app: App) -> None:
    """Sessions that belong to no app send no webhooks."""
    endpoint(app, "http://127.0.0.1:9/hooks")
    for trigger in Trigger.values:
        announce(trigger, session_of(None))
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_app_without_a_subscribed_endpoint_stores_no_event(app: App) -> None:
    """An event no endpoint would receive is not kept."""
    endpoint(app, "http://127.0.0.1:9/hooks", events=[Trigger.MEETING_ENDED])
    announce(Trigger.MEETING_STARTED, session_of(app))
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_failing_outbox_write_rolls_back_the_state_change(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a state change without its event: if the event cannot be stored, the join is not recorded either."""
    endpoint(app, "http://127.0.0.1:9/hooks")
    session = session_of(app)

    def broken_save(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the outbox cannot be written")

    monkeypatch.setattr(WebhookEvent, "save", broken_save)
    with pytest.raises(RuntimeError):
        async_to_sync(presence.admit)(session, identity(session, "ada"), "Ada", False, False)

    session.refresh_from_db()
    assert session.status == "initiated"
    assert not session.participants.exists()


# Delivery: headers, signature, retries.


@pytest.mark.django_db(transaction=True)
def test_delivery_is_signed_with_the_endpoint_secret(app: App, receiver: Receiver) -> None:
    """The POST carries the event ID, trigger, timestamp and a v1 HMAC-SHA256 signature that verifies."""
    hook = endpoint(app, receiver.url)
    session = session_of(app)
    announce(Trigger.MEETING_PARTICIPANT_JOINED, session, {"sessionId": session.session_id, "uid": "ada"})
    event = WebhookEvent.objects.get()

    Worker(FAST).run(once=True)

    [request] = receiver.wait_for(1)
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Calls-Event-Id"] == str(event.event_id)
    assert headers["X-Calls-Trigger"] == "meeting_participant_joined"
    assert abs(int(headers["X-Calls-Timestamp"]) - time.time()) < 60
    assert headers["X-Calls-Signature"].startswith("v1=")
    assert signing.verify(hook.secret, headers["X-Calls-Timestamp"], request.body, headers["X-Calls-Signature"])
    assert request.json == event.payload
    assert request.json["data"] == {"sessionId": session.session_id, "uid": "ada"}
    assert delivery_status(event.deliveries.get().pk) == DeliveryStatus.DELIVERED


def test_signature_refuses_another_secret_a_changed_body_and_an_old_timestamp() -> None:
    """verify() accepts only the right secret, the exact body and a recent timestamp."""
    body = b'{"trigger":"meeting_ended"}'
    now = 1_800_000_000
    header = signing.signature("whsec_right", now, body)
    clock: Callable[[], float] = lambda: now + 10  # noqa: E731

    assert signing.verify("whsec_right", str(now), body, header, now=clock)
    assert not signing.verify("whsec_wrong", str(now), body, header, now=clock)
    assert not signing.verify("whsec_right", str(now), body + b" ", header, now=clock)
    assert not signing.verify("whsec_right", str(now + 1), body, header, now=clock)
    assert not signing.verify("whsec_right", str(now), body, header, now=lambda: now + 301)
    assert not signing.verify("whsec_right", "yesterday", body, header, now=clock)


def test_retry_delays_double_up_to_the_cap_with_jitter_below() -> None:
    """Backoff: 1 s, 2 s, 4 s ... capped; jitter only shortens a delay, by at most a quarter."""
    longest = RetryPolicy(base_seconds=1, max_seconds=600, max_attempts=12, random=lambda: 0.0)
    shortest = RetryPolicy(base_seconds=1, max_seconds=600, max_attempts=12, random=lambda: 1.0)
    assert [longest.delay_seconds(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600]
    assert shortest.delay_seconds(3) == 3.0
    assert longest.delay_seconds(1000) == 600
    assert not longest.gives_up_after(11)
    assert longest.gives_up_after(12)


def test_settings_come_from_django_settings_or_the_environment(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Django setting wins over the environment; a bad value fails fast, naming the setting."""
    monkeypatch.setenv("CALLS_WEBHOOK_MAX_ATTEMPTS", "3")
    settings.CALLS_WEBHOOK_TIMEOUT_SECONDS = 0.25
    config = WebhookSettings.load()
    assert (config.max_attempts, config.timeout_seconds) == (3, 0.25)
    assert WebhookSettings().max_attempts == 12
    monkeypatch.setenv("CALLS_WEBHOOK_BACKOFF_MAX_SECONDS", "ten minutes")
    with pytest.raises(ImproperlyConfigured, match="CALLS_WEBHOOK_BACKOFF_MAX_SECONDS"):
        WebhookSettings.load()


@pytest.mark.django_db(transaction=True)
def test_receiver_down_then_up_gets_the_event(app: App) -> None:
    """While the receiver is down, attempts are recorded and retried; once it is up the event arrives."""
    port = free_port()
    hook = endpoint(app, f"http://127.0.0.1:{port}/hooks")
    announce(Trigger.MEETING_STARTED, session_of(app))
    item = WebhookDelivery.objects.get()
    receiver = Receiver()
    try:
        with running_worker():
            wait_until(lambda: WebhookAttempt.objects.filter(delivery=item).count() >= 3, "three failed attempts")
            assert delivery_status(item.pk) == DeliveryStatus.PENDING
            receiver.start(port)
            wait_until(lambda: delivery_status(item.pk) == DeliveryStatus.DELIVERED, "the delivery")
    finally:
        receiver.stop()

    [request] = receiver.requests
    assert request.headers["X-Calls-Event-Id"] == str(item.event.event_id)
    assert signing.verify(
        hook.secret, request.headers["X-Calls-Timestamp"], request.body, request.headers["X-Calls-Signature"]
    )
    attempts = list(WebhookAttempt.objects.filter(delivery=item))
    assert all(a.error == "connection refused" and a.status_code is None for a in attempts[:-1])
    assert (attempts[-1].status_code, attempts[-1].error) == (200, "")
    item.refresh_from_db()
    assert item.attempts == len(attempts)
    assert item.delivered_at is not None


@pytest.mark.django_db(transaction=True)
def test_500s_and_redirects_are_retried_until_a_2xx(
    app: App, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Any answer but 2xx (a 500, a redirect) is a failed attempt; the same event is sent again until one succeeds."""
    caplog.set_level(logging.DEBUG, logger="webhooks")
    receiver.script = [500, 302, 503, 204]
    hook = endpoint(app, receiver.url + "?token=url-credential")
    announce(Trigger.MEETING_ENDED, session_of(app))
    item = WebhookDelivery.objects.get()

    with running_worker():
        requests = receiver.wait_for(4)
        wait_until(lambda: delivery_status(item.pk) == DeliveryStatus.DELIVERED, "the delivery")

    assert len({r.headers["X-Calls-Event-Id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    assert list(WebhookAttempt.objects.filter(delivery=item).values_list("status_code", flat=True)) == [
        500,
        302,
        503,
        204,
    ]
    attempt_times = list(WebhookAttempt.objects.filter(delivery=item).values_list("attempted_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempt_times)]
    assert all(gap >= FAST.backoff_base_seconds * 0.75 for gap in gaps)
    assert "attempt 3 failed (HTTP 503 Service Unavailable)" in caplog.text
    for secret in (hook.secret, "url-credential", requests[0].headers["X-Calls-Signature"]):
        assert secret not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_worker_carries_on_after_a_database_error(
    app: App, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error (a restart, SQLite busy) pauses a lane; it does not end the worker."""
    endpoint(app, receiver.url)
    announce(Trigger.MEETING_STARTED, session_of(app))
    errors = [OperationalError("database is locked")] * 3
    claim = Worker.claim

    def flaky_claim(worker: Worker, due_before: Any) -> list[WebhookDelivery]:
        if errors:
            raise errors.pop()
        return claim(worker, due_before)

    monkeypatch.setattr(Worker, "claim", flaky_claim)
    with running_worker():
        assert len(receiver.wait_for(1)) == 1
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_slow_receiver_is_a_failed_attempt_and_is_retried(app: App, receiver: Receiver) -> None:
    """A receiver slower than the timeout costs one failed attempt; the retry gets through."""
    receiver.script = [("hang", 5.0)]
    endpoint(app, receiver.url)
    announce(Trigger.MEETING_PARTICIPANT_LEFT, session_of(app))
    item = WebhookDelivery.objects.get()

    with running_worker():
        wait_until(lambda: delivery_status(item.pk) == DeliveryStatus.DELIVERED, "the delivery")

    first, second = WebhookAttempt.objects.filter(delivery=item)
    assert first.status_code is None
    assert first.error == "timed out after 0.5 s"
    assert FAST.timeout_seconds <= first.duration_seconds < 5.0
    assert second.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_gives_up_after_max_attempts_and_retry_now_sends_it_again(
    app: App, receiver: Receiver, admin_client: Client
) -> None:
    """After the last attempt a delivery is failed; the admin's "retry now" has the worker send it again."""
    receiver.script = [500, 500, 500]
    endpoint(app, receiver.url)
    announce(Trigger.MEETING_ENDED, session_of(app))
    item = WebhookDelivery.objects.get()
    config = WebhookSettings(**{**FAST.__dict__, "max_attempts": 3})

    with running_worker(config):
        wait_until(lambda: delivery_status(item.pk) == DeliveryStatus.FAILED, "the delivery to fail")
    item.refresh_from_db()
    assert (item.attempts, item.last_status_code, item.last_error) == (3, 500, "HTTP 500 Internal Server Error")

    response = admin_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [item.pk]},
        follow=True,
    )
    assert b"will be retried" in response.content
    assert delivery_status(item.pk) == DeliveryStatus.PENDING
    Worker(config).run(once=True)

    assert delivery_status(item.pk) == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 4


@pytest.mark.django_db(transaction=True)
def test_disabled_endpoint_holds_its_deliveries_until_enabled(app: App, receiver: Receiver) -> None:
    """Disabling an endpoint pauses it: its pending deliveries are kept, and sent once it is enabled again."""
    hook = endpoint(app, receiver.url)
    announce(Trigger.MEETING_STARTED, session_of(app))
    hook.enabled = False
    hook.save()

    Worker(FAST).run(once=True)
    assert receiver.requests == []
    hook.enabled = True
    hook.save()
    Worker(FAST).run(once=True)

    assert len(receiver.wait_for(1)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_outbox_without_sending_twice(app: App, receiver: Receiver) -> None:
    """Workers running side by side claim different deliveries: each event reaches each endpoint once."""
    hooks = [endpoint(app, f"{receiver.url}/{n}", name=f"receiver {n}") for n in range(3)]
    session = session_of(app)
    for _ in range(10):
        announce(Trigger.MEETING_PARTICIPANT_JOINED, session)
    config = WebhookSettings(**{**FAST.__dict__, "batch_size": 3})

    with running_worker(config), running_worker(config):
        requests = receiver.wait_for(30)
        wait_until(
            lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 30, "all deliveries"
        )

    sent = [(r.headers["X-Calls-Event-Id"], r.path) for r in requests]
    assert len(sent) == len(set(sent)) == 30
    assert WebhookAttempt.objects.count() == 30
    assert {path for _, path in sent} == {f"/hooks/{n}" for n in range(len(hooks))}


@pytest.mark.django_db(transaction=True)
def test_state_change_does_not_wait_for_the_receiver(app: App, receiver: Receiver) -> None:
    """Joining touches no network, even with a receiver that hangs: delivery happens later, in the worker."""
    receiver.script = [("hang", 5.0)]
    endpoint(app, receiver.url)
    session = session_of(app)

    started = time.monotonic()
    async_to_sync(presence.admit)(session, identity(session, "ada"), "Ada", False, False)

    assert time.monotonic() - started < FAST.timeout_seconds
    assert receiver.requests == []
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2


# The worker as a process: kill -9 and start again.


def database_url() -> str:
    """The test database, for a worker process: it sees what this test commits."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user, password = quote(settings["USER"] or ""), quote(settings["PASSWORD"] or "")
        host, port = settings["HOST"] or "localhost", settings["PORT"] or 5432
        return f"postgres://{user}:{password}@{host}:{port}/{quote(settings['NAME'])}"
    if connection.vendor != "sqlite":
        pytest.skip(f"no database URL for {connection.vendor}")
    name = str(settings["NAME"])
    assert ":memory:" not in name and "mode=memory" not in name, "the test database must be a file"
    return f"sqlite:///{name}"


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        "CALLS_WEBHOOK_TIMEOUT_SECONDS": "0.5",
        "CALLS_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
        "CALLS_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2",
        "CALLS_WEBHOOK_MAX_ATTEMPTS": "1000",
        "CALLS_WEBHOOK_CLAIM_MARGIN_SECONDS": "1",
        "CALLS_WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_webhooks", "--poll-interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.django_db(transaction=True)
def test_event_survives_a_killed_worker_and_is_delivered_by_the_next(app: App, tmp_path: Path) -> None:
    """kill -9 the worker while the receiver is down; the next worker delivers the event, under the same ID."""
    port = free_port()
    hook = endpoint(app, f"http://127.0.0.1:{port}/hooks")
    announce(Trigger.MEETING_ENDED, session_of(app))
    item = WebhookDelivery.objects.get()
    log = tmp_path / "worker.log"
    receiver = Receiver(script=[500])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(start_worker(log))
        wait_until(lambda: WebhookAttempt.objects.filter(delivery=item).count() >= 2, "failed attempts")
        processes[0].send_signal(signal.SIGKILL)
        assert processes[0].wait(timeout=WAIT_TIMEOUT_S) == -signal.SIGKILL
        failed_before_restart = WebhookAttempt.objects.filter(delivery=item).count()
        assert delivery_status(item.pk) == DeliveryStatus.PENDING

        receiver.start(port)
        processes.append(start_worker(log))
        wait_until(lambda: delivery_status(item.pk) == DeliveryStatus.DELIVERED, "delivery after the restart")

        processes[1].send_signal(signal.SIGTERM)
        assert processes[1].wait(timeout=WAIT_TIMEOUT_S) == 0, log.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        receiver.stop()

    assert len(receiver.requests) >= 2
    assert {r.headers["X-Calls-Event-Id"] for r in receiver.requests} == {str(item.event.event_id)}
    assert all(
        signing.verify(hook.secret, r.headers["X-Calls-Timestamp"], r.body, r.headers["X-Calls-Signature"])
        for r in receiver.requests
    )
    attempts = list(WebhookAttempt.objects.filter(delivery=item))
    assert len(attempts) >= failed_before_restart + 2
    assert attempts[-1].status_code == 200
    assert "Webhook worker stopped." in log.read_text()


# End to end with sessions_app.


@pytest.mark.django_db(transaction=True)
async def test_a_call_sends_started_joined_left_ended_in_order(receiver: Receiver) -> None:
    """A real join and leave through presence send the four triggers, received in the order they happened."""
    app = (await sync_to_async(App.create_with_keys)("Acme"))[0]
    hook = await sync_to_async(endpoint)(app, receiver.url)
    session = await sync_to_async(session_of)(app)

    admission = await presence.admit(session, identity(session, "ada"), "Ada", False, False)
    participant = admission.participant
    assert admission.others == []
    await presence.mark_left(participant.participant_id, errors.LEAVE_REASON_LEFT)
    await asyncio.to_thread(Worker(FAST).run, once=True)

    requests = await asyncio.to_thread(receiver.wait_for, 4)
    assert [r.json["trigger"] for r in requests] == [
        "meeting_started",
        "meeting_participant_joined",
        "meeting_participant_left",
        "meeting_ended",
    ]
    assert {r.json["appId"] for r in requests} == {app.app_id}
    assert {r.json["data"]["sessionId"] for r in requests} == {session.session_id}
    assert requests[1].json["data"]["participantId"] == participant.participant_id
    assert requests[2].json["data"]["leaveReason"] == errors.LEAVE_REASON_LEFT
    assert all(
        signing.verify(hook.secret, r.headers["X-Calls-Timestamp"], r.body, r.headers["X-Calls-Signature"])
        for r in requests
    )


@pytest.mark.django_db(transaction=True)
def test_ending_a_call_through_the_rest_api_sends_meeting_ended(receiver: Receiver, client: Client) -> None:
    """POST /api/v1/sessions/<id>/end sends meeting_ended after the call's start and join."""
    app, api_key, _ = App.create_with_keys("Acme")
    endpoint(app, receiver.url)
    session = session_of(app)
    async_to_sync(presence.admit)(session, identity(session, "ada"), "Ada", False, False)

    response = client.post(
        f"/api/v1/sessions/{session.session_id}/end", headers={"appid": app.app_id, "apikey": api_key}
    )
    assert response.status_code == 200
    Worker(FAST).run(once=True)

    requests = receiver.wait_for(3)
    assert [r.json["trigger"] for r in requests] == ["meeting_started", "meeting_participant_joined", "meeting_ended"]
    assert requests[2].json["data"]["status"] == "ended"


# The admin.


@pytest.mark.django_db
def test_creating_an_endpoint_reveals_its_secret_once(app: App, admin_client: Client) -> None:
    """The signing secret is shown in the message after creation; afterwards only its prefix is."""
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {
            "app": app.pk,
            "name": "Billing",
            "url": "https://example.com/hooks",
            "enabled": "on",
            "events": [Trigger.MEETING_STARTED, Trigger.MEETING_ENDED],
        },
        follow=True,
    )
    hook = WebhookEndpoint.objects.get()
    assert hook.events == [Trigger.MEETING_STARTED, Trigger.MEETING_ENDED]
    assert hook.secret.startswith("whsec_")
    assert response.content.count(hook.secret.encode()) == 1

    change_page = admin_client.get(f"/admin/webhooks/webhookendpoint/{hook.pk}/change/")
    assert change_page.status_code == 200
    assert hook.secret.encode() not in change_page.content
    assert hook.secret_shown.encode() in change_page.content
    assert hook.secret.encode() not in admin_client.get("/admin/webhooks/webhookendpoint/").content


@pytest.mark.django_db
def test_event_and_delivery_pages_show_deliveries_and_attempts(app: App, admin_client: Client) -> None:
    """An event's page lists its deliveries; a delivery's page lists its attempts."""
    hook = endpoint(app, "http://127.0.0.1:9/hooks", name="Billing")
    announce(Trigger.MEETING_STARTED, session_of(app))
    event = WebhookEvent.objects.get()
    item = event.deliveries.get()
    WebhookAttempt.objects.create(
        delivery=item, attempted_at=event.created_at, error="connection refused", duration_seconds=0.01
    )

    event_page = admin_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert event_page.status_code == 200
    assert hook.name.encode() in event_page.content
    delivery_page = admin_client.get(f"/admin/webhooks/webhookdelivery/{item.pk}/change/")
    assert delivery_page.status_code == 200
    assert b"connection refused" in delivery_page.content
    for listing in ("webhookendpoint", "webhookevent", "webhookdelivery"):
        assert admin_client.get(f"/admin/webhooks/{listing}/").status_code == 200


@pytest.mark.django_db
def test_admin_pages_and_retry_refuse_non_staff(app: App, client: Client) -> None:
    """A signed-in user who is not staff reaches no webhook page and cannot retry a delivery."""
    endpoint(app, "http://127.0.0.1:9/hooks")
    announce(Trigger.MEETING_STARTED, session_of(app))
    item = WebhookDelivery.objects.get()
    item.status = DeliveryStatus.FAILED
    item.save()
    client.force_login(User.objects.create_user("visitor", password="not-staff-0123"))

    for url in (
        "/admin/webhooks/webhookendpoint/",
        "/admin/webhooks/webhookendpoint/add/",
        f"/admin/webhooks/webhookevent/{item.event_id}/change/",
        f"/admin/webhooks/webhookdelivery/{item.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    response = client.post("/admin/webhooks/webhookdelivery/", {"action": "retry_now", "_selected_action": [item.pk]})
    assert response.status_code == 302
    assert delivery_status(item.pk) == DeliveryStatus.FAILED


def test_body_bytes_are_stable_for_an_event() -> None:
    """Every attempt sends the same bytes, whatever key order the database returns."""
    assert encode_body({"b": 1, "a": {"y": 2, "x": 1}}) == encode_body({"a": {"x": 1, "y": 2}, "b": 1})


def test_the_documented_verification_accepts_what_the_worker_signs() -> None:
    """The Python snippet in docs/webhooks.md verifies a real signature and refuses a wrong one."""
    text = (ROOT / "docs" / "webhooks.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    body = encode_body({"trigger": "meeting_started", "data": {}})
    timestamp = int(time.time())
    headers = {"X-Calls-Timestamp": str(timestamp), "X-Calls-Signature": signing.signature("whsec_s", timestamp, body)}
    assert namespace["verify"]("whsec_s", headers, body)
    assert not namespace["verify"]("whsec_other", headers, body)
