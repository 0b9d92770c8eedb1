"""
From raw measurement windows to figures: CPU per stream, delivered frame rate, loss, ratios.

The headline figure divides the server's CPU by the streams it actually
delivered, counted in 30 fps stream-equivalents, not by the streams it was
asked to carry: a server that drops frames must not look cheaper for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

FPS = 30
TARGET_RATIO = 10.0
TARGET_CPU_PER_STREAM = 0.01
HOLD_FPS_FRACTION = 0.9  # a server "holds" N when every stream gets at least 27 of 30 fps
BUSY_MACHINE_CORES = 0.25  # other processes using more than this during a window make it suspect


@dataclass(frozen=True)
class RunFigures:
    server: str
    size: int
    streams: int
    flowing_streams: int
    window_s: float
    server_cores: float
    server_kernel_share: float
    cpu_per_stream: float
    cpu_per_delivered_stream: float
    mean_fps: float
    min_fps: float
    loss: float
    load_cores: float
    other_cores: float
    held: bool
    publishers: int = 0
    listeners: int = 0
    packets_per_s: float = 0.0  # RTP packets the subscribers received per second (forwarded packets)
    packets_per_s_per_core: float = 0.0  # the same per core of server CPU
    packet_loss: float = 0.0  # packets the subscribers' receivers counted lost, of those expected

    @property
    def label(self) -> str:
        if self.listeners:
            return f"1->{self.listeners}" if self.publishers == 1 else f"{self.publishers}->{self.listeners}"
        return f"{self.size}x{self.size}"


def figures(server: str, raw: dict[str, Any]) -> RunFigures:
    before, after = raw["before"], raw["after"]
    window = after["at"] - before["at"]
    server_cores = (after["server_cpu_s"] - before["server_cpu_s"]) / window
    kernel_cores = (after["server_system_s"] - before["server_system_s"]) / window
    load_cores = (after["load_cpu_s"] - before["load_cpu_s"]) / window
    machine_cores = (after["machine_busy_s"] - before["machine_busy_s"]) / window
    sent = {pid: after["sent"][pid] - before["sent"][pid] for pid in after["sent"]}
    received = {pair: after["received"][pair] - before["received"][pair] for pair in after["received"]}
    fps = [count / window for count in received.values()]
    expected = sum(sent[pair.split("<-")[1]] for pair in received)
    delivered_streams = sum(received.values()) / window / FPS
    streams = raw["streams"]
    min_fps = min(fps) if fps else 0.0
    packets = after.get("packets_received", 0) - before.get("packets_received", 0)
    lost = max(0, after.get("packets_lost", 0) - before.get("packets_lost", 0))
    return RunFigures(
        server=server,
        size=raw["size"],
        streams=streams,
        flowing_streams=raw["flowing_streams"],
        window_s=round(window, 2),
        server_cores=round(server_cores, 3),
        server_kernel_share=round(kernel_cores / server_cores, 2) if server_cores else 0.0,
        cpu_per_stream=round(server_cores / streams, 5),
        cpu_per_delivered_stream=round(server_cores / delivered_streams, 5) if delivered_streams else float("inf"),
        mean_fps=round(sum(fps) / len(fps), 2) if fps else 0.0,
        min_fps=round(min_fps, 2),
        loss=round(max(0.0, 1 - sum(received.values()) / expected), 4) if expected else 1.0,
        load_cores=round(load_cores, 3),
        other_cores=round(max(0.0, machine_cores - server_cores - load_cores), 3),
        held=raw["flowing_streams"] == streams and min_fps >= HOLD_FPS_FRACTION * FPS,
        publishers=raw.get("publishers", raw["size"]),
        listeners=raw.get("listeners", 0),
        packets_per_s=round(packets / window, 1),
        packets_per_s_per_core=round(packets / window / server_cores, 1) if server_cores else 0.0,
        packet_loss=round(lost / (packets + lost), 5) if packets + lost else 0.0,
    )


def ratios(runs: list[RunFigures]) -> list[dict[str, Any]]:
    """
    Baseline cost over forwarding cost per delivered stream, for every N both were run at.

    Rows where the baseline did not hold are kept but flagged: its cost per
    delivered frame is then a throughput-limited figure, not a 30 fps one.
    """
    forwarding = {r.label: r for r in runs if r.server == "forwarding"}
    rows = []
    for base in (r for r in runs if r.server == "baseline"):
        fwd = forwarding.get(base.label)
        if fwd is not None and fwd.cpu_per_delivered_stream > 0:
            ratio = base.cpu_per_delivered_stream / fwd.cpu_per_delivered_stream
            rows.append(
                {
                    "size": base.size,
                    "meeting": base.label,
                    "ratio": round(ratio, 1),
                    "both_held": base.held and fwd.held,
                }
            )
    return rows


def cost_model(runs: list[RunFigures]) -> dict[str, float] | None:
    """
    Split the SFU's CPU into a cost per participant and a cost per forwarded stream.

    Least squares of ``cores = a * N + b * N*(N-1)`` over the SFU runs that
    held. It explains why the per-stream figure falls with N: ``a`` (receiving
    a participant's published stream, its connection's RTCP, and event-loop
    wake-ups that batch poorly at low load) is paid once per participant and
    shared by the N-1 streams forwarded from it.
    """
    held = [r for r in runs if r.server == "forwarding" and r.held and not r.listeners]
    if len(held) < 2:
        return None
    design = np.array([[r.size, r.size * (r.size - 1)] for r in held], dtype=float)
    cores = np.array([r.server_cores for r in held])
    (per_participant, per_forwarded), *_ = np.linalg.lstsq(design, cores, rcond=None)
    return {"per_participant": round(float(per_participant), 5), "per_forwarded_stream": round(float(per_forwarded), 5)}


def verdict(runs: list[RunFigures], ratio_rows: list[dict[str, Any]]) -> dict[str, Any]:
    forwarding = [r for r in runs if r.server == "forwarding" and not r.listeners]
    per_stream = {r.size: r.cpu_per_delivered_stream for r in forwarding}
    held_ratios = [row["ratio"] for row in ratio_rows if row["both_held"]]
    return {
        "target_ratio_at_least": TARGET_RATIO,
        "target_cpu_per_stream_at_most": TARGET_CPU_PER_STREAM,
        "forwarding_cpu_per_stream_by_size": per_stream,
        "sizes_meeting_cpu_target": [size for size, cost in per_stream.items() if cost <= TARGET_CPU_PER_STREAM],
        "ratio_where_both_held": held_ratios,
        "ratio_target_met_where_both_held": bool(held_ratios) and min(held_ratios) >= TARGET_RATIO,
        "forwarding_held_every_size": all(r.held for r in forwarding),
        "max_other_cores": max((r.other_cores for r in runs), default=0.0),
    }


def table(runs: list[RunFigures], ratio_rows: list[dict[str, Any]], model: dict[str, float] | None) -> str:
    """The Markdown printed and written to bench/results/forwarding.md."""
    lines = [
        "| meeting | streams | server | server CPU (cores) | CPU-s/s per stream | per delivered 30 fps stream "
        "| forwarded packets/s | packets/s per core | fps per stream (mean / min) | frame loss | packet loss "
        "| load process (cores) | other processes (cores) | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        flowing = "" if r.flowing_streams == r.streams else f" ({r.flowing_streams} flowing)"
        lines.append(
            f"| {r.label} | {r.streams}{flowing} | {r.server} | {r.server_cores:.3f} | {r.cpu_per_stream:.4f} "
            f"| {r.cpu_per_delivered_stream:.4f} | {r.packets_per_s:.0f} | {r.packets_per_s_per_core:.0f} "
            f"| {r.mean_fps:.1f} / {r.min_fps:.1f} | {r.loss:.1%} | {r.packet_loss:.2%} "
            f"| {r.load_cores:.2f} | {r.other_cores:.2f} | {'yes' if r.held else 'no'} |"
        )
    lines += ["", "| meeting | baseline / forwarding, CPU per delivered stream |", "|---|---|"]
    for row in ratio_rows:
        note = "" if row["both_held"] else " (baseline saturated: throughput-limited, not a 30 fps figure)"
        lines.append(f"| {row['meeting']} | {row['ratio']}x{note} |")
    if model is not None:
        lines += [
            "",
            f"SFU cost model (least squares over the sizes it held): {model['per_participant']:.4f} CPU-s/s "
            f"per participant (its published stream received) + {model['per_forwarded_stream']:.4f} "
            "per forwarded stream.",
        ]
    if any(r.other_cores > BUSY_MACHINE_CORES for r in runs):
        lines += ["", "Warning: other processes used CPU during some windows; their figures are less reliable."]
    return "\n".join(lines) + "\n"


def as_json(runs: list[RunFigures]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]
