"""The admin's forms: session settings typed into the admin are checked as the REST API checks them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms

from ..errors import CallsError
from ..models import App, CallSession
from ..services.session_settings import clean_locks, clean_settings

Cleaned = TypeVar("Cleaned")


def _checked(clean: Callable[[Any], Cleaned], value: Any) -> Cleaned:
    try:
        return clean(value)
    except CallsError as exc:
        raise forms.ValidationError(exc.message) from None


class AppForm(forms.ModelForm):
    class Meta:
        model = App
        fields = ("name", "region", "default_settings")  # the admin's own list wins; these are checked

    def clean_default_settings(self) -> dict[str, Any]:
        return _checked(clean_settings, self.cleaned_data["default_settings"])


class CallSessionForm(forms.ModelForm):
    class Meta:
        model = CallSession
        fields = ("title", "session_type", "app", "allow_guests", "settings", "locked_settings")

    def clean_settings(self) -> dict[str, Any]:
        return _checked(clean_settings, self.cleaned_data["settings"])

    def clean_locked_settings(self) -> list[str]:
        return _checked(clean_locks, self.cleaned_data["locked_settings"])
