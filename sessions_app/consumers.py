"""
The signaling websocket: thin glue between the wire protocol, presence and the SFU.

Every participant's socket joins the channel-layer group of its session, so
presence (joined, left, media state) reaches every process; offers and
answers go between this socket and the SFU.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import presence, protocol, session_settings
from .links import is_valid_session_id
from .media import get_sfu
from .models import CallSession, SessionType
from .moderation import end_session_for_all, group_name, moderate
from .protocol import ProtocolError
from .sfu import SFU
from .sfu.peer import NegotiationError
from .sfu.room import UnknownParticipant
from .tokens import CallTokenError

logger = logging.getLogger(__name__)

# Client messages a session's locked settings can forbid, by the name session_settings uses.
FORBIDDABLE = {
    protocol.Chat: "chat",
    protocol.Hand: "hand",
    protocol.ScreenShare: "screen_share",
    protocol.Moderate: "moderate",
}
CHAT_WINDOW_S = 10.0
CHAT_MESSAGES_PER_WINDOW = 20


class CallConsumer(AsyncWebsocketConsumer):
    session: CallSession | None = None
    participant_id: str | None = None
    audio_muted = False
    video_paused = False
    display_name: str | None = None
    forbidden: frozenset[str] | set[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chat_times: deque[float] = deque()

    async def connect(self) -> None:
        self.session_id: str = self.scope["url_route"]["kwargs"]["session_id"]
        await self.accept()
        if not is_valid_session_id(self.session_id):
            await self._refuse(
                protocol.ERROR_CALL_SESSION_ID, "Session ID is empty or invalid.", protocol.WS_4011_INVALID_SESSION_ID
            )
            return
        try:
            self.session = await presence.load_session(self.session_id)
        except presence.SessionUnavailable as exc:
            if exc.ended:
                await self._refuse(protocol.ERR_CALL_TERMINATED, "This call has ended.", protocol.WS_4010_SESSION_ENDED)
            else:
                await self._refuse(
                    protocol.ERR_CALL_SESSION_NOT_FOUND,
                    "No call has this session ID.",
                    protocol.WS_4004_SESSION_NOT_FOUND,
                )

    async def disconnect(self, code: int) -> None:
        await self._leave(protocol.LEAVE_REASON_DISCONNECTED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None:
            return
        try:
            message = protocol.parse_client_message(text_data if bytes_data is None else None)
            await self._dispatch(message)
        except ProtocolError as exc:
            await self._send(protocol.error_message(exc.code, exc.message, exc.details))
        except Exception:
            logger.exception("signaling failure in session %s", self.session_id)
            await self._send(protocol.error_message(protocol.ERROR_JSON_EXCEPTION, "The message could not be handled."))

    async def _dispatch(self, message: protocol.ClientMessage) -> None:
        if isinstance(message, protocol.Ping):
            await self._send(protocol.pong_message())
        elif isinstance(message, protocol.Join):
            await self._join(message)
        elif self.participant_id is None:
            raise ProtocolError(protocol.ERR_CALL_NOT_A_PART, "Join the call first.")
        elif FORBIDDABLE.get(type(message)) in self.forbidden:
            raise ProtocolError(protocol.AUTH_ERR_NO_ACCESS, "The host does not allow this in this call.")
        elif isinstance(message, protocol.Answer):
            await self._answer(message)
        elif isinstance(message, protocol.MediaState):
            await self._set_media(message.audio_muted, message.video_paused)
        elif isinstance(message, protocol.Moderate):
            await moderate(self.session_id, message.target, message.action, by=self.participant_id)
        elif isinstance(message, protocol.Hand):
            raised_at = await presence.set_hand(self.participant_id, message.raised)
            await self._broadcast("call.everyone", protocol.hand_message(self.participant_id, raised_at))
        elif isinstance(message, protocol.Chat):
            await self._chat(message.text)
        elif isinstance(message, protocol.ScreenShare):
            await self._screen_share(message.enabled)
        elif isinstance(message, protocol.EndForAll):
            await end_session_for_all(self.session_id)
        elif isinstance(message, protocol.Leave):
            await self._leave(protocol.LEAVE_REASON_LEFT)
            await self.close(code=protocol.WS_1000_NORMAL_CLOSURE)

    async def _join(self, message: protocol.Join) -> None:
        if self.participant_id is not None:
            raise ProtocolError(protocol.ERR_CALL_USER_ALREADY_JOINED, "This connection has already joined.")
        assert self.session is not None
        try:
            identity = await presence.verify_call_token(message.token, self.session_id)
        except CallTokenError as exc:
            raise ProtocolError(protocol.ERROR_CALL_TOKEN, str(exc)) from None
        session = self.session
        if identity.is_guest and not session.allow_guests:
            # A guest token minted before the session was made members-only no longer admits anyone.
            raise ProtocolError(protocol.ERR_GUESTS_NOT_ALLOWED, "This call asks you to log in.")
        locked = session.locked_settings
        effective = session_settings.effective_settings(
            {}, session_settings.session_defaults(session), locked, session_settings.clean_settings(message.settings)
        )
        self.forbidden = session_settings.forbidden_messages(effective, locked)
        # A host's locked "start muted" holds whatever the client asks.
        audio_muted = message.audio_muted or ("startAudioMuted" in locked and effective["startAudioMuted"])
        video_paused = message.video_paused or ("startVideoPaused" in locked and effective["startVideoPaused"])
        participant, others = await presence.add_participant(
            session, identity, message.display_name or identity.name, audio_muted, video_paused
        )
        self.participant_id = participant.participant_id
        self.display_name = participant.display_name
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        await self._send(
            protocol.joined_message(
                participant.as_wire(),
                self.session_id,
                [other.as_wire() for other in others],
                settings.CALLS_ICE_SERVERS,
                effective,
                locked,
            )
        )
        await self._broadcast("call.participant_joined", protocol.participant_joined_message(participant.as_wire()))
        kinds = ("audio",) if self.session.session_type == SessionType.VOICE else ("audio", "video")
        self.audio_muted, self.video_paused = participant.audio_muted, participant.video_paused
        sfu = get_sfu()
        await sfu.join(self.session_id, participant.participant_id, self._send, kinds)
        self._enforce_media(sfu)

    def _enforce_media(self, sfu: SFU) -> None:
        """The SFU forwards only what the participant has on: muted means silent for everyone."""
        assert self.participant_id is not None
        sfu.set_forwarding(self.session_id, self.participant_id, "audio", not self.audio_muted)
        sfu.set_forwarding(self.session_id, self.participant_id, "video", not self.video_paused)

    async def _set_media(self, audio_muted: bool, video_paused: bool) -> None:
        assert self.participant_id is not None
        self.audio_muted, self.video_paused = audio_muted, video_paused
        self._enforce_media(get_sfu())
        await presence.update_media(self.participant_id, audio_muted, video_paused)
        await self._broadcast("call.media", protocol.media_message(self.participant_id, audio_muted, video_paused))

    async def _chat(self, text: str) -> None:
        assert self.participant_id is not None and self.display_name is not None
        now = time.monotonic()
        while self._chat_times and now - self._chat_times[0] > CHAT_WINDOW_S:
            self._chat_times.popleft()
        if len(self._chat_times) >= CHAT_MESSAGES_PER_WINDOW:
            raise ProtocolError(protocol.ERR_TOO_MANY_REQUESTS, "Too many chat messages; slow down.")
        self._chat_times.append(now)
        message = protocol.chat_message(
            secrets.token_hex(8), self.participant_id, self.display_name, text, int(time.time() * 1000)
        )
        await self._broadcast("call.everyone", message)

    async def _screen_share(self, enabled: bool) -> None:
        assert self.participant_id is not None
        try:
            await get_sfu().set_screen_share(self.session_id, self.participant_id, enabled)
        except UnknownParticipant:
            raise ProtocolError(protocol.ERR_CALL_NOT_A_PART, "Your media connection is gone.") from None
        await presence.set_presenting(self.participant_id, enabled)
        await self._broadcast("call.everyone", protocol.screen_share_message(self.participant_id, enabled))

    async def _answer(self, message: protocol.Answer) -> None:
        assert self.participant_id is not None
        try:
            await get_sfu().handle_answer(self.session_id, self.participant_id, message.sdp)
        except (NegotiationError, UnknownParticipant) as exc:
            raise ProtocolError(protocol.ERROR_MEDIA_NEGOTIATION, str(exc)) from None

    async def _leave(self, reason: str) -> None:
        participant_id, self.participant_id = self.participant_id, None
        if participant_id is None:
            return
        try:
            await get_sfu().leave(self.session_id, participant_id)
        finally:
            await presence.mark_left(participant_id, reason)
            await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
            await self._broadcast("call.participant_left", protocol.participant_left_message(participant_id, reason))

    async def _refuse(self, code: str, message: str, close_code: int) -> None:
        await self._send(protocol.error_message(code, message))
        await self.close(code=close_code)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))

    async def _broadcast(self, handler: str, message: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            group_name(self.session_id), {"type": handler, "message": message, "sender": self.channel_name}
        )

    # Channel-layer group handlers: relay presence to this socket, not back to its sender.

    async def _relay(self, event: dict[str, Any]) -> None:
        if event["sender"] != self.channel_name and self.participant_id is not None:
            await self._send(event["message"])

    call_participant_joined = _relay
    call_participant_left = _relay
    call_media = _relay

    async def call_everyone(self, event: dict[str, Any]) -> None:
        """Relay to every participant, the sender included (chat echo, hand order, screen share)."""
        if self.participant_id is not None:
            await self._send(event["message"])

    async def call_moderate(self, event: dict[str, Any]) -> None:
        """A moderator acts on this connection's participant: enforce it here, tell the client."""
        if event["target"] != self.participant_id or self.participant_id is None:
            return
        action = event["action"]
        if action == protocol.MODERATION_REMOVE:
            await self._send(protocol.removed_message(protocol.LEAVE_REASON_REMOVED))
            await self._leave(protocol.LEAVE_REASON_REMOVED)
            await self.close(code=protocol.WS_4003_REMOVED)
            return
        audio_muted = self.audio_muted or action == protocol.MODERATION_MUTE
        video_paused = self.video_paused or action == protocol.MODERATION_PAUSE_VIDEO
        await self._send(protocol.moderation_message(action, event["by"]))
        await self._set_media(audio_muted, video_paused)

    async def call_ended(self, event: dict[str, Any]) -> None:
        """The call was ended for everyone (REST API or admin): say so and drop the connection."""
        await self._send(protocol.session_ended_message(event["reason"]))
        await self._leave(event["reason"])
        await self.close(code=protocol.WS_4010_SESSION_ENDED)
