"""
An SFU worker process: the ordinary SFU, driven by channel-layer messages instead of sockets.

Messages for one session are handled one after another, in the order they came
(a join before its answer); sessions go on side by side. What the SFU says to a
participant goes back to the Daphne process that serves it (``reply_to`` of its join).
A session's recording commands are answered (``messages.REPLY``): the files are on this
worker's disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.layers import BaseChannelLayer

from ..sfu import SFU, MediaError, MediaEvent, NegotiationError, NegotiationFailed, UnknownParticipant
from . import messages, placement

logger = logging.getLogger(__name__)


class ChannelSignal:
    """The SFU's ``SendSignal`` for one participant: to its Daphne process, over the channel layer."""

    __slots__ = ("_layer", "_participant_id", "_reply_to")

    def __init__(self, layer: BaseChannelLayer, reply_to: str, participant_id: str) -> None:
        self._layer = layer
        self._reply_to = reply_to
        self._participant_id = participant_id

    async def __call__(self, event: MediaEvent) -> None:
        try:
            await self._layer.send(self._reply_to, messages.signal(self._participant_id, event))
        except Exception:
            # Its Daphne process is gone (the channel is full and unread): it will be moved or leave.
            logger.warning("could not signal participant %s", self._participant_id, exc_info=True)


class SFUWorker:
    """Hosts sessions for every Daphne process: registers, heartbeats, and serves its channel."""

    def __init__(self, sfu: SFU, layer: BaseChannelLayer, worker_id: str | None = None) -> None:
        self.sfu = sfu
        self.layer = layer
        self.worker_id = worker_id or placement.new_worker_id()
        self.channel_name = ""
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._lanes: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; then close every call and say so (its sessions move at once)."""
        self.channel_name = await self.layer.new_channel()
        await placement.register_worker(self.worker_id, self.channel_name)
        logger.info("SFU worker %s serving on %s", self.worker_id, self.channel_name)
        heartbeat = asyncio.ensure_future(self._heartbeat())
        receiving = asyncio.ensure_future(self._receive())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({heartbeat, receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (heartbeat, receiving):
                error = task.exception() if task.done() else None
                if error is not None:
                    raise error
        finally:
            for running in (heartbeat, receiving, stopping, *self._lanes.values()):
                running.cancel()
            await placement.worker_stopped(self.worker_id)
            await self.sfu.close_all()
            logger.info("SFU worker %s stopped", self.worker_id)

    async def _heartbeat(self) -> None:
        while True:
            stats = self.sfu.stats()
            try:
                await placement.heartbeat(self.worker_id, stats["rooms"], stats["participants"])
            except Exception:
                logger.exception("SFU worker heartbeat failed")
            await asyncio.sleep(placement.HEARTBEAT_INTERVAL_S)

    async def _receive(self) -> None:
        while True:
            message = await self.layer.receive(self.channel_name)
            if message.get("type") not in messages.TO_WORKER or not isinstance(message.get("session_id"), str):
                logger.warning("SFU worker ignoring message %r", message.get("type"))
                continue
            session_id = message["session_id"]
            queue = self._queues.get(session_id)
            if queue is None:
                queue = self._queues[session_id] = asyncio.Queue()
                self._lanes[session_id] = asyncio.ensure_future(self._lane(session_id, queue))
            queue.put_nowait(message)

    async def _lane(self, session_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """One session's messages, in order; the lane ends when the session has nothing left here."""
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=30.0)
                except TimeoutError:
                    if session_id not in self.sfu.rooms and queue.empty():
                        return
                    continue
                await self._handle(message)
        finally:
            self._queues.pop(session_id, None)
            self._lanes.pop(session_id, None)

    async def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] in messages.REQUESTS:
            await self._answer(message)
            return
        kind = message["type"]
        session_id, participant_id = message["session_id"], message["participant_id"]
        reply = ChannelSignal(self.layer, message.get("reply_to", ""), participant_id)
        try:
            if kind == messages.JOIN:
                await self.sfu.join(session_id, participant_id, reply, tuple(message["sources"]))
            elif kind == messages.ANSWER:
                await self.sfu.handle_answer(session_id, participant_id, message["sdp"])
            elif kind == messages.SCREEN_SHARE:
                await self.sfu.set_screen_share(session_id, participant_id, bool(message["enabled"]))
            elif kind == messages.FORWARDING:
                await self.sfu.set_forwarding(session_id, participant_id, message["source"], bool(message["enabled"]))
            elif kind == messages.VIEWS:
                await self.sfu.set_views(session_id, participant_id, [tuple(view) for view in message["views"]])
            elif kind == messages.REPEAT_OFFER:
                await self.sfu.repeat_offer(session_id, participant_id)
            elif kind == messages.LEAVE:
                await self.sfu.leave(session_id, participant_id)
        except (NegotiationError, UnknownParticipant) as exc:
            # The Daphne process did not wait for the outcome: its participant hears of it instead.
            if message.get("reply_to"):
                await reply(NegotiationFailed(str(exc) or "Unknown participant."))
        except Exception:
            logger.exception("SFU worker failed on %s for participant %s", kind, participant_id)
            if message.get("reply_to"):
                with contextlib.suppress(Exception):
                    await reply(NegotiationFailed("The media server failed."))

    async def _answer(self, message: dict[str, Any]) -> None:
        """Carry out a session's request and send the outcome to whoever asked."""
        kind, session_id = message["type"], message["session_id"]
        request_id, reply_to = str(message.get("request_id", "")), message.get("reply_to", "")
        answer: dict[str, Any]
        try:
            if kind == messages.START_RECORDING:
                await self.sfu.start_recording(session_id, str(message["directory"]))
                answer = messages.reply(request_id)
            else:
                recorded = await self.sfu.stop_recording(session_id)
                answer = messages.reply(request_id, tracks=messages.encode_tracks(recorded))
        except MediaError as exc:
            answer = messages.error_reply(request_id, exc)
        except Exception:
            logger.exception("SFU worker failed on %s for session %s", kind, session_id)
            answer = messages.error_reply(request_id, MediaError("The media server failed."))
        if reply_to:
            try:
                await self.layer.send(reply_to, answer)
            except Exception:
                logger.warning("could not answer %s for session %s", kind, session_id, exc_info=True)
