"""
The default storage of composed recordings (``STORAGES["recordings"]``), apart from the models: a
model field's storage is made while the models module is still being imported.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class RecordingsDirectoryStorage(FileSystemStorage):
    """
    The default recordings storage: files under CALLS_RECORDINGS_DIR, beside the tracks, read from
    the setting at each use (so an override, as in tests, moves the composed files with the tracks).
    """

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(self._value_or_setting(self._location, settings.CALLS_RECORDINGS_DIR))

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)
