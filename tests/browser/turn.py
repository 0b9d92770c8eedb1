"""
A TURN server for tests: Debian's coturn (``turnserver``) on loopback, with the shared-secret
credentials the server hands out per join (``use-auth-secret``, as deploy/coturn/turnserver.conf).

Only the command line configures it (``-n``: no /etc/turnserver.conf; its database and log in a
temporary directory, not /var). It listens and relays on
127.0.0.1 and lets relays reach loopback peers (``--allow-loopback-peers``, which coturn warns is
not for production: here the SFU is a loopback peer). ``--verbose`` makes its log name every
allocation's relay address, which is how a test knows media went through it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

from .conftest import stop_process

TURNSERVER = "/usr/bin/turnserver"
START_TIMEOUT_S = 15
STUN_MAGIC_COOKIE = 0x2112A442
STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101
RELAY_ADDRESS = re.compile(r"Local relay addr(?:ess)?: (\d+\.\d+\.\d+\.\d+):(\d+)")


def free_udp_and_tcp_port() -> int:
    """A loopback port free for both UDP and TCP (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def stun_binding_answered(port: int, timeout_s: float = 0.5) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:``port`` over UDP gets a success response."""
    transaction_id = os.urandom(12)
    request = STUN_BINDING_REQUEST.to_bytes(2, "big") + (0).to_bytes(2, "big")
    request += STUN_MAGIC_COOKIE.to_bytes(4, "big") + transaction_id
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            response, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return int.from_bytes(response[:2], "big") == STUN_BINDING_SUCCESS and response[8:20] == transaction_id


class TurnServer:
    """coturn on 127.0.0.1:``port`` taking credentials made with ``secret`` (CALLS_TURN_SECRET) in one realm."""

    def __init__(self, directory: Path, secret: str = "turn-test-shared-secret") -> None:
        self.port = free_udp_and_tcp_port()
        self.secret = secret
        self.realm = "calls.test"
        self.directory = directory
        self.log_path = directory / "turnserver.log"
        self.pid_path = directory / "turnserver.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """This server's TURN URL (CALLS_TURN_URLS takes a list of them)."""
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self) -> None:
        command = [
            TURNSERVER,
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={self.port}",
            "--use-auth-secret",
            f"--static-auth-secret={self.secret}",
            f"--realm={self.realm}",
            "--allow-loopback-peers",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            f"--log-file={self.log_path}",
            "--simple-log",
            "--no-stdout-log",
            f"--pidfile={self.pid_path}",
            f"--userdb={self.directory / 'turndb'}",
            "--verbose",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not stun_binding_answered(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not answer STUN within {START_TIMEOUT_S} s:\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def relay_addresses(self) -> set[tuple[str, int]]:
        """Every relay address this server has allocated so far, from its log."""
        return {(address, int(port)) for address, port in RELAY_ADDRESS.findall(self.log())}
