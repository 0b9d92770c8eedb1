"""Persistence: webhook endpoints, the outbox of events, and each event's delivery to each endpoint."""

from __future__ import annotations

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from sessions_app.choices import TextChoices
from sessions_app.models import App

from .addresses import refusal_at_save

SECRET_PREFIX = "whsec_"
SECRET_SHOWN_LENGTH = len(SECRET_PREFIX) + 6


def new_signing_secret() -> str:
    """
    A 256-bit signing secret. Unlike API keys it is stored as it is: the worker
    needs it to compute every signature, so a digest would be of no use.
    """
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Trigger(TextChoices):
    """The events an app can subscribe to; each is one of sessions_app's lifecycle signals."""

    MEETING_STARTED = "meeting_started", "Meeting started"
    MEETING_PARTICIPANT_JOINED = "meeting_participant_joined", "Participant joined"
    MEETING_PARTICIPANT_LEFT = "meeting_participant_left", "Participant left"
    MEETING_ENDED = "meeting_ended", "Meeting ended"
    RECORDING_GENERATED = "recording_generated", "Recording generated"


def all_triggers() -> list[str]:
    return list(Trigger.values)


class WebhookEndpoint(models.Model):
    """A URL of an app's server that receives the app's events, signed with the endpoint's own secret."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=100)
    url = models.URLField(
        "URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])], help_text="Receives a POST."
    )
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    enabled = models.BooleanField(
        default=True, help_text="When off, no new events are stored for it and its pending deliveries wait."
    )
    events = models.JSONField(default=all_triggers, help_text="The triggers this endpoint receives.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["app", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_shown(self) -> str:
        """What may be displayed of the secret once it has been revealed: enough to tell two apart."""
        return self.secret[:SECRET_SHOWN_LENGTH] + "…"

    def subscribes_to(self, trigger: str) -> bool:
        return trigger in self.events

    def clean(self) -> None:
        refusal = refusal_at_save(self.url) if self.url else None
        if refusal:
            raise ValidationError({"url": refusal})


class WebhookEvent(models.Model):
    """
    One entry of the outbox: written in the transaction that records what it
    announces, so it exists exactly when that state change does.
    """

    event_id = models.UUIDField("event ID", default=uuid.uuid4, unique=True, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhook_events")
    trigger = models.CharField(max_length=40, choices=Trigger.choices)
    session_id = models.CharField("session ID", max_length=64, db_index=True)
    payload = models.JSONField(help_text="The POST body: trigger, data, appId, eventId, createdAt.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.trigger} {self.event_id}"


class DeliveryStatus(TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint: its state on the retry schedule."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        default=timezone.now, help_text="When a worker may next take it (also the end of a worker's claim)."
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came of it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_seconds = models.FloatField()

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
