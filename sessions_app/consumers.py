"""
The signaling websocket: thin glue between the wire protocol, presence and the SFU.

Every participant's socket joins the channel-layer group of its session, so
presence (joined, left, media state) reaches every process; offers and
answers go between this socket and the SFU. A participant is not its socket:
``live.py`` keeps it through a dropped socket until it resumes or its grace ends.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from . import presence, protocol, session_settings
from .cluster.placement import NoMediaWorker
from .cluster.processes import Orphan
from .cluster.remote import RemoteSFU
from .links import is_valid_session_id
from .live import LiveParticipant, SignalRoute, get_live_participants
from .media import get_sfu
from .models import CallSession, Participant, SessionType
from .moderation import end_session_for_all, group_name, moderate
from .protocol import ProtocolError
from .sfu import SFU
from .sfu.peer import NegotiationError
from .sfu.room import UnknownParticipant
from .silence import Heard, silence_watch
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


async def leave_call(live: LiveParticipant, reason: str) -> None:
    """Take a participant out of its call for good: media, database, and everyone else's view."""
    try:
        await get_sfu().leave(live.session_id, live.participant_id)
    finally:
        await presence.mark_left(live.participant_id, reason)
        await announce_left(live.session_id, live.participant_id, reason)


async def announce_left(session_id: str, participant_id: str, reason: str) -> None:
    await get_channel_layer().group_send(
        group_name(session_id),
        {
            "type": "call.participant_left",
            "message": protocol.participant_left_message(participant_id, reason),
            "sender": "",
        },
    )


async def close_orphans(orphans: list[Orphan]) -> list[Orphan]:
    """
    Participants whose Daphne process died: close them for everyone; return those this process
    closed (each is closed by one process only), whose media the caller frees. Their browsers
    reconnect through another process and join again.
    """
    closed = []
    for orphan in orphans:
        if await presence.mark_left(orphan.participant_id, protocol.LEAVE_REASON_DISCONNECTED):
            await announce_left(orphan.session_id, orphan.participant_id, protocol.LEAVE_REASON_DISCONNECTED)
            closed.append(orphan)
    return closed


async def move_participants(session_id: str, participant_ids: list[str]) -> None:
    """
    The SFU worker hosting their media died: each leaves and joins again (the SDK does it on
    close code 4013), which places the session on a live worker. One away has nothing to rejoin with.
    """
    registry = get_live_participants()
    for participant_id in participant_ids:
        live = registry.discard(participant_id)
        if live is None:
            continue
        if live.channel_name:
            await get_channel_layer().send(live.channel_name, {"type": "call.media_moved"})
        else:
            await leave_call(live, protocol.LEAVE_REASON_MEDIA_MOVED)


class CallConsumer(AsyncWebsocketConsumer):
    session: CallSession | None = None
    # The participant this socket serves (after join or resume).
    live: LiveParticipant | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chat_times: deque[float] = deque()
        self._heard = Heard()

    @property
    def participant_id(self) -> str | None:
        return self.live.participant_id if self.live is not None else None

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
            silence_watch.watch(self)
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
        silence_watch.unwatch(self)
        await self._step_away()

    async def _step_away(self) -> None:
        """The socket is gone but maybe not the participant: it has RESUME_GRACE_S to come back."""
        live, self.live = self.live, None
        if live is None:
            return
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        if live.channel_name == self.channel_name:  # not already resumed on another socket
            get_live_participants().suspend(live, lambda: leave_call(live, protocol.LEAVE_REASON_DISCONNECTED))

    def silent_for(self, now: float) -> float:
        return self._heard.silent_for(now)

    async def close_silent(self) -> None:
        """A socket that stops talking (a browser gone without closing it) is closed as dead."""
        logger.info("closing a silent signaling socket in session %s", self.session_id)
        await self._step_away()
        await self.close(code=protocol.WS_4008_SILENT)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Time spent handling a message is not the client's silence (see silence.Heard).
        self._heard.busy()
        try:
            await super().dispatch(message)
        finally:
            self._heard.idle()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self._heard.heard()
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
        elif isinstance(message, protocol.Resume):
            await self._resume(message)
        elif self.participant_id is None:
            raise ProtocolError(protocol.ERR_CALL_NOT_A_PART, "Join the call first.")
        elif FORBIDDABLE.get(type(message)) in self.live.forbidden:  # type: ignore[union-attr]
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
        sfu = get_sfu()
        try:
            await sfu.reserve(self.session_id)
        except NoMediaWorker:
            raise ProtocolError(
                protocol.ERR_MEDIA_SERVER_UNAVAILABLE, "No media server is available for this call; try again shortly."
            ) from None
        locked = session.locked_settings
        effective = session_settings.effective_settings(
            {}, session_settings.session_defaults(session), locked, session_settings.clean_settings(message.settings)
        )
        forbidden = frozenset(session_settings.forbidden_messages(effective, locked))
        # A host's locked "start muted" holds whatever the client asks.
        audio_muted = message.audio_muted or ("startAudioMuted" in locked and effective["startAudioMuted"])
        video_paused = message.video_paused or ("startVideoPaused" in locked and effective["startVideoPaused"])
        participant, others = await presence.add_participant(
            session, identity, message.display_name or identity.name, audio_muted, video_paused, sfu.process_id
        )
        others = await self._without_ghosts(others)
        live = LiveParticipant(
            participant_id=participant.participant_id,
            session_id=self.session_id,
            display_name=participant.display_name,
            route=SignalRoute(self._send),
            forbidden=forbidden,
            audio_muted=participant.audio_muted,
            video_paused=participant.video_paused,
            channel_name=self.channel_name,
        )
        self.live = live
        get_live_participants().add(live)
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        await self._send(
            protocol.joined_message(
                participant.as_wire(),
                self.session_id,
                [other.as_wire() for other in others],
                settings.CALLS_ICE_SERVERS,
                effective,
                locked,
                live.resume_token,
                settings.CALLS_ICE_TRANSPORT_POLICY,
            )
        )
        await self._broadcast("call.participant_joined", protocol.participant_joined_message(participant.as_wire()))
        kinds = ("audio",) if self.session.session_type == SessionType.VOICE else ("audio", "video")
        await sfu.join(self.session_id, participant.participant_id, live.route, kinds)
        await self._enforce_media(sfu, live)  # ``live``: the socket may have closed meanwhile

    async def _without_ghosts(self, others: list[Participant]) -> list[Participant]:
        """With the in-memory channel layer this process is the whole server: whoever it does not serve is gone."""
        if not isinstance(self.channel_layer, InMemoryChannelLayer):
            return others
        live = get_live_participants()
        ghosts = [other.participant_id for other in others if other.participant_id not in live]
        if ghosts:
            await presence.close_ghosts(ghosts)
        return [other for other in others if other.participant_id in live]

    async def _resume(self, message: protocol.Resume) -> None:
        """A participant whose socket dropped carries on here, as if nothing had happened."""
        if self.live is not None:
            raise ProtocolError(protocol.ERR_CALL_USER_ALREADY_JOINED, "This connection is already in the call.")
        live = get_live_participants().claim(message.participant_id, self.session_id, message.resume_token)
        if live is None:
            raise ProtocolError(
                protocol.ERR_CALL_NOT_A_PART, "The call no longer has this participant: join again.", {"resume": False}
            )
        previous, live.channel_name = live.channel_name, self.channel_name
        self.live = live
        if previous:
            # The old socket never noticed it was dead: retire it without leaving the call.
            await self.channel_layer.send(previous, {"type": "call.replaced"})
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        me, others = await presence.present(live.participant_id)
        await self._send(protocol.resumed_message(me.as_wire(), [other.as_wire() for other in others]))
        if not await live.route.attach(self._send):
            # An offer sent just before the drop may have lost its answer: ask again.
            await get_sfu().repeat_offer(self.session_id, live.participant_id)

    async def _enforce_media(self, sfu: SFU | RemoteSFU, live: LiveParticipant) -> None:
        """The SFU forwards only what the participant has on: muted means silent for everyone."""
        await sfu.set_forwarding(self.session_id, live.participant_id, "audio", not live.audio_muted)
        await sfu.set_forwarding(self.session_id, live.participant_id, "video", not live.video_paused)

    async def _set_media(self, audio_muted: bool, video_paused: bool) -> None:
        assert self.live is not None
        self.live.audio_muted, self.live.video_paused = audio_muted, video_paused
        await self._enforce_media(get_sfu(), self.live)
        await presence.update_media(self.live.participant_id, audio_muted, video_paused)
        await self._broadcast("call.media", protocol.media_message(self.participant_id, audio_muted, video_paused))

    async def _chat(self, text: str) -> None:
        assert self.live is not None
        now = time.monotonic()
        while self._chat_times and now - self._chat_times[0] > CHAT_WINDOW_S:
            self._chat_times.popleft()
        if len(self._chat_times) >= CHAT_MESSAGES_PER_WINDOW:
            raise ProtocolError(protocol.ERR_TOO_MANY_REQUESTS, "Too many chat messages; slow down.")
        self._chat_times.append(now)
        message = protocol.chat_message(
            secrets.token_hex(8), self.live.participant_id, self.live.display_name, text, int(time.time() * 1000)
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
        """Leave for good (left, removed, ended): no grace to come back."""
        live, self.live = self.live, None
        if live is None:
            return
        get_live_participants().discard(live.participant_id)
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await leave_call(live, reason)

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
        live = self.live
        assert live is not None
        audio_muted = live.audio_muted or action == protocol.MODERATION_MUTE
        video_paused = live.video_paused or action == protocol.MODERATION_PAUSE_VIDEO
        await self._send(protocol.moderation_message(action, event["by"]))
        await self._set_media(audio_muted, video_paused)

    async def call_replaced(self, event: dict[str, Any]) -> None:
        """The participant resumed on another socket: this one closes without leaving the call."""
        self.live = None
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await self.close(code=protocol.WS_4012_REPLACED)

    async def call_media_moved(self, event: dict[str, Any]) -> None:
        """The SFU worker hosting this call died: leave, and have the SDK join again (on a live worker)."""
        live, self.live = self.live, None
        if live is None:
            return
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await leave_call(live, protocol.LEAVE_REASON_MEDIA_MOVED)
        await self.close(code=protocol.WS_4013_MEDIA_MOVED)

    async def call_ended(self, event: dict[str, Any]) -> None:
        """The call was ended for everyone (REST API or admin): say so and drop the connection."""
        await self._send(protocol.session_ended_message(event["reason"]))
        await self._leave(event["reason"])
        await self.close(code=protocol.WS_4010_SESSION_ENDED)
