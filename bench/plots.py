"""The report's curves as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

STYLE = {"forwarding": {"color": "tab:blue", "marker": "o"}, "baseline": {"color": "tab:red", "marker": "s"}}


def _runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    return results.get("forwarding", {}).get("runs", [])


def forwarding_cpu(results: dict[str, Any], path: Path) -> bool:
    runs = _runs(results)
    if not runs:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for server in ("forwarding", "baseline"):
        for curve, dashed in (("n-by-n", False), ("1 to k", True)):
            points = [
                r
                for r in runs
                if r["server"] == server and bool(r["listeners"]) == dashed and r["cpu_per_delivered_stream"] > 0
            ]
            if points:
                ax.plot(
                    [r["streams"] for r in points],
                    [r["cpu_per_delivered_stream"] for r in points],
                    linestyle="--" if dashed else "-",
                    label=f"{server}, {curve}",
                    **STYLE[server],
                )
    ax.axhline(1 / 200, color="grey", linestyle=":", label="target: 200 streams per core")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="forwarded streams (640x480, 30 fps)",
        ylabel="server CPU-s/s per delivered stream",
        title="Server CPU per forwarded video stream",
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def fanout_quality(results: dict[str, Any], path: Path) -> bool:
    runs = [r for r in _runs(results) if r["listeners"]]
    if not runs:
        return False
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    for server in ("forwarding", "baseline"):
        points = [r for r in runs if r["server"] == server]
        if not points:
            continue
        xs = [r["listeners"] for r in points]
        top.plot(xs, [r["packets_per_s_per_core"] for r in points], label=server, **STYLE[server])
        middle.plot(xs, [r["mean_fps"] for r in points], label=f"{server}, mean", **STYLE[server])
        middle.plot(xs, [r["min_fps"] for r in points], linestyle=":", color=STYLE[server]["color"])
        bottom.plot(xs, [100 * r["loss"] for r in points], label=f"{server}, frames", **STYLE[server])
        bottom.plot(
            xs, [100 * r["packet_loss"] for r in points], linestyle=":", color=STYLE[server]["color"], label="packets"
        )
    top.set(ylabel="forwarded packets/s per core", title="One publisher to k subscribers")
    middle.set(ylabel="fps per subscriber (mean; dotted: min)")
    bottom.set(xscale="log", xlabel="subscribers k", ylabel="loss (%)")
    bottom.axhline(1.0, color="grey", linestyle=":")
    for ax in (top, middle, bottom):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_cdf(results: dict[str, Any], path: Path) -> bool:
    delays = results.get("latency", {}).get("delays_ms")
    if not delays:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, color in (("through_sfu", "tab:blue"), ("direct", "tab:green")):
        values = np.sort(np.array(delays.get(name, [])))
        if len(values):
            ax.plot(values, np.arange(1, len(values) + 1) / len(values), color=color, label=name.replace("_", " "))
    ax.set(
        xscale="log",
        xlabel="publisher send to subscriber receive (ms)",
        ylabel="fraction of frames",
        title="Frame latency, CDF",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def memory_curves(results: dict[str, Any], path: Path) -> bool:
    media = [r for r in results.get("memory", {}).get("ramp", []) if "rss_mb" in r]
    idle = [r for r in results.get("signaling", {}).get("ramp", []) if "rss_mb" in r]
    if not media and not idle:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    if media:
        left.plot([r["participants"] for r in media], [r["rss_mb"] for r in media], marker="o")
        left.set(xlabel="participants with media (calls of 4)", ylabel="server RSS (MB)", title="With media")
    if idle:
        right.plot([r["participants"] for r in idle], [r["rss_mb"] for r in idle], marker="o", color="tab:purple")
        right.set(xlabel="idle participants (calls of 10)", ylabel="server RSS (MB)", title="Idle, one Daphne process")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def join_times(results: dict[str, Any], path: Path) -> bool:
    joins = [r for r in results.get("join", {}).get("results", []) if "join_ms" in r]
    if not joins:
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = np.arange(len(joins))
    for key, label, color in (
        ("offer_ms", "server's offer in", "tab:orange"),
        ("connected_ms", "connected (ICE + DTLS)", "tab:green"),
        ("join_ms", "first remote frame", "tab:blue"),
    ):
        ax.plot(xs, [r.get(key) or np.nan for r in joins], marker="o", label=label, color=color)
    ax.axhline(500, color="grey", linestyle=":", label="target p95")
    ax.set(xlabel="join", ylabel="ms since joinSession()", title="Join time in Chromium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_plots(results: dict[str, Any], out: Path) -> list[str]:
    written = []
    for name, draw in (
        ("forwarding-cpu.png", forwarding_cpu),
        ("fanout.png", fanout_quality),
        ("latency-cdf.png", latency_cdf),
        ("memory.png", memory_curves),
        ("join-time.png", join_times),
    ):
        try:
            if draw(results, out / name):
                written.append(name)
        except Exception as exc:  # a plot must never cost the report
            print(f"plot {name} failed: {exc!r}", flush=True)
    return written
