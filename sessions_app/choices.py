"""
Django's ``TextChoices``, as a type checker should see them.

Django ships no type information, so to mypy a ``TextChoices`` member would be the
``(value, label)`` tuple written in its class body rather than the ``str`` it is at run
time. Models declare their choices on this name instead; at run time it is Django's.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:

    class TextChoices(enum.StrEnum):
        label: str
        choices: ClassVar[list[tuple[str, str]]]
        labels: ClassVar[list[str]]
        values: ClassVar[list[str]]

else:
    from django.db.models import TextChoices

__all__ = ["TextChoices"]
