"""
A short soak against a real Daphne process: churn leaves nothing behind and loses nothing from the call log.

The same code as ``python -m bench.soak``, for about 30 s of churn (a few clean
leaves and abrupt drops, and at least 3 of each however slow the machine; about
55 s in all with the server's start and the emptying of the call). Memory is
judged loosely here: half a minute is mostly warm-up, so only a gross leak fails
it; the 10-minute soak judges it properly.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.soak import SoakSettings, run_soak
from bench.soak_report import Limits

pytestmark = pytest.mark.timeout(90)

SHORT_SOAK = SoakSettings(
    seconds=30,
    pause_s=1.0,
    hold_s=1.0,
    sample_interval_s=2.0,
    flow_timeout_s=15.0,
    settle_timeout_s=15.0,
    limits=Limits(rss_slope_mb_per_min=45.0, rss_growth_mb=30.0),
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run_soak(SHORT_SOAK, results_dir=None)


def outcome(report: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    """The named checks that failed (with their details), or [] when they all held."""
    checks = {c["name"]: c for c in report["checks"]}
    assert set(names) <= set(checks), sorted(checks)
    return [checks[name] for name in names if not checks[name]["ok"]]


def test_the_churn_ran_both_kinds_of_departure_without_errors(report: dict[str, Any]) -> None:
    """Three or more clean leaves and abrupt drops each, and the server never answered with an error."""
    assert outcome(report, "run_completed", "no_signaling_errors", "churn_cycles") == [], report["server_log_tail"]


def test_memory_shows_no_gross_leak(report: dict[str, Any]) -> None:
    """RSS after warm-up grows by less than the loose short-run limits."""
    assert outcome(report, "rss_slope", "rss_growth") == [], report["rss"]


def test_resources_return_to_the_same_level_at_equal_call_sizes(report: dict[str, Any]) -> None:
    """At 5 and at 6 participants, descriptors, threads, tasks and peer connections are back where they were."""
    assert outcome(report, "size-5_returns_to_level", "size-6_returns_to_level") == [], report["checkpoints"]
    assert outcome(report, "size-5_peer_connections", "size-6_peer_connections") == []


def test_an_emptied_call_leaves_the_server_as_it_was_idle(report: dict[str, Any]) -> None:
    """No room, participant or open peer connection; descriptors, threads and tasks at the idle baseline."""
    assert outcome(report, "end_empty", "end_back_to_idle") == [], report["end"]


def test_every_join_is_in_the_call_log_closed_and_consistent(report: dict[str, Any]) -> None:
    """One Participant row per join, each left after it joined, with its leave reason and no negative time."""
    names = ("log_every_join", "log_all_closed", "log_left_after_joined", "log_media_non_negative")
    assert outcome(report, *names, "log_leave_reasons") == [], report["call_log"]
