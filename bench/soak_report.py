"""
Judges a soak: memory flat after warm-up, nothing left behind, nothing missing from the call log.

The limits and why they are what they are:

- RSS is judged after warm-up (the first 20% of the churn: allocator arenas, codec
  and SRTP contexts and Django's caches reach their working size). Going from an
  idle server to a 6-person call costs about 25 MB, 4 MB a participant; the
  10-minute soak has about 7 departures a minute, so even 1 MB left behind by each
  would climb 7 MB/min. The slope of a least-squares line over the samples after
  warm-up must stay under ``rss_slope_mb_per_min`` (1: a seventh of that) and the
  last samples may be at most ``rss_growth_mb`` (8) above the first ones after
  warm-up. A clean run measured 0.1 MB/min and 0.8 MB on this machine.
- Descriptors, threads, tasks and peer connections are compared at equal call
  sizes (checkpoints taken at 5 and at 6 participants, media flowing, no
  negotiation pending), first post-warm-up checkpoint against the last; and after
  everyone has left against the idle server before the first join. The slacks are
  for what the server legitimately keeps once used: the DB connection's files,
  the default executor's threads (up to 6 on 2 cores), and the tasks of sockets
  closing at that moment; none of them grows with the number of participants.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .headline import soak_headline, write_summary

LEAVE_REASONS = {False: "left", True: "disconnected"}
SAMPLES_AVERAGED = 3


@dataclass(frozen=True)
class Limits:
    """What the checks tolerate (see the module docstring); a short run loosens the RSS ones."""

    rss_slope_mb_per_min: float = 1.0
    rss_growth_mb: float = 8.0
    checkpoint_fds_slack: int = 4
    checkpoint_threads_slack: int = 2
    checkpoint_tasks_slack: int = 10
    idle_fds_slack: int = 6
    idle_threads_slack: int = 8
    idle_tasks_slack: int = 3


def check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail}


def memory(samples: list[dict[str, Any]], window: dict[str, float], limits: Limits) -> tuple[dict[str, Any], list]:
    during = [s for s in samples if window["churn_start"] <= s["t"] <= window["churn_end"]]
    later = [s for s in during if s["t"] >= window["warmup_end"]]
    figures: dict[str, Any] = {
        "idle_start_mb": samples[0]["rss_mb"] if samples else None,
        "end_after_all_left_mb": samples[-1]["rss_mb"] if samples else None,
        "later_samples": len(later),
    }
    if len(later) < 2 * SAMPLES_AVERAGED:
        return figures, [check("rss_flat", False, f"only {len(later)} samples after warm-up")]
    minutes = np.array([s["t"] for s in later]) / 60
    rss = np.array([s["rss_mb"] for s in later])
    slope = float(np.polyfit(minutes, rss, 1)[0])
    after_warmup = float(rss[:SAMPLES_AVERAGED].mean())
    end = float(rss[-SAMPLES_AVERAGED:].mean())
    figures.update(
        after_warmup_mb=round(after_warmup, 1),
        end_of_churn_mb=round(end, 1),
        slope_mb_per_min=round(slope, 3),
        growth_mb=round(end - after_warmup, 1),
        peak_mb=float(rss.max()),
    )
    return figures, [
        check(
            "rss_slope",
            slope <= limits.rss_slope_mb_per_min,
            f"{slope:.3f} MB/min after warm-up (limit {limits.rss_slope_mb_per_min})",
        ),
        check(
            "rss_growth",
            end - after_warmup <= limits.rss_growth_mb,
            f"{after_warmup:.1f} -> {end:.1f} MB (limit +{limits.rss_growth_mb})",
        ),
    ]


def checkpoints(samples: list[dict[str, Any]], window: dict[str, float], limits: Limits) -> tuple[dict, list]:
    slacks = {
        "fds": limits.checkpoint_fds_slack,
        "threads": limits.checkpoint_threads_slack,
        "tasks": limits.checkpoint_tasks_slack,
        "peer_connections": 0,
        "peer_connections_open": 0,
    }
    figures: dict[str, Any] = {}
    results = []
    sizes = sorted({s["checkpoint"] for s in samples if s["checkpoint"].startswith("size-")})
    for label in sizes:
        size = int(label.removeprefix("size-"))
        points = [s for s in samples if s["checkpoint"] == label and s["t"] >= window["warmup_end"]]
        if len(points) < 2:
            results.append(check(f"{label}_steady", False, f"{len(points)} checkpoints after warm-up"))
            continue
        first, last = points[0], points[-1]
        figures[label] = {
            "count": len(points),
            **{key: {"first": first[key], "last": last[key], "max": max(p[key] for p in points)} for key in slacks},
        }
        grown = {key: last[key] - first[key] for key in slacks if last[key] - first[key] > slacks[key]}
        results.append(check(f"{label}_returns_to_level", not grown, f"last - first beyond slack: {grown or 'none'}"))
        wrong = [p["t"] for p in points if not p["peer_connections"] == p["peer_connections_open"] == p["rooms"] * size]
        results.append(check(f"{label}_peer_connections", not wrong, f"held == open == {size} at every checkpoint"))
    return figures, results


def end_state(samples: list[dict[str, Any]], limits: Limits) -> tuple[dict, list]:
    idle = next((s for s in samples if s["checkpoint"] == "idle"), None)
    end = next((s for s in samples if s["checkpoint"] == "end"), None)
    if idle is None or end is None:
        return {}, [check("end_state", False, "no idle or end sample")]
    keys = ("rooms", "participants", "live_participants", "peer_connections", "peer_connections_open")
    keys += ("peer_connections_alive", "fds", "threads", "tasks", "rss_mb")
    figures = {key: {"idle": idle[key], "end": end[key]} for key in keys}
    empty = {key: end[key] for key in keys[:5] if end[key] != 0}
    slacks = {"fds": limits.idle_fds_slack, "threads": limits.idle_threads_slack, "tasks": limits.idle_tasks_slack}
    above = {key: f"{idle[key]} -> {end[key]}" for key, slack in slacks.items() if end[key] > idle[key] + slack}
    return figures, [
        check("end_empty", not empty, f"non-zero after everyone left: {empty or 'none'}"),
        check("end_back_to_idle", not above, f"above idle + slack {slacks}: {above or 'none'}"),
    ]


def call_log(database: Path, session_id: str, joined: list[str], departures: list[dict[str, Any]]) -> tuple[dict, list]:
    """Every join is a Participant row of the session, closed, in order, with its leave reason."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT p.participant_id, p.joined_at, p.left_at, p.leave_reason, p.audio_seconds, p.video_seconds"
            " FROM sessions_app_participant p JOIN sessions_app_callsession s ON p.session_id = s.id"
            " WHERE s.session_id = ?",
            (session_id,),
        ).fetchall()
    logged = {row[0]: row for row in rows}
    expected_reason = {d["participant_id"]: LEAVE_REASONS[d["abrupt"]] for d in departures}
    missing = [pid for pid in joined if pid not in logged]
    unexpected = [pid for pid in logged if pid not in set(joined)]
    open_rows = [pid for pid, row in logged.items() if row[2] is None]
    backwards = [
        pid for pid, row in logged.items() if row[2] is not None and
        datetime.fromisoformat(row[2]) < datetime.fromisoformat(row[1])
    ]  # fmt: skip
    negative = [pid for pid, row in logged.items() if row[4] < 0 or row[5] < 0]
    reasons = [pid for pid, row in logged.items() if expected_reason.get(pid, row[3]) != row[3]]
    figures = {
        "joins_made": len(joined),
        "rows_logged": len(rows),
        "clean_leaves": sum(1 for d in departures if not d["abrupt"]),
        "abrupt_drops": sum(1 for d in departures if d["abrupt"]),
        "audio_minutes": round(sum(row[4] for row in rows) / 60, 2),
        "video_minutes": round(sum(row[5] for row in rows) / 60, 2),
    }
    return figures, [
        check("log_every_join", not missing and not unexpected and len(rows) == len(joined),
              f"{len(joined)} joins, {len(rows)} rows; missing {missing}, unexpected {unexpected}"),
        check("log_all_closed", not open_rows, f"rows without left_at: {open_rows}"),
        check("log_left_after_joined", not backwards, f"left_at < joined_at: {backwards}"),
        check("log_media_non_negative", not negative, f"negative audio/video time: {negative}"),
        check("log_leave_reasons", not reasons, f"wrong leave reason (left / disconnected): {reasons}"),
    ]  # fmt: skip


def judge(
    *,
    settings: dict[str, Any],
    samples: list[dict[str, Any]],
    window: dict[str, float],
    joined: list[str],
    departures: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    failure: str,
    database: Path,
    session_id: str,
    limits: Limits,
    server_exit_code: int | None,
    server_log_tail: str,
) -> dict[str, Any]:
    clean = sum(1 for d in departures if not d["abrupt"])
    abrupt = len(departures) - clean
    results = [
        check("run_completed", not failure, failure or "churn, emptying and settling all finished"),
        check("no_signaling_errors", not errors, f"{len(errors)} errors: {errors[:5]}"),
        check(
            "churn_cycles",
            min(clean, abrupt) >= settings["min_cycles_each"],
            f"{clean} clean leaves, {abrupt} abrupt drops (at least {settings['min_cycles_each']} each)",
        ),
    ]
    rss, rss_checks = memory(samples, window, limits)
    steady, steady_checks = checkpoints(samples, window, limits)
    end, end_checks = end_state(samples, limits)
    log, log_checks = call_log(database, session_id, joined, departures)
    results += rss_checks + steady_checks + end_checks + log_checks
    return {
        "passed": all(r["ok"] for r in results),
        "checks": results,
        "rss": rss,
        "checkpoints": steady,
        "end": end,
        "call_log": log,
        "window": {key: round(value, 1) for key, value in window.items()},
        "settings": {**settings, "limits": asdict(limits)},
        "server_exit_code": server_exit_code,
        "server_log_tail": server_log_tail,
        "errors": errors,
        "samples": samples,
    }


def markdown(report: dict[str, Any]) -> str:
    rss, log, end, window = report["rss"], report["call_log"], report["end"], report["window"]
    minutes = (window["churn_end"] - window["churn_start"]) / 60
    lines = [
        f"# Soak: {'passed' if report['passed'] else 'FAILED'}",
        "",
        f"{report['settings']['size']} participants, {minutes:.1f} min of churn "
        f"(warm-up until t={window['warmup_end']:.0f} s): {log['clean_leaves']} clean leaves, "
        f"{log['abrupt_drops']} abrupt drops, {log['joins_made']} joins; {len(report['samples'])} samples.",
        "",
        "| RSS | MB |",
        "|---|---|",
        f"| idle, before the first join | {rss.get('idle_start_mb')} |",
        f"| after warm-up (mean of {SAMPLES_AVERAGED}) | {rss.get('after_warmup_mb')} |",
        f"| end of churn (mean of {SAMPLES_AVERAGED}) | {rss.get('end_of_churn_mb')} |",
        f"| after everyone left | {rss.get('end_after_all_left_mb')} |",
        f"| slope after warm-up | {rss.get('slope_mb_per_min')} MB/min |",
        "",
        "| server | idle | after everyone left |",
        "|---|---|---|",
        *(f"| {key} | {value['idle']} | {value['end']} |" for key, value in end.items()),
        "",
        "| at equal size, after warm-up | first | last | max |",
        "|---|---|---|---|",
    ]
    for label, figures in report["checkpoints"].items():
        for key, value in figures.items():
            if key != "count":
                lines.append(f"| {label} {key} | {value['first']} | {value['last']} | {value['max']} |")
    lines += [
        "",
        f"Call log: {log['joins_made']} joins made, {log['rows_logged']} rows logged; "
        f"{log['audio_minutes']} audio and {log['video_minutes']} video minutes.",
        "",
        "| check | ok | detail |",
        "|---|---|---|",
        *(f"| {c['name']} | {'yes' if c['ok'] else '**no**'} | {c['detail']} |" for c in report["checks"]),
    ]
    return "\n".join(lines) + "\n"


def write_results(report: dict[str, Any], results_dir: Path) -> None:
    """soak.md and the soak's headline figures in summary.json (kept in git); soak.json, every sample (local)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "soak.json").write_text(json.dumps(report, indent=1) + "\n")
    (results_dir / "soak.md").write_text(markdown(report))
    write_summary(results_dir, "soak", soak_headline(report))
