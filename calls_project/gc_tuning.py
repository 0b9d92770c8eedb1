"""
The garbage collector, tuned for a process that holds thousands of peer connections.

A call's objects (aiortc's transceivers, their RTP and RTCP state, a consumer per socket) live
as long as the call. CPython's collector traces every live object in a full collection, and at
2,500 idle participants one full collection held the event loop for up to 4 s (gc.callbacks in
the signaling benchmark), long enough to stall media and close quiet sockets as silent. Two
changes, as large Python services make them:

- what start-up made (modules, classes, Django's and aiortc's tables) is frozen: never traced again;
- the youngest generation is collected every 50,000 allocations instead of 700, so the many
  short-lived objects of a join die young instead of being promoted and traced in full collections
  (the middle one every 5 of those, so that its own collections stay short).

Reference cycles are still collected; only how often, and among which objects, changes. Closed peer
connections, the garbage that matters, are collected in batches by the SFU (``sfu.peer``).
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000
MIDDLE_GENERATION_THRESHOLD = 5
OLD_GENERATION_THRESHOLD = 10


def tune_garbage_collector() -> None:
    """Call once, when start-up is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, MIDDLE_GENERATION_THRESHOLD, OLD_GENERATION_THRESHOLD)
