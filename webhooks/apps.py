from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox is written by receivers of sessions_app's lifecycle signals, inside their transactions.
        from . import receivers

        receivers.connect()
