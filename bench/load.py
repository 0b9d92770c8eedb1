"""
The load process: N participants that publish replayed VP8 and record what they receive.

Every participant is a ``tests.media_client.MediaClient`` with a
``ReplayVideoTrack`` (no encoding cost) and ``record_encoded=True`` (no
decoding cost), so this process stays light and the server is the thing
under load. It also takes the measurement window: it knows when media flows,
and it reads the server's CPU time through psutil at the window's edges.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil
from aiortc import RTCPeerConnection

from sessions_app.sfu.ice import use_host_addresses
from tests.media_client import MediaClient
from tests.synthetic import ReplayAudioTrack, ReplayVideoTrack

from .channel import LOOPBACK, MAX_LINE_BYTES, read_message, write_message
from .profile import Profiler

LOAD_RECEIVE_BUFFER_BYTES = 4 << 20  # the kernel caps it at net.core.rmem_max


@dataclass(frozen=True)
class LoadSettings:
    """How long to wait for media, to let it settle, and to measure."""

    flow_timeout_s: float = 25.0
    warmup_s: float = 3.0
    window_s: float = 10.0
    profile_path: str | None = None  # py-spy the server during the window, into this file


@dataclass(frozen=True)
class Topology:
    """
    Who is in the meeting: ``publishers`` each publish one video stream and receive every other
    publisher's; ``listeners`` publish nothing and receive every publisher. An n-by-n meeting is
    ``Topology(n)``, one publisher to k subscribers ``Topology(1, k)``.
    """

    publishers: int
    listeners: int = 0

    @property
    def size(self) -> int:
        return self.publishers + self.listeners

    @property
    def streams(self) -> int:
        return self.publishers * (self.size - 1)

    @property
    def label(self) -> str:
        return f"{self.publishers}x{self.publishers}" if not self.listeners else f"{self.publishers}->{self.listeners}"


@dataclass(frozen=True)
class Snapshot:
    at: float
    server_cpu_s: float
    server_system_s: float
    load_cpu_s: float
    machine_busy_s: float
    sent: dict[str, int]
    received: dict[str, int]  # "subscriber<-publisher": frames completed by the subscriber
    packets_received: int  # RTP packets every subscriber received (retransmissions included)
    packets_lost: int  # packets the subscribers' receivers count as never arrived


def machine_busy_seconds() -> float:
    """
    CPU time all cores spent on anything but idling, to tell how much else ran beside the benchmark.

    Steal (time the hypervisor gave other guests) counts as busy: it slows us the same way.
    Linux already includes guest time in user and nice, so it is not added twice.
    """
    times = psutil.cpu_times()
    not_busy = ("idle", "iowait", "guest", "guest_nice")
    return sum(getattr(times, field) for field in times._fields if field not in not_busy)


def enlarge_receive_buffers(pc: RTCPeerConnection) -> int:
    """
    Give ``pc``'s UDP sockets big receive buffers; returns how many sockets it changed.

    One load process receives N*(N-1) streams on one event loop. When other
    processes on the machine starve it for a moment, the default ~200 kB
    buffers overflow and the loss (NACKs, retransmissions, keyframe waits)
    would be charged to the server. The load generator must not be the weak
    link; the server keeps its defaults, as in production. Reaches through
    aiortc's ICE transport into aioice's private protocols: load side only.
    """
    changed = 0
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        connection = getattr(dtls.transport, "_connection", None) if dtls is not None else None
        for protocol in getattr(connection, "_protocols", []):
            sock = protocol.transport.get_extra_info("socket")
            if sock is not None and sock.fileno() not in seen:
                seen.add(sock.fileno())
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LOAD_RECEIVE_BUFFER_BYTES)
                changed += 1
    return changed


def cpu_seconds(process: psutil.Process) -> float:
    """User plus system time of every thread of ``process`` (children are not involved)."""
    times = process.cpu_times()
    return times.user + times.system


def packet_counts(pc: RTCPeerConnection) -> tuple[int, int]:
    """RTP packets ``pc``'s receivers got and counted as lost, read from aiortc's receiver statistics (load side)."""
    received = lost = 0
    for transceiver in pc.getTransceivers():
        streams = getattr(transceiver.receiver, "_RTCRtpReceiver__remote_streams", {})
        for stream in streams.values():
            received += stream.packets_received
            lost += stream.packets_lost if stream.max_seq is not None else 0
    return received, lost


class Meeting:
    """
    Participants over one signaling connection: publishers send video (and, given ``audio``
    packets, Opus too) and receive every other publisher; listeners only receive. Replies to
    requests (``request``) come back on the same connection.
    """

    def __init__(
        self, topology: Topology, frames: list[bytes], track_factory: Any = None, audio: list[bytes] | None = None
    ) -> None:
        make_track = track_factory or ReplayVideoTrack
        self.topology = topology
        self.tracks = {f"p{i}": make_track(frames) for i in range(topology.publishers)}
        self.audio_tracks = {pid: ReplayAudioTrack(audio) for pid in self.tracks} if audio else {}
        self.clients = {
            pid: MediaClient(pid, {"video": track, **self._audio_of(pid)}, record_encoded=True)
            for pid, track in self.tracks.items()
        }
        for i in range(topology.listeners):
            self.clients[f"l{i}"] = MediaClient(f"l{i}", {}, record_encoded=True)
        self.pairs = [(sub, pub) for sub in self.clients for pub in self.tracks if sub != pub]
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def _audio_of(self, pid: str) -> dict[str, ReplayAudioTrack]:
        return {"audio": self.audio_tracks[pid]} if pid in self.audio_tracks else {}

    async def join(self, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port, limit=MAX_LINE_BYTES)
        self._writer = writer
        self._spawn(self._dispatch(reader))
        for pid in self.clients:
            kinds = [*self._audio_of(pid), "video"] if pid in self.tracks else []
            await write_message(writer, {"op": "join", "pid": pid, "kinds": kinds})

    async def request(self, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send the server ``message`` and wait for its reply."""
        assert self._writer is not None
        await write_message(self._writer, message)
        return await asyncio.wait_for(self._replies.get(), timeout)

    async def _dispatch(self, reader: asyncio.StreamReader) -> None:
        """Answer each offer in its own task, after returning, as a browser does."""
        while (envelope := await read_message(reader)) is not None:
            if "reply" in envelope:
                self._replies.put_nowait(envelope)
                continue
            pid = envelope["pid"]
            self._spawn(self.clients[pid].handle_offer(envelope["message"], self._answerer(pid)))

    def _answerer(self, pid: str) -> Any:
        async def send_answer(sdp: str) -> None:
            assert self._writer is not None
            await write_message(self._writer, {"op": "answer", "pid": pid, "sdp": sdp})

        return send_answer

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def received(self, subscriber: str, publisher: str) -> int:
        try:
            return len(self.clients[subscriber].recorder_for(publisher, "video").frames)
        except KeyError:
            return 0

    def flowing(self) -> int:
        return sum(1 for sub, pub in self.pairs if self.received(sub, pub) > 0)

    async def wait_flowing(self, timeout: float) -> int:
        """Wait until every subscriber has frames from every publisher (or time runs out)."""
        deadline = time.monotonic() + timeout
        while self.flowing() < len(self.pairs) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return self.flowing()

    def snapshot(self, server: psutil.Process, load: psutil.Process) -> Snapshot:
        counts = [packet_counts(client.pc) for client in self.clients.values()]
        return Snapshot(
            at=time.monotonic(),
            server_cpu_s=cpu_seconds(server),
            server_system_s=server.cpu_times().system,
            load_cpu_s=cpu_seconds(load),
            machine_busy_s=machine_busy_seconds(),
            sent={pid: len(track.sent) for pid, track in self.tracks.items()},
            received={f"{sub}<-{pub}": self.received(sub, pub) for sub, pub in self.pairs},
            packets_received=sum(received for received, _ in counts),
            packets_lost=sum(lost for _, lost in counts),
        )

    async def close(self) -> None:
        if self._writer is not None:
            await write_message(self._writer, {"op": "shutdown"})
            self._writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*(client.close() for client in self.clients.values()), return_exceptions=True)


async def measure(
    port: int, topology: Topology, frames: list[bytes], server_pid: int, settings: LoadSettings
) -> dict[str, Any]:
    """Join the meeting's participants, wait for media, warm up, then take one measurement window."""
    use_host_addresses((LOOPBACK,))  # aioice never offers loopback on its own
    server, load = psutil.Process(server_pid), psutil.Process()
    meeting = Meeting(topology, frames)
    started = time.monotonic()
    try:
        await meeting.join(port)
        flowing = await meeting.wait_flowing(settings.flow_timeout_s)
        enlarged = sum(enlarge_receive_buffers(client.pc) for client in meeting.clients.values())
        flow_wait = time.monotonic() - started
        await asyncio.sleep(settings.warmup_s)
        profiler = (
            Profiler(server_pid, settings.window_s, Path(settings.profile_path)) if settings.profile_path else None
        )
        before = meeting.snapshot(server, load)
        await asyncio.sleep(settings.window_s)
        after = meeting.snapshot(server, load)
        profile = await asyncio.to_thread(profiler.finish) if profiler is not None else None
    finally:
        await meeting.close()
    return {
        "size": topology.size,
        "publishers": topology.publishers,
        "listeners": topology.listeners,
        "streams": len(meeting.pairs),
        "flowing_streams": flowing,
        "flow_wait_s": round(flow_wait, 2),
        "load_sockets_enlarged": enlarged,
        "before": asdict(before),
        "after": asdict(after),
        "profile": profile,
    }


def main(
    port: int, topology: Topology, frames: list[bytes], server_pid: int, settings: LoadSettings, out: Connection
) -> None:
    """Process entry point: sends the raw window (two snapshots) through ``out``."""
    logging.basicConfig(level=logging.WARNING)
    try:
        out.send(asyncio.run(measure(port, topology, frames, server_pid, settings)))
    except Exception:
        out.send({"error": traceback.format_exc()})
    finally:
        out.close()
