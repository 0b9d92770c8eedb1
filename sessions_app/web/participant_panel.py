"""
The rows of the in-call participant list, as the server renders them for the SDK's panel.

The panel asks for them (a GET with its call token, as htmx would) whenever the list
changes while it is open; the server answers from the database, which every signaling
change is written to before it is announced. Avatars look as the SDK draws them on tiles:
the user's picture over ``initials`` in a colour (``avatar_colour_class``), as ``static/calls/dom.js``
does; the SDK falls back to the initials when a picture fails to load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..models import Participant, Role

AVATAR_COLOURS = 8
GUEST_NAME = "Guest"
AVATAR_SCHEMES = ("https://", "http://")


def initials(name: str) -> str:
    """Up to two initials: "Ada Lovelace" → "AL", "ada" → "A", "" → "?"."""
    words = name.split()
    if not words:
        return "?"
    picked = words if len(words) == 1 else [words[0], words[-1]]
    return "".join(word[0].upper() for word in picked)


def avatar_colour_class(key: str) -> str:
    """The colour class the SDK gives ``key``'s avatar (same hash as dom.js)."""
    value = 0
    for char in key:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return f"cc-avatar--c{value % AVATAR_COLOURS}"


def avatar_url(url: str) -> str:
    """``url`` if it is an http(s) URL, else "": the API accepts no other, but a field edited elsewhere might."""
    return url if url.lower().startswith(AVATAR_SCHEMES) else ""


@dataclass(frozen=True, slots=True)
class PanelRow:
    pid: str
    label: str
    initials: str
    colour: str
    hand_raised: bool
    audio_muted: bool
    video_paused: bool
    presenting: bool
    is_self: bool
    pinned: bool
    menu_label: str
    is_guest: bool = False
    is_moderator: bool = False
    avatar: str = ""
    audio_held: bool = False
    video_held: bool = False


def panel_rows(present: Iterable[Participant], self_pid: str = "", pinned_pid: str = "") -> list[PanelRow]:
    """
    Raised hands first, in the order they went up; then the viewer; then everyone else
    by join time (``present`` comes in join order).
    """
    everyone = list(present)
    hands = sorted((p for p in everyone if p.hand_raised_at), key=lambda p: p.hand_raised_at)  # type: ignore[arg-type, return-value]
    rest = [p for p in everyone if not p.hand_raised_at]
    rest.sort(key=lambda p: p.participant_id != self_pid)
    rows = []
    for participant in [*hands, *rest]:
        is_self = participant.participant_id == self_pid
        name = participant.display_name or ("You" if is_self else GUEST_NAME)
        rows.append(
            PanelRow(
                pid=participant.participant_id,
                label=f"{name} (You)" if is_self else name,
                initials=initials(name),
                colour=avatar_colour_class(participant.participant_id),
                hand_raised=participant.hand_raised_at is not None,
                audio_muted=participant.audio_muted,
                video_paused=participant.video_paused,
                presenting=participant.is_presenting,
                is_self=is_self,
                pinned=participant.participant_id == pinned_pid,
                menu_label=f"More options for {participant.display_name or GUEST_NAME}",
                is_guest=participant.is_guest,
                is_moderator=participant.role == Role.MODERATOR,
                avatar=avatar_url(participant.avatar),
                audio_held=participant.audio_held,
                video_held=participant.video_held,
            )
        )
    return rows
