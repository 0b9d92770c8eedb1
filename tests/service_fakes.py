"""Stand-ins and helpers for the services' tests: a recording MediaService, join requests, the bus."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sessions_app.services import admission
from sessions_app.sfu import (
    AlreadyRecording,
    MediaService,
    MediaUnavailable,
    NotRecording,
    RecordedTrack,
    SendSignal,
    UnknownParticipant,
)
from sessions_app.sfu.interface import VideoView


class RecordingMedia:
    """A MediaService that records the commands it is given (``unavailable``: no media server)."""

    process_id = "test-process"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.unavailable = False
        self.gone: set[str] = set()  # participants whose media connection is gone
        self.failing = False  # the media server fails to start a participant's media
        self.recording: dict[str, str] = {}  # session ID -> the directory it records into
        self.recorded: list[RecordedTrack] = []  # what the next stop_recording reports

    async def reserve(self, session_id: str) -> None:
        if self.unavailable:
            raise MediaUnavailable(session_id)
        self.calls.append(("reserve", session_id))

    async def join(
        self,
        session_id: str,
        participant_id: str,
        send_signal: SendSignal,
        sources: tuple[str, ...] = ("audio", "video"),
    ) -> None:
        if self.failing:
            raise RuntimeError("the media server failed")
        self.calls.append(("join", participant_id, sources))

    async def leave(self, session_id: str, participant_id: str) -> None:
        self.calls.append(("leave", participant_id))

    async def set_forwarding(self, session_id: str, participant_id: str, source: str, enabled: bool) -> None:
        self.calls.append(("forward", participant_id, source, enabled))

    async def set_screen_share(self, session_id: str, participant_id: str, enabled: bool) -> None:
        if participant_id in self.gone:
            raise UnknownParticipant(participant_id)
        self.calls.append(("screen", participant_id, enabled))

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        self.calls.append(("answer", participant_id))

    async def set_views(self, session_id: str, participant_id: str, views: Sequence[VideoView]) -> None:
        self.calls.append(("views", participant_id, list(views)))

    async def repeat_offer(self, session_id: str, participant_id: str) -> None:
        self.calls.append(("repeat_offer", participant_id))

    async def start_recording(self, session_id: str, directory: str) -> None:
        if session_id in self.recording:
            raise AlreadyRecording(session_id)
        self.recording[session_id] = directory
        self.calls.append(("start_recording", session_id, directory))

    async def stop_recording(self, session_id: str) -> list[RecordedTrack]:
        if self.recording.pop(session_id, None) is None:
            raise NotRecording(session_id)
        self.calls.append(("stop_recording", session_id))
        recorded, self.recorded = self.recorded, []
        return recorded

    def participant_stats(self, session_id: str, participant_id: str) -> dict[str, Any] | None:
        return None

    def stats(self) -> dict[str, Any]:
        return {"rooms": 0, "participants": 0}

    async def close_all(self) -> None:
        pass


# Held to the interface: a fake that drifts from MediaService fails the type check, not a test run.
_: type[MediaService] = RecordingMedia


async def until_heard(heard: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            for event in heard:
                if event["type"] == kind:
                    return event
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(wait(), 5)


def request(token: str, **fields: Any) -> admission.JoinRequest:
    asked = {"display_name": "Ann", "audio_muted": False, "video_paused": False, "settings": {}}
    return admission.JoinRequest(token=token, **{**asked, **fields})


async def no_signal(event: Any) -> None:
    raise AssertionError("the fake media service sends nothing")
