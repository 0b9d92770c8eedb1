"""Mark participants left behind by a stopped server as gone, so nobody sees ghost tiles."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from ...errors import LEAVE_REASON_SERVER_STOPPED
from ...models import Participant


class Command(BaseCommand):
    help = "Before starting the single-process server: close participants a previous run left open."

    def handle(self, *args: Any, **options: Any) -> None:
        closed = Participant.objects.filter(left_at__isnull=True).update(
            left_at=timezone.now(), leave_reason=LEAVE_REASON_SERVER_STOPPED
        )
        self.stdout.write(f"Closed {closed} stale participant(s).")
