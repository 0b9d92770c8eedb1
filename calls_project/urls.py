from django.contrib import admin
from django.urls import path, re_path

from sessions_app import api, call_logs, metrics, views

api_v1 = [
    path("openapi.json", api.openapi_view, name="api-openapi"),
    path("users", api.users_view, name="api-users"),
    path("users/<str:uid>", api.user_view, name="api-user"),
    path("users/<str:uid>/auth_tokens", api.auth_tokens_view, name="api-auth-tokens"),
    path("users/<str:uid>/auth_tokens/<int:token_id>", api.auth_token_view, name="api-auth-token"),
    path("login", api.login_view, name="api-login"),
    path("me", api.me_view, name="api-me"),
    path("logout", api.logout_view, name="api-logout"),
    path("tokens", api.call_tokens_view, name="api-call-tokens"),
    path("sessions", api.sessions_view, name="api-sessions"),
    path("sessions/<str:session_id>", api.session_view, name="api-session"),
    path("sessions/<str:session_id>/end", api.end_session_view, name="api-end-session"),
    path("sessions/<str:session_id>/guest_token", api.guest_token_view, name="api-guest-token"),
    path("calls", call_logs.calls_view, name="api-calls"),
    path("calls/<str:session_id>", call_logs.call_view, name="api-call"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("s/<str:session_id>/", views.session_page, name="session"),
    path("s/<str:session_id>/host/<str:key>/", views.host_link, name="session-host"),
    path("s/<str:session_id>/participants/", views.participant_list, name="participant-list"),
    path("admin/", admin.site.urls),
    path("metrics", metrics.metrics_view, name="metrics"),
    *[path(f"api/v1/{p.pattern}", p.callback, name=p.name) for p in api_v1],
    # [\s\S]: a path with a newline in it (%0A) is an unknown API path too, not Django's HTML 404.
    re_path(r"^api/v1/(?P<path>[\s\S]+)$", api.not_found_view, name="api-not-found"),
]
