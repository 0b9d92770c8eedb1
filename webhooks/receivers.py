"""
The outbox writer: turns sessions_app's lifecycle signals into stored events and deliveries.

Receivers run synchronously inside the transaction that records the state
change (see ``sessions_app/signals.py``): the event commits or rolls back with
it, and no network is touched here. The worker delivers later, in its own process.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from sessions_app import signals
from sessions_app.models import CallSession

from .models import Trigger, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

SIGNALS: dict[str, Signal] = {
    Trigger.MEETING_STARTED: signals.meeting_started,
    Trigger.MEETING_PARTICIPANT_JOINED: signals.meeting_participant_joined,
    Trigger.MEETING_PARTICIPANT_LEFT: signals.meeting_participant_left,
    Trigger.MEETING_ENDED: signals.meeting_ended,
    Trigger.RECORDING_GENERATED: signals.recording_generated,
}


def record_event(trigger: str, session: CallSession, data: dict[str, Any]) -> WebhookEvent | None:
    """
    Store ``trigger`` for every enabled endpoint of the session's app that subscribes to it.

    Sessions that belong to no app, and apps with no such endpoint, store
    nothing: an event nobody will receive is not kept.
    """
    if session.app_id is None:
        return None
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(app_id=session.app_id, enabled=True).select_related("app")
        if endpoint.subscribes_to(trigger)
    ]
    if not endpoints:
        return None
    now = timezone.now()
    event = WebhookEvent(app_id=session.app_id, trigger=trigger, session_id=session.session_id, created_at=now)
    event.payload = {
        "trigger": trigger,
        "data": data,
        "appId": endpoints[0].app.app_id,
        "eventId": str(event.event_id),
        "createdAt": int(now.timestamp()),
    }
    # A savepoint (or a transaction, should a sender ever call outside one): event and deliveries go together.
    with transaction.atomic():
        event.save()
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
            for endpoint in endpoints
        )
    logger.debug("Stored %s %s for %d endpoint(s)", trigger, event.event_id, len(endpoints))
    return event


def _receiver(trigger: str) -> Any:
    def receive(sender: object, session: CallSession, data: dict[str, Any], **kwargs: Any) -> None:
        record_event(trigger, session, data)

    receive.__name__ = f"record_{trigger}"
    return receive


def connect() -> None:
    """Connect a receiver to each lifecycle signal (idempotent: each has a dispatch_uid)."""
    for trigger, signal in SIGNALS.items():
        signal.connect(_receiver(trigger), weak=False, dispatch_uid=f"webhooks.{trigger}")
