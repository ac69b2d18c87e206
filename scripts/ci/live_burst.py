#!/usr/bin/python3
"""One paho client sends COUNT QoS 1 messages as fast as it can.

usage: live_burst.py HOST PORT COUNT

No in-flight limit (max_inflight 0), so the PUBLISHes go out back to back
while the PUBACKs stream in. Prints one JSON line: messages acknowledged
and the seconds from the first PUBLISH to the last PUBACK.
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

HOST, PORT, COUNT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def client(**kw):
    # paho 2 wants the callback API version first; 1.6 (Debian 12) has none
    try:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, **kw)
    except AttributeError:
        return mqtt.Client(**kw)


acked = 0
done = threading.Event()


def on_publish(c, userdata, mid):
    global acked
    acked += 1
    if acked >= COUNT:
        done.set()


c = client(client_id="burst", clean_session=True)
c.max_inflight_messages_set(0)
c.max_queued_messages_set(0)
c.on_publish = on_publish
c.connect(HOST, PORT, keepalive=60)
c.loop_start()
deadline = time.time() + 5
while not c.is_connected():
    if time.time() > deadline:
        sys.exit("no CONNACK")
    time.sleep(0.01)
t0 = time.time()
for i in range(COUNT):
    c.publish("burst/q1", b"%08d" % i, qos=1)
done.wait(120)
secs = time.time() - t0
c.disconnect()
c.loop_stop()
print(json.dumps({"acked": acked, "seconds": round(secs, 3)}), flush=True)
sys.exit(0 if acked >= COUNT else 1)
