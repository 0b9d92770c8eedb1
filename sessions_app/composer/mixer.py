"""
The call's sound: every participant's audio summed on one timeline, and who is speaking.

Mixing is float addition with clipping at full scale: a few voices rarely clip, and when they do
it is brief. The active speaker is the loudest participant over windows of ``WINDOW_MS``, with
hysteresis so the highlight does not flicker between people who talk over each other: the speaker
keeps the floor until someone else has been clearly louder for about a second, and nobody has it
after about a second in which everyone was silent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .sources import SAMPLES_PER_MS, AudioSource

Samples = np.ndarray[Any, np.dtype[np.float32]]

WINDOW_MS = 300
# Louder than this (RMS, full scale 1.0; about -40 dBFS) is speaking; below it, silence or noise.
SPEAKING_RMS = 0.01
# "Clearly louder": by this factor in RMS (6 dB).
CLEARLY_LOUDER = 2.0
# How long someone must be clearly louder to take the floor, and everyone silent to clear it.
SWITCH_MS = 900
SILENCE_MS = 900


class Mixer:
    """Reads each participant's audio sources block by block, in order, and mixes them."""

    def __init__(self, voices: Mapping[str, Sequence[AudioSource]]) -> None:
        self._voices = {participant: list(sources) for participant, sources in voices.items()}

    def mix(self, start: int, count: int) -> tuple[Samples, dict[str, float]]:
        """
        Samples ``start`` to ``start + count`` of the call, channels x samples, and the mean square
        of each participant heard in them.
        """
        mixed = np.zeros((2, count), dtype=np.float32)
        levels: dict[str, float] = {}
        for participant, sources in self._voices.items():
            for source in sources:
                if start + count <= source.track.start_offset_ms * SAMPLES_PER_MS:
                    continue
                samples = source.read(start, count)
                if samples is None:
                    continue
                mixed += samples
                levels[participant] = levels.get(participant, 0.0) + float(np.mean(np.square(samples)))
        np.clip(mixed, -1.0, 1.0, out=mixed)
        return mixed, levels


class ActiveSpeaker:
    """Who has the floor, decided at the end of every window from the levels heard during it."""

    def __init__(self, window_ms: int = WINDOW_MS) -> None:
        self.current: str | None = None
        self._window_samples = window_ms * SAMPLES_PER_MS
        self._window_ms = window_ms
        self._energy: dict[str, float] = {}
        self._heard_samples = 0
        self._challenger: str | None = None
        self._challenged_ms = 0
        self._silent_ms = 0

    def hear(self, levels: Mapping[str, float], samples: int) -> None:
        """Account for a block of ``samples`` samples in which each participant's mean square was ``levels``."""
        for participant, level in levels.items():
            self._energy[participant] = self._energy.get(participant, 0.0) + level * samples
        self._heard_samples += samples
        if self._heard_samples >= self._window_samples:
            rms = {participant: math.sqrt(energy / self._heard_samples) for participant, energy in self._energy.items()}
            self._energy.clear()
            self._heard_samples = 0
            self._decide(rms)

    def _decide(self, rms: Mapping[str, float]) -> None:
        loudest = max(rms, key=lambda participant: rms[participant], default=None)
        if loudest is None or rms[loudest] < SPEAKING_RMS:
            self._challenger, self._challenged_ms = None, 0
            self._silent_ms += self._window_ms
            if self._silent_ms >= SILENCE_MS:
                self.current = None
            return
        self._silent_ms = 0
        if self.current is None:
            self.current = loudest
        elif loudest != self.current and rms[loudest] >= CLEARLY_LOUDER * rms.get(self.current, 0.0):
            if loudest == self._challenger:
                self._challenged_ms += self._window_ms
            else:
                self._challenger, self._challenged_ms = loudest, self._window_ms
            if self._challenged_ms >= SWITCH_MS:
                self.current = loudest
                self._challenger, self._challenged_ms = None, 0
        else:
            self._challenger, self._challenged_ms = None, 0
