"""
The channel-layer messages between Daphne processes and SFU workers: one place for their shape.

To a worker's channel: ``sfu.join``, ``sfu.answer``, ``sfu.screen_share``, ``sfu.forwarding``, ``sfu.views``,
``sfu.repeat_offer``, ``sfu.leave`` (each names its session and participant). To a Daphne
process's channel: ``sfu.signal`` (a message for one participant's browser). Messages from one
sender to one channel arrive in order, which is what keeps a join before its answer.
"""

from __future__ import annotations

from typing import Any

JOIN = "sfu.join"
ANSWER = "sfu.answer"
SCREEN_SHARE = "sfu.screen_share"
FORWARDING = "sfu.forwarding"
REPEAT_OFFER = "sfu.repeat_offer"
VIEWS = "sfu.views"
LEAVE = "sfu.leave"
SIGNAL = "sfu.signal"

TO_WORKER = frozenset({JOIN, ANSWER, SCREEN_SHARE, FORWARDING, VIEWS, REPEAT_OFFER, LEAVE})


def to_worker(kind: str, session_id: str, participant_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "session_id": session_id, "participant_id": participant_id, **fields}


def signal(participant_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """What the SFU says to one participant, on its way to the Daphne process serving it."""
    return {"type": SIGNAL, "participant_id": participant_id, "message": message}
