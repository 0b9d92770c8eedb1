"""People's names as everyone sees them: one cleaning for the REST API's users and guests and for joins."""

from __future__ import annotations

MAX_DISPLAY_NAME_CHARS = 100


def clean_display_name(value: str) -> str:
    """Collapse whitespace and drop control characters from a display name."""
    printable = "".join(ch for ch in value if ch.isprintable())
    return " ".join(printable.split())[:MAX_DISPLAY_NAME_CHARS]
