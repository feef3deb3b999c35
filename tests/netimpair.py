"""A packet impairer on an NFQUEUE: random loss, delay with jitter, and a cut switch.

Why: this machine's kernel has no ``sch_netem`` (``tc qdisc add ... netem`` answers "Specified
qdisc kind is unknown") and no nftables ``queue`` expression (CONFIG_NFT_QUEUE is off: ``nft add
rule ... queue num 0`` fails with "No such file or directory"), but it has nfnetlink_queue and
the xtables NFQUEUE target, which ``iptables -j NFQUEUE`` (iptables-nft, through nft_compat)
reaches. So the namespace's FORWARD chain sends every packet here, and we answer each with a
verdict: NF_DROP for a lost packet, NF_ACCEPT now, or NF_ACCEPT after the delay (the kernel holds
the packet until then, so delaying costs no copy; with jitter packets may be reordered, as with
netem).

It speaks nfnetlink itself over ``socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)`` - a few
dozen lines of struct packing - rather than the NetfilterQueue PyPI package, which needs a C
compiler and libnetfilter-queue-dev at install time for what is three message types here.

Run inside the router namespace: ``python -m tests.netimpair --queue 0 --loss 5 --delay 50``.
It prints ``ready`` once bound, then obeys lines on stdin: ``cut``, ``uncut``, ``loss P``,
``delay MS [JITTER]``, ``stats`` and ``flows`` (the UDP flows it forwarded, with packet
counts) answering one JSON line each, ``quit``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NFQNL_COPY_PACKET = 2
HEADERS = 28  # copied to us per packet: an IPv4 header and a UDP header, for the flow counts
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def _attr(kind: int, payload: bytes) -> bytes:
    a = struct.pack("=HH", 4 + len(payload), kind) + payload
    return a + b"\0" * (-len(a) % 4)


def _message(msg: int, queue: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags,
                       seq, 0) + body


def packet_ids(data: bytes):
    """(packet id, first bytes of the packet) of each NFQNL_MSG_PACKET in one netlink read."""
    off = 0
    while off + 16 <= len(data):
        length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            return
        if kind == NLMSG_ERROR:
            err = struct.unpack_from("=i", data, off + 16)[0]
            if err:
                raise OSError(-err, f"nfnetlink refused a request: {err}")
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            a = off + 20  # after nlmsghdr and nfgenmsg
            pid, payload = None, b""
            while a + 4 <= off + length:
                alen, akind = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if akind & 0x3FFF == NFQA_PACKET_HDR:
                    pid = struct.unpack_from("!I", data, a + 4)[0]
                elif akind & 0x3FFF == NFQA_PAYLOAD:
                    payload = data[a + 4:a + alen]
                a += (alen + 3) & ~3
            if pid is not None:
                yield pid, payload
        off += (length + 3) & ~3


class Impairer:
    def __init__(self, queue: int, loss: float, delay_ms: float, jitter_ms: float,
                 seed: int | None = None):
        self.queue = queue
        self.loss = loss
        self.delay = delay_ms / 1000
        self.jitter = jitter_ms / 1000
        self.cut = False
        self.random = random.Random(seed)
        self.stats = {"seen": 0, "lost": 0, "cut": 0, "passed": 0}
        self.udp_flows: dict[str, int] = {}  # "src:port>dst:port" -> packets seen
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 0))

    def _send(self, msg: int, attrs: bytes, flags: int = NLM_F_REQUEST) -> None:
        self.seq += 1
        self.sock.send(_message(msg, self.queue, attrs, self.seq, flags))

    def bind(self) -> None:
        self._send(NFQNL_MSG_CONFIG, _attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND,
                                                                     0, 0)),
                   NLM_F_REQUEST | NLM_F_ACK)
        list(packet_ids(self.sock.recv(65536)))  # the ack; raises if refused
        self._send(NFQNL_MSG_CONFIG,
                   _attr(NFQA_CFG_PARAMS, struct.pack("!IB", HEADERS, NFQNL_COPY_PACKET))
                   + _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 8192)),
                   NLM_F_REQUEST | NLM_F_ACK)
        list(packet_ids(self.sock.recv(65536)))

    def verdict(self, packet_id: int, verdict: int) -> None:
        self._send(NFQNL_MSG_VERDICT, _attr(NFQA_VERDICT_HDR, struct.pack("!II", verdict,
                                                                          packet_id)))

    def on_readable(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = self.sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:  # ENOBUFS: the kernel dropped some queued packets' messages
                continue
            for pid, head in packet_ids(data):
                self.stats["seen"] += 1
                self.count_flow(head)
                if self.cut:
                    self.stats["cut"] += 1
                    self.verdict(pid, NF_DROP)
                elif self.random.random() * 100 < self.loss:
                    self.stats["lost"] += 1
                    self.verdict(pid, NF_DROP)
                else:
                    self.stats["passed"] += 1
                    wait = self.delay + self.random.uniform(-self.jitter, self.jitter)
                    if wait > 0:
                        loop.call_later(wait, self.verdict, pid, NF_ACCEPT)
                    else:
                        self.verdict(pid, NF_ACCEPT)

    def count_flow(self, head: bytes) -> None:
        if len(head) < HEADERS or head[0] >> 4 != 4 or head[9] != socket.IPPROTO_UDP:
            return
        ihl = (head[0] & 0x0F) * 4
        if len(head) < ihl + 4:
            return
        sport, dport = struct.unpack_from("!HH", head, ihl)
        key = f"{socket.inet_ntoa(head[12:16])}:{sport}>{socket.inet_ntoa(head[16:20])}:{dport}"
        self.udp_flows[key] = self.udp_flows.get(key, 0) + 1

    def command(self, line: str) -> str | None:
        words = line.split()
        if not words:
            return None
        if words[0] == "cut":
            self.cut = True
        elif words[0] == "uncut":
            self.cut = False
        elif words[0] == "loss":
            self.loss = float(words[1])
        elif words[0] == "delay":
            self.delay = float(words[1]) / 1000
            self.jitter = float(words[2]) / 1000 if len(words) > 2 else 0.0
        elif words[0] == "stats":
            return json.dumps(self.stats)
        elif words[0] == "flows":
            return json.dumps(self.udp_flows)
        return "ok"


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="netimpair")
    p.add_argument("--queue", type=int, default=0)
    p.add_argument("--loss", type=float, default=0.0, help="percent of packets dropped")
    p.add_argument("--delay", type=float, default=0.0, help="ms")
    p.add_argument("--jitter", type=float, default=0.0, help="ms, uniform +-")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    imp = Impairer(args.queue, args.loss, args.delay, args.jitter, args.seed)
    imp.bind()
    loop = asyncio.get_running_loop()
    imp.sock.setblocking(False)
    loop.add_reader(imp.sock.fileno(), imp.on_readable)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode():
        if line.strip() == "quit":
            break
        answer = imp.command(line)
        if answer is not None:
            print(answer, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
