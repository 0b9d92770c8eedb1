"""
The one way the rest of the app uses media: ``MediaService``.

Two implementations: the SFU inside this process (``registry.SFU``) and the
client of SFU worker processes (``cluster.remote.RemoteSFU``). Commands in are
plain values (session ID, participant ID, SDP text); what the media service
says to a participant comes back as events (``events.py``) through the
``SendSignal`` given at join. The errors it raises are in ``errors.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .events import SendSignal
from .recording import RecordedTrack

# How big a participant shows one video it receives: (publisher ID, source, width, height) in device
# pixels; 0 x 0 means hidden.
VideoView = tuple[str, str, int, int]


class MediaService(Protocol):
    """The commands the app gives the media server of a session, and what it reports."""

    @property
    def process_id(self) -> str:
        """
        The signaling process this service runs in, as recorded on the participants it serves, so a
        live process can close them if this one dies; "" when this process is the whole server.
        """
        ...

    async def reserve(self, session_id: str) -> None:
        """
        Make sure ``session_id`` has a media server before anyone is admitted to it; raise
        MediaUnavailable if none can host it now. Calling it again for a hosted session is cheap.
        """
        ...

    async def join(
        self,
        session_id: str,
        participant_id: str,
        send_signal: SendSignal,
        sources: tuple[str, ...] = ("audio", "video"),
    ) -> None:
        """
        Add a participant publishing ``sources`` (audio, video): it receives everyone else, and
        everyone else receives it. Its offers and other events go to ``send_signal`` until it leaves.
        """
        ...

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        """
        Apply a participant's answer to its latest offer. Raises UnknownParticipant for a participant
        not in the session, NegotiationError for an answer that does not fit (a remote service
        reports both later, as a NegotiationFailed event, instead).
        """
        ...

    async def set_screen_share(self, session_id: str, participant_id: str, enabled: bool) -> None:
        """Start or stop receiving a participant's screen and forwarding it (UnknownParticipant if unknown)."""
        ...

    async def set_views(self, session_id: str, participant_id: str, views: Sequence[VideoView]) -> None:
        """How big a participant shows each video it receives; a no-op for an unknown participant."""
        ...

    async def repeat_offer(self, session_id: str, participant_id: str) -> None:
        """Send the offer still waiting for its answer again (its socket was replaced); a no-op otherwise."""
        ...

    async def set_forwarding(self, session_id: str, participant_id: str, source: str, enabled: bool) -> None:
        """Forward (or hold back) what a participant publishes of ``source``; a no-op if unknown."""
        ...

    async def leave(self, session_id: str, participant_id: str) -> None:
        """Remove a participant and release its media; a no-op if it is already gone."""
        ...

    async def start_recording(self, session_id: str, directory: str) -> None:
        """
        Record the session, without decoding: from now until ``stop_recording``, each source every
        participant publishes goes into WebM files of its own (VP8 or Opus as sent) in ``directory``,
        on the machine hosting the session's media. Raises UnknownSession if nobody is in the session,
        AlreadyRecording if it is being recorded, RecordingError if ``directory`` cannot be written.
        A recording ends by itself when its room closes (everyone left): its files are finished then.
        """
        ...

    async def stop_recording(self, session_id: str) -> list[RecordedTrack]:
        """
        Stop recording the session; once its files are finished, return them: one per source and
        stretch of publishing (a rejoin or a new screen share starts a new file), including those of
        a recording that ended with its room. Raises NotRecording if there is nothing to report.
        """
        ...

    def participant_stats(self, session_id: str, participant_id: str) -> dict[str, Any] | None:
        """Server-side state of one participant's media, for operators; None if not known here."""
        ...

    def stats(self) -> dict[str, Any]:
        """``{"rooms": ..., "participants": ...}``: what this service holds."""
        ...

    async def close_all(self) -> None:
        """End every call this service holds and stop its background work (shutdown, tests)."""
        ...
