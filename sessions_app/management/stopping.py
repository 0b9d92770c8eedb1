"""How a worker command (run_webhooks, run_recordings) hears that it should stop."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signals() -> threading.Event:
    """
    An event the first SIGTERM or SIGINT sets: the worker finishes what it is doing, then exits. A
    second signal kills at once (what it was doing is taken up again by the next worker).
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_DFL)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
