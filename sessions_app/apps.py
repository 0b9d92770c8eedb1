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

        from django.db.models.signals import post_delete

        from .models import Recording
        from .recording_files import delete_files_with_row

        post_delete.connect(delete_files_with_row, sender=Recording, dispatch_uid="sessions_app.recording_files")
