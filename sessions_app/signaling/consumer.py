"""
The signaling websocket: thin glue between the wire protocol, presence and the SFU.

Every participant's socket joins the channel-layer group of its session, so
presence (joined, left, media state) reaches every process; offers and
answers go between this socket and the SFU. A participant is not its socket:
``live.py`` keeps it through a dropped socket until it resumes or its grace ends.
What a participant may do is checked here, before anything is handled: its budget
per message type (``limits.py``), its role (moderator-only messages), the session's
locks, and a moderator's holds on its media.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from .. import turn
from ..cluster.placement import NoMediaWorker
from ..links import is_valid_session_id
from ..models import CallSession, SessionType
from ..services import presence, session_settings
from ..services.departures import evict, group_name, leave_call
from ..services.media import get_sfu
from ..services.moderation import end_session_for_all, moderate
from ..sfu import MediaService, NegotiationError, UnknownParticipant
from ..tokens import CallTokenError
from . import protocol
from .limits import MessageBudget, too_many_connects
from .live import LiveParticipant, SignalRoute, get_live_participants
from .protocol import ProtocolError
from .silence import Heard, silence_watch

logger = logging.getLogger(__name__)

# Client messages a session's locked settings can forbid, by the name session_settings uses.
FORBIDDABLE = {
    protocol.Chat: "chat",
    protocol.Hand: "hand",
    protocol.ScreenShare: "screen_share",
    protocol.Moderate: "moderate",
    # Ending the call for everyone is moderation too: a call without moderation has no such button.
    protocol.EndForAll: "moderate",
}
MODERATOR_ONLY = (protocol.Moderate, protocol.EndForAll)


class CallConsumer(AsyncWebsocketConsumer):
    session: CallSession | None = None
    # The participant this socket serves (after join or resume).
    live: LiveParticipant | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._budget = MessageBudget()
        self._heard = Heard()

    @property
    def participant_id(self) -> str | None:
        return self.live.participant_id if self.live is not None else None

    async def connect(self) -> None:
        self.session_id: str = self.scope["url_route"]["kwargs"]["session_id"]
        await self.accept()
        if await too_many_connects(self.client_ip or "unknown"):
            await self._refuse(
                protocol.ERR_TOO_MANY_REQUESTS,
                "Too many connections from your address; try again in a minute.",
                protocol.WS_4029_TOO_MANY_REQUESTS,
            )
            return
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

    @property
    def client_ip(self) -> str | None:
        client = self.scope.get("client")
        return client[0] if client else None

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
            try:
                message = protocol.parse_client_message(text_data if bytes_data is None else None)
            except ProtocolError:
                self._spend(None)
                raise
            self._spend(type(message))
            await self._dispatch(message)
        except ProtocolError as exc:
            await self._send(protocol.error_message(exc.code, exc.message, exc.details))
        except SocketFlooding:
            logger.warning("closing a signaling socket that kept flooding, in session %s", self.session_id)
            await self._send(protocol.error_message(protocol.ERR_TOO_MANY_REQUESTS, "Too many messages."))
            await self._step_away()
            await self.close(code=protocol.WS_4029_TOO_MANY_REQUESTS)
        except Exception:
            logger.exception("signaling failure in session %s", self.session_id)
            await self._send(protocol.error_message(protocol.ERROR_JSON_EXCEPTION, "The message could not be handled."))

    def _spend(self, kind: type | None) -> None:
        """Charge a message to this socket's budget; refuse it (nothing else happens) when spent."""
        retry_after_s = self._budget.take(kind)
        if retry_after_s:
            if self._budget.flooding:
                raise SocketFlooding
            raise ProtocolError(
                protocol.ERR_TOO_MANY_REQUESTS,
                "Too many messages; slow down.",
                {"type": kind.__name__ if kind else "invalid", "retryAfterMs": int(retry_after_s * 1000) + 1},
            )

    async def _dispatch(self, message: protocol.ClientMessage) -> None:
        if isinstance(message, protocol.Ping):
            await self._send(protocol.pong_message())
            return
        if isinstance(message, protocol.Join):
            await self._join(message)
            return
        if isinstance(message, protocol.Resume):
            await self._resume(message)
            return
        live = self.live
        if live is None:
            raise ProtocolError(protocol.ERR_CALL_NOT_A_PART, "Join the call first.")
        if isinstance(message, MODERATOR_ONLY) and not live.is_moderator:
            raise ProtocolError(
                protocol.AUTH_ERR_NO_ACCESS, "Only a moderator can do this.", {"reason": protocol.REFUSAL_ROLE}
            )
        if FORBIDDABLE.get(type(message)) in live.forbidden:
            raise ProtocolError(
                protocol.AUTH_ERR_NO_ACCESS,
                "The host does not allow this in this call.",
                {"reason": protocol.REFUSAL_LOCKED},
            )
        if isinstance(message, protocol.Answer):
            await self._answer(message)
        elif isinstance(message, protocol.MediaState):
            await self._own_media(live, message)
        elif isinstance(message, protocol.Moderate):
            await moderate(self.session_id, message.target, message.action, by=live.participant_id)
        elif isinstance(message, protocol.Hand):
            raised_at = await presence.set_hand(live.participant_id, message.raised)
            await self._broadcast("call.everyone", protocol.hand_message(live.participant_id, raised_at))
        elif isinstance(message, protocol.Chat):
            await self._chat(message.text)
        elif isinstance(message, protocol.ScreenShare):
            await self._screen_share(message.enabled)
        elif isinstance(message, protocol.VideoViews):
            views = [(v.participant_id, v.source, v.width, v.height) for v in message.views]
            await get_sfu().set_views(self.session_id, live.participant_id, views)
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
        # Signed-in users are who their token says; guests and hosts chose their name, and apps may allow it.
        display_name = (message.display_name if identity.may_rename else "") or identity.name
        registry = get_live_participants()
        # With the in-memory channel layer this process is the whole server: whoever it does not serve is gone.
        is_live = registry.__contains__ if isinstance(self.channel_layer, InMemoryChannelLayer) else None
        try:
            admission = await presence.admit(
                session, identity, display_name, audio_muted, video_paused, sfu.process_id, self.client_ip, is_live
            )
        except presence.RemovedFromCall:
            raise ProtocolError(
                protocol.AUTH_ERR_NO_ACCESS,
                "A moderator removed you from this call.",
                {"reason": protocol.REFUSAL_REMOVED},
            ) from None
        except presence.CallFull as exc:
            raise ProtocolError(
                protocol.ERR_CALL_FULL,
                f"This call is full ({exc.max_participants} people).",
                {"maxParticipants": exc.max_participants},
            ) from None
        participant = admission.participant
        for replaced in admission.replaced:
            await evict(self.session_id, replaced, protocol.LEAVE_REASON_REPLACED, recorded=True)
            # Its socket frees its media too, if it still has one: a process that died (its browser is
            # the one joining again) leaves nobody else to.
            await sfu.leave(self.session_id, replaced)
        live = LiveParticipant(
            participant_id=participant.participant_id,
            session_id=self.session_id,
            display_name=participant.display_name,
            route=SignalRoute(self._send),
            forbidden=forbidden,
            is_moderator=identity.is_moderator,
            is_guest=identity.is_guest,
            audio_muted=participant.audio_muted,
            video_paused=participant.video_paused,
            audio_held=participant.audio_held,
            video_held=participant.video_held,
            channel_name=self.channel_name,
        )
        self.live = live
        registry.add(live)
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        await self._send(
            protocol.joined_message(
                participant.as_wire(),
                self.session_id,
                [other.as_wire() for other in admission.others],
                turn.ice_servers_for(participant.participant_id),
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

    async def _resume(self, message: protocol.Resume) -> None:
        """A participant whose socket dropped carries on here, as if nothing had happened."""
        if self.live is not None:
            raise ProtocolError(protocol.ERR_CALL_USER_ALREADY_JOINED, "This connection is already in the call.")
        registry = get_live_participants()
        live = registry.claim(message.participant_id, self.session_id, message.resume_token)
        gone = ProtocolError(
            protocol.ERR_CALL_NOT_A_PART, "The call no longer has this participant: join again.", {"resume": False}
        )
        if live is None:
            raise gone
        me, others = await presence.present(live.participant_id)
        if not me.is_present:
            # Removed, or replaced by a newer join, while its socket was away: free what is left of it.
            registry.discard(live.participant_id)
            await leave_call(live, me.leave_reason)
            raise gone
        previous, live.channel_name = live.channel_name, self.channel_name
        self.live = live
        if previous:
            # The old socket never noticed it was dead: retire it without leaving the call.
            await self.channel_layer.send(previous, {"type": "call.replaced"})
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        # A moderator may have acted meanwhile (from another process): the database knows.
        live.audio_muted, live.video_paused = me.audio_muted, me.video_paused
        live.audio_held, live.video_held = me.audio_held, me.video_held
        await self._enforce_media(get_sfu(), live)
        await self._send(protocol.resumed_message(me.as_wire(), [other.as_wire() for other in others]))
        if not await live.route.attach(self._send):
            # An offer sent just before the drop may have lost its answer: ask again.
            await get_sfu().repeat_offer(self.session_id, live.participant_id)

    async def _enforce_media(self, sfu: MediaService, live: LiveParticipant) -> None:
        """The SFU forwards only what the participant has on: muted means silent for everyone."""
        await sfu.set_forwarding(self.session_id, live.participant_id, "audio", not live.audio_muted)
        await sfu.set_forwarding(self.session_id, live.participant_id, "video", not live.video_paused)

    async def _own_media(self, live: LiveParticipant, message: protocol.MediaState) -> None:
        """
        The participant's own microphone and camera. What a moderator holds stays off: the rest of the
        change applies, and the refusal says what is held (the participant raises its hand to ask).
        """
        audio_muted = message.audio_muted or live.audio_held
        video_paused = message.video_paused or live.video_held
        if (audio_muted, video_paused) != (live.audio_muted, live.video_paused):
            live.audio_muted, live.video_paused = audio_muted, video_paused
            await self._enforce_media(get_sfu(), live)
            await presence.update_media(live.participant_id, audio_muted, video_paused)
            state = protocol.media_message(
                live.participant_id, audio_muted, video_paused, live.audio_held, live.video_held
            )
            await self._broadcast("call.media", state)
        held = (
            "audio" if audio_muted != message.audio_muted else "video" if video_paused != message.video_paused else ""
        )
        if held:
            raise ProtocolError(
                protocol.AUTH_ERR_NO_ACCESS,
                "A moderator turned this off: raise your hand to ask to turn it back on.",
                {"reason": protocol.REFUSAL_HELD, "kind": held},
            )

    async def _chat(self, text: str) -> None:
        assert self.live is not None
        live = self.live
        message = protocol.chat_message(
            secrets.token_hex(8), live.participant_id, live.display_name, live.is_guest, text, int(time.time() * 1000)
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
        """
        A moderator held (or allowed) this connection's participant's audio or video: the decision is
        recorded and announced already; the SFU forwards what it now allows, and the client is told.
        """
        live = self.live
        if live is None or event["target"] != live.participant_id:
            return
        live.audio_muted, live.video_paused = event["audio_muted"], event["video_paused"]
        live.audio_held, live.video_held = event["audio_held"], event["video_held"]
        await self._enforce_media(get_sfu(), live)
        await self._send(protocol.moderation_message(event["action"], event["by"]))

    async def call_evicted(self, event: dict[str, Any]) -> None:
        """
        This connection's participant was removed by a moderator, or replaced by a newer join with its
        token: its leave is recorded and announced already; free its media, tell the client, close.
        """
        live = self.live
        if live is None or event["target"] != live.participant_id:
            return
        self.live = None
        get_live_participants().discard(live.participant_id)
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await self._send(protocol.removed_message(event["reason"]))
        try:
            await get_sfu().leave(self.session_id, live.participant_id)
        finally:
            close_code = (
                protocol.WS_4014_REPLACED_BY_JOIN
                if event["reason"] == protocol.LEAVE_REASON_REPLACED
                else protocol.WS_4003_REMOVED
            )
            await self.close(code=close_code)

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


class SocketFlooding(Exception):
    """A socket that keeps sending past its budgets: it is closed, not answered."""
