"""
The signaling websocket: it parses, calls a service, and renders.

Each client message is parsed (``protocol.py``), checked against what this socket may do
(its budget per message type, ``limits.py``; its role; the session's locks), and handed
to one service (``services/``: admission, presence, moderation, departures, media); what
comes back, and what the bus says about the call (``services/broadcast.py``, to which
every socket of the session listens), is rendered into wire messages for this client.
A participant is not its socket: ``live.py`` keeps it through a dropped socket until it
resumes or its grace ends.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from .. import errors, turn
from ..errors import CallsError
from ..links import is_valid_session_id
from ..models import CallSession
from ..services import admission, broadcast, departures, media, moderation, permissions, presence, recording
from ..services.broadcast import ChatMessage, MediaState, group_name
from . import protocol
from .limits import MessageBudget, too_many_connects
from .live import LiveParticipant, SignalRoute, get_live_participants
from .silence import Heard, silence_watch

logger = logging.getLogger(__name__)

# Client messages that are actions a role or a session's locks may forbid (services/permissions.py).
ACTIONS: dict[type, str] = {
    protocol.Chat: "chat",
    protocol.Hand: "hand",
    protocol.ScreenShare: "screen_share",
    protocol.Moderate: "moderate",
    protocol.EndForAll: "end_for_all",
    protocol.RecordingControl: "recording",
}


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
                errors.ERR_TOO_MANY_REQUESTS,
                "Too many connections from your address; try again in a minute.",
                errors.WS_4029_TOO_MANY_REQUESTS,
            )
            return
        if not is_valid_session_id(self.session_id):
            await self._refuse(
                errors.ERROR_CALL_SESSION_ID, "Session ID is empty or invalid.", errors.WS_4011_INVALID_SESSION_ID
            )
            return
        try:
            self.session = await presence.load_session(self.session_id)
            silence_watch.watch(self)
        except presence.SessionUnavailable as exc:
            if exc.ended:
                await self._refuse(errors.ERR_CALL_TERMINATED, "This call has ended.", errors.WS_4010_SESSION_ENDED)
            else:
                await self._refuse(
                    errors.ERR_CALL_SESSION_NOT_FOUND,
                    "No call has this session ID.",
                    errors.WS_4004_SESSION_NOT_FOUND,
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
            get_live_participants().suspend(
                live,
                lambda: departures.leave_call(live.session_id, live.participant_id, errors.LEAVE_REASON_DISCONNECTED),
            )

    def silent_for(self, now: float) -> float:
        return self._heard.silent_for(now)

    async def close_silent(self) -> None:
        """A socket that stops talking (a browser gone without closing it) is closed as dead."""
        logger.info("closing a silent signaling socket in session %s", self.session_id)
        await self._step_away()
        await self.close(code=errors.WS_4008_SILENT)

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
            except CallsError:
                self._spend(None)
                raise
            self._spend(type(message))
            await self._dispatch(message)
        except CallsError as exc:
            await self._send(protocol.error_message(exc.code, exc.message, exc.details))
        except SocketFlooding:
            logger.warning("closing a signaling socket that kept flooding, in session %s", self.session_id)
            await self._send(protocol.error_message(errors.ERR_TOO_MANY_REQUESTS, "Too many messages."))
            await self._step_away()
            await self.close(code=errors.WS_4029_TOO_MANY_REQUESTS)
        except Exception:
            logger.exception("signaling failure in session %s", self.session_id)
            await self._send(protocol.error_message(errors.ERROR_JSON_EXCEPTION, "The message could not be handled."))

    def _spend(self, kind: type | None) -> None:
        """Charge a message to this socket's budget; refuse it (nothing else happens) when spent."""
        retry_after_s = self._budget.take(kind)
        if retry_after_s:
            if self._budget.flooding:
                raise SocketFlooding
            raise CallsError(
                errors.ERR_TOO_MANY_REQUESTS,
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
            raise CallsError(errors.ERR_CALL_NOT_A_PART, "Join the call first.")
        if (action := ACTIONS.get(type(message))) is not None:
            permissions.check(action, is_moderator=live.is_moderator, forbidden=live.forbidden)
        session_id, participant_id = self.session_id, live.participant_id
        if isinstance(message, protocol.Answer):
            await media.answer(session_id, participant_id, message.sdp)
        elif isinstance(message, protocol.MediaState):
            await self._own_media(live, message)
        elif isinstance(message, protocol.Moderate):
            await moderation.moderate(session_id, message.target, message.action, by=participant_id)
        elif isinstance(message, protocol.Hand):
            await presence.raise_hand(session_id, participant_id, message.raised)
        elif isinstance(message, protocol.Chat):
            await broadcast.chat(session_id, self._chat_message(live, message.text))
        elif isinstance(message, protocol.ScreenShare):
            await presence.share_screen(session_id, participant_id, message.enabled)
        elif isinstance(message, protocol.VideoViews):
            views = [(v.participant_id, v.source, v.width, v.height) for v in message.views]
            await media.set_views(session_id, participant_id, views)
        elif isinstance(message, protocol.EndForAll):
            await moderation.end_session_for_all(session_id)
        elif isinstance(message, protocol.RecordingControl):
            if message.start:
                await recording.start(session_id, participant_id, live.uid)
            else:
                await recording.stop(session_id, participant_id)
        elif isinstance(message, protocol.Leave):
            await self._leave(errors.LEAVE_REASON_LEFT)
            await self.close(code=errors.WS_1000_NORMAL_CLOSURE)

    async def _join(self, message: protocol.Join) -> None:
        """Admission decides and carries out the join; this socket then serves the participant."""
        if self.participant_id is not None:
            raise CallsError(errors.ERR_CALL_USER_ALREADY_JOINED, "This connection has already joined.")
        assert self.session is not None
        registry = get_live_participants()
        # With the in-memory channel layer this process is the whole server: whoever it does not serve is gone.
        is_live = registry.may_be_serving if isinstance(self.channel_layer, InMemoryChannelLayer) else None
        # The SFU's offer waits in the route until the client has its ``joined``.
        route = SignalRoute()
        request = admission.JoinRequest(
            message.token,
            message.display_name,
            message.audio_muted,
            message.video_paused,
            message.settings,
            self.client_ip,
        )
        # In the group first, so that nothing said about the call from now on passes this socket by.
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        try:
            admitted = await admission.join(self.session, request, route, sender=self.channel_name, is_live=is_live)
        except BaseException:
            await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
            raise
        participant = admitted.participant
        live = LiveParticipant(
            participant_id=participant.participant_id,
            session_id=self.session_id,
            display_name=participant.display_name,
            route=route,
            uid=participant.uid,
            forbidden=admitted.forbidden,
            is_moderator=admitted.identity.is_moderator,
            is_guest=admitted.identity.is_guest,
            audio_muted=participant.audio_muted,
            video_paused=participant.video_paused,
            audio_held=participant.audio_held,
            video_held=participant.video_held,
            channel_name=self.channel_name,
        )
        self.live = live
        registry.add(live)
        await self._send(
            protocol.joined_message(
                participant.as_wire(),
                self.session_id,
                [other.as_wire() for other in admitted.others],
                turn.ice_servers_for(participant.participant_id),
                admitted.settings,
                admitted.locked,
                live.resume_token,
                settings.CALLS_ICE_TRANSPORT_POLICY,
                admitted.recording,
            )
        )
        await route.attach(self._send)

    async def _resume(self, message: protocol.Resume) -> None:
        """A participant whose socket dropped carries on here, as if nothing had happened."""
        if self.live is not None:
            raise CallsError(errors.ERR_CALL_USER_ALREADY_JOINED, "This connection is already in the call.")
        registry = get_live_participants()
        live = registry.claim(message.participant_id, self.session_id, message.resume_token)
        if live is None:
            raise CallsError(
                errors.ERR_CALL_NOT_A_PART, "The call no longer has this participant: join again.", {"resume": False}
            )
        try:
            me, others, is_recording = await admission.resume(self.session_id, live.participant_id)
        except CallsError:
            registry.discard(live.participant_id)
            raise
        previous, live.channel_name = live.channel_name, self.channel_name
        self.live = live
        if previous:
            # The old socket never noticed it was dead: retire it without leaving the call.
            await self.channel_layer.send(previous, {"type": "call.replaced"})
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        # A moderator may have acted meanwhile (from another process): the database knows.
        live.audio_muted, live.video_paused = me.audio_muted, me.video_paused
        live.audio_held, live.video_held = me.audio_held, me.video_held
        await self._send(protocol.resumed_message(me.as_wire(), [other.as_wire() for other in others], is_recording))
        if not await live.route.attach(self._send):
            # An offer sent just before the drop may have lost its answer: ask again.
            await media.repeat_offer(self.session_id, live.participant_id)

    async def _own_media(self, live: LiveParticipant, message: protocol.MediaState) -> None:
        current: MediaState = {
            "audio_muted": live.audio_muted,
            "video_paused": live.video_paused,
            "audio_held": live.audio_held,
            "video_held": live.video_held,
        }
        change = await presence.change_own_media(
            self.session_id, live.participant_id, current, message.audio_muted, message.video_paused, self.channel_name
        )
        live.audio_muted, live.video_paused = change.state["audio_muted"], change.state["video_paused"]
        if change.refusal is not None:
            raise change.refusal

    @staticmethod
    def _chat_message(live: LiveParticipant, text: str) -> ChatMessage:
        return {
            "id": secrets.token_hex(8),
            "participant_id": live.participant_id,
            "name": live.display_name,
            "is_guest": live.is_guest,
            "text": text,
            "sent_at_ms": int(time.time() * 1000),
        }

    async def _leave(self, reason: str) -> None:
        """Leave for good (left, removed, ended): no grace to come back."""
        live, self.live = self.live, None
        if live is None:
            return
        get_live_participants().discard(live.participant_id)
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await departures.leave_call(live.session_id, live.participant_id, reason)

    async def _refuse(self, code: str, message: str, close_code: int) -> None:
        await self._send(protocol.error_message(code, message))
        await self.close(code=close_code)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))

    # Channel-layer group handlers: the bus's news (services/broadcast.py), rendered for this client.

    async def _relay(self, event: dict[str, Any], message: dict[str, Any]) -> None:
        """News about someone else: not back to the socket it came from."""
        if event["sender"] != self.channel_name and self.participant_id is not None:
            await self._send(message)

    async def call_participant_joined(self, event: dict[str, Any]) -> None:
        await self._relay(event, protocol.participant_joined_message(event["participant"]))

    async def call_participant_left(self, event: dict[str, Any]) -> None:
        await self._relay(event, protocol.participant_left_message(event["participant_id"], event["reason"]))

    async def call_media(self, event: dict[str, Any]) -> None:
        message = protocol.media_message(
            event["participant_id"],
            event["audio_muted"],
            event["video_paused"],
            event["audio_held"],
            event["video_held"],
        )
        await self._relay(event, message)

    # To every participant, the sender included (chat echo, hand order, screen share).

    async def call_hand(self, event: dict[str, Any]) -> None:
        if self.participant_id is not None:
            await self._send(protocol.hand_message(event["participant_id"], event["raised_at_ms"]))

    async def call_chat(self, event: dict[str, Any]) -> None:
        if self.participant_id is not None:
            message = protocol.chat_message(
                event["id"],
                event["participant_id"],
                event["name"],
                event["is_guest"],
                event["text"],
                event["sent_at_ms"],
            )
            await self._send(message)

    async def call_screen_share(self, event: dict[str, Any]) -> None:
        if self.participant_id is not None:
            await self._send(protocol.screen_share_message(event["participant_id"], event["enabled"]))

    async def call_recording(self, event: dict[str, Any]) -> None:
        if self.participant_id is not None:
            await self._send(protocol.recording_message(event["recording"], event["by"]))

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
        await media.apply_media_state(self.session_id, live.participant_id, live.audio_muted, live.video_paused)
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
            await media.release(self.session_id, live.participant_id)
        finally:
            close_code = (
                errors.WS_4014_REPLACED_BY_JOIN
                if event["reason"] == errors.LEAVE_REASON_REPLACED
                else errors.WS_4003_REMOVED
            )
            await self.close(code=close_code)

    async def call_replaced(self, event: dict[str, Any]) -> None:
        """The participant resumed on another socket: this one closes without leaving the call."""
        self.live = None
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await self.close(code=errors.WS_4012_REPLACED)

    async def call_media_moved(self, event: dict[str, Any]) -> None:
        """The SFU worker hosting this call died: leave, and have the SDK join again (on a live worker)."""
        live, self.live = self.live, None
        if live is None:
            return
        await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)
        await departures.leave_call(live.session_id, live.participant_id, errors.LEAVE_REASON_MEDIA_MOVED)
        await self.close(code=errors.WS_4013_MEDIA_MOVED)

    async def call_ended(self, event: dict[str, Any]) -> None:
        """The call was ended for everyone (REST API or admin): say so and drop the connection."""
        await self._send(protocol.session_ended_message(event["reason"]))
        await self._leave(event["reason"])
        await self.close(code=errors.WS_4010_SESSION_ENDED)


async def move_participants(session_id: str, participant_ids: list[str]) -> None:
    """
    The SFU worker hosting their media died: each leaves and joins again (the SDK does it on
    close code 4013), which places the session on a live worker. One away has nothing to rejoin with.
    """
    registry = get_live_participants()
    layer = get_channel_layer()
    for participant_id in participant_ids:
        live = registry.discard(participant_id)
        if live is None:
            continue
        if live.channel_name:
            await layer.send(live.channel_name, {"type": "call.media_moved"})
        else:
            await departures.leave_call(live.session_id, live.participant_id, errors.LEAVE_REASON_MEDIA_MOVED)


class SocketFlooding(Exception):
    """A socket that keeps sending past its budgets: it is closed, not answered."""
