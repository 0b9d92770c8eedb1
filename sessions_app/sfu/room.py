"""A room: the participants of one session and who forwards to whom."""

from __future__ import annotations

import asyncio
import logging

from .config import MediaConfig
from .errors import AlreadyRecording, NotRecording, ParticipantExists, UnknownParticipant
from .events import DominantSpeaker, SendSignal
from .peer import ParticipantPeer
from .recording import RecordedTrack, Recording
from .speakers import SPEAKER_CHECK_INTERVAL_S, SpeakerTracker

logger = logging.getLogger(__name__)


class Room:
    """
    Everyone in one session. Every participant receives every other one's tracks.

    Structural changes (join, leave) are serialised by a lock so each peer
    sees a consistent set of subscriptions; offers then go out to every peer
    whose subscriptions changed. While the room records (``recording``), the same
    changes start and finish the files of the tracks they start and stop.
    """

    def __init__(self, session_id: str, config: MediaConfig) -> None:
        self.session_id = session_id
        self.config = config
        self.peers: dict[str, ParticipantPeer] = {}
        self._lock = asyncio.Lock()
        self.speakers = SpeakerTracker()
        self._speaker_task: asyncio.Task[None] | None = None
        self.recording: Recording | None = None

    def __len__(self) -> int:
        return len(self.peers)

    async def join(self, participant_id: str, sources: tuple[str, ...], send_signal: SendSignal) -> ParticipantPeer:
        async with self._lock:
            if participant_id in self.peers:
                raise ParticipantExists(participant_id)
            peer = ParticipantPeer(participant_id, sources, self.config, send_signal)
            for other in self.peers.values():
                for source, published in other.published.items():
                    if other.is_publishing(source):  # not a screen share that has stopped
                        peer.subscribe(published)
                for published in peer.published.values():
                    other.subscribe(published)
            self.peers[participant_id] = peer
            if self.recording is not None:
                for published in peer.published.values():
                    self.recording.add(published)
            others = [p for p in self.peers.values() if p is not peer]
            if self._speaker_task is None:
                self._speaker_task = asyncio.ensure_future(self._watch_speakers())
        await self._negotiate([peer, *others])
        if self.speakers.current in self.peers:
            # Changes are announced as they happen: a late joiner hears who speaks now.
            await peer.signal(DominantSpeaker(self.speakers.current))
        return peer

    async def start_publishing(self, participant_id: str, source: str) -> None:
        """The participant adds a source (a screen share): everyone else receives it."""
        async with self._lock:
            peer = self._peer(participant_id)
            if peer.is_publishing(source):
                return
            published = peer.start_publishing(source)
            if self.recording is not None:
                self.recording.add(published)
            others = [p for p in self.peers.values() if p is not peer]
            for other in others:
                other.subscribe(published)
        await self._negotiate([peer, *others])

    async def stop_publishing(self, participant_id: str, source: str) -> None:
        async with self._lock:
            peer = self._peer(participant_id)
            published = peer.stop_publishing(source)
            if published is None:
                return
            if self.recording is not None:
                self.recording.remove(published)
            others = [p for p in self.peers.values() if p is not peer]
            for other in others:
                other.unsubscribe(participant_id, source)
        await self._negotiate([peer, *others])

    def _peer(self, participant_id: str) -> ParticipantPeer:
        peer = self.peers.get(participant_id)
        if peer is None:
            raise UnknownParticipant(participant_id)
        return peer

    async def leave(self, participant_id: str) -> None:
        async with self._lock:
            peer = self.peers.pop(participant_id, None)
            if peer is None:
                return
            if self.recording is not None:
                self.recording.remove_participant(participant_id)
            others = list(self.peers.values())
            for other in others:
                other.unsubscribe(participant_id)
            if not self.peers:
                self._stop_watching_speakers()
        await peer.close()
        await self._negotiate(others)

    async def handle_answer(self, participant_id: str, sdp: str) -> None:
        peer = self.peers.get(participant_id)
        if peer is None:
            raise UnknownParticipant(participant_id)
        await peer.handle_answer(sdp)

    async def start_recording(self, directory: str) -> None:
        """
        Record every track published in the room, from now until ``stop_recording``, into files in
        ``directory`` (AlreadyRecording if it records already, RecordingError if it cannot write there).
        """
        async with self._lock:
            if self.recording is not None:
                raise AlreadyRecording(self.session_id)
            recording = Recording(self.session_id, directory)
            recording.start()
            for peer in self.peers.values():
                for source, published in peer.published.items():
                    if peer.is_publishing(source):
                        recording.add(published)
            self.recording = recording
        logger.info("session %s: recording into %s", self.session_id, directory)

    async def stop_recording(self) -> list[RecordedTrack]:
        """Stop recording (NotRecording if it was not); once every file is finished, what they hold."""
        async with self._lock:
            recording, self.recording = self.recording, None
        if recording is None:
            raise NotRecording(self.session_id)
        recorded = await recording.stop()
        logger.info(
            "session %s: recording stopped, %d file(s), %d frame(s) dropped",
            self.session_id,
            len(recorded),
            recording.frames_dropped,
        )
        return recorded

    async def close(self) -> None:
        async with self._lock:
            peers = list(self.peers.values())
            self.peers.clear()
            self._stop_watching_speakers()
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)

    async def _watch_speakers(self) -> None:
        """Tell everyone who the dominant speaker is whenever it changes."""
        while True:
            await asyncio.sleep(SPEAKER_CHECK_INTERVAL_S)
            levels = {
                pid: peer.published["audio"].loudness
                for pid, peer in self.peers.items()
                if "audio" in peer.published and peer.published["audio"].forwarding
            }
            speaker = self.speakers.update(levels)
            if speaker is not None:
                event = DominantSpeaker(speaker)
                peers = list(self.peers.values())
                await asyncio.gather(*(peer.signal(event) for peer in peers), return_exceptions=True)

    def _stop_watching_speakers(self) -> None:
        if self._speaker_task is not None:
            self._speaker_task.cancel()
            self._speaker_task = None

    async def _negotiate(self, peers: list[ParticipantPeer]) -> None:
        results = await asyncio.gather(*(peer.negotiate() for peer in peers), return_exceptions=True)
        for peer, result in zip(peers, results, strict=True):
            if isinstance(result, BaseException):
                logger.warning("offer to participant %s failed: %r", peer.participant_id, result)
