"""
What happens in a call, announced inside the transaction that records it.

Receivers (the webhooks outbox) run synchronously within that transaction,
so an event is stored exactly when its state change is, and never without it.
Every signal is sent with ``session`` (a CallSession) and ``data`` (the
webhook payload's ``data``: a JSON-ready dict).
"""

from django.dispatch import Signal

meeting_started = Signal()
meeting_participant_joined = Signal()
meeting_participant_left = Signal()
meeting_ended = Signal()
# A recording's composed file exists (sent by the recordings worker, not a call's process).
recording_generated = Signal()
