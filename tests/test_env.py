"""calls_project/env.py: typed environment readers that fail fast, naming the variable."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from calls_project.env import (
    env_bool,
    env_choice,
    env_csp_sources,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
)

NAME = "CALLS_TEST_VARIABLE"
SETTINGS_PATH = Path(__file__).resolve().parents[1] / "calls_project" / "settings.py"


@pytest.fixture
def set_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets NAME to a value (None: unset)."""

    def set_to(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(NAME, raising=False)
        else:
            monkeypatch.setenv(NAME, value)

    return set_to


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_or_blank_means_the_default(set_env: Any, value: str | None) -> None:
    set_env(value)
    assert env_str(NAME, "d") == "d"
    assert env_bool(NAME, True) is True
    assert env_int(NAME, 7) == 7
    assert env_float(NAME, 2.5) == 2.5
    assert env_list(NAME, ["a"]) == ["a"]
    assert env_json(NAME, [], expected_type=list) == []
    assert env_choice(NAME, ("all", "relay"), "all") == "all"
    assert env_csp_sources(NAME, ["'none'"]) == ["'none'"]


def test_strings_are_stripped_unless_asked_not_to(set_env: Any) -> None:
    set_env("  value ")
    assert env_str(NAME) == "value"
    assert env_str(NAME, strip=False) == "  value "


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("on", True), ("0", False), ("false", False), ("No", False)],
)
def test_booleans(set_env: Any, value: str, expected: bool) -> None:
    set_env(value)
    assert env_bool(NAME, not expected) is expected


def test_numbers(set_env: Any) -> None:
    set_env(" 3600 ")
    assert env_int(NAME, 0) == 3600
    set_env("0.25")
    assert env_float(NAME, 5.0) == 0.25


def test_lists_drop_empty_items(set_env: Any) -> None:
    set_env(" a.example, ,b.example,")
    assert env_list(NAME, []) == ["a.example", "b.example"]
    set_env(" , ")
    assert env_list(NAME, ["default"]) == ["default"]


def test_json(set_env: Any) -> None:
    set_env('[{"urls": "stun:stun.example.org"}]')
    assert env_json(NAME, [], expected_type=list) == [{"urls": "stun:stun.example.org"}]


def test_choices_match_in_any_case_and_keep_their_spelling(set_env: Any) -> None:
    set_env(" Relay ")
    assert env_choice(NAME, ("all", "relay"), "all") == "relay"
    set_env("debug")
    assert env_choice(NAME, ("DEBUG", "INFO"), "INFO") == "DEBUG"


def test_csp_sources_quote_keywords(set_env: Any) -> None:
    set_env("self, https://acme.example")
    assert env_csp_sources(NAME, []) == ["'self'", "https://acme.example"]


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: env_bool(NAME, False), "maybe", "must be 1/0, true/false, yes/no or on/off, not 'maybe'"),
        (lambda: env_int(NAME, 0), "6h", "must be a whole number, not '6h'"),
        (lambda: env_int(NAME, 0), "1.5", "must be a whole number, not '1.5'"),
        (lambda: env_float(NAME, 0.0), "five", "must be a number, not 'five'"),
        (lambda: env_json(NAME, []), "[1,", "must be JSON: "),
        (lambda: env_json(NAME, [], expected_type=list), "{oops", "must be a JSON list: "),
        (lambda: env_json(NAME, [], expected_type=list), '{"urls": "stun:x"}', "must be a JSON list, not object"),
        (lambda: env_choice(NAME, ("all", "relay"), "all"), "public", "must be all or relay, not 'public'"),
        (lambda: env_choice(NAME, ("a", "b", "c"), "a"), "d", "must be one of a, b, c, not 'd'"),
        (lambda: env_csp_sources(NAME, []), "'self';script-src", "is not a CSP source"),
        (lambda: env_csp_sources(NAME, []), "none https://acme.example", "'none' cannot be combined"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(set_env: Any, reader: Any, value: str, message: str) -> None:
    """A value that cannot be what the setting needs raises ImproperlyConfigured naming the variable."""
    set_env(value)
    with pytest.raises(ImproperlyConfigured) as refused:
        reader()
    assert str(refused.value).startswith(NAME) and message in str(refused.value)


def settings_under(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_PATH))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CALLS_CALL_TOKEN_TTL_SECONDS", "six hours"),
        ("CALLS_HEARTBEAT_TIMEOUT_S", "soon"),
        ("CALLS_SFU", "cluster"),
        ("CALLS_ICE_SERVERS", '{"urls": "stun:stun.example.org"}'),
        ("CALLS_LOG_LEVEL", "LOUD"),
        ("DJANGO_SECURE_COOKIES", "sometimes"),
    ],
)
def test_settings_refuse_bad_values_at_start_up(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """settings.py reads each variable through env.py: a bad one stops it with the variable's name."""
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "test-only-secret-key-for-production-mode-0123456789")
    with pytest.raises(ImproperlyConfigured, match=name):
        settings_under(monkeypatch, **{name: value})


def test_settings_read_the_log_level_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_under(monkeypatch, CALLS_LOG_LEVEL="debug")
    assert values["LOGGING"]["loggers"]["sessions_app"]["level"] == "DEBUG"


def test_settings_read_no_variable_but_through_env() -> None:
    """Every variable settings.py reads goes through calls_project/env.py."""
    source = SETTINGS_PATH.read_text()
    assert "os.environ" not in source and "getenv" not in source
