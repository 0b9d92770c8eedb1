"""Start an SFU worker process: it hosts sessions' media for every Daphne process (CALLS_SFU=workers)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls_project.gc_tuning import tune_garbage_collector

from ...cluster.worker import SFUWorker
from ...services.media import media_config_from_settings
from ...sfu import SFU


class Command(BaseCommand):
    help = (
        "Run an SFU worker: hosts the media of the sessions placed on it, reached through the channel layer "
        "(needs REDIS_URL and the database every Daphne process uses). Stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--worker-id", default="", help="Name it (default: host name, process ID, random).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("An SFU worker needs REDIS_URL: Daphne processes reach it through Redis.")
        tune_garbage_collector()
        asyncio.run(self._serve(options["worker_id"] or None))

    async def _serve(self, worker_id: str | None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        worker = SFUWorker(SFU(media_config_from_settings()), get_channel_layer(), worker_id)
        self.stdout.write(f"SFU worker {worker.worker_id} starting", ending="\n")
        self.stdout.flush()
        await worker.run(stop)
