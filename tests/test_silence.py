"""Silent signaling sockets: one sweep for all, and a slow server is not a silent client."""

from __future__ import annotations

import asyncio
import time

from calls_project.channel_layers import LocalChannelLayer
from sessions_app.signaling.silence import Heard, SilenceWatch


class Socket:
    def __init__(self) -> None:
        self.heard = Heard()
        self.closed = asyncio.Event()

    def silent_for(self, now: float) -> float:
        return self.heard.silent_for(now)

    async def close_silent(self) -> None:
        self.closed.set()


async def test_only_the_silent_socket_is_closed_and_the_sweep_ends_with_the_last() -> None:
    watch = SilenceWatch(timeout_s=0.3, interval_s=0.05)
    quiet, talking = Socket(), Socket()
    watch.watch(quiet)
    watch.watch(talking)
    started = time.monotonic()
    while not quiet.closed.is_set() and time.monotonic() - started < 5:
        talking.heard.heard()
        await asyncio.sleep(0.02)
    assert quiet.closed.is_set() and not talking.closed.is_set()
    assert 0.3 <= time.monotonic() - started < 2
    assert len(watch) == 1
    watch.unwatch(talking)
    await asyncio.wait_for(watch._task, 1)  # type: ignore[arg-type]
    assert len(watch) == 0


async def test_time_spent_handling_a_message_is_not_silence() -> None:
    """A ping queued behind a slow join is not the client's fault: silence resumes where it was."""
    heard = Heard()
    heard.busy()
    await asyncio.sleep(0.2)
    assert heard.silent_for(time.monotonic()) == 0.0
    heard.busy()  # nested handling (a handler awaiting another dispatch) counts once
    heard.idle()
    heard.idle()
    assert heard.silent_for(time.monotonic()) < 0.1


async def test_a_socket_busy_past_the_timeout_is_kept() -> None:
    watch = SilenceWatch(timeout_s=0.2, interval_s=0.05)
    busy = Socket()
    busy.heard.busy()
    watch.watch(busy)
    await asyncio.sleep(0.5)
    assert not busy.closed.is_set()
    busy.heard.idle()
    await asyncio.wait_for(busy.closed.wait(), 2)


async def test_the_local_layer_still_expires_messages_and_delivers_the_rest() -> None:
    layer = LocalChannelLayer(expiry=0.05)
    await layer.send("old.channel", {"type": "old"})
    await layer.send("new.channel", {"type": "new"})
    assert await layer.receive("new.channel") == {"type": "new"}
    await asyncio.sleep(0.1)
    layer._next_sweep = 0.0  # the next sweep is due
    await layer.group_add("group", "new.channel")
    await layer.group_send("group", {"type": "hello"})
    assert "old.channel" not in layer.channels, "the expired message was swept"
    assert await layer.receive("new.channel") == {"type": "hello"}


async def test_a_stalled_event_loop_is_not_the_clients_silence() -> None:
    """After a long pause of the whole process (a garbage collection), queued pings are read before anyone is judged."""
    watch = SilenceWatch(timeout_s=0.3, interval_s=0.05)
    talking = Socket()
    watch.watch(talking)
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    time.sleep(0.6)  # the loop is held up; the client's ping is read two turns of the loop later
    loop.call_soon(lambda: loop.call_soon(talking.heard.heard))
    await asyncio.sleep(0.2)
    assert not talking.closed.is_set()
    watch.unwatch(talking)
