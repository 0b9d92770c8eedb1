"""Run the webhook delivery worker until SIGTERM or SIGINT (or, with --once, until nothing is due)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_app.management.stopping import stop_on_signals
from webhooks.conf import WebhookSettings
from webhooks.worker import Worker


class Command(BaseCommand):
    help = "Deliver webhook events from the outbox, with retries. Stops cleanly on SIGTERM or SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit.")
        parser.add_argument(
            "--poll-interval", type=float, default=None, help="Seconds between looks at the outbox when idle."
        )

    def handle(self, *args: Any, once: bool, poll_interval: float | None, **options: Any) -> None:
        config = WebhookSettings.load()
        if poll_interval is not None:
            config = replace(config, poll_interval_seconds=max(0.01, poll_interval))
        stop = stop_on_signals()
        if options["verbosity"] > 0:
            self.stdout.write(
                f"Webhook worker: {config.concurrency} lane(s), polling every {config.poll_interval_seconds:g} s"
                + (", once" if once else "")
            )
        Worker(config, stop=stop).run(once=once)
        if options["verbosity"] > 0:
            self.stdout.write("Webhook worker stopped.")
