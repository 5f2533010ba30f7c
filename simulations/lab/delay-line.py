#!/usr/bin/python3
"""A WAN delay line: two TUN devices, every packet read from one is written to the other
after a fixed one-way delay, in both directions, in arrival order.

The kernel here has no netem (docs/simulations.md), so delay is made in userspace. The lab
starts this inside one namespace, waits for "ready", then moves the second device into the
other namespace; the open file descriptors follow the devices. Bandwidth (tc tbf on each
device's egress) and loss (nftables) stay in the kernel. Exits on SIGTERM or when stdin
closes (the lab that started it is gone).

usage: delay-line.py NAME_A NAME_B ONE_WAY_DELAY_MS [QUEUE_BYTES]
"""

import collections
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65536


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__ or "")
        sys.exit(2)
    name_a, name_b = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) / 1000.0
    # A bound on what waits in the line, per direction: past it the packet is dropped, as a
    # full router queue would (tbf upstream keeps the line well below it).
    queue_limit = int(sys.argv[4]) if len(sys.argv) == 5 else 8 * 1024 * 1024
    fd_a, fd_b = open_tun(name_a), open_tun(name_b)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # (fd read from) -> [fd written to, queue of (due time, packet), queued bytes]
    lines = {fd_a: [fd_b, collections.deque(), 0], fd_b: [fd_a, collections.deque(), 0]}
    dropped = 0
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        now = time.monotonic()
        due = [q[0][0] for _, q, _ in lines.values() if q]
        timeout = max(0.0, min(due) - now) if due else None
        readable, _, _ = select.select([fd_a, fd_b, stdin], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            if fd == stdin:
                if not os.read(stdin, 4096):
                    return
                continue
            line = lines[fd]
            # Drain what is there now, so a burst costs one select.
            for _ in range(256):
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                if line[2] + len(packet) > queue_limit:
                    dropped += 1
                    continue
                line[1].append((now + delay, packet))
                line[2] += len(packet)
        for line in lines.values():
            out, queue = line[0], line[1]
            while queue and queue[0][0] <= now:
                _, packet = queue.popleft()
                line[2] -= len(packet)
                try:
                    os.write(out, packet)
                except OSError:
                    # The device is down (a cut link): the packet is lost, as on a wire.
                    pass


if __name__ == "__main__":
    main()
