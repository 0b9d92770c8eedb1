"""
The one serialization of call history: the REST call logs and the webhooks both send these shapes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import CallSession, Participant
from .recording_files import recording_entry

MINUTE_SECONDS = 60.0


def participant_log(participant: Participant) -> dict[str, Any]:
    return {
        "sessionId": participant.session.session_id,
        "participantId": participant.participant_id,
        "uid": participant.uid,
        "name": participant.display_name,
        "avatar": participant.avatar,
        "isGuest": participant.is_guest,
        "role": participant.role,
        "joinedAt": int(participant.joined_at.timestamp()),
        "leftAt": int(participant.left_at.timestamp()) if participant.left_at else None,
        "leaveReason": participant.leave_reason,
        "totalDurationSeconds": round(participant.duration_seconds, 3),
        "audioMinutes": round(participant.audio_seconds / MINUTE_SECONDS, 3),
        "videoMinutes": round(participant.video_seconds / MINUTE_SECONDS, 3),
    }


def call_log(session: CallSession, with_participants: bool, request: HttpRequest | None = None) -> dict[str, Any]:
    """
    A call as the logs present it. ``recordings`` lists its composed recordings (a recording still
    being composed is not there yet), each with a fresh signed ``recordingURL``.
    """
    participants = list(session.participants.all())
    recordings = [
        recording_entry(recording, request)
        for recording in sorted(session.recordings.all(), key=lambda recording: recording.started_at)
        if recording.composed_file
    ]
    log: dict[str, Any] = {
        "sessionId": session.session_id,
        "title": session.title,
        "type": session.session_type,
        "status": session.status,
        "endReason": session.end_reason,
        "initiator": participants[0].uid if participants else None,
        "startedAt": int(session.started_at.timestamp()) if session.started_at else None,
        "endedAt": int(session.ended_at.timestamp()) if session.ended_at else None,
        "totalDurationSeconds": round(session.total_duration_seconds, 3),
        "totalParticipants": len({p.uid or p.participant_id for p in participants}),
        "totalJoins": len(participants),
        "peakParticipants": session.peak_participants,
        "totalAudioMinutes": round(sum(p.audio_seconds for p in participants) / MINUTE_SECONDS, 3),
        "totalVideoMinutes": round(sum(p.video_seconds for p in participants) / MINUTE_SECONDS, 3),
        "hasRecording": bool(recordings),
        "recordings": recordings,
    }
    if with_participants:
        log["participants"] = [participant_log(p) for p in participants]
    return log
