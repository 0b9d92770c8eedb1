"""
Staff pages for webhooks: endpoints (the secret is revealed once, then only its
prefix), the outbox of events, deliveries and their attempts, and "retry now".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from .models import DeliveryStatus, Trigger, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=Trigger.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=Trigger.values,
        help_text="The triggers this endpoint receives.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["app", "name", "url", "enabled", "events"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "app", "url", "enabled", "subscribed", "signing_secret", "created_at")
    list_filter = ("enabled", "app")
    search_fields = ("name", "url", "app__app_id", "app__name")
    list_select_related = ("app",)
    readonly_fields = ("signing_secret", "created_at")

    @admin.display(description="events")
    def subscribed(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or "none"

    @admin.display(description="signing secret")
    def signing_secret(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.secret_shown if endpoint.pk else "generated when saved"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                format_html(
                    "Signing secret of “{}”: <code>{}</code> — copy it to the receiving server now; "
                    "it is not shown again.",
                    obj.name,
                    obj.secret,
                ),
            )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("attempted_at", "status_code", "error", "duration_seconds")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ("endpoint", "status", "attempts", "next_attempt_at", "last_status_code", "last_error", "delivered_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """The outbox, read-only: events are written only with the state change they announce."""

    list_display = ("event_id", "trigger", "app", "session_id", "created_at")
    list_filter = ("trigger", "app")
    search_fields = ("=event_id", "session_id", "app__app_id")
    list_select_related = ("app",)
    date_hierarchy = "created_at"
    fields = ("event_id", "trigger", "app", "session_id", "created_at", "payload")
    readonly_fields = fields
    inlines = [DeliveryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    list_filter = ("status", "event__trigger", "endpoint")
    search_fields = ("=event__event_id", "event__session_id", "endpoint__name")
    list_select_related = ("event", "endpoint")
    fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        """
        Make failed (or waiting) deliveries due at once. A failed one gets one
        more attempt; delivered ones are left alone.
        """
        retried = queryset.exclude(status=DeliveryStatus.DELIVERED).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        skipped = queryset.filter(status=DeliveryStatus.DELIVERED).count()
        if retried:
            self.message_user(request, f"{retried} delivery(ies) will be retried by the worker now.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} already delivered: left alone.", messages.WARNING)
        disabled = queryset.filter(status=DeliveryStatus.PENDING, endpoint__enabled=False).count()
        if disabled:
            self.message_user(
                request, f"{disabled} belong(s) to a disabled endpoint and wait until it is enabled.", messages.WARNING
            )
