"""Create a call session and print its share link on the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_app.links import share_url
from sessions_app.models import CallSession, SessionType


class Command(BaseCommand):
    help = "Create a call session and print its shareable URL (last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--title", default="", help="Title shown in the call header.")
        parser.add_argument("--type", default=SessionType.VIDEO, choices=SessionType.values, dest="session_type")

    def handle(self, *args: Any, title: str, session_type: str, **options: Any) -> None:
        session = CallSession.objects.create(title=title[:200], session_type=session_type)
        self.stdout.write(f"Session {session.session_id} ({session.session_type})")
        self.stdout.write(share_url(session.session_id))
