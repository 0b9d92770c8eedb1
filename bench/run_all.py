"""
Every benchmark of the issue in one bounded run: ``python -m bench`` (``make bench``).

1. Forwarding capacity: n-by-n meetings and one publisher to k subscribers, the SFU and the
   decode/re-encode baseline side by side (``forwarding.py``), and a py-spy profile of the SFU
   at the largest fan-out it held.
2. Join time in Chromium (``jointime.py``).
3. Added latency through the SFU against direct connections (``latency.py``).
4. Signaling: idle participants one Daphne process holds, presence fan-out in a call of 50
   (``signaling.py``).
5. Memory per participant with media (``memory.py``).
6. Forwarding cost with simulcast on, as a ratio to single-layer forwarding (``simulcast.py``,
   an in-process micro-benchmark of the SFU's media path).
7. SFU CPU with recording on, as a ratio to recording off, in a 4x4 meeting (``recording.py``).

Writes ``report.md``, PNG plots and ``summary.json`` (the headline figures, ``headline.py``) to
``bench/results/`` (``--out``), which git keeps, and the raw ``report.json`` (with
``forwarding.json``, ``simulcast.json`` and ``recording.json``), which stays local: git ignores it.
``--quick`` runs a smaller version of each (about 3 minutes) for development; the machine this
was written on is shared, so every figure is noisy and read against its same-run baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import forwarding, jointime, latency, load, memory, recording, runner, signaling, simulcast
from .headline import bench_headline, write_summary
from .media import camera_like_vp8
from .plots import write_plots
from .summary import markdown_report

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("forwarding", "join", "latency", "signaling", "memory", "simulcast", "recording")


@dataclass(frozen=True)
class Plan:
    sizes: list[int]
    fanout: list[int]
    warmup_s: float
    window_s: float
    latency_subscribers: int
    latency_window_s: float
    joins: int
    idle_target: int
    idle_steps: int
    idle_hold_s: float
    idle_budget_s: float
    presence_trials: int
    memory_participants: int
    memory_budget_s: float
    simulcast_subscribers: int
    simulcast_media_s: float
    simulcast_repetitions: int
    recording_pairs: int
    recording_window_s: float
    recording_repetitions: int
    recording_media_s: float


FULL = Plan(
    # Up to what one load process (one core: the GIL) can receive: 12x12 is 132 streams, 1->128 is 128.
    sizes=[2, 4, 6, 8, 12],
    fanout=[1, 2, 4, 8, 16, 32, 64, 128],
    warmup_s=2.0,
    window_s=5.0,
    latency_subscribers=4,
    latency_window_s=12.0,
    joins=20,
    idle_target=signaling.TARGET_IDLE,
    idle_steps=6,
    idle_hold_s=5.0,
    idle_budget_s=300.0,
    presence_trials=20,
    memory_participants=24,
    memory_budget_s=120.0,
    simulcast_subscribers=24,
    simulcast_media_s=20.0,
    simulcast_repetitions=5,
    recording_pairs=3,
    recording_window_s=8.0,
    recording_repetitions=3,
    recording_media_s=12.0,
)
QUICK = Plan(
    sizes=[2, 4],
    fanout=[1, 4, 16],
    warmup_s=1.5,
    window_s=3.0,
    latency_subscribers=4,
    latency_window_s=4.0,
    joins=5,
    idle_target=300,
    idle_steps=2,
    idle_hold_s=3.0,
    idle_budget_s=40.0,
    presence_trials=5,
    memory_participants=8,
    memory_budget_s=40.0,
    simulcast_subscribers=24,
    simulcast_media_s=8.0,
    simulcast_repetitions=3,
    recording_pairs=1,
    recording_window_s=5.0,
    recording_repetitions=1,
    recording_media_s=6.0,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run of everything (about 3 minutes)")
    parser.add_argument("--only", nargs="+", choices=[*BENCHMARKS])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report and plots go")
    return parser.parse_args(argv)


def attempt(name: str, results: dict[str, Any], work: Callable[[], dict[str, Any]]) -> None:
    """Run one benchmark; a failure is recorded in the report and the others still run."""
    started = time.monotonic()
    print(f"== {name}", flush=True)
    try:
        results[name] = work()
    except Exception:
        results[name] = {"error": traceback.format_exc()[-3000:]}
        print(results[name]["error"], flush=True)
    results[name]["duration_s"] = round(time.monotonic() - started, 1)
    print(f"== {name} done in {results[name]['duration_s']} s", flush=True)


def profile_fanout(plan: Plan, report: dict[str, Any], out: Path) -> dict[str, Any]:
    """py-spy of the SFU over one window, at the largest one-to-k meeting it held."""
    held = [r for r in report["runs"] if r["server"] == "forwarding" and r["listeners"] and r["held"]]
    listeners = max((r["listeners"] for r in held), default=plan.fanout[0])
    settings = load.LoadSettings(
        flow_timeout_s=25.0 + listeners * 0.5,
        warmup_s=plan.warmup_s,
        window_s=max(plan.window_s, 5.0),
        profile_path=str(out / "profile-forwarding.txt"),
    )
    raw = runner.run_once("forwarding", load.Topology(1, listeners), camera_like_vp8(), settings)
    return {"meeting": f"1->{listeners}", "profile": raw.get("profile")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    only = set(args.only or BENCHMARKS)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {}
    previous = out / "report.json"
    if args.only and previous.exists():
        # A partial run replaces its benchmarks in the last report and keeps the others.
        results = json.loads(previous.read_text())
        rerun = {"only": sorted(only), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpu": forwarding.machine()["cpu"]}
        results.setdefault("rerun", []).append(rerun)
    results.update(
        {
            "mode": "quick" if args.quick else "full",
            "measured_at": results.get("measured_at", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            "machine": results.get("machine", forwarding.machine()),  # a partial run keeps the full run's
            "plan": plan.__dict__,
        }
    )
    earlier_s = results.get("duration_s", 0.0)
    if "forwarding" in only:
        attempt(
            "forwarding",
            results,
            lambda: forwarding.run(plan.sizes, plan.fanout, plan.warmup_s, plan.window_s, True, out),
        )
        if "runs" in results["forwarding"]:
            attempt("forwarding_profile", results, lambda: profile_fanout(plan, results["forwarding"], out))
    if "latency" in only:
        attempt("latency", results, lambda: latency.run(plan.latency_subscribers, plan.latency_window_s))
    if "join" in only:
        attempt("join", results, lambda: jointime.run(plan.joins))
    if "signaling" in only:
        attempt(
            "signaling",
            results,
            lambda: signaling.run(
                plan.idle_target,
                plan.idle_steps,
                plan.idle_hold_s,
                plan.idle_budget_s,
                plan.presence_trials,
                out / "profile-signaling.txt",
            ),
        )
    if "memory" in only:
        attempt("memory", results, lambda: memory.run(plan.memory_participants, plan.memory_budget_s))
    if "simulcast" in only:
        attempt(
            "simulcast",
            results,
            lambda: simulcast.run(plan.simulcast_subscribers, plan.simulcast_media_s, plan.simulcast_repetitions, out),
        )
    if "recording" in only:
        attempt(
            "recording",
            results,
            lambda: recording.run(
                plan.recording_pairs,
                plan.recording_window_s,
                out,
                plan.recording_repetitions,
                plan.recording_media_s,
            ),
        )
    results["duration_s"] = round(earlier_s + time.monotonic() - started, 1)
    (out / "report.json").write_text(json.dumps(results, indent=1, default=str) + "\n")  # kept if what follows fails
    results["plots"] = write_plots(results, out)
    report_md = markdown_report(results)
    (out / "report.md").write_text(report_md)
    (out / "report.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    write_summary(out, "bench", bench_headline(results))
    print(report_md)
    print(f"done in {results['duration_s']} s; {out / 'report.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
