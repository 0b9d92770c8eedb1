"""
Moderators' decisions that outlive a join (database side): removals and holds on audio or video.

A restriction names an identity in one call: the user's uid and, for a guest (whose uid is new
with every guest token), the address it joined from too. Joins consult them; moderators and
operators make and lift them.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import CallSession, Participant, Restriction, RestrictionKind


def _identity(uid: str, is_guest: bool, ip: str | None) -> Q:
    match = Q(uid=uid)
    if is_guest and ip:
        match |= Q(ip=ip)
    return match


def active(session: CallSession) -> QuerySet[Restriction]:
    """The session's restrictions in force now."""
    now = timezone.now()
    return Restriction.objects.filter(session=session, lifted_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def kinds_for(session: CallSession, uid: str, is_guest: bool, ip: str | None) -> set[str]:
    """What restricts this identity in this call now (RestrictionKind values)."""
    return set(active(session).filter(_identity(uid, is_guest, ip)).values_list("kind", flat=True))


def restrict(participant: Participant, kind: str, by: str) -> None:
    """Restrict ``participant``'s identity in its call (a second restriction of one kind adds nothing)."""
    session = participant.session
    if kind in kinds_for(session, participant.uid, participant.is_guest, participant.client_ip):
        return
    expires_at = None
    if kind == RestrictionKind.REMOVED and settings.CALLS_REMOVAL_SECONDS > 0:
        expires_at = timezone.now() + timedelta(seconds=settings.CALLS_REMOVAL_SECONDS)
    Restriction.objects.create(
        session=session,
        kind=kind,
        uid=participant.uid,
        ip=participant.client_ip if participant.is_guest else None,
        display_name=participant.display_name,
        by=by,
        expires_at=expires_at,
    )


def lift(participant: Participant, kind: str) -> int:
    """Lift what restricts ``participant``'s identity of ``kind``; return how many were lifted."""
    match = _identity(participant.uid, participant.is_guest, participant.client_ip)
    return active(participant.session).filter(match, kind=kind).update(lifted_at=timezone.now())


def readmit(restriction: Restriction) -> None:
    """An operator lets a removed identity (or a held one) back as it was."""
    if restriction.lifted_at is None:
        restriction.lifted_at = timezone.now()
        restriction.save(update_fields=["lifted_at"])
