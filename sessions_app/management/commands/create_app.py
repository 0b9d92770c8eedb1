"""Create an app and print its credentials as JSON (the keys are shown only this once)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...models import App


class Command(BaseCommand):
    help = "Create an app; print appId, region, apiKey and authKey as JSON. Keys are stored hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--region", default="us")

    def handle(self, *args: Any, name: str, region: str, **options: Any) -> None:
        app, api_key, auth_key = App.create_with_keys(name=name[:100], region=region[:16])
        self.stdout.write(
            json.dumps(
                {"appId": app.app_id, "name": app.name, "region": app.region, "apiKey": api_key, "authKey": auth_key}
            )
        )
