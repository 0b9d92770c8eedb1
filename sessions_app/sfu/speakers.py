"""Dominant speaker detection from the audio levels publishers put in their RTP headers."""

from __future__ import annotations

SPEAKER_CHECK_INTERVAL_S = 0.3
# Loudness is 127 - dBov: speech is roughly -20 to -50 dBov, so above 77; silence is near 0.
SPEAKING_LOUDNESS = 70.0
# A new speaker must be this much louder than the current one (if still speaking) to take over,
# and keep it for this many checks in a row, so the spotlight does not flicker.
TAKEOVER_MARGIN = 6.0
TAKEOVER_CHECKS = 2


class SpeakerTracker:
    """
    Who is speaking most, with hysteresis: the current speaker keeps the floor
    while speaking unless someone is clearly louder for a while.
    """

    def __init__(self) -> None:
        self.current: str | None = None
        self._candidate: str | None = None
        self._candidate_checks = 0

    def update(self, loudness: dict[str, float]) -> str | None:
        """Feed one check's loudness per participant; return the new dominant speaker when it changes."""
        speaking = {pid: level for pid, level in loudness.items() if level >= SPEAKING_LOUDNESS}
        if not speaking:
            self._candidate, self._candidate_checks = None, 0
            return None
        loudest = max(speaking, key=speaking.__getitem__)
        if loudest == self.current:
            self._candidate, self._candidate_checks = None, 0
            return None
        current_level = speaking.get(self.current or "", 0.0)
        if current_level and speaking[loudest] < current_level + TAKEOVER_MARGIN:
            return None
        if loudest != self._candidate:
            self._candidate, self._candidate_checks = loudest, 0
        self._candidate_checks += 1
        if self._candidate_checks < TAKEOVER_CHECKS and self.current is not None:
            return None
        self.current, self._candidate, self._candidate_checks = loudest, None, 0
        return loudest
