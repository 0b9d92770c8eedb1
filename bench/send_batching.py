"""
Would sending in batches (``sendmmsg``) make the SFU's sends cheaper? ``python -m bench.send_batching``.

The SFU forwards a frame to each viewer as a burst of packets on that viewer's own socket (one ICE
transport per viewer), so the batch ``sendmmsg`` could take is a frame's packets to one viewer
(about 3 for a 640x480 delta frame). Measured here, on UDP over 127.0.0.1 to a socket that drains,
CPU time per packet, bursts of ``--burst`` 1,100-byte packets:

- Python's ``socket.send`` one packet at a time (what asyncio's datagram transport ends in);
- ``sendmmsg`` through ctypes, one call per burst (the "small dependency" route: no compiler);
- the same two from C (compiled with the machine's gcc, when there is one): the kernel's share,
  which a C extension could at best reach.

Each pair runs alternately, ``--rounds`` times, and the report gives medians and the ratios.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PACKET_BYTES = 1100
DRAIN_EVERY = 100

C_SOURCE = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <fcntl.h>
static double cpu(void) {
  struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]), k = atoi(argv[2]);
  int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(0x7f000001);
  bind(rx, (void *)&a, sizeof a); socklen_t l = sizeof a; getsockname(rx, (void *)&a, &l);
  int big = 1 << 24; setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); fcntl(rx, F_SETFL, O_NONBLOCK);
  connect(tx, (void *)&a, sizeof a);
  char packets[64][1100]; memset(packets, 7, sizeof packets); char buffer[2000];
  struct mmsghdr messages[64]; struct iovec vectors[64];
  double start = cpu();
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < k; j++) send(tx, packets[j], 1100, 0);
    if (i % 100 == 0) while (recv(rx, buffer, 2000, 0) > 0);
  }
  double one = (cpu() - start) / ((double)n * k) * 1e6;
  while (recv(rx, buffer, 2000, 0) > 0);
  start = cpu();
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < k; j++) {
      vectors[j].iov_base = packets[j]; vectors[j].iov_len = 1100;
      memset(&messages[j], 0, sizeof messages[j]);
      messages[j].msg_hdr.msg_iov = &vectors[j]; messages[j].msg_hdr.msg_iovlen = 1;
    }
    sendmmsg(tx, messages, k, 0);
    if (i % 100 == 0) while (recv(rx, buffer, 2000, 0) > 0);
  }
  double batched = (cpu() - start) / ((double)n * k) * 1e6;
  printf("%f %f\n", one, batched);
  return 0;
}
"""


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


def _pair() -> tuple[socket.socket, socket.socket]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    receiver.setblocking(False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(receiver.getsockname())
    return sender, receiver


def _drain(receiver: socket.socket) -> None:
    try:
        while True:
            receiver.recv(2000)
    except BlockingIOError:
        pass


def python_send_us(bursts: int, burst: int) -> float:
    """CPU microseconds per packet: ``socket.send`` one packet at a time."""
    sender, receiver = _pair()
    packets = [os.urandom(PACKET_BYTES) for _ in range(burst)]
    send = sender.send
    started = time.process_time()
    for index in range(bursts):
        for packet in packets:
            send(packet)
        if index % DRAIN_EVERY == 0:
            _drain(receiver)
    spent = time.process_time() - started
    sender.close()
    receiver.close()
    return spent / (bursts * burst) * 1e6


def libc_sendmmsg() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sendmmsg


def send_burst(sendmmsg: Any, descriptor: int, packets: list[bytes]) -> int:
    """One ``sendmmsg`` for ``packets``, its structures built for the burst as a forwarder would; how many it sent."""
    count = len(packets)
    vectors = (_IoVec * count)()
    messages = (_MMsgHdr * count)()
    buffers = [ctypes.create_string_buffer(packet, len(packet)) for packet in packets]
    for number, buffer in enumerate(buffers):
        vectors[number].iov_base = ctypes.addressof(buffer)
        vectors[number].iov_len = len(packets[number])
        messages[number].msg_hdr.msg_iov = ctypes.pointer(vectors[number])
        messages[number].msg_hdr.msg_iovlen = 1
    return int(sendmmsg(descriptor, messages, count, 0))


def ctypes_sendmmsg_us(bursts: int, burst: int) -> float:
    """CPU microseconds per packet: one ``sendmmsg`` per burst through ctypes."""
    sendmmsg = libc_sendmmsg()
    sender, receiver = _pair()
    packets = [os.urandom(PACKET_BYTES) for _ in range(burst)]
    descriptor = sender.fileno()
    started = time.process_time()
    for index in range(bursts):
        send_burst(sendmmsg, descriptor, packets)
        if index % DRAIN_EVERY == 0:
            _drain(receiver)
    spent = time.process_time() - started
    sender.close()
    receiver.close()
    return spent / (bursts * burst) * 1e6


def c_figures(bursts: int, burst: int, program: Path | None) -> tuple[float, float] | None:
    """(send, sendmmsg) CPU microseconds per packet from C, or None without a compiler."""
    if program is None:
        return None
    output = subprocess.run([str(program), str(bursts), str(burst)], capture_output=True, text=True, check=True)
    one, batched = (float(value) for value in output.stdout.split())
    return one, batched


def compile_c(folder: Path) -> Path | None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    source, program = folder / "send_batching.c", folder / "send_batching"
    source.write_text(C_SOURCE)
    subprocess.run([compiler, "-O2", "-o", str(program), str(source)], check=True)
    return program


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bursts", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=3, help="Packets a burst (a frame to one viewer).")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        program = compile_c(Path(folder))
        python_one: list[float] = []
        python_batched: list[float] = []
        c_one: list[float] = []
        c_batched: list[float] = []
        for _ in range(args.rounds):
            python_one.append(python_send_us(args.bursts, args.burst))
            python_batched.append(ctypes_sendmmsg_us(args.bursts, args.burst))
            figures = c_figures(args.bursts * 5, args.burst, program)
            if figures is not None:
                c_one.append(figures[0])
                c_batched.append(figures[1])
    median = statistics.median
    print(f"bursts of {args.burst} x {PACKET_BYTES} B to 127.0.0.1, CPU us per packet (median of {args.rounds}):")
    print(f"  Python socket.send:       {median(python_one):.2f}")
    print(
        f"  ctypes sendmmsg:          {median(python_batched):.2f}  "
        f"({median(python_batched) / median(python_one):.2f}x of socket.send)"
    )
    if c_one:
        print(f"  C send:                   {median(c_one):.2f}")
        ratio = median(c_batched) / median(c_one)
        print(f"  C sendmmsg:               {median(c_batched):.2f}  ({ratio:.2f}x of C send)")
        print(
            f"  best a C extension could save per packet: {median(python_one) - median(c_batched):.2f} us "
            f"({1 - median(c_batched) / median(python_one):.0%} of socket.send)"
        )


if __name__ == "__main__":
    main()
