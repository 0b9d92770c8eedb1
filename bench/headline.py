"""
The headline figures of a run, kept in git as ``bench/results/summary.json``.

The raw JSON the benchmarks write (``report.json``, ``forwarding.json``, ``simulcast.json``,
``soak.json``: every window, sample and profile) stays on the machine that ran them and out of
git. What is committed is the Markdown reports, the plots the docs cite, and this summary: each
figure ``report.md`` and ``soak.md`` state against a target, with its target and verdict, and
when and on what it was measured. ``python -m bench`` writes its section (``bench``),
``python -m bench.soak`` its own (``soak``); ``python -m bench.headline`` rebuilds both from the
raw JSON in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .summary import TARGET_STREAMS_PER_CORE, forwarding_capacity

RESULTS = Path(__file__).resolve().parent / "results"
SUMMARY_NAME = "summary.json"
MACHINE_KEYS = ("cpu", "logical_cores", "python", "aiortc")


def _machine(machine: dict[str, Any] | None) -> dict[str, Any] | None:
    return {key: machine.get(key) for key in MACHINE_KEYS} if machine else None


def bench_headline(results: dict[str, Any]) -> dict[str, Any]:
    """What report.md's targets table says, from ``python -m bench``'s report.json."""
    headline: dict[str, Any] = {
        "mode": results.get("mode"),
        "measured_at": results.get("measured_at"),
        "machine": _machine(results.get("machine")),
        "rerun": results.get("rerun", []),
    }
    fwd = results.get("forwarding", {})
    if "runs" in fwd:
        capacity = forwarding_capacity(fwd["runs"])
        headline["forwarding"] = {
            "streams_per_core": capacity["best_streams_per_core"],
            "meeting": capacity["best_meeting"],
            "marginal_streams_per_core": capacity["marginal_streams_per_core"],
            "target_streams_per_core_at_least": TARGET_STREAMS_PER_CORE,
            "met": capacity["met"],
        }
    join = results.get("join", {})
    if "p95_ms" in join:
        headline["join"] = {
            "joins": join["joins"],
            "completed": join["completed"],
            "p50_ms": join["p50_ms"],
            "p95_ms": join["p95_ms"],
            "target_p95_ms_at_most": join.get("target_p95_ms"),
            "met": join["met"],
        }
    lat = results.get("latency", {})
    if lat.get("added"):
        headline["latency"] = {
            "meeting": lat["meeting"],
            **{f"added_{key}": value for key, value in lat["added"].items()},
            "target_added_p99_ms_below": lat.get("target_added_p99_ms"),
            "met": lat["met"],
        }
    sig = results.get("signaling", {})
    if "ramp" in sig:
        fan = sig.get("presence_fanout", {}).get("all_notified", {})
        headline["signaling"] = {
            "idle_held": sig["max_idle_held"],
            "target_idle_at_least": sig.get("target_idle"),
            "rss_kb_per_idle_participant": sig.get("rss_kb_per_idle_participant"),
            "met": sig["met"],
            "presence_fanout_p50_ms": fan.get("p50_ms"),
            "presence_fanout_p95_ms": fan.get("p95_ms"),
        }
    mem = results.get("memory", {})
    if "ramp" in mem:
        headline["memory"] = {
            "mb_per_participant": mem["mb_per_participant"],
            "target_mb_per_participant_below": mem.get("target_mb_per_participant"),
            "met": mem["met"],
        }
    sim = results.get("simulcast", {})
    if sim.get("ratio") is not None:
        headline["simulcast"] = {
            "measured_at": sim.get("measured_at"),
            "cpu": (sim.get("machine") or {}).get("cpu"),
            "subscribers": sim["settings"]["subscribers"],
            "ratio": sim["ratio"],
            "ratio_per_forwarded_packet": sim["ratio_per_forwarded_packet"],
            "target_ratio_at_most": sim["target_ratio_at_most"],
            "met": sim["met"],
        }
    rec = results.get("recording", {})
    if rec.get("ratio") is not None:
        headline["recording"] = {
            "measured_at": rec.get("measured_at"),
            "in_process_ratio": rec["ratio"],
            "end_to_end_ratio": rec.get("end_to_end_ratio"),
            "target_ratio_at_most": rec["target_ratio_at_most"],
            "met": rec["met"],
        }
    failed = [name for name, value in results.items() if isinstance(value, dict) and "error" in value]
    if failed:
        headline["failed"] = failed
    return headline


def soak_headline(report: dict[str, Any]) -> dict[str, Any]:
    """What soak.md says, from ``python -m bench.soak``'s soak.json."""
    rss, log, window = report["rss"], report["call_log"], report["window"]
    limits = report["settings"]["limits"]
    return {
        "measured_at": report.get("measured_at"),
        "machine": _machine(report.get("machine")),
        "passed": report["passed"],
        "checks_passed": sum(check["ok"] for check in report["checks"]),
        "checks": len(report["checks"]),
        "participants": report["settings"]["size"],
        "churn_minutes": round((window["churn_end"] - window["churn_start"]) / 60, 1),
        "joins": log["joins_made"],
        "clean_leaves": log["clean_leaves"],
        "abrupt_drops": log["abrupt_drops"],
        "rss_idle_mb": rss.get("idle_start_mb"),
        "rss_after_warmup_mb": rss.get("after_warmup_mb"),
        "rss_end_of_churn_mb": rss.get("end_of_churn_mb"),
        "rss_after_everyone_left_mb": rss.get("end_after_all_left_mb"),
        "rss_slope_mb_per_min": rss.get("slope_mb_per_min"),
        "rss_slope_limit_mb_per_min": limits["rss_slope_mb_per_min"],
        "rss_growth_mb": rss.get("growth_mb"),
        "rss_growth_limit_mb": limits["rss_growth_mb"],
    }


def write_summary(out: Path, section: str, headline: dict[str, Any]) -> Path:
    """Replace one section (``bench`` or ``soak``) of ``out``/summary.json, keeping the other."""
    path = out / SUMMARY_NAME
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[section] = headline
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.headline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the raw JSON is and summary.json goes")
    args = parser.parse_args(argv)
    sources = {"bench": ("report.json", bench_headline), "soak": ("soak.json", soak_headline)}
    for section, (name, headline) in sources.items():
        raw = args.out / name
        if raw.exists():
            print(f"{section}: {write_summary(args.out, section, headline(json.loads(raw.read_text())))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
