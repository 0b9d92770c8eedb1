"""
services/broadcast.py and the consumer's handlers are two ends of one contract: every message the
bus carries has a handler in every signaling socket, reading exactly the fields published.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from sessions_app.services import broadcast
from sessions_app.signaling import consumer as consumer_module
from sessions_app.signaling.consumer import CallConsumer
from sessions_app.signaling.live import LiveParticipant, SignalRoute

STATE: broadcast.MediaState = {"audio_muted": True, "video_paused": False, "audio_held": True, "video_held": False}
PARTICIPANT = {"pid": "p-ann", "name": "Ann"}
CHAT: broadcast.ChatMessage = {
    "id": "c1", "participant_id": "p-ann", "name": "Ann", "is_guest": True, "text": "hi", "sent_at_ms": 1,
}  # fmt: skip
# Each publisher of the bus with arguments a caller would give it (the target is the listening socket).
PUBLISHED = {
    "participant_joined": ("s1", PARTICIPANT, "another socket"),
    "participant_left": ("s1", "p-ann", "left"),
    "media_changed": ("s1", "p-ann", STATE),
    "moderated": ("s1", "p-me", "mute", "p-ann", STATE),
    "evicted": ("s1", "p-me", "removed"),
    "ended": ("s1", "ended"),
    "hand_changed": ("s1", "p-ann", 1234),
    "screen_share_changed": ("s1", "p-ann", True),
    "chat": ("s1", CHAT),
    "recording_changed": ("s1", True, "p-ann"),
}


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert group == broadcast.group_name("s1")
        self.sent.append(message)

    async def group_discard(self, group: str, channel: str) -> None:
        pass


class ListeningSocket(CallConsumer):
    """A CallConsumer in the call as ``p-me``, whose wire messages and close are recorded."""

    def __init__(self, layer: RecordingLayer) -> None:
        super().__init__()
        self.channel_layer = layer
        self.channel_name = "this socket"
        self.session_id = "s1"
        self.live = LiveParticipant(participant_id="p-me", session_id="s1", display_name="Me", route=SignalRoute())
        self.wire: list[dict[str, Any]] = []
        self.closed_with: int | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        self.wire.append(message)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closed_with = code


def test_every_publisher_of_the_bus_is_exercised_here() -> None:
    publishers = {
        name
        for name, function in vars(broadcast).items()
        if inspect.iscoroutinefunction(function) and not name.startswith("_")
    }
    assert publishers == set(PUBLISHED)


@pytest.mark.parametrize("publisher", sorted(PUBLISHED))
async def test_every_message_on_the_bus_is_rendered_by_the_socket(
    publisher: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = RecordingLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)

    async def no_media(*args: Any) -> None:
        pass

    monkeypatch.setattr(consumer_module.media, "apply_media_state", no_media)
    monkeypatch.setattr(consumer_module.media, "get_sfu", lambda: type("M", (), {"leave": no_media})())
    monkeypatch.setattr(consumer_module.departures, "leave_call", no_media)
    await getattr(broadcast, publisher)(*PUBLISHED[publisher])
    [message] = layer.sent
    socket = ListeningSocket(layer)
    handler = getattr(socket, message["type"].replace(".", "_"))
    await handler(message)
    assert socket.wire, f"{message['type']} reached the socket and said nothing to its client"
    rendered = socket.wire[-1]
    assert rendered["type"] in {
        "participant_joined", "participant_left", "media", "moderation", "removed", "session_ended", "hand",
        "screen_share", "chat", "recording",
    }  # fmt: skip
    assert "participant_id" not in rendered and "audio_muted" not in rendered, "data, not wire, reached the client"
