"""Linux network namespaces for tests: isolated networks on one machine.

``Network`` builds namespaces joined by veth pairs, with addresses from 10.213.0.0/16, a range
used only by these tests and existing only inside the test's namespaces (no namespace has a
default route; routers get explicit routes to the test range). Everything is created with
``ip -n NS ...`` so no link ever appears in the machine's own namespace, and ``close()``
kills the processes it started, deletes the namespaces (which deletes their links) and
returns whatever it could not remove, so the fixture can fail a test that leaks.

Three ways to put code in a namespace:
* ``popen(ns, argv)``: a process under ``ip netns exec`` (homeserver, coturn, the impairer);
* ``NamespaceLoop``: a thread that ``setns()``-ed into the namespace and runs its own asyncio
  loop, so SFUs and aiortc peers made there bind and enumerate that namespace's interfaces
  (a network namespace is a per-thread attribute in Linux);
* ``forward(ns, host, port)``: a TCP port on 127.0.0.1 of the test process that connects into
  the namespace, for the test's own HTTP client.
A Chromium launched through ``chromium_wrapper(ns)`` runs inside the namespace.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

CLONE_NEWNET = 0x40000000
TEST_RANGE = "10.213.0.0/16"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def netns_unavailable() -> str | None:
    """Why namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespace tests need root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2 is not installed (apt-get install iproute2)"
    probe = f"arprobe-{uuid.uuid4().hex[:8]}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@contextlib.contextmanager
def inside(ns: str):
    """The calling thread is in namespace ``ns`` for the block (sockets made here stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
        os.close(target)


def sh(*argv: str, check: bool = True) -> str:
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


class NamespaceLoop:
    """An asyncio loop on a thread inside a namespace; ``await run(coro_fn, *args)`` runs a
    coroutine function there and returns its result to the caller's loop."""

    def __init__(self, ns: str):
        self.ns = ns
        self.loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future = concurrent.futures.Future()

        def main():
            try:
                _setns(os.open(f"/run/netns/{ns}", os.O_RDONLY))
            except OSError as e:
                ready.set_exception(e)
                return
            asyncio.set_event_loop(self.loop)
            ready.set_result(None)
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, name=f"netns-{ns}", daemon=True)
        self.thread.start()
        ready.result(10)

    async def run(self, fn, *args, **kw):
        fut = asyncio.run_coroutine_threadsafe(fn(*args, **kw), self.loop)
        return await asyncio.wrap_future(fut)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.loop.is_running():
            return

        async def shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()


class Network:
    """One test's namespaces, links, processes and forwarders."""

    _ids = itertools.count(1)

    def __init__(self, workdir: Path):
        self.prefix = f"ar{os.getpid() % 100000}x{next(self._ids)}"
        self.workdir = workdir
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen] = []
        self.loops: list[NamespaceLoop] = []
        self.servers: list[asyncio.base_events.Server] = []
        self._subnets = itertools.count(1)

    # topology -------------------------------------------------------------------------------

    def ns(self, name: str) -> str:
        full = f"{self.prefix}-{name}"
        sh("ip", "netns", "add", full)
        self.namespaces.append(full)
        sh("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def link(self, a: str, b: str) -> tuple[str, str]:
        """A veth pair a <-> b on a fresh /24 of the test range; returns (a's IP, b's IP)."""
        k = next(self._subnets)
        ia, ib = f"v{k}a", f"v{k}b"
        sh("ip", "-n", a, "link", "add", ia, "type", "veth", "peer", "name", ib, "netns", b)
        ips = (f"10.213.{k}.1", f"10.213.{k}.2")
        for ns, dev, ip in ((a, ia, ips[0]), (b, ib, ips[1])):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        return ips

    def route(self, ns: str, via: str, dest: str = TEST_RANGE) -> None:
        sh("ip", "-n", ns, "route", "add", dest, "via", via)

    def router(self, ns: str) -> None:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def drop_udp(self, ns: str) -> None:
        """An office firewall: every UDP packet in or out of the namespace's links is dropped
        (loopback inside the namespace still works)."""
        rules = (
            "table inet audiorooms_test {\n"
            " chain in { type filter hook input priority 0; iifname != \"lo\" meta l4proto udp"
            " drop; }\n"
            " chain out { type filter hook output priority 0; oifname != \"lo\" meta l4proto udp"
            " drop; }\n"
            "}\n")
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"nft: {r.stderr.strip()}")

    def udp_drops(self, ns: str) -> str:
        return sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "audiorooms_test")

    # running things inside ------------------------------------------------------------------

    def popen(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], start_new_session=True, **kw)
        self.processes.append(p)
        return p

    def loop(self, ns: str) -> NamespaceLoop:
        nl = NamespaceLoop(ns)
        self.loops.append(nl)
        return nl

    def chromium_wrapper(self, ns: str, chromium: str = "/usr/bin/chromium") -> str:
        """An executable that runs Chromium inside ``ns`` (for Playwright's executable_path)."""
        path = self.workdir / f"chromium-{ns}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {ns} {chromium} "$@"\n')
        path.chmod(0o755)
        return str(path)

    async def forward(self, ns: str, host: str, port: int) -> int:
        """A port on 127.0.0.1 here whose connections go to host:port inside ``ns``."""
        loop = asyncio.get_running_loop()

        async def pump(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            with inside(ns):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                await loop.sock_connect(s, (host, port))
            except OSError:
                s.close()
                writer.close()
                return
            r2, w2 = await asyncio.open_connection(sock=s)
            await asyncio.gather(pump(reader, w2), pump(r2, writer))

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    # teardown -------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Remove everything; return what is left over (empty when clean)."""
        for s in self.servers:
            s.close()
        for nl in self.loops:
            nl.stop()
        for p in self.processes:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in self.processes:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        for ns in self.namespaces:
            # anything still inside (a process we did not start ourselves) goes too
            for pid in sh("ip", "netns", "pids", ns, check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", ns, check=False)
        return self.leftovers()

    def leftovers(self) -> list[str]:
        left = [f"namespace {n}" for n in sh("ip", "netns", "list").split()
                if n.startswith(self.prefix + "-")]
        left += [f"process {p.pid} ({p.args})" for p in self.processes if p.poll() is None]
        left += [f"link {line.strip()}" for line in sh("ip", "-o", "link").splitlines()
                 if any(f" v{k}{s}@" in line or f" v{k}{s}:" in line
                        for k in range(1, 20) for s in "ab")]
        left += [f"thread {nl.thread.name}" for nl in self.loops if nl.thread.is_alive()]
        return left
