"""
The Django admin for operators: apps, users, tokens, sessions, participants, recordings, and live calls.

Secrets are never shown: apps, auth tokens and call tokens show a prefix at
most; an app's keys are shown once, when the admin creates it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .. import restrictions
from ..links import share_url
from ..models import (
    App,
    AppUser,
    AuthToken,
    CallSession,
    CallToken,
    CompositionJob,
    CompositionStatus,
    Participant,
    Recording,
    Restriction,
    hash_secret,
    new_secret,
)
from ..recording_files import compose_again, recording_url
from . import live as admin_live
from .forms import AppForm, CallSessionForm


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    form = AppForm
    list_display = ("name", "app_id", "region", "api_key_prefix", "auth_key_prefix", "created_at")
    search_fields = ("name", "app_id")
    fields = ("name", "region", "default_settings", "app_id", "api_key_prefix", "auth_key_prefix", "created_at")
    readonly_fields = ("app_id", "api_key_prefix", "auth_key_prefix", "created_at")

    def save_model(self, request: HttpRequest, obj: App, form: Any, change: bool) -> None:
        if not change:
            api_key, auth_key = new_secret(), new_secret()
            obj.api_key_prefix, obj.api_key_hash = api_key[:6], hash_secret(api_key)
            obj.auth_key_prefix, obj.auth_key_hash = auth_key[:6], hash_secret(auth_key)
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                f"Copy these now, they are not shown again. API key: {api_key}  Auth key: {auth_key}",
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(AppUser)
class AppUserAdmin(admin.ModelAdmin):
    list_display = ("uid", "name", "app", "created_at")
    list_filter = ("app",)
    search_fields = ("uid", "name")


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("token_prefix", "user", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__uid", "token_prefix")
    fields = ("user", "token_prefix", "created_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # auth tokens are minted through the REST API, which shows them once

    @admin.action(description="Revoke the selected auth tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"{count} auth token(s) revoked.")


@admin.register(CallToken)
class CallTokenAdmin(admin.ModelAdmin):
    list_display = ("short_jti", "uid", "display_name", "session", "is_guest", "issued_at", "expires_at", "revoked_at")
    list_filter = ("is_guest", "revoked_at")
    search_fields = ("uid", "session__session_id")
    fields = ("short_jti", "uid", "display_name", "session", "is_guest", "issued_at", "expires_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="token id")
    def short_jti(self, obj: CallToken) -> str:
        return obj.jti[:8] + "…"


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ("display_name", "uid", "joined_at", "left_at", "leave_reason", "audio_muted", "video_paused",
              "audio_seconds", "video_seconds")  # fmt: skip
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecordingInline(admin.TabularInline):
    """A session's recordings, read-only (the SFU writes them; the Recording page lists their files)."""

    model = Recording
    extra = 0
    fields = ("recording_link", "started_at", "ended_at", "status", "started_by", "file_count", "total_size")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="recording")
    def recording_link(self, obj: Recording) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:sessions_app_recording_change", args=[obj.pk]), obj.directory
        )

    @admin.display(description="files")
    def file_count(self, obj: Recording) -> int:
        return len(obj.tracks)

    @admin.display(description="size")
    def total_size(self, obj: Recording) -> str:
        return filesizeformat(obj.size_bytes)


def composition_state(recording: Recording) -> str:
    """Where a recording's composed file stands: queued, composing (with its progress), done or failed."""
    job: CompositionJob | None = getattr(recording, "composition", None)
    if job is None:
        return "—"
    if job.status == CompositionStatus.COMPOSING:
        return f"composing {job.progress:.0%} (attempt {job.attempts})"
    if job.status == CompositionStatus.FAILED:
        return f"failed after {job.attempts} attempt(s): {job.last_error}"
    if job.status == CompositionStatus.QUEUED and job.attempts:
        return f"queued again after {job.attempts} attempt(s): {job.last_error}"
    return str(job.get_status_display()).lower()


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    """
    What was recorded of a call: one file per participant and source, and the file composed of them,
    with a player. Deleting a recording deletes its files.
    """

    list_display = ("__str__", "session", "status", "started_at", "ended_at", "started_by", "file_count", "total_size",
                    "composed")  # fmt: skip
    list_filter = ("status", "composition__status")
    search_fields = ("rid", "session__session_id", "started_by", "started_by_uid")
    list_select_related = ("session", "composition")
    fields = ("rid", "session", "status", "started_by", "started_by_uid", "started_at", "ended_at", "directory",
              "composed", "player", "track_table")  # fmt: skip
    readonly_fields = fields
    actions = ["compose_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="composed file")
    def composed(self, obj: Recording) -> str:
        state = composition_state(obj)
        if obj.composed_file and obj.composed_size_bytes is not None:
            size = filesizeformat(obj.composed_size_bytes)
            return f"{state}: {(obj.composed_duration_ms or 0) / 1000:.1f} s, {size}"
        return state

    @admin.display(description="player")
    def player(self, obj: Recording) -> str:
        if not obj.composed_file:
            return "Shown once the recording is composed."
        url = recording_url(obj)
        return format_html(
            '<video class="calls-recording-player" controls preload="metadata" src="{}" width="640"></video>'
            '<p><a href="{}">Download</a> (the link works for a limited time)</p>',
            url,
            url,
        )

    @admin.action(description="Compose the selected recordings again")
    def compose_again(self, request: HttpRequest, queryset: Any) -> None:
        queued = sum(compose_again(recording) for recording in queryset)
        self.message_user(request, f"{queued} recording(s) queued for composition.", messages.SUCCESS)

    @admin.display(description="files")
    def file_count(self, obj: Recording) -> int:
        return len(obj.tracks)

    @admin.display(description="size")
    def total_size(self, obj: Recording) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description="tracks")
    def track_table(self, obj: Recording) -> str:
        if not obj.tracks:
            return "No files (yet)."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    track.get("participantId", ""),
                    track.get("source", ""),
                    track.get("codec", ""),
                    f"{int(track.get('durationMs', 0)) / 1000:.1f} s",
                    filesizeformat(int(track.get("sizeBytes", 0))),
                    track.get("path", ""),
                )
                for track in obj.tracks
            ),
        )
        return format_html(
            '<table class="calls-recording-tracks"><thead><tr><th>participant</th><th>source</th><th>codec</th>'
            "<th>duration</th><th>size</th><th>file</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(CallSession)
class CallSessionAdmin(admin.ModelAdmin):
    form = CallSessionForm
    change_list_template = "admin/sessions_app/callsession/change_list.html"
    list_display = ("__str__", "session_id", "app", "session_type", "status", "peak_participants", "started_at",
                    "ended_at")  # fmt: skip
    list_filter = ("status", "session_type", "app")
    search_fields = ("session_id", "title")
    fields = ("title", "session_type", "app", "allow_guests", "settings", "locked_settings", "share_link",
              "session_id", "status", "end_reason",
              "created_at", "started_at", "ended_at", "peak_participants")  # fmt: skip
    readonly_fields = ("share_link", "session_id", "status", "end_reason", "created_at", "started_at", "ended_at",
                       "peak_participants")  # fmt: skip
    inlines = [ParticipantInline]
    actions = ["end_for_everyone", "revoke_tokens"]

    def get_inlines(self, request: HttpRequest, obj: CallSession | None) -> list[type[admin.options.InlineModelAdmin]]:
        """A saved session also lists its recordings (a new one has none)."""
        return [ParticipantInline, RecordingInline] if obj is not None else [ParticipantInline]

    @admin.display(description="Share link")
    def share_link(self, obj: CallSession) -> str:
        if not obj.pk:
            return "Shown once the session is saved."
        url = share_url(obj.session_id)
        return format_html(
            '<input class="vTextField calls-share-link" readonly value="{}" aria-label="Share link"> '
            '<button type="button" class="button" data-copy-share-link>Copy</button> '
            '<a href="{}" target="_blank" rel="noopener">Open</a>',
            url,
            url,
        )

    def response_add(self, request: HttpRequest, obj: CallSession, post_url_continue: str | None = None) -> Any:
        messages.success(request, format_html("Share link: <a href='{0}'>{0}</a>", share_url(obj.session_id, request)))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="End the selected calls for everyone")
    def end_for_everyone(self, request: HttpRequest, queryset: Any) -> None:
        admin_live.end_sessions(request, queryset)

    @admin.action(description="Revoke the selected calls' tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: Any) -> None:
        admin_live.revoke_session_tokens(request, queryset)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("live/", wrap(admin_live.live_page), name="sessions_app_live"),
            path(
                "live/participant/<str:participant_id>/<str:action>/",
                wrap(admin_live.participant_action),
                name="sessions_app_live_participant",
            ),
            path(
                "live/readmit/<int:restriction_id>/",
                wrap(admin_live.readmit),
                name="sessions_app_live_readmit",
            ),
            path(
                "live/session/<str:session_id>/<str:action>/",
                wrap(admin_live.session_action),
                name="sessions_app_live_session",
            ),
            *super().get_urls(),
        ]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("display_name", "uid", "participant_id", "session", "joined_at", "left_at", "audio_muted",
                    "video_paused")  # fmt: skip
    list_filter = ("is_guest", "leave_reason")
    search_fields = ("display_name", "uid", "participant_id", "session__session_id")
    list_select_related = ("session",)
    readonly_fields = [f.name for f in Participant._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Restriction)
class RestrictionAdmin(admin.ModelAdmin):
    """Moderators' removals and holds: operators lift them (a removed participant may join again)."""

    list_display = ("display_name", "kind", "uid", "ip", "session", "by", "created_at", "expires_at", "lifted_at")
    list_filter = ("kind", "lifted_at")
    search_fields = ("display_name", "uid", "ip", "session__session_id")
    list_select_related = ("session",)
    readonly_fields = [f.name for f in Restriction._meta.fields]
    actions = ["lift"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # moderators make them, in the call or on the Live calls page

    @admin.action(description="Lift the selected restrictions (readmit removed participants)")
    def lift(self, request: HttpRequest, queryset: Any) -> None:
        for restriction in queryset:
            restrictions.readmit(restriction)
        messages.success(request, f"{len(queryset)} restriction(s) lifted.")


def live_url() -> str:
    return reverse("admin:sessions_app_live")
