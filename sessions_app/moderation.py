"""Moderation reaches the target participant's connection, wherever it is, through the channel layer."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from . import protocol, signals
from .models import END_REASON_TERMINATED, CallSession, SessionStatus
from .presence import session_payload
from .tokens import call_tokens


def group_name(session_id: str) -> str:
    """The channel-layer group of every connection in one session."""
    return f"call.{session_id}"


async def moderate(session_id: str, target: str, action: str, by: str) -> None:
    """Ask ``target``'s connection to apply ``action`` (mute, pause_video, remove); it enforces it."""
    await get_channel_layer().group_send(
        group_name(session_id), {"type": "call.moderate", "target": target, "action": action, "by": by, "sender": ""}
    )


async def end_for_everyone(session_id: str, reason: str) -> None:
    await get_channel_layer().group_send(group_name(session_id), {"type": "call.ended", "reason": reason, "sender": ""})


moderate_sync = async_to_sync(moderate)
end_for_everyone_sync = async_to_sync(end_for_everyone)


def end_call(session: CallSession) -> None:
    """End a call for everyone: record it, revoke its tokens, then drop every connected participant."""
    with transaction.atomic():
        was_running = session.status == SessionStatus.ONGOING
        session.mark_ended(END_REASON_TERMINATED)
        call_tokens.revoke_for_session(session)
        if was_running:
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
    end_for_everyone_sync(session.session_id, protocol.LEAVE_REASON_ENDED)


@database_sync_to_async
def _end_call_by_id(session_id: str) -> bool:
    session = CallSession.objects.filter(session_id=session_id).first()
    if session is None or session.is_ended:
        return False
    end_call(session)
    return True


async def end_session_for_all(session_id: str) -> None:
    """A participant's endSessionForAll(): the same as the REST API's and the admin's end."""
    await _end_call_by_id(session_id)
