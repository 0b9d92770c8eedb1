"""The pages people open: home, the share link and its host link, the live participant panel, metrics."""

from django.urls import path

from . import metrics, views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("s/<str:session_id>/", views.session_page, name="session"),
    path("s/<str:session_id>/host/<str:key>/", views.host_link, name="session-host"),
    path("s/<str:session_id>/participants/", views.participant_list, name="participant-list"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
