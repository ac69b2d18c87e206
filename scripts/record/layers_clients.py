#!/usr/bin/python3
"""paho-mqtt (1.6) clients for the WebSocket and TLS samples.

usage: layers_clients.py PLAN HOST [--cafile CA] [--keylog FILE]
  PLAN: ws     MQTT over WebSocket (ports 8080 and 9001, path /mqtt)
        tls12  MQTT in TLS 1.2 on 8883, one connection per cipher suite
        tls13  MQTT in TLS 1.3 on 8883/8884/8885 (the broker picks the suite)
        wss    MQTT over WebSocket in TLS on 8081 (one TLS 1.3, one TLS 1.2)
        alerts TLS on 8883 that fails: a TLS 1.2 and a TLS 1.3 client that
               trust another CA (--wrong-ca) abort the handshake with an
               alert; then a TLS 1.3 client with a 100,000-byte message

Every exchange is driven to completion before a client disconnects: each
publish waits for its last ack and each subscriber for every message it
should get, so no QoS 1/2 flow is left open. With --keylog every TLS
connection appends its secrets (NSS key log format) to FILE. Prints one line
per connection (client id, local port, TLS version and suite) to stdout.
Exits non-zero if anything is missing.
"""
import argparse
import ssl
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5
TIMEOUT = 10

ap = argparse.ArgumentParser()
ap.add_argument("plan", choices=["ws", "tls12", "tls13", "wss", "alerts"])
ap.add_argument("--wrong-ca", help="alerts: a CA that did not sign the broker's certificate")
ap.add_argument("host")
ap.add_argument("--cafile")
ap.add_argument("--keylog")
A = ap.parse_args()


def until(cond, what):
    deadline = time.time() + TIMEOUT
    while not cond():
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.01)


def tls_context(max_version=None, ciphers=None, cafile=None, min_version=None):
    ctx = ssl.create_default_context(cafile=cafile or A.cafile)  # verifies the broker's cert and IP SAN
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)  # TLS 1.2 suites only; TLS 1.3 suites are the broker's choice
    if A.keylog:
        ctx.keylog_filename = A.keylog
    return ctx


class Peer:
    def __init__(self, cid, proto, port, transport="tcp", ctx=None, keepalive=30):
        self.cid, self.proto, self.port, self.keepalive = cid, proto, port, keepalive
        self.got = []
        self.c = mqtt.Client(client_id=cid, protocol=proto, transport=transport,
                             clean_session=True if proto == V311 else None)
        if transport == "websockets":
            self.c.ws_set_options(path="/mqtt")  # paho asks for subprotocol "mqtt"
        if ctx is not None:
            self.c.tls_set_context(ctx)
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, m.qos, len(m.payload)))
        self.acks = []
        self.c.on_subscribe = lambda *a: self.acks.append("suback")
        self.c.on_unsubscribe = lambda *a: self.acks.append("unsuback")
        self.gone = False
        self.c.on_disconnect = lambda *a: setattr(self, "gone", True)

    def connect(self):
        if self.proto == V5:
            p = Properties(PacketTypes.CONNECT)
            p.SessionExpiryInterval = 0
            self.c.connect(A.host, self.port, keepalive=self.keepalive, clean_start=True, properties=p)
        else:
            self.c.connect(A.host, self.port, keepalive=self.keepalive)
        self.c.loop_start()
        until(self.c.is_connected, f"{self.cid}: CONNACK")
        sock = self.c.socket()
        raw = getattr(sock, "_socket", sock)  # the TCP/TLS socket under paho's WebSocket wrapper
        tls = f"{raw.version()} {raw.cipher()[0]}" if isinstance(raw, ssl.SSLSocket) else "-"
        print(f"{self.cid} {'5.0' if self.proto == V5 else '3.1.1'} "
              f"{raw.getsockname()[1]}->{self.port} {tls}", flush=True)
        return self

    def subscribe(self, subs):
        n = len(self.acks)
        self.c.subscribe(subs)
        until(lambda: len(self.acks) > n, f"{self.cid}: SUBACK")

    def unsubscribe(self, topic):
        n = len(self.acks)
        self.c.unsubscribe(topic)
        until(lambda: len(self.acks) > n, f"{self.cid}: UNSUBACK")

    def publish(self, topic, payload, qos, user=None):
        props = None
        if self.proto == V5 and user:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = user
        info = self.c.publish(topic, payload, qos=qos, properties=props)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            sys.exit(f"{self.cid}: publish to {topic} not acknowledged")

    def expect(self, n):
        until(lambda: len(self.got) >= n, f"{self.cid}: {n} messages (has {len(self.got)})")

    def close(self):
        time.sleep(0.2)  # the last PUBCOMP/PUBACK of a delivery reaches the broker first
        self.c.disconnect()
        until(lambda: self.gone, f"{self.cid}: disconnect")
        self.c.loop_stop()
        time.sleep(0.1)


def text(n, tag):
    """n bytes of numbered text lines, easy to recognise in a hex dump."""
    line = b"%s payload line %%06d ...............................\n" % tag.encode()
    return b"".join(line % i for i in range(n // len(line) + 1))[:n]


def loop_back(peer, base, big=0):
    """One connection talks to itself: subscribe BASE/# at QoS 2, publish QoS
    0, 1, 2 (and optionally one BIG-byte QoS 1 message) to BASE/..., receive
    them back, unsubscribe. Gives QoS 1 and 2 flows in both directions."""
    peer.subscribe([(base + "/#", 2)])
    sent = 0
    for q in (0, 1, 2):
        peer.publish(f"{base}/q{q}", f"{peer.cid} qos {q}".encode(), q, user=("conn", peer.cid))
        sent += 1
    if big:
        peer.publish(f"{base}/big", text(big, peer.cid), 1)
        sent += 1
    peer.expect(sent)
    peer.unsubscribe(base + "/#")


if A.plan == "ws":
    # A 5.0 subscriber on 8080 and publishers on 8080 (3.1.1) and 9001 (5.0).
    sub = Peer("ws-sub-v5", V5, 8080, "websockets").connect()
    sub.subscribe([("ws/#", 2), ("tmp/#", 1)])
    sub.unsubscribe("tmp/#")
    p1 = Peer("ws-pub-v311", V311, 8080, "websockets").connect()
    for q in (0, 1, 2):
        p1.publish(f"ws/room1/q{q}", f"3.1.1 over ws, qos {q}".encode(), q)
    p1.publish("ws/firmware", text(70000, "ws"), 1)  # > 64 KiB: 64-bit WebSocket length
    p1.close()
    p2 = Peer("ws-pub-v5", V5, 9001, "websockets", keepalive=2).connect()
    p2.publish("ws/room2/q2", b"5.0 over ws on 9001, qos 2", 2, user=("via", "9001"))
    p2.publish("ws/room2/q1", b"5.0 over ws on 9001, qos 1", 1, user=("via", "9001"))
    time.sleep(2.6)  # idle past the 2 s keepalive: PINGREQ/PINGRESP
    p2.publish("ws/room2/q0", b"5.0 over ws on 9001, qos 0", 0)
    sub.expect(7)
    sizes = sorted(n for _, _, n in sub.got)
    if sizes[-1] != 70000:
        sys.exit(f"subscriber got sizes {sizes}")
    p2.close()
    sub.close()
elif A.plan == "tls12":
    for cid, proto, suite, big in (("tls12-aes128", V311, "ECDHE-ECDSA-AES128-GCM-SHA256", 20000),
                                   ("tls12-aes256", V5, "ECDHE-ECDSA-AES256-GCM-SHA384", 0),
                                   ("tls12-chacha", V5, "ECDHE-ECDSA-CHACHA20-POLY1305", 0)):
        ctx = tls_context(ssl.TLSVersion.TLSv1_2, suite)
        peer = Peer(cid, proto, 8883, ctx=ctx).connect()
        loop_back(peer, "tls12/" + cid, big)
        peer.close()
elif A.plan == "tls13":
    for cid, proto, port, big in (("tls13-aes128", V311, 8883, 0),
                                  ("tls13-aes256", V5, 8884, 20000),
                                  ("tls13-chacha", V5, 8885, 0)):
        peer = Peer(cid, proto, port, ctx=tls_context()).connect()
        loop_back(peer, "tls13/" + cid, big)
        peer.close()
elif A.plan == "wss":
    for cid, proto, maxv, big in (("wss-v311-tls13", V311, None, 0),
                                  ("wss-v5-tls12", V5, ssl.TLSVersion.TLSv1_2, 20000)):
        ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256" if maxv else None
        peer = Peer(cid, proto, 8081, "websockets", ctx=tls_context(maxv, ciphers)).connect()
        loop_back(peer, "wss/" + cid, big)
        peer.close()
elif A.plan == "alerts":
    for cid, v in (("alert-tls12", ssl.TLSVersion.TLSv1_2), ("alert-tls13", ssl.TLSVersion.TLSv1_3)):
        ctx = tls_context(v, cafile=A.wrong_ca, min_version=v)
        c = mqtt.Client(client_id=cid, protocol=V311)
        c.tls_set_context(ctx)
        try:
            c.connect(A.host, 8883)
            sys.exit(f"{cid}: the handshake should have failed")
        except ssl.SSLCertVerificationError as e:
            print(f"{cid} 3.1.1 - {v.name} refused: {e.verify_message}", flush=True)
        time.sleep(0.3)
    peer = Peer("tls13-big", V5, 8883, ctx=tls_context(ssl.TLSVersion.TLSv1_3)).connect()
    loop_back(peer, "alerts/tls13-big", 100000)
    peer.close()
