"""Persistence: apps, their users and tokens, call sessions and the participants who joined them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.utils import timezone

from .choices import TextChoices

SESSION_ID_ALPHABET = string.ascii_lowercase + string.digits
SESSION_ID_LENGTH = 20
SESSION_ID_MAX_LENGTH = 64


def new_session_id() -> str:
    """An unguessable session ID (about 103 bits), safe in a URL path."""
    return "".join(secrets.choice(SESSION_ID_ALPHABET) for _ in range(SESSION_ID_LENGTH))


def new_participant_id() -> str:
    return secrets.token_hex(8)


def new_app_id() -> str:
    return "app" + secrets.token_hex(8)


def new_secret() -> str:
    """A high-entropy secret (API key, auth key, auth token): 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Secrets are stored as SHA-256 digests: they are random, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


SECRET_PREFIX_LENGTH = 6


class App(models.Model):
    """A tenant: its users, sessions and tokens are invisible to every other app."""

    app_id = models.CharField(max_length=32, unique=True, default=new_app_id)
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=16, default="us")
    default_settings = models.JSONField(
        default=dict, blank=True, help_text="SessionSettings every session of this app starts from."
    )
    api_key_prefix = models.CharField(max_length=SECRET_PREFIX_LENGTH)
    api_key_hash = models.CharField(max_length=64, unique=True)
    auth_key_prefix = models.CharField(max_length=SECRET_PREFIX_LENGTH)
    auth_key_hash = models.CharField(max_length=64, unique=True)
    allow_renaming = models.BooleanField(
        default=False,
        help_text="Signed-in users may join under a name of their own choosing, not only their user name.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"

    @classmethod
    def create_with_keys(cls, name: str, region: str = "us") -> tuple[App, str, str]:
        """Create an app; return it with its REST API key and auth key, which are never shown again."""
        api_key, auth_key = new_secret(), new_secret()
        app = cls.objects.create(
            name=name,
            region=region,
            api_key_prefix=api_key[:SECRET_PREFIX_LENGTH],
            api_key_hash=hash_secret(api_key),
            auth_key_prefix=auth_key[:SECRET_PREFIX_LENGTH],
            auth_key_hash=hash_secret(auth_key),
        )
        return app, api_key, auth_key

    def check_api_key(self, api_key: str) -> bool:
        return hmac.compare_digest(self.api_key_hash, hash_secret(api_key))

    def check_auth_key(self, auth_key: str) -> bool:
        return hmac.compare_digest(self.auth_key_hash, hash_secret(auth_key))


class AppUser(models.Model):
    """A user of an app (CometChat's CallUser): identified by a uid the app chooses."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="users")
    uid = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    avatar = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uid"]
        constraints = [models.UniqueConstraint(fields=["app", "uid"], name="unique_uid_per_app")]

    def __str__(self) -> str:
        return f"{self.name} ({self.uid})"

    def as_api(self) -> dict[str, object]:
        return {"uid": self.uid, "name": self.name, "avatar": self.avatar, "status": "available"}


class AuthToken(models.Model):
    """A user's login credential; only its hash and a prefix are kept."""

    user = models.ForeignKey(AppUser, on_delete=models.CASCADE, related_name="auth_tokens")
    token_prefix = models.CharField(max_length=SECRET_PREFIX_LENGTH)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this the token no longer logs in.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.token_prefix}… for {self.user.uid}"

    @classmethod
    def issue(cls, user: AppUser) -> tuple[AuthToken, str]:
        """Create an auth token (valid CALLS_AUTH_TOKEN_TTL_SECONDS); return it with the secret, shown only now."""
        secret = new_secret()
        now = timezone.now()
        token = cls.objects.create(
            user=user,
            token_prefix=secret[:SECRET_PREFIX_LENGTH],
            token_hash=hash_secret(secret),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.CALLS_AUTH_TOKEN_TTL_SECONDS),
        )
        return token, secret

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def as_api(self) -> dict[str, object]:
        return {
            "id": self.pk,
            "prefix": self.token_prefix,
            "createdAt": int(self.created_at.timestamp()),
            "expiresAt": int(self.expires_at.timestamp()) if self.expires_at else None,
            "revokedAt": int(self.revoked_at.timestamp()) if self.revoked_at else None,
        }


class Role(TextChoices):
    """CometChat's participant roles: a moderator may moderate, end the call for all and record."""

    MODERATOR = "moderator", "Moderator"
    PARTICIPANT = "participant", "Participant"


DEFAULT_MAX_PARTICIPANTS = 50  # CometChat's limit per call


class SessionType(TextChoices):
    VIDEO = "VIDEO", "Video"
    VOICE = "VOICE", "Voice"


END_REASON_TERMINATED = "terminated"
END_REASON_EMPTY = "empty"


class SessionStatus(TextChoices):
    INITIATED = "initiated", "Initiated"
    ONGOING = "ongoing", "Ongoing"
    ENDED = "ended", "Ended"


class MediaWorker(models.Model):
    """
    An SFU worker process (``manage.py runsfu``), as every process sees it.

    A worker records itself when it starts and refreshes ``last_seen`` with its
    load every second; one silent for ``CALLS_HEARTBEAT_TIMEOUT_S`` is dead, and
    the sessions it hosted move to a live one.
    """

    worker_id = models.CharField(max_length=64, unique=True)
    channel_name = models.CharField(max_length=200, help_text="Where signaling reaches it on the channel layer.")
    host = models.CharField(max_length=200, blank=True, help_text="Host name and process ID, for operators.")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    rooms = models.PositiveIntegerField(default=0, help_text="Calls it hosts (as of its last heartbeat).")
    participants = models.PositiveIntegerField(default=0, help_text="Peer connections it holds.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.worker_id


class SignalingProcess(models.Model):
    """
    A Daphne process serving signaling sockets (``CALLS_SFU=workers``), as every process sees it.

    It heartbeats like a worker; when it dies, a live process closes the participants it served
    (their browsers reconnect through another process and join again) and tells everyone.
    """

    process_id = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.process_id


class CallSession(models.Model):
    """A call that everyone holding its share link can join."""

    session_id = models.CharField(max_length=SESSION_ID_MAX_LENGTH, unique=True, default=new_session_id)
    app = models.ForeignKey(App, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions")
    allow_guests = models.BooleanField(
        default=True, help_text="Anyone with the link may join under a display name of their choosing."
    )
    title = models.CharField(max_length=200, blank=True)
    session_type = models.CharField(max_length=8, choices=SessionType.choices, default=SessionType.VIDEO)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, default=SessionStatus.INITIATED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, blank=True)
    peak_participants = models.PositiveIntegerField(default=0)
    settings = models.JSONField(
        default=dict, blank=True, help_text="SessionSettings defaults for this call (over the app's)."
    )
    locked_settings = models.JSONField(
        default=list, blank=True, help_text="Option names participants cannot override; the server enforces them."
    )
    max_participants = models.PositiveIntegerField(
        default=DEFAULT_MAX_PARTICIPANTS, help_text="Joins beyond this many present participants are refused."
    )
    moderator_uids = models.JSONField(
        default=list, blank=True, help_text="Users (uids) whose call tokens make them moderators of this call."
    )
    media_worker = models.ForeignKey(
        MediaWorker,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text="The SFU worker hosting its media (CALLS_SFU=workers only).",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or self.session_id

    @property
    def is_ended(self) -> bool:
        """Ended for everyone (end for all, API, admin): its link no longer admits anyone."""
        return self.status == SessionStatus.ENDED and self.end_reason == END_REASON_TERMINATED

    @property
    def total_duration_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return ((self.ended_at or timezone.now()) - self.started_at).total_seconds()

    def mark_started(self) -> bool:
        """
        Record a join that (re)opens the call; return True when the meeting starts now.

        A session whose last participant left is ended but not terminated: the
        next join reopens it, as a meeting room does.
        """
        if self.status == SessionStatus.ONGOING:
            return False
        if self.status == SessionStatus.INITIATED:
            self.started_at = timezone.now()
        self.status = SessionStatus.ONGOING
        self.ended_at = None
        self.end_reason = ""
        self.save(update_fields=["status", "started_at", "ended_at", "end_reason"])
        return True

    def mark_ended(self, reason: str) -> None:
        self.status = SessionStatus.ENDED
        self.ended_at = timezone.now()
        self.end_reason = reason
        self.save(update_fields=["status", "ended_at", "end_reason"])


class Participant(models.Model):
    """One join of one person: a rejoin is a new row with a new participant ID."""

    participant_id = models.CharField(max_length=32, unique=True, default=new_participant_id)
    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="participants")
    uid = models.CharField(max_length=100, blank=True)
    is_guest = models.BooleanField(default=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPANT)
    token_jti = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="The call token it joined with (one live join each)."
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True, help_text="Where its signaling came from.")
    display_name = models.CharField(max_length=100)
    avatar = models.URLField(max_length=500, blank=True, help_text="The user's picture when it joined.")
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    leave_reason = models.CharField(max_length=32, blank=True)
    audio_muted = models.BooleanField(default=False)
    video_paused = models.BooleanField(default=False)
    audio_held = models.BooleanField(default=False, help_text="Muted by a moderator: it cannot unmute itself.")
    video_held = models.BooleanField(default=False, help_text="Camera turned off by a moderator.")
    audio_seconds = models.FloatField(default=0.0, help_text="Time with the microphone on.")
    video_seconds = models.FloatField(default=0.0, help_text="Time with the camera on.")
    media_since = models.DateTimeField(null=True, blank=True, help_text="Start of the current media state.")
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    is_presenting = models.BooleanField(default=False, help_text="Sharing a screen.")
    served_by = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="The signaling process serving it (CALLS_SFU=workers)."
    )

    class Meta:
        ordering = ["joined_at"]
        indexes = [models.Index(fields=["session", "left_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.participant_id})"

    @property
    def is_present(self) -> bool:
        return self.left_at is None

    @property
    def duration_seconds(self) -> float:
        return ((self.left_at or timezone.now()) - self.joined_at).total_seconds()

    def account_media(self, now: datetime) -> None:
        """Add the time since the last media change to the audio and video totals."""
        if self.media_since is not None:
            elapsed = max(0.0, (now - self.media_since).total_seconds())
            if not self.audio_muted:
                self.audio_seconds += elapsed
            if not self.video_paused:
                self.video_seconds += elapsed
        self.media_since = now

    def as_wire(self) -> dict[str, object]:
        """The §6 Participant object as the SDK receives it (``isLocal`` is set client-side)."""
        return {
            "pid": self.participant_id,
            "uid": self.uid,
            "name": self.display_name,
            "avatar": self.avatar,
            "role": self.role,
            "isGuest": self.is_guest,
            "type": "human",
            "audioMuted": self.audio_muted,
            "videoPaused": self.video_paused,
            "audioMutedByModerator": self.audio_held,
            "videoPausedByModerator": self.video_held,
            "isPresenting": self.is_presenting,
            "raisedHandTimestamp": int(self.hand_raised_at.timestamp() * 1000) if self.hand_raised_at else 0,
            "joinedAt": int(self.joined_at.timestamp() * 1000),
        }


class CallToken(models.Model):
    """
    The record of an issued call token, so it can be listed and revoked.

    The token itself is a signed JWT (``tokens.py``); this row is looked up
    by its ``jti`` when the token is used.
    """

    jti = models.CharField(max_length=32, unique=True)
    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="call_tokens")
    user = models.ForeignKey(AppUser, null=True, blank=True, on_delete=models.CASCADE, related_name="call_tokens")
    uid = models.CharField(max_length=100)
    display_name = models.CharField(max_length=100)
    is_guest = models.BooleanField(default=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPANT)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"call token {self.jti[:6]}… for {self.uid}"


class RestrictionKind(TextChoices):
    REMOVED = "removed", "Removed from the call"
    AUDIO = "audio", "Muted by a moderator"
    VIDEO = "video", "Camera turned off by a moderator"


class Restriction(models.Model):
    """
    A moderator's decision about one identity in one call that outlives the join it was made on.

    A removal refuses the identity's joins; an audio or video hold makes its joins start muted (or
    with the camera off) and refuses its own unmute. It matches the user's uid, and for a guest (whose
    uid is new with every guest token) also the address it joined from. It ends when a moderator
    lifts it (``lifted_at``) or at ``expires_at``.
    """

    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="restrictions")
    kind = models.CharField(max_length=16, choices=RestrictionKind.choices)
    uid = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True, help_text="A guest's address (guests change uids).")
    display_name = models.CharField(max_length=100, blank=True, help_text="Who it was, for moderators.")
    by = models.CharField(max_length=100, blank=True, help_text="The moderator's participant ID, or admin.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["session", "kind", "lifted_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.display_name or self.uid}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class RecordingStatus(TextChoices):
    RECORDING = "recording", "Recording"
    STOPPED = "stopped", "Stopped"
    # The server lost it before it stopped (a restart): its files may be incomplete.
    INTERRUPTED = "interrupted", "Interrupted"


def new_recording_id() -> str:
    """A recording's public ID (CometChat's ``rid``): unguessable, safe in a URL path."""
    return "rec" + secrets.token_hex(12)


def recordings_storage() -> Storage:
    """Where composed recordings are kept: STORAGES["recordings"] (CALLS_RECORDINGS_DIR, or a bucket)."""
    return storages["recordings"]


class Recording(models.Model):
    """
    One recording of a call, from its start to its stop: the per-track WebM files the SFU wrote, and
    the one file composed of them afterwards (``CompositionJob``).

    ``tracks`` lists the files (``sfu.RecordedTrack``), each path relative to CALLS_RECORDINGS_DIR:
    ``[{participantId, source, path, codec, startOffsetMs, durationMs, sizeBytes}]``.
    ``composed_file`` is in the recordings storage, which may be a bucket rather than that directory.
    """

    rid = models.CharField("recording ID", max_length=40, unique=True, default=new_recording_id, editable=False)
    session = models.ForeignKey(CallSession, on_delete=models.CASCADE, related_name="recordings")
    started_by = models.CharField(
        max_length=32, blank=True, help_text="The moderator's participant ID; empty when autoStartRecording started it."
    )
    started_by_uid = models.CharField(max_length=100, blank=True)
    directory = models.CharField(max_length=500, help_text="Its files' folder, relative to CALLS_RECORDINGS_DIR.")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=RecordingStatus.choices, default=RecordingStatus.RECORDING)
    tracks = models.JSONField(default=list, blank=True)
    composed_file = models.FileField(storage=recordings_storage, max_length=500, blank=True)
    composed_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    composed_size_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"recording of {self.session_id} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_seconds(self) -> float:
        return ((self.ended_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def size_bytes(self) -> int:
        return sum(int(track.get("sizeBytes", 0)) for track in self.tracks)


class CompositionStatus(TextChoices):
    QUEUED = "queued", "Queued"
    COMPOSING = "composing", "Composing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CompositionJob(models.Model):
    """
    Composing one stopped recording into one file, as a job of ``manage.py run_recordings``.

    Like the webhook outbox, everything a worker knows is here, so a worker killed mid-way loses
    nothing: a job being composed carries a lease (``lease_token`` until ``lease_until``), renewed
    as it progresses; once a lease runs out, the next worker takes the job again. Only the holder of
    the current lease may finish it, so it finishes once.
    """

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="composition")
    status = models.CharField(max_length=16, choices=CompositionStatus.choices, default=CompositionStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="0 to 1, of the current attempt.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="The host and process composing it.")
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"composition of {self.recording_id} ({self.status})"
