from django.contrib import admin

from .models import CallSession, Participant


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ("participant_id", "display_name", "joined_at", "left_at", "leave_reason", "audio_muted", "video_paused")
    readonly_fields = fields
    can_delete = False


@admin.register(CallSession)
class CallSessionAdmin(admin.ModelAdmin):
    list_display = ("session_id", "title", "session_type", "status", "created_at", "started_at", "ended_at")
    list_filter = ("status", "session_type")
    search_fields = ("session_id", "title")
    readonly_fields = ("started_at", "ended_at")
    inlines = [ParticipantInline]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("display_name", "participant_id", "session", "joined_at", "left_at", "audio_muted", "video_paused")
    search_fields = ("display_name", "participant_id", "session__session_id")
    list_select_related = ("session",)
