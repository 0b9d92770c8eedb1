"""
Typed readers of environment variables, for settings.py.

Each reader takes the variable's name and its default. An unset variable, or one holding only
whitespace, means the default; surrounding whitespace is dropped (``env_str(..., strip=False)``
keeps a value verbatim). A value that cannot be what the setting needs raises ImproperlyConfigured
with a message naming the variable, so a bad deployment stops at start-up, not at the first request.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# How a Python type is called in JSON, for messages.
JSON_TYPE_NAMES = {
    list: "list",
    dict: "object",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _value(name: str, strip: bool = True) -> str | None:
    """The variable's text, or None when it is unset or blank."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip() if strip else value


def env_str(name: str, default: str = "", strip: bool = True) -> str:
    value = _value(name, strip)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _value(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = _value(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_float(name: str, default: float) -> float:
    value = _value(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; empty items are dropped, and a list of none means the default."""
    value = _value(name) or ""
    return [item.strip() for item in value.split(",") if item.strip()] or default


def env_json(name: str, default: Any, expected_type: type | None = None) -> Any:
    """A JSON document, of ``expected_type`` when one is given."""
    value = _value(name)
    if value is None:
        return default
    what = f"a JSON {JSON_TYPE_NAMES.get(expected_type, expected_type.__name__)}" if expected_type else "JSON"
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {what}: {exc}") from None
    if expected_type is not None and not isinstance(document, expected_type):
        raise ImproperlyConfigured(f"{name} must be {what}, not {JSON_TYPE_NAMES.get(type(document), 'that')}.")
    return document


def env_choice(name: str, choices: Sequence[str], default: str) -> str:
    """One of ``choices``, in any case; the result is spelled as in ``choices``."""
    value = _value(name)
    if value is None:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    allowed = " or ".join(choices) if len(choices) <= 2 else "one of " + ", ".join(choices)
    raise ImproperlyConfigured(f"{name} must be {allowed}, not {value!r}.")


def env_csp_sources(name: str, default: list[str]) -> list[str]:
    """
    A CSP source list from a space- or comma-separated variable. The keywords ``self`` and
    ``none`` may be written with or without their quotes; a value that could end the directive
    or start another (``;``, a quote) is refused rather than passed on to every response.
    """
    sources = []
    for item in re.split(r"[\s,]+", _value(name) or ""):
        if not item:
            continue
        keyword = item.strip("'").lower()
        if keyword in {"self", "none"}:
            sources.append(f"'{keyword}'")
        elif re.search(r"[;'\"\\]", item):
            raise ImproperlyConfigured(f"{name}: {item!r} is not a CSP source (an origin like https://acme.example).")
        else:
            sources.append(item)
    if "'none'" in sources and len(sources) > 1:
        raise ImproperlyConfigured(f"{name}: 'none' cannot be combined with other sources.")
    return sources or default
