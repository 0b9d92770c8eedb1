"""Create a call session and print its share link on the last line."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...errors import CallsError
from ...hosting import host_url
from ...links import share_url
from ...models import App, CallSession, SessionType
from ...services.session_settings import clean_locks, clean_settings


class Command(BaseCommand):
    help = "Create a call session and print its shareable URL (last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--title", default="", help="Title shown in the call header.")
        parser.add_argument("--type", default=SessionType.VIDEO, choices=SessionType.values, dest="session_type")
        parser.add_argument(
            "--setting", action="append", default=[], metavar="NAME=JSON",
            help="A SessionSettings default, e.g. --setting startAudioMuted=true --setting layout='\"SPOTLIGHT\"'",
        )  # fmt: skip
        parser.add_argument("--lock", action="append", default=[], metavar="NAME", help="Forbid overriding NAME.")
        parser.add_argument(
            "--app", default="", metavar="APP_ID", help="The app the call belongs to (its call logs and webhooks)."
        )

    def handle(
        self, *args: Any, title: str, session_type: str, setting: list[str], lock: list[str], app: str, **_: Any
    ) -> None:
        defaults: dict[str, Any] = {}
        for item in setting:
            name, _sep, raw = item.partition("=")
            try:
                defaults[name] = json.loads(raw)
            except ValueError:
                defaults[name] = raw  # a bare word is a string: layout=SPOTLIGHT
        try:
            defaults, locked = clean_settings(defaults), clean_locks(lock)
        except CallsError as exc:
            raise CommandError(exc.message) from None
        owner = App.objects.filter(app_id=app).first() if app else None
        if app and owner is None:
            raise CommandError(f"No app has the ID {app!r}.")
        session = CallSession.objects.create(
            title=title[:200], session_type=session_type, settings=defaults, locked_settings=locked, app=owner
        )
        self.stdout.write(f"Session {session.session_id} ({session.session_type})")
        self.stdout.write(
            f"Host link (keep it private: whoever opens it moderates the call): {host_url(session.session_id)}"
        )
        self.stdout.write(share_url(session.session_id))
