#!/usr/bin/python3
"""A fake MQTT broker that answers CONNECT and PINGREQ but holds back PUBACK.

usage: live_fake_broker.py ADDR PORT DELAY

DELAY < 0: a QoS 1 PUBLISH is never acknowledged; otherwise its PUBACK is
sent DELAY seconds after the PUBLISH arrived. One line per event on stdout
("publish ID TIME", "puback ID TIME"), TIME being time.time(), so the test
knows when the broker saw what. For tests/live_netns.rs: runs inside a
network namespace the test made, on its loopback.
"""
import socket
import sys
import threading
import time

ADDR, PORT, DELAY = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


def log(*words):
    print(*words, repr(time.time()), flush=True)


def parse(buf):
    """(packet, rest, header length) or None when buf holds no whole packet."""
    if len(buf) < 2:
        return None
    n, mult, i = 0, 1, 1
    while True:
        if i >= len(buf) or i > 4:
            return None
        b = buf[i]
        n += (b & 127) * mult
        mult *= 128
        i += 1
        if not b & 128:
            break
    if len(buf) < i + n:
        return None
    return buf[: i + n], buf[i + n :], i


def serve(conn):
    lock = threading.Lock()

    def send(data):
        with lock:
            try:
                conn.sendall(data)
            except OSError:
                pass

    buf = b""
    while True:
        got = parse(buf)
        if got is None:
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            continue
        pkt, buf, hl = got
        kind = pkt[0] >> 4
        if kind == 1:  # CONNECT
            send(b"\x20\x02\x00\x00")
            log("connack")
        elif kind == 3:  # PUBLISH
            qos = (pkt[0] >> 1) & 3
            tlen = int.from_bytes(pkt[hl : hl + 2], "big")
            pid = pkt[hl + 2 + tlen : hl + 4 + tlen] if qos else b""
            log("publish", int.from_bytes(pid, "big") if pid else 0)
            if qos == 1 and DELAY >= 0:

                def ack(pid=pid):
                    send(b"\x40\x02" + pid)
                    log("puback", int.from_bytes(pid, "big"))

                threading.Timer(DELAY, ack).start()
        elif kind == 12:  # PINGREQ
            send(b"\xd0\x00")
        elif kind == 14:  # DISCONNECT
            break
    conn.close()
    log("closed")


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((ADDR, PORT))
srv.listen(16)
log("listening")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
