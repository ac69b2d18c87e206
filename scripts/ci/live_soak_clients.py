#!/usr/bin/python3
"""Many paho clients in one process, for the soak test of tests/live_netns.rs.

usage: live_soak_clients.py HOST PORT CLIENTS SECONDS

Every client keeps a persistent session (clean_session false) and, for
SECONDS, publishes once a second at QoS (its number mod 3), disconnects
every 10-20 s and reconnects after a second offline. The first tenth are
also subscribers (QoS 1 on soak/K/#, K their number): while they are away
the broker queues their messages and redelivers them on the reconnect.
All sockets are driven by one select() loop (paho's external event loop),
so hundreds of clients cost one thread. Prints one JSON line of counts at
the end.
"""
import json
import random
import select
import sys
import time

import paho.mqtt.client as mqtt

HOST, PORT, N, SECS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
GROUPS = 20
SUBSCRIBERS = max(1, N // 10)
random.seed(7)

counts = {"published": [0, 0, 0], "acked": 0, "received": 0, "connects": 0, "connect_errors": 0}


def client(**kw):
    # paho 2 wants the callback API version first; 1.6 (Debian 12) has none
    try:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, **kw)
    except AttributeError:
        return mqtt.Client(**kw)


class Peer:
    def __init__(self, i, now):
        self.i = i
        self.qos = i % 3
        self.topic = f"soak/{i % GROUPS}/c{i}"
        self.c = client(client_id=f"soak-{i}", clean_session=False)
        self.c.max_inflight_messages_set(20)
        self.c.on_connect = self.on_connect
        self.c.on_publish = lambda *a: counts.__setitem__("acked", counts["acked"] + 1)
        self.c.on_message = lambda *a: counts.__setitem__("received", counts["received"] + 1)
        self.online = False
        self.next_pub = now + random.random()
        self.leave_at = now + random.uniform(10, 20)
        self.back_at = None

    def on_connect(self, c, userdata, flags, rc):
        if rc == 0:
            self.online = True
            counts["connects"] += 1
            if self.i < SUBSCRIBERS:
                c.subscribe(f"soak/{self.i}/#", qos=1)

    def connect(self, first):
        try:
            if first:
                self.c.connect(HOST, PORT, keepalive=30)
            else:
                self.c.reconnect()
        except OSError:
            counts["connect_errors"] += 1
            self.back_at = time.time() + 1

    def step(self, now):
        if self.back_at is not None:
            if now >= self.back_at:
                self.back_at = None
                self.leave_at = now + random.uniform(10, 20)
                self.connect(False)
            return
        if not self.online:
            return
        if now >= self.leave_at:
            self.online = False
            self.c.disconnect()  # writes DISCONNECT and closes (no loop thread)
            self.back_at = now + 1
            return
        if now >= self.next_pub:
            self.next_pub += 1
            if self.next_pub < now:
                self.next_pub = now + 1
            self.c.publish(self.topic, b"%d %f" % (self.i, now), qos=self.qos)
            counts["published"][self.qos] += 1


start = time.time()
peers = [Peer(i, start) for i in range(N)]
for p in peers:
    p.connect(True)
end = start + SECS
last_misc = 0.0
while True:
    now = time.time()
    if now >= end:
        break
    socks = {}
    for p in peers:
        s = p.c.socket()
        if s is not None:
            socks[s] = p
    want_w = [s for s, p in socks.items() if p.c.want_write()]
    r, w, _ = select.select(list(socks), want_w, [], 0.02)
    for s in r:
        socks[s].c.loop_read()
    for s in w:
        socks[s].c.loop_write()
    now = time.time()
    if now - last_misc >= 0.5:
        last_misc = now
        for p in peers:
            p.c.loop_misc()
    for p in peers:
        p.step(now)
# let the last acks arrive, then leave cleanly
drain = time.time() + 2
while time.time() < drain:
    socks = {p.c.socket(): p for p in peers if p.c.socket() is not None}
    want_w = [s for s, p in socks.items() if p.c.want_write()]
    r, w, _ = select.select(list(socks), want_w, [], 0.05)
    for s in r:
        socks[s].c.loop_read()
    for s in w:
        socks[s].c.loop_write()
for p in peers:
    if p.c.socket() is not None:
        p.c.disconnect()
print(json.dumps(counts), flush=True)
