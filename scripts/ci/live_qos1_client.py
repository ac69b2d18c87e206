#!/usr/bin/python3
"""One paho client: CONNECT, one QoS 1 PUBLISH, hold the connection open.

usage: live_qos1_client.py HOST PORT HOLD_SECONDS

Prints "published TIME" when the PUBLISH was handed to the socket and
"closing TIME" just before it sends DISCONNECT, HOLD_SECONDS later
(time.time()), so the test can tell what it saw while the connection was
open. It does not wait for the PUBACK: the broker may never send it.
"""
import sys
import time

import paho.mqtt.client as mqtt

HOST, PORT, HOLD = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


def client(**kw):
    # paho 2 wants the callback API version first; 1.6 (Debian 12) has none
    try:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, **kw)
    except AttributeError:
        return mqtt.Client(**kw)


c = client(client_id="qos1-held", clean_session=True)
c.connect(HOST, PORT, keepalive=60)
c.loop_start()
deadline = time.time() + 5
while not c.is_connected():
    if time.time() > deadline:
        sys.exit("no CONNACK")
    time.sleep(0.01)
c.publish("held/qos1", b"are you there?", qos=1)
print("published", repr(time.time()), flush=True)
time.sleep(HOLD)
print("closing", repr(time.time()), flush=True)
c.disconnect()
c.loop_stop()
