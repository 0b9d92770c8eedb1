"""
The delivery worker: takes due deliveries from the outbox, POSTs them, records each attempt.

It runs in its own process (``manage.py run_webhooks``), so a slow or dead
receiver never holds up a call. Everything it knows is in the database: a
worker killed at any moment loses nothing, and the next one carries on.

Each of ``concurrency`` lanes repeatedly claims the oldest due delivery
together with the same endpoint's other due deliveries, then sends them one
after the other, in the order they were created. A claim pushes the rows'
``next_attempt_at`` past the time the lane may need, so other lanes and other
worker processes skip them; a lane that dies simply lets its claim run out.
No transaction is held while the network is in use.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.utils import timezone

from sessions_app.services.database import lock_for_claim

from . import delivery
from .conf import WebhookSettings
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .retry import RetryPolicy

logger = logging.getLogger(__name__)


def encode_body(payload: dict[str, object]) -> bytes:
    """The exact bytes that are signed and sent; the same for every attempt of an event."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class Worker:
    """Delivers the outbox. ``stop`` ends every lane after its current attempt."""

    def __init__(
        self,
        config: WebhookSettings | None = None,
        policy: RetryPolicy | None = None,
        stop: threading.Event | None = None,
        now: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.config = config or WebhookSettings.load()
        self.policy = policy or RetryPolicy.from_settings(self.config)
        self.stop = stop or threading.Event()
        self.now = now

    def run(self, once: bool = False) -> None:
        """
        Deliver until ``stop`` is set; with ``once``, deliver what is due now and return.

        An unexpected error in one lane stops them all and is raised here, so
        the process exits non-zero and its supervisor can restart it.
        """
        due_before = self.now() if once else None
        errors: list[Exception] = []

        def lane() -> None:
            try:
                self.run_lane(due_before)
            except Exception as error:
                logger.exception("Webhook worker lane crashed")
                errors.append(error)
                self.stop.set()
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=lane, name=f"webhooks-lane-{number}", daemon=True)
            for number in range(self.config.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def run_lane(self, due_before: datetime | None = None) -> None:
        """One lane's loop: claim, send, record; wait a poll interval when nothing is due."""
        while not self.stop.is_set():
            try:
                close_old_connections()
                claimed = self.claim(due_before or self.now())
                if claimed:
                    self.deliver(claimed)
                    continue
            except DatabaseError:
                if due_before is not None:
                    raise
                # The database may be restarting, or SQLite busy: drop the connection, try again after a pause.
                logger.exception("Webhook worker lost the database; retrying")
                connection.close()
            if due_before is not None:
                return
            self.stop.wait(self.config.poll_interval_seconds)

    def claim(self, due_before: datetime) -> list[WebhookDelivery]:
        """Take the oldest due delivery and its endpoint's other due ones, up to a batch."""
        due = WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=due_before, endpoint__enabled=True
        ).order_by("id")
        with transaction.atomic():
            first = lock_for_claim(due).first()
            if first is None:
                return []
            if connection.features.has_select_for_update:
                # One lane claims an endpoint at a time, and takes its due deliveries in order: skipping
                # rows another lane holds would let two lanes send one endpoint's events side by side.
                endpoints = WebhookEndpoint.objects.filter(pk=first.endpoint_id)
                if endpoints.select_for_update(skip_locked=True).first() is None:
                    return []
                of = ("self",) if connection.features.has_select_for_update_of else ()
                ours = due.filter(endpoint_id=first.endpoint_id).select_for_update(of=of)
            else:
                ours = lock_for_claim(due.filter(endpoint_id=first.endpoint_id))
            claimed = list(ours.select_related("event", "endpoint")[: self.config.batch_size])
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                next_attempt_at=self.now() + timedelta(seconds=self.config.claim_seconds)
            )
        return claimed

    def deliver(self, claimed: list[WebhookDelivery]) -> None:
        """
        Send one endpoint's deliveries in order. After a failure the rest are
        released untried (due again at once, each on its own schedule), so a
        dead endpoint costs one timeout a round rather than one per event.
        """
        for index, item in enumerate(claimed):
            if self.stop.is_set():
                self.release(claimed[index:])
                return
            target = delivery.Target(
                delivery_id=item.pk,
                url=item.endpoint.url,
                secret=item.endpoint.secret,
                event_id=str(item.event.event_id),
                trigger=item.event.trigger,
                body=encode_body(item.event.payload),
            )
            attempted_at = self.now()
            outcome = delivery.send(target, self.config.timeout_seconds)
            self.record(item.pk, attempted_at, outcome)
            if not outcome.delivered:
                self.release(claimed[index + 1 :])
                return

    def release(self, deliveries: list[WebhookDelivery]) -> None:
        if deliveries:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status=DeliveryStatus.PENDING).update(
                next_attempt_at=self.now()
            )

    def record(self, delivery_id: int, attempted_at: datetime, outcome: delivery.Outcome) -> None:
        """Log the attempt and move the delivery along its schedule: delivered, retried later, or failed."""
        with transaction.atomic():
            item = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
            if item is None:  # Deleted meanwhile (the event was pruned in the admin).
                return
            WebhookAttempt.objects.create(
                delivery=item,
                attempted_at=attempted_at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_seconds=outcome.duration_seconds,
            )
            item.attempts += 1
            item.last_status_code = outcome.status_code
            item.last_error = outcome.error
            now = self.now()
            if outcome.delivered:
                item.status = DeliveryStatus.DELIVERED
                item.delivered_at = item.delivered_at or now
            elif item.status == DeliveryStatus.DELIVERED:
                pass  # Another worker got it through after this one's claim ran out: delivered stays.
            elif self.policy.gives_up_after(item.attempts):
                item.status = DeliveryStatus.FAILED
            else:
                item.next_attempt_at = now + timedelta(seconds=self.policy.delay_seconds(item.attempts))
            item.save()
        if outcome.delivered:
            logger.info("Delivered webhook delivery %s (HTTP %s)", delivery_id, outcome.status_code)
        elif item.status == DeliveryStatus.FAILED:
            logger.error("Webhook delivery %s failed after %d attempts: %s", delivery_id, item.attempts, outcome.error)
        else:
            logger.warning(
                "Webhook delivery %s attempt %d failed (%s); next at %s",
                delivery_id,
                item.attempts,
                outcome.error,
                item.next_attempt_at.isoformat(),
            )
