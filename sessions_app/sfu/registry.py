"""The SFU of this process: its rooms, and the calls the signaling layer makes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from .bandwidth import View
from .compat import check_aiortc_internals, install_simulcast_support
from .config import MediaConfig
from .errors import NotRecording, UnknownParticipant, UnknownSession
from .events import SendSignal
from .ice import use_host_addresses
from .interface import VideoView
from .recording import RecordedTrack
from .room import Room

logger = logging.getLogger(__name__)

# Sessions whose recording ended with their room (everyone left) and that nobody asked about yet:
# the oldest beyond this many are forgotten (their files stay on disk).
MAX_UNCLAIMED_RECORDINGS = 1000


class SFU:
    """
    Owns every room of this process: the ``MediaService`` of media hosted in this process.

    Calls in are plain values (session ID, participant ID, SDP text); what
    the SFU says to a participant goes out as events through the ``send_signal``
    callback given at join. That message boundary is what lets the SFU move
    to a worker process behind the channel layer.

    A recording belongs to its room: when the room closes (the last participant left, the
    session ended) its files are finished, and ``stop_recording`` reports them later.
    """

    # Embedded, this process is the whole server: nobody else would close its participants.
    process_id = ""

    def __init__(self, config: MediaConfig) -> None:
        check_aiortc_internals()
        install_simulcast_support()
        use_host_addresses(config.media_ips)
        self.config = config
        self.rooms: dict[str, Room] = {}
        # Session ID -> recordings finishing, or finished, since their room closed.
        self._ended_recordings: dict[str, list[asyncio.Task[list[RecordedTrack]]]] = {}

    async def reserve(self, session_id: str) -> None:
        """
        Every session has media here: this process hosts whatever joins it, so it never raises
        MediaUnavailable (a remote service places the session on a worker instead).
        """

    async def join(
        self,
        session_id: str,
        participant_id: str,
        send_signal: SendSignal,
        sources: tuple[str, ...] = ("audio", "video"),
    ) -> None:
        room = self.rooms.get(session_id)
        if room is None:
            room = self.rooms[session_id] = Room(session_id, self.config)
        await room.join(participant_id, sources, send_signal)

    async def set_screen_share(self, session_id: str, participant_id: str, enabled: bool) -> None:
        """Start or stop receiving a participant's screen, and forwarding it to everyone else."""
        room = self.rooms.get(session_id)
        if room is None:
            raise UnknownParticipant(participant_id)
        if enabled:
            await room.start_publishing(participant_id, "screen")
        else:
            await room.stop_publishing(participant_id, "screen")

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        room = self.rooms.get(session_id)
        if room is None:
            raise UnknownParticipant(participant_id)
        await room.handle_answer(participant_id, sdp)

    async def set_views(self, session_id: str, participant_id: str, views: Sequence[VideoView]) -> None:
        """How big a participant shows each video it receives: (publisher, source, width, height)s."""
        room = self.rooms.get(session_id)
        peer = room.peers.get(participant_id) if room else None
        if peer is not None:
            peer.set_views({(publisher, source): View(width, height) for publisher, source, width, height in views})

    async def repeat_offer(self, session_id: str, participant_id: str) -> None:
        """Send a participant the offer still waiting for its answer again (its socket was replaced)."""
        room = self.rooms.get(session_id)
        peer = room.peers.get(participant_id) if room else None
        if peer is not None:
            await peer.repeat_offer()

    async def leave(self, session_id: str, participant_id: str) -> None:
        """Remove a participant and release its peer connection; a no-op if already gone."""
        room = self.rooms.get(session_id)
        if room is None:
            return
        await room.leave(participant_id)
        if not room.peers and self.rooms.get(session_id) is room:
            del self.rooms[session_id]
            self._end_recording(room)

    async def set_forwarding(self, session_id: str, participant_id: str, source: str, enabled: bool) -> None:
        """Forward (or hold back) what a participant publishes of ``source``; a no-op if unknown."""
        room = self.rooms.get(session_id)
        peer = room.peers.get(participant_id) if room else None
        published = peer.published.get(source) if peer else None
        if published is not None:
            published.set_forwarding(enabled)

    def participant_stats(self, session_id: str, participant_id: str) -> dict[str, Any] | None:
        """Server-side state of one participant's media, for operators (None if not hosted here)."""
        room = self.rooms.get(session_id)
        peer = room.peers.get(participant_id) if room else None
        if peer is None:
            return None
        return {
            "connectionState": peer.connection_state,
            "framesReceived": {kind: track.frames_received for kind, track in peer.published.items()},
            "forwarding": {kind: track.forwarding for kind, track in peer.published.items()},
            # What each published video arrives as: its simulcast layers, lowest first.
            "layers": {
                source: [
                    {"width": layer.width, "height": layer.height, "bitrate": round(layer.rate_up_to(2))}
                    for layer in track.active_layers()
                ]
                for source, track in peer.published.items()
                if track.kind == "video"
            },
            # What this participant receives of each publisher's video, and its link as the SFU sees it.
            "receiving": [
                {
                    "participantId": s.publisher_id,
                    "source": s.source,
                    "layer": s.track.current_layer,
                    "targetLayer": s.track.target_layer,
                    "temporalLayer": s.track.current_tid,
                    "layerSwitches": s.track.layer_switches,
                }
                for s in peer.subscriptions
                if s.publisher_id is not None and s.track.kind == "video"
            ],
            "downlinkEstimate": round(peer.bandwidth.estimate(time.monotonic())),
            "probes": {"sent": peer.bandwidth.probes, "won": peer.bandwidth.probes_won},
        }

    async def start_recording(self, session_id: str, directory: str) -> None:
        """
        Record the session's media into ``directory`` until ``stop_recording``: UnknownSession if
        nobody is in it here, AlreadyRecording if it records already, RecordingError if the
        directory cannot be written.
        """
        room = self.rooms.get(session_id)
        if room is None:
            raise UnknownSession(session_id)
        await room.start_recording(directory)

    async def stop_recording(self, session_id: str) -> list[RecordedTrack]:
        """
        Stop recording the session and return its files once they are finished, with those of a
        recording that ended with its room since. NotRecording if there is neither.
        """
        ended = self._ended_recordings.pop(session_id, [])
        room = self.rooms.get(session_id)
        if not ended and (room is None or room.recording is None):
            raise NotRecording(session_id)
        recorded = [track for finished in await asyncio.gather(*ended) for track in finished]
        if room is not None and room.recording is not None:
            recorded += await room.stop_recording()
        return recorded

    def _end_recording(self, room: Room) -> None:
        """A room is closing: finish its recording's files, to be reported by ``stop_recording``."""
        if room.recording is None:
            return
        ended = self._ended_recordings.setdefault(room.session_id, [])
        ended.append(asyncio.ensure_future(_finish_recording(room)))
        while len(self._ended_recordings) > MAX_UNCLAIMED_RECORDINGS:
            forgotten = next(iter(self._ended_recordings))
            logger.warning("forgetting the unclaimed recording of session %s", forgotten)
            del self._ended_recordings[forgotten]

    async def end_session(self, session_id: str) -> None:
        room = self.rooms.pop(session_id, None)
        if room is not None:
            self._end_recording(room)
            await room.close()

    async def close_all(self) -> None:
        """End every room; their recordings' files are finished before this returns."""
        rooms = list(self.rooms.values())
        self.rooms.clear()
        for room in rooms:
            self._end_recording(room)
        await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        ending = [task for tasks in self._ended_recordings.values() for task in tasks]
        await asyncio.gather(*ending, return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        return {
            "rooms": len(self.rooms),
            "participants": sum(len(room) for room in self.rooms.values()),
        }


async def _finish_recording(room: Room) -> list[RecordedTrack]:
    """What a closing room's recording holds ([] if it was stopped meanwhile)."""
    try:
        return await room.stop_recording()
    except NotRecording:
        return []
