from django.contrib import admin
from django.urls import path

from sessions_app import views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/", views.join, name="join"),
    path("s/<str:session_id>/", views.session_page, name="session"),
    path("admin/", admin.site.urls),
]
