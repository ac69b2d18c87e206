#!/usr/bin/python3
"""A two-port Ethernet link emulator in user space: netem's delay/reorder/loss
for kernels built without sch_netem.

usage: linkem.py TAP_A TAP_B READY_FILE [--delay-ms 10] [--reorder 25]
                 [--reorder-corr 50] [--loss 0] [--seed 1]

Creates TAP devices TAP_A and TAP_B in the current network namespace (move
one of them into another namespace afterwards; the link keeps working) and
forwards every frame from one to the other. Like `netem delay D reorder R% C%`,
each frame is either sent at once (probability R, correlated by C) or held
back for D ms, so a frame sent at once can overtake earlier, delayed ones.
With --loss, that share of frames is dropped instead. READY_FILE is written
once both devices exist. SIGTERM/SIGINT end it and print counters.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Correlated:
    """netem's correlated random source: next = (1-c)*uniform + c*previous."""

    def __init__(self, rng, corr):
        self.rng, self.corr, self.last = rng, corr, rng.random()

    def __call__(self):
        self.last = (1 - self.corr) * self.rng.random() + self.corr * self.last
        return self.last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tap_a")
    ap.add_argument("tap_b")
    ap.add_argument("ready_file")
    ap.add_argument("--delay-ms", type=float, default=10.0)
    ap.add_argument("--reorder", type=float, default=25.0, help="percent sent without delay")
    ap.add_argument("--reorder-corr", type=float, default=50.0, help="percent correlation")
    ap.add_argument("--loss", type=float, default=0.0, help="percent dropped")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    reorder_rnd = Correlated(rng, a.reorder_corr / 100)
    fa, fb = open_tap(a.tap_a), open_tap(a.tap_b)
    peer = {fa: fb, fb: fa}
    with open(a.ready_file, "w") as f:
        f.write(f"{os.getpid()}\n")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    queue, seq = [], 0  # (due, seq, fd, frame)
    stats = {"forwarded": 0, "immediate": 0, "delayed": 0, "dropped": 0, "write_errors": 0}
    delay = a.delay_ms / 1000

    def send(fd, frame):
        try:
            os.write(fd, frame)
            stats["forwarded"] += 1
        except OSError:
            stats["write_errors"] += 1

    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, frame = heapq.heappop(queue)
            send(fd, frame)
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            ready, _, _ = select.select([fa, fb], [], [], timeout)
        except InterruptedError:
            continue
        for src in ready:
            while True:
                try:
                    frame = os.read(src, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if a.loss and rng.random() * 100 < a.loss:
                    stats["dropped"] += 1
                    continue
                if delay == 0 or reorder_rnd() * 100 < a.reorder:
                    stats["immediate"] += 1
                    send(peer[src], frame)
                else:
                    stats["delayed"] += 1
                    seq += 1
                    heapq.heappush(queue, (time.monotonic() + delay, seq, peer[src], frame))
    print("linkem: " + ", ".join(f"{k} {v}" for k, v in stats.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
