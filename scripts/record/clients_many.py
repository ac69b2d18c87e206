#!/usr/bin/python3
"""Five paho-mqtt (1.6) clients at once against one broker, 3.1.1 and 5.0 mixed.

usage: clients_many.py HOST PORT

Every exchange is driven to completion before anyone disconnects: each
publish waits for its last ack, and the subscribers wait until they hold
every message that matches their wildcards, so the recording has no
unfinished QoS 1/2 flow. Exits non-zero if anything is missing.
"""
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HOST, PORT = sys.argv[1], int(sys.argv[2])
V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5


class Peer:
    def __init__(self, cid, proto, subs=()):
        self.cid, self.proto, self.subs = cid, proto, list(subs)
        self.got = []
        self.c = mqtt.Client(client_id=cid, protocol=proto,
                             clean_session=True if proto == V311 else None)
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, m.qos, bytes(m.payload)))

    def connect(self):
        if self.proto == V5:
            p = Properties(PacketTypes.CONNECT)
            p.SessionExpiryInterval = 0
            p.ReceiveMaximum = 16
            self.c.connect(HOST, PORT, keepalive=30, clean_start=True, properties=p)
        else:
            self.c.connect(HOST, PORT, keepalive=30)
        self.c.loop_start()
        deadline = time.time() + 5
        while not self.c.is_connected():
            if time.time() > deadline:
                sys.exit(f"{self.cid}: no CONNACK")
            time.sleep(0.01)
        if self.subs:
            acked = []
            self.c.on_subscribe = lambda *a: acked.append(1)
            self.c.subscribe([(t, q) for t, q in self.subs])
            while not acked:
                if time.time() > deadline:
                    sys.exit(f"{self.cid}: no SUBACK")
                time.sleep(0.01)

    def publish(self, topic, payload, qos, seq):
        props = None
        if self.proto == V5:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("seq", str(seq))
        info = self.c.publish(topic, payload, qos=qos, properties=props)
        info.wait_for_publish(5)
        if not info.is_published():
            sys.exit(f"{self.cid}: publish {seq} not acknowledged")

    def wants(self, topic):
        return max((q for t, q in self.subs if mqtt.topic_matches_sub(t, topic)), default=None)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


subscribers = [
    Peer("dash-v311", V311, [("sensors/+/temp", 2), ("alerts/#", 1)]),
    Peer("logger-v5", V5, [("sensors/#", 1), ("alerts/+", 2)]),
    Peer("valve-v5", V5, [("cmd/valve/+", 2)]),  # also publishes
]
publishers = [Peer("gw-north-v311", V311), Peer("gw-south-v5", V5), subscribers[2]]
everyone = subscribers + publishers[:2]
for p in everyone:
    p.connect()
    time.sleep(0.05)

plan = []  # (publisher, topic, qos)
for i in range(8):
    plan.append((publishers[0], f"sensors/north{i % 2}/temp", i % 3))
    plan.append((publishers[1], f"sensors/south{i % 3}/" + ("temp" if i % 2 else "humidity"), (i + 1) % 3))
    if i % 3 == 0:
        plan.append((publishers[0], f"cmd/valve/{i}", 2))
    if i % 4 == 1:
        plan.append((publishers[1], "alerts/pressure", (i // 4) % 3))
    if i % 4 == 3:
        plan.append((publishers[2], "alerts/valve/stuck", 1))

expected = {s.cid: 0 for s in subscribers}
for seq, (pub, topic, qos) in enumerate(plan):
    pub.publish(topic, f"{pub.cid} #{seq} q{qos}".encode(), qos, seq)
    for s in subscribers:
        if s.wants(topic) is not None:
            expected[s.cid] += 1
    time.sleep(0.03)

deadline = time.time() + 10
while any(len(s.got) < expected[s.cid] for s in subscribers):
    if time.time() > deadline:
        sys.exit("missing deliveries: " + ", ".join(f"{s.cid} {len(s.got)}/{expected[s.cid]}" for s in subscribers))
    time.sleep(0.05)
time.sleep(0.5)  # last PUBCOMPs from subscribers reach the broker
for p in everyone:
    p.close()
    time.sleep(0.05)
print(f"published {len(plan)}, delivered " +
      ", ".join(f"{s.cid} {len(s.got)}/{expected[s.cid]}" for s in subscribers), file=sys.stderr)
