"""
The benchmark's signaling channel: JSON objects, one per line, over loopback TCP.

The real server speaks WebSocket through Django Channels; the benchmark only
needs the same offer/answer exchange between two local processes, and a
line-based TCP stream is the least code that carries it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

LOOPBACK = "127.0.0.1"
MAX_LINE_BYTES = 1 << 20  # an offer for 8 participants is ~20 kB; a runaway line is a bug


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None once the other side has closed the connection."""
    line = await reader.readline()
    if not line:
        return None
    message: dict[str, Any] = json.loads(line)
    return message


async def write_message(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    """Send one message; a whole line per ``write`` so concurrent senders never interleave."""
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()
