"""Persistence for call sessions and the participants who joined them."""

from __future__ import annotations

import secrets
import string

from django.db import models
from django.utils import timezone

SESSION_ID_ALPHABET = string.ascii_lowercase + string.digits
SESSION_ID_LENGTH = 20
SESSION_ID_MAX_LENGTH = 64


def new_session_id() -> str:
    """An unguessable session ID (about 103 bits), safe in a URL path."""
    return "".join(secrets.choice(SESSION_ID_ALPHABET) for _ in range(SESSION_ID_LENGTH))


def new_participant_id() -> str:
    return secrets.token_hex(8)


class SessionType(models.TextChoices):
    VIDEO = "VIDEO", "Video"
    VOICE = "VOICE", "Voice"


class SessionStatus(models.TextChoices):
    INITIATED = "initiated", "Initiated"
    ONGOING = "ongoing", "Ongoing"
    ENDED = "ended", "Ended"


class CallSession(models.Model):
    """A call that everyone holding its share link can join."""

    session_id = models.CharField(max_length=SESSION_ID_MAX_LENGTH, unique=True, default=new_session_id)
    title = models.CharField(max_length=200, blank=True)
    session_type = models.CharField(max_length=8, choices=SessionType.choices, default=SessionType.VIDEO)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.INITIATED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or self.session_id

    @property
    def is_ended(self) -> bool:
        return self.status == SessionStatus.ENDED

    def mark_started(self) -> None:
        """Record the first join; later joins leave the start time alone."""
        if self.status == SessionStatus.INITIATED:
            self.status = SessionStatus.ONGOING
            self.started_at = timezone.now()
            self.save(update_fields=["status", "started_at"])


class Participant(models.Model):
    """One join of one person: a rejoin is a new row with a new participant ID."""

    participant_id = models.CharField(max_length=32, unique=True, default=new_participant_id)
    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="participants")
    display_name = models.CharField(max_length=100)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    leave_reason = models.CharField(max_length=32, blank=True)
    audio_muted = models.BooleanField(default=False)
    video_paused = models.BooleanField(default=False)

    class Meta:
        ordering = ["joined_at"]
        indexes = [models.Index(fields=["session", "left_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.participant_id})"

    @property
    def is_present(self) -> bool:
        return self.left_at is None

    def as_wire(self) -> dict[str, object]:
        """The §6 Participant object as the SDK receives it (``isLocal`` is set client-side)."""
        return {
            "pid": self.participant_id,
            "uid": "",
            "name": self.display_name,
            "avatar": "",
            "role": "participant",
            "type": "human",
            "audioMuted": self.audio_muted,
            "videoPaused": self.video_paused,
            "isPresenting": False,
            "raisedHandTimestamp": 0,
            "joinedAt": int(self.joined_at.timestamp() * 1000),
        }
