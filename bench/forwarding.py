"""
Server CPU per forwarded 640x480 30 fps video stream, against a decode/re-encode baseline.

``python -m bench.forwarding`` (``make bench``): for meetings of N = 2, 4, 6, 8
participants, each publishing one video stream and receiving all the others
(N*(N-1) streams), it starts the server (the SFU, then the MediaRelay
baseline) in a process of its own and the participants in another, and
measures the server's CPU over a steady window. The baseline stops at the
first N it cannot hold: past that it only measures a saturated machine.
Results go to bench/results/forwarding.{json,md}; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiortc
import psutil

from . import load, server
from .media import encode_camera_like_vp8, profile
from .report import RunFigures, as_json, cost_model, ratios, table, verdict
from .runner import PatienceBudget, measure

RESULTS = Path(__file__).resolve().parent / "results"
GOP = 60
PATIENCE_S = 60.0  # at most this much waiting for, and re-running because of, other processes


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "logical_cores": psutil.cpu_count(),
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "platform": platform.platform(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.forwarding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 6, 8], help="meeting sizes N")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of media before the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--no-baseline", action="store_true", help="measure the SFU only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where forwarding.{json,md} go")
    return parser.parse_args(argv)


def run_all(args: argparse.Namespace, frames: list[bytes]) -> tuple[list[dict[str, Any]], int | None]:
    """Each size against the SFU, then the baseline until the first size the baseline cannot hold."""
    settings = load.LoadSettings(warmup_s=args.warmup, window_s=args.window)
    budget = PatienceBudget(PATIENCE_S)
    runs: list[dict[str, Any]] = []
    baseline_capped_at: int | None = None
    for size in args.sizes:
        kinds: list[server.ServerKind] = ["forwarding"]
        if not args.no_baseline and baseline_capped_at is None:
            kinds.append("baseline")
        for kind in kinds:
            result, attempts = measure(kind, size, frames, settings, budget)
            discarded = [asdict(attempt) for attempt in attempts if attempt is not result]
            runs.append({"figures": result, "discarded_busy_attempts": discarded})
            for attempt in attempts:
                chosen = "kept" if attempt is result else "discarded (machine busy)"
                print(f"{kind:>10} N={size} {chosen}: {attempt}", flush=True)
            if kind == "baseline" and not result.held:
                baseline_capped_at = size
    return runs, baseline_capped_at


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    frames = encode_camera_like_vp8(gop=GOP)
    stream = profile(frames, GOP)
    print(f"stream: {stream}", flush=True)
    attempted, baseline_capped_at = run_all(args, frames)
    runs: list[RunFigures] = [run["figures"] for run in attempted]
    ratio_rows = ratios(runs)
    model = cost_model(runs)
    summary = verdict(runs, ratio_rows)
    report = {
        "benchmark": "server CPU per forwarded 640x480 30 fps video stream",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "stream": asdict(stream),
        "settings": {"warmup_s": args.warmup, "window_s": args.window, "sizes": args.sizes},
        "baseline_capped_at": baseline_capped_at,
        "runs": [
            dict(figures, discarded_busy_attempts=run["discarded_busy_attempts"])
            for figures, run in zip(as_json(runs), attempted, strict=True)
        ],
        "ratios": ratio_rows,
        "forwarding_cost_model": model,
        "verdict": summary,
        "duration_s": round(time.monotonic() - started, 1),
    }
    markdown = (
        f"Measured {report['measured_at']} on {report['machine']['cpu']} ({report['machine']['logical_cores']} cores), "
        f"aiortc {aiortc.__version__}; stream {stream.width}x{stream.height} {stream.fps} fps VP8, "
        f"{stream.kbit_per_s:.0f} kbit/s, ~{stream.approx_packets_per_frame:.1f} packets a frame; "
        f"{args.window:.0f} s window after {args.warmup:.0f} s warm-up. `python -m bench.forwarding`, "
        "see docs/benchmarks.md.\n\n" + table(runs, ratio_rows, model)
    )
    if baseline_capped_at is not None:
        markdown += (
            f"\nThe baseline could not hold N={baseline_capped_at} (some stream under 27 fps), "
            "so larger meetings were not run against it.\n"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "forwarding.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "forwarding.md").write_text(markdown)
    print()
    print(markdown)
    print(json.dumps(summary, indent=2))
    print(f"done in {report['duration_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
