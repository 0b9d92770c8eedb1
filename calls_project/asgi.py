"""
ASGI entry point: Django for HTTP, Channels for the signaling websockets.

The Django app is built before the consumers are imported, as Channels asks.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calls_project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from calls_project.gc_tuning import tune_garbage_collector  # noqa: E402
from sessions_app.signaling.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Signaling is open to our own hosts and to the sites allowed to embed calls.
        "websocket": OriginValidator(
            URLRouter(websocket_urlpatterns), [*settings.ALLOWED_HOSTS, *settings.CALLS_EMBED_ORIGINS]
        ),
    }
)
tune_garbage_collector()
