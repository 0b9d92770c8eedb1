"""REST API v1: every route, mounted by the project under ``api/v1/``."""

from django.urls import path, re_path

from . import call_logs, recordings, views

urlpatterns = [
    path("openapi.json", views.openapi_view, name="api-openapi"),
    path("users", views.users_view, name="api-users"),
    path("users/<str:uid>", views.user_view, name="api-user"),
    path("users/<str:uid>/auth_tokens", views.auth_tokens_view, name="api-auth-tokens"),
    path("users/<str:uid>/auth_tokens/<int:token_id>", views.auth_token_view, name="api-auth-token"),
    path("login", views.login_view, name="api-login"),
    path("me", views.me_view, name="api-me"),
    path("logout", views.logout_view, name="api-logout"),
    path("tokens", views.call_tokens_view, name="api-call-tokens"),
    path("sessions", views.sessions_view, name="api-sessions"),
    path("sessions/<str:session_id>", views.session_view, name="api-session"),
    path("sessions/<str:session_id>/end", views.end_session_view, name="api-end-session"),
    path("sessions/<str:session_id>/guest_token", views.guest_token_view, name="api-guest-token"),
    path("calls", call_logs.calls_view, name="api-calls"),
    path("calls/<str:session_id>", call_logs.call_view, name="api-call"),
    path("recordings/<str:rid>/file", recordings.recording_file_view, name="api-recording-file"),
    # [\s\S]: a path with a newline in it (%0A) is an unknown API path too, not Django's HTML 404.
    re_path(r"^(?P<path>[\s\S]+)$", views.not_found_view, name="api-not-found"),
]
