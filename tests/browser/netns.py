"""
A weak network link for browser tests: a network namespace joined to the host by a veth pair.

A viewer's browser runs inside the namespace and reaches the server through the host-side veth
address, so every packet from the server to that viewer leaves through the host-side veth: a
queueing discipline there shapes exactly that viewer's downlink and nobody else's. This needs root
(``ip netns``, ``ip link``, ``tc``); without it the tests that use it are skipped, not failed.

Only the namespace and addresses created here are touched: the namespace name carries this
process's id, so a run that was killed outright can have its leftovers removed by the next one.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from pathlib import Path
from types import TracebackType

import pytest

NAMESPACE_PREFIX = "calls-wl-"
# Private addresses nothing else here uses: the link's /24 is 10.231.<index>.0/24.
SUBNET_TEMPLATE = "10.231.{index}.{host}"
FIRST_INDEX = 1
LAST_INDEX = 254
# tbf needs a bucket at least one packet deep; 32 kbit (4 KB) holds a few RTP packets, and a 300 ms
# queue makes a slow link delay packets (as a congested home uplink does) rather than drop them at once.
TBF_BURST = "32kbit"
TBF_LATENCY = "300ms"
COMMAND_TIMEOUT_S = 10
NFT_TABLE = "calls_weak_link"


class LinkEmulationUnavailable(RuntimeError):
    """This kernel or machine cannot emulate what was asked of the link."""


def run(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run one ``ip``, ``tc`` or ``nft`` command; a failure says which command and why."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, input=stdin)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def skip_unless_able() -> None:
    """Skip the calling test unless this process can build namespaces (root, ``ip`` and ``tc`` installed)."""
    if os.geteuid() != 0:
        pytest.skip("a weak link needs root: network namespaces, veth pairs and tc")
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"a weak link needs {' and '.join(missing)} (Debian's iproute2)")


def remove_stale_namespaces() -> None:
    """
    Delete namespaces this module made in runs whose process is gone (killed before its teardown ran).
    Deleting a namespace deletes the veth end inside it, and with it the host end.
    """
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split(" ", 1)[0]
        if not name.startswith(NAMESPACE_PREFIX):
            continue
        owner = name.removeprefix(NAMESPACE_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            run("ip", "netns", "del", name, check=False)


def used_subnet_indexes() -> set[int]:
    """The 10.231.N subnets and cwlN links already present, which a new link must not reuse."""
    used: set[int] = set()
    addresses = run("ip", "-o", "-4", "addr", "show", check=False).stdout
    for word in addresses.split():
        if word.startswith("10.231."):
            part = word.split(".")[2]
            if part.isdigit():
                used.add(int(part))
    for line in run("ip", "-o", "link", "show", check=False).stdout.splitlines():
        fields = line.split(": ")
        name = fields[1].split("@", 1)[0] if len(fields) > 1 else ""
        if name.startswith("cwl") and name[3:-1].isdigit():
            used.add(int(name[3:-1]))
    return used


class WeakLink:
    """
    A namespace whose only way out is a veth pair to the host, with a shapeable host side.

    ``host_address`` (on the host end, root namespace) is where the server listens for the viewer;
    ``peer_address`` is the viewer's own address inside the namespace. ``shape()`` sets the
    server-to-viewer direction; the viewer's uplink stays unshaped.
    Use it as a context manager: leaving removes the namespace and both veth ends, even on failure.
    """

    def __init__(self) -> None:
        self.namespace = ""
        self.host_device = ""
        self.peer_device = ""
        self.host_address = ""
        self.peer_address = ""

    def __enter__(self) -> WeakLink:
        skip_unless_able()
        remove_stale_namespaces()
        self.create()
        # Probed now: the probe replaces the link's discipline, which must not happen while it is shaped.
        _ = self.can_delay
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.remove()

    def create(self) -> None:
        """Make the namespace and veth pair on the first free subnet index (bounded: one pass over 1..254)."""
        used = used_subnet_indexes()
        last_error = "every 10.231.N subnet is in use"
        for index in range(FIRST_INDEX, LAST_INDEX + 1):
            if index in used:
                continue
            try:
                self._create_at(index)
            except RuntimeError as error:
                # Another run took this index between our look and our claim: clean up and try the next.
                last_error = str(error)
                self.remove()
                continue
            return
        raise RuntimeError(f"could not create a weak link: {last_error}")

    def _create_at(self, index: int) -> None:
        self.namespace = f"{NAMESPACE_PREFIX}{os.getpid()}-{index}"
        self.host_device = f"cwl{index}h"
        self.peer_device = f"cwl{index}p"
        self.host_address = SUBNET_TEMPLATE.format(index=index, host=1)
        self.peer_address = SUBNET_TEMPLATE.format(index=index, host=2)
        run("ip", "netns", "add", self.namespace)
        run("ip", "link", "add", self.host_device, "type", "veth", "peer", "name", self.peer_device)
        run("ip", "link", "set", self.peer_device, "netns", self.namespace)
        run("ip", "addr", "add", f"{self.host_address}/24", "dev", self.host_device)
        run("ip", "link", "set", self.host_device, "up")
        inside = ("ip", "netns", "exec", self.namespace)
        run(*inside, "ip", "link", "set", "lo", "up")
        run(*inside, "ip", "addr", "add", f"{self.peer_address}/24", "dev", self.peer_device)
        run(*inside, "ip", "link", "set", self.peer_device, "up")

    def remove(self) -> None:
        """Delete the namespace and the host end; what is already gone is fine."""
        if self.host_device:
            run("ip", "link", "del", self.host_device, check=False)
        if self.namespace:
            run("ip", "netns", "del", self.namespace, check=False)

    @functools.cached_property
    def can_delay(self) -> bool:
        """
        Whether this kernel has netem (``sch_netem``), which alone can delay packets. Some kernels are
        built without it (this project's Firecracker VMs are): loss then comes from nftables instead.
        """
        probe = run("tc", "qdisc", "replace", "dev", self.host_device, "root", "netem", "delay", "0ms", check=False)
        self.clear()
        return probe.returncode == 0

    @property
    def can_lose(self) -> bool:
        """Whether ``shape(loss_pct=...)`` works here: through netem, or nftables in the namespace."""
        return self.can_delay or shutil.which("nft") is not None

    def shape(self, rate_kbit: int | None = None, loss_pct: float = 0, delay_ms: int = 0) -> None:
        """
        Replace the viewer's downlink discipline: a token bucket at ``rate_kbit``, and/or netem
        dropping ``loss_pct`` % of packets and delaying each by ``delay_ms``. With both, netem is the
        root and the token bucket its child, so lost packets never take bandwidth.
        Replacing (not deleting first) keeps packets already queued when the rate changes.

        Without netem (see ``can_delay``) a delay is refused and loss is a random drop of that share of
        the packets arriving in the namespace (nftables), after the token bucket.
        """
        if delay_ms and not self.can_delay:
            raise LinkEmulationUnavailable(f"a {delay_ms} ms delay needs netem, which this kernel lacks")
        if loss_pct and not self.can_lose:
            raise LinkEmulationUnavailable("packet loss needs netem or the nft command (Debian's nftables)")
        tbf = ["tbf", "rate", f"{rate_kbit}kbit", "burst", TBF_BURST, "latency", TBF_LATENCY]
        netem = ["netem", "loss", f"{loss_pct}%", "delay", f"{delay_ms}ms"]
        device = ("dev", self.host_device)
        self._drop_in_namespace(0 if self.can_delay else loss_pct)
        if not self.can_delay and not rate_kbit:
            run("tc", "qdisc", "del", *device, "root", check=False)
        elif rate_kbit is not None and not (self.can_delay and (loss_pct or delay_ms)):
            run("tc", "qdisc", "replace", *device, "root", *tbf)
        elif rate_kbit is None:
            run("tc", "qdisc", "replace", *device, "root", *netem)
        else:
            run("tc", "qdisc", "replace", *device, "root", "handle", "1:", *netem)
            run("tc", "qdisc", "replace", *device, "parent", "1:1", "handle", "10:", *tbf)

    def _drop_in_namespace(self, loss_pct: float) -> None:
        """Drop ``loss_pct`` % of what reaches the namespace over the veth (0: drop nothing, no rules)."""
        if shutil.which("nft") is None:
            return
        run("ip", "netns", "exec", self.namespace, "nft", "delete", "table", "inet", NFT_TABLE, check=False)
        if not loss_pct:
            return
        per_10000 = round(loss_pct * 100)
        rules = f"""
            table inet {NFT_TABLE} {{
              chain downlink {{
                type filter hook prerouting priority -300; policy accept;
                iifname "{self.peer_device}" numgen random mod 10000 < {per_10000} drop
              }}
            }}
        """
        run("ip", "netns", "exec", self.namespace, "nft", "-f", "-", stdin=rules)

    def shape_uplink(self, rate_kbit: int) -> None:
        """
        A token bucket at ``rate_kbit`` on what leaves the namespace: the uplink of a browser inside it
        (a publisher's), shaped on the namespace's own veth end.
        """
        tbf = ["tbf", "rate", f"{rate_kbit}kbit", "burst", TBF_BURST, "latency", TBF_LATENCY]
        run("ip", "netns", "exec", self.namespace, "tc", "qdisc", "replace", "dev", self.peer_device, "root", *tbf)

    def clear(self) -> None:
        """Back to an unshaped link (the veth's default, no queueing discipline, nothing dropped)."""
        run("tc", "qdisc", "del", "dev", self.host_device, "root", check=False)
        run("ip", "netns", "exec", self.namespace, "tc", "qdisc", "del", "dev", self.peer_device, "root", check=False)
        self._drop_in_namespace(0)

    def qdisc(self) -> str:
        """What shapes the viewer's downlink now, as ``tc`` and ``nft`` list it (for messages)."""
        shown = run("tc", "qdisc", "show", "dev", self.host_device).stdout.strip()
        if shutil.which("nft") is not None:
            rules = run("ip", "netns", "exec", self.namespace, "nft", "list", "ruleset", check=False).stdout
            drops = [line.strip() for line in rules.splitlines() if "numgen" in line]
            shown += "".join(f"\nnft in the namespace: {rule}" for rule in drops)
        return shown

    def wrapper_script(self, directory: Path, executable: str) -> Path:
        """
        A script that runs ``executable`` inside the namespace with the arguments it is given.
        Playwright drives Chromium over a pipe (inherited descriptors, no TCP), so it can launch the
        browser through this as its ``executable_path`` and never notice the namespace;
        ``ip netns exec`` execs the command in place, so Playwright's process is Chromium's.
        """
        script = directory / f"{self.namespace}-{Path(executable).name}"
        script.write_text(f'#!/bin/sh\nexec ip netns exec {self.namespace} {executable} "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return script
