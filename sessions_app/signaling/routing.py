from django.urls import re_path

from .consumer import CallConsumer

websocket_urlpatterns = [
    re_path(r"^ws/calls/(?P<session_id>[^/]*)/$", CallConsumer.as_asgi()),
]
