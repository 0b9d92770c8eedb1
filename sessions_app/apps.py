from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The composition root: the layers below know nothing of those above them, so the media
        # service learns here whom to tell when a worker or a Daphne process dies.
        from .services import departures, media
        from .signaling.consumer import move_participants

        media.connect(move_participants, departures.close_orphans)
