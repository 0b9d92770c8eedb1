"""Run the recordings worker until SIGTERM or SIGINT (or, with --once, until no composition is due)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_app.management.stopping import stop_on_signals
from sessions_app.services.composition import Worker


class Command(BaseCommand):
    help = (
        "Compose stopped recordings into one file each, put them in the recordings storage and announce them "
        "(recording_generated); delete recordings past their retention. Stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Compose what is due now, then exit.")
        parser.add_argument("--poll-interval", type=float, default=1.0, help="Seconds between looks when idle.")

    def handle(self, *args: Any, once: bool, poll_interval: float, **options: Any) -> None:
        stop = stop_on_signals()
        worker = Worker(stop=stop, poll_interval=max(0.01, poll_interval))
        if options["verbosity"] > 0:
            canvas = worker.canvas
            self.stdout.write(
                f"Recordings worker: composing at {canvas.width}x{canvas.height}@{canvas.fps}"
                + (", once" if once else "")
            )
        worker.run(once=once)
        if options["verbosity"] > 0:
            self.stdout.write("Recordings worker stopped.")
