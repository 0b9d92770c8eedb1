"""
Soak: a 6-person call with join/leave churn against the real server, for a bounded time.

    .venv/bin/python -m bench.soak --minutes 10     # or --seconds 60; make soak

The server runs alone in a Daphne process (``soak_server.py``); this process is the
load: aiortc participants on the real signaling websocket (``churn.py``). One at a
time leaves, alternately with ``leave`` and by dropping its connection (the server
keeps it for its resume grace, then removes it), and a new one joins a couple of
seconds later, so the call always has 5 or 6 people. Every few seconds, and at each
steady point of the churn, it samples the server from outside: RSS, file
descriptors and threads through psutil, rooms, participants, peer connections and
asyncio tasks through ``/metrics``. ``soak_report.py`` judges the samples and the
call log; the exit status is non-zero when a check fails. Results go to bench/results/:
soak.md and the ``soak`` section of summary.json (committed), soak.json with every sample
(local, git ignores it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sessions_app.sfu.ice import use_host_addresses
from tests.synthetic import encode_vp8_frames

from .churn import ChurnError, ChurnParticipant
from .forwarding import machine
from .soak_report import Limits, judge, write_results
from .soak_server import SoakServer

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class SoakSettings:
    """How long, how big, and how the churn is paced (pacing sleeps; every wait is on a condition)."""

    seconds: float = 600.0
    size: int = 6
    pause_s: float = 2.0  # from a departure being complete to the next join
    hold_s: float = 3.0  # the full call, media flowing, before the next departure
    sample_interval_s: float = 3.0
    video_fps: int = 15
    min_cycles_each: int = 3  # clean and abrupt departures, however slow the machine
    flow_timeout_s: float = 30.0
    settle_timeout_s: float = 30.0
    warmup_fraction: float = 0.2
    limits: Limits = field(default_factory=Limits)

    @property
    def max_cycles(self) -> int:
        """A bound on the loop whatever the clock says: no cycle is shorter than the pacing."""
        return max(2 * self.min_cycles_each, int(self.seconds / (self.pause_s + self.hold_s)) + 1)


@dataclass
class Departure:
    participant_id: str
    abrupt: bool


class Soak:
    """One run: the call, its churn, and the samples taken along the way."""

    def __init__(self, settings: SoakSettings, server: SoakServer, session_id: str, tokens: list[str]) -> None:
        self.settings = settings
        self.server = server
        self.session_id = session_id
        self.tokens = tokens
        self.frames = encode_vp8_frames(count=30, width=320, height=240, fps=settings.video_fps, gop=30)
        self.present: list[ChurnParticipant] = []
        self.joined: list[str] = []
        self.departures: list[Departure] = []
        self.errors: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.phase = "idle"
        self.started = time.monotonic()
        self.churn_started: float | None = None
        self.churn_ended: float | None = None

    async def sample(self, checkpoint: str = "") -> dict[str, Any]:
        metrics = await asyncio.to_thread(self.server.scrape)
        sample = {
            "t": round(time.monotonic() - self.started, 2),
            "phase": self.phase,
            "checkpoint": checkpoint,
            "in_call": len(self.present),
            **self.server.process_figures(),
            "rooms": metrics["calls_rooms"],
            "participants": metrics["calls_participants"],
            "peer_connections": metrics["calls_peer_connections_held"],
            "peer_connections_open": metrics["calls_peer_connections_open"],
            "peer_connections_alive": metrics["calls_peer_connections_alive"],
            "live_participants": metrics["calls_live_participants"],
            "tasks": metrics["calls_asyncio_tasks"],
            "server_threads": metrics["calls_threads"],
        }
        self.samples.append(sample)
        return sample

    async def _sample_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sample_interval_s)
            try:
                await self.sample()
            except Exception as exc:
                self.errors.append({"type": "sample_failed", "error": repr(exc)})

    async def wait_for(self, what: str, condition: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Scrape the server until ``condition`` holds of a sample; ChurnError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            metrics = await asyncio.to_thread(self.server.scrape)
            figures = {**metrics, **self.server.process_figures()}
            if condition(figures):
                return figures
            if time.monotonic() > deadline:
                raise ChurnError(f"{what}: not within {timeout:.0f} s (last: {figures})")
            await asyncio.sleep(0.25)

    async def wait_flowing(self) -> None:
        """Every present participant receives audio and video from every other one."""
        deadline = time.monotonic() + self.settings.flow_timeout_s
        while True:
            missing = [
                (sub.name, pub.name)
                for sub in self.present
                for pub in self.present
                if sub is not pub and not sub.receives_from(pub.participant_id)
            ]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise ChurnError(f"media not flowing within {self.settings.flow_timeout_s:.0f} s: {missing}")
            await asyncio.sleep(0.2)

    async def wait_server_size(self, size: int) -> None:
        """The server holds exactly ``size`` participants, in the SFU and in signaling."""
        await self.wait_for(
            f"server back to {size} participants",
            lambda m: m["calls_participants"] == size and m["calls_live_participants"] == size,
            self.settings.settle_timeout_s,
        )

    async def add_participant(self) -> None:
        index = len(self.joined)
        if index >= len(self.tokens):
            raise ChurnError("ran out of call tokens")
        participant = ChurnParticipant(
            f"soak-{index}",
            self.server.socket_url(self.session_id),
            self.server.origin,
            self.tokens[index],
            self.frames,
            self.settings.video_fps,
        )
        self.present.append(participant)
        self.joined.append(await participant.join())

    async def remove_participant(self, abrupt: bool) -> None:
        """The longest-present participant goes; returns once the server no longer has it."""
        participant = self.present.pop(0)
        self.errors += participant.errors
        self.departures.append(Departure(participant.participant_id, abrupt))
        await participant.leave(abrupt)
        await self.wait_server_size(len(self.present))

    def cycles(self, abrupt: bool) -> int:
        return sum(1 for departure in self.departures if departure.abrupt == abrupt)

    async def churn(self) -> None:
        settings = self.settings
        self.phase = "filling"
        self.churn_started = time.monotonic()
        for _ in range(settings.size):
            await self.add_participant()
        await self.wait_flowing()
        await self.wait_server_size(settings.size)
        self.phase = "churn"
        deadline = self.churn_started + settings.seconds
        cycle = 0
        while cycle < settings.max_cycles and (
            time.monotonic() < deadline or min(self.cycles(False), self.cycles(True)) < settings.min_cycles_each
        ):
            await self.remove_participant(abrupt=cycle % 2 == 1)
            await self.sample(checkpoint=f"size-{len(self.present)}")
            await asyncio.sleep(settings.pause_s)
            await self.add_participant()
            await self.wait_flowing()
            await self.wait_server_size(settings.size)
            await asyncio.sleep(settings.hold_s)
            await self.sample(checkpoint=f"size-{len(self.present)}")
            cycle += 1
        self.churn_ended = time.monotonic()

    async def empty_the_call(self) -> None:
        """Everyone goes, alternately cleanly and abruptly, and the server lets go of everything."""
        self.phase = "emptying"
        abrupt = False
        while self.present:
            await self.remove_participant(abrupt)
            abrupt = not abrupt
        self.phase = "empty"
        await self.wait_for(
            "server empty",
            lambda m: (
                m["calls_rooms"] == 0
                and m["calls_participants"] == 0
                and m["calls_live_participants"] == 0
                and m["calls_peer_connections_open"] == 0
            ),
            self.settings.settle_timeout_s,
        )

    async def settle_to_idle(self, idle: dict[str, Any]) -> None:
        """Give closed connections' threads, sockets and tasks a moment to go (bounded), then sample."""
        limits = self.settings.limits
        # Past the timeout, the end sample records what is left and the judgement fails on it.
        with contextlib.suppress(ChurnError):
            await self.wait_for(
                "server back to its idle baseline",
                lambda m: (
                    m["fds"] <= idle["fds"] + limits.idle_fds_slack
                    and m["threads"] <= idle["threads"] + limits.idle_threads_slack
                    and m["calls_asyncio_tasks"] <= idle["tasks"] + limits.idle_tasks_slack
                ),
                self.settings.settle_timeout_s,
            )
        await self.sample(checkpoint="end")

    async def run(self) -> None:
        use_host_addresses(("127.0.0.1",))  # aioice never offers loopback on its own
        idle = await self.sample(checkpoint="idle")
        sampler = asyncio.ensure_future(self._sample_periodically())
        try:
            await self.churn()
            await self.empty_the_call()
            await self.settle_to_idle(idle)
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            for participant in self.present:
                self.errors += participant.errors
            await asyncio.gather(*(p.close() for p in self.present), return_exceptions=True)

    def window(self) -> dict[str, float]:
        """When churn ran, in the samples' clock; warm-up is its first ``warmup_fraction``."""
        start = (self.churn_started or self.started) - self.started
        end = (self.churn_ended or time.monotonic()) - self.started
        return {
            "churn_start": start,
            "warmup_end": start + self.settings.warmup_fraction * (end - start),
            "churn_end": end,
        }


def run_soak(settings: SoakSettings, results_dir: Path | None = RESULTS_DIR) -> dict[str, Any]:
    """Run one soak; returns the judged report (``report["passed"]``), written to ``results_dir`` if given."""
    measured_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="calls-soak-") as work:
        server = SoakServer(Path(work))
        session_id, tokens = server.prepare(settings.size + settings.max_cycles)
        server.start()
        soak = Soak(settings, server, session_id, tokens)
        failure = ""
        try:
            asyncio.run(soak.run())
        except Exception as exc:
            logger.exception("soak failed")
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            exit_code = server.stop()
        report = judge(
            settings=asdict(settings),
            samples=soak.samples,
            window=soak.window(),
            joined=soak.joined,
            departures=[asdict(d) for d in soak.departures],
            errors=soak.errors,
            failure=failure,
            database=server.database,
            session_id=session_id,
            limits=settings.limits,
            server_exit_code=exit_code,
            server_log_tail=server.log_tail() if failure else "",
        )
    report = {"measured_at": measured_at, "machine": machine(), **report}
    if results_dir is not None:
        write_results(report, results_dir)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=10.0, help="length of the churn (default 10)")
    length.add_argument("--seconds", type=float, help="length of the churn, for short runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    report = run_soak(SoakSettings(seconds=seconds))
    print((RESULTS_DIR / "soak.md").read_text())
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
