#!/usr/bin/python3
"""MQTT over WebSocket with hand-placed frame boundaries (websocket-client).

usage: ws_frames.py HOST

paho puts every MQTT packet in one WebSocket frame of its own. This client
(python3-websocket, i.e. websocket-client, which masks every frame as RFC
6455 requires of a client) writes the MQTT bytes itself, so the capture holds
what MQTT over WebSocket allows and paho never does:

connection A, port 8080, MQTT 3.1.1 (client id ws-frames-a):
  - CONNECT in one binary frame;
  - a WebSocket ping with payload "ping-1" (the broker's libwebsockets answers
    with a pong carrying the same payload);
  - SUBSCRIBE raw/# (QoS 2) as a fragmented message: a binary frame without
    FIN and a continuation frame with FIN;
  - a 3000-byte QoS 1 PUBLISH spread over three binary messages of their own:
    the first holds only the fixed header byte and the first byte of the
    2-byte remaining length, the second ends in the middle of the payload;
  - a QoS 2 PUBLISH and a PINGREQ together in one binary frame;
  - the deliveries (QoS 1 and 2) acknowledged, then DISCONNECT and a
    WebSocket close with status 1000 "bye", both frames in one TCP segment
    (the broker answers with its own close frame, then FIN).
connection B, port 9001, MQTT 5.0 (client id ws-frames-b), keepalive 1 s:
  - CONNECT, one QoS 0 PUBLISH, then silence until the broker gives up on
    the client: it closes the TCP connection (FIN) with neither an MQTT
    DISCONNECT nor a WebSocket close frame, about 4 s later.
connection C, port 8080, MQTT 3.1.1 (client id ws-frames-c):
  - CONNECT, then a PINGREQ in an *unmasked* client frame (against RFC 6455;
    libwebsockets 4.1 accepts it and mosquitto answers PINGRESP);
  - a WebSocket close with status 1001 "going away" and no MQTT DISCONNECT
    (the broker echoes the close frame, then FIN).
Prints one line per connection (client id, version, ports). Exits non-zero if
the broker does not answer as expected.
"""
import sys
import time

import websocket
from websocket import ABNF

HOST = sys.argv[1]


def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return len(x).to_bytes(2, "big") + x


def pkt(first, body):
    return bytes([first]) + varint(len(body)) + body


def connect(cid, level, keepalive):
    props = b"\x00" if level == 5 else b""
    return pkt(0x10, s("MQTT") + bytes([level, 0x02]) + keepalive.to_bytes(2, "big") + props + s(cid))


def publish(topic, payload, qos, pid=0, v5=False):
    body = s(topic) + (pid.to_bytes(2, "big") if qos else b"") + (b"\x00" if v5 else b"") + payload
    return pkt(0x30 | qos << 1, body)


def ack(first, pid):
    return pkt(first, pid.to_bytes(2, "big"))


class Conn:
    """A WebSocket with an MQTT packet reader that acknowledges deliveries."""

    def __init__(self, cid, port, level):
        self.cid, self.level = cid, level
        self.ws = websocket.create_connection(f"ws://{HOST}:{port}/mqtt", subprotocols=["mqtt"], timeout=10)
        if self.ws.getsubprotocol() != "mqtt":
            sys.exit(f"{cid}: broker chose subprotocol {self.ws.getsubprotocol()!r}")
        self.buf = b""
        self.seen = []  # (type, packet id or None)
        self.pongs = []
        self.closed = None
        self.delivered = []
        ls = self.ws.sock.getsockname()[1]
        print(f"{cid} {'5.0' if level == 5 else '3.1.1'} {ls}->{port}", flush=True)

    def frame(self, data, opcode=ABNF.OPCODE_BINARY, fin=1):
        self.ws.send_frame(ABNF.create_frame(data, opcode, fin))

    def pump(self):
        """Read one WebSocket frame and handle what it completes."""
        op, fr = self.ws.recv_data_frame(control_frame=True)  # answers pings itself
        if op == ABNF.OPCODE_PONG:
            self.pongs.append(fr.data)
        elif op == ABNF.OPCODE_CLOSE:
            self.closed = fr.data
        elif op in (ABNF.OPCODE_BINARY, ABNF.OPCODE_CONT):
            self.buf += fr.data
            self.parse()
        else:
            sys.exit(f"{self.cid}: unexpected opcode {op}")

    def parse(self):
        while len(self.buf) >= 2:
            n, mult, i = 0, 1, 1
            while True:
                if i >= len(self.buf):
                    return
                b = self.buf[i]
                n += (b & 0x7F) * mult
                mult *= 128
                i += 1
                if not b & 0x80:
                    break
            if len(self.buf) < i + n:
                return
            first, body, self.buf = self.buf[0], self.buf[i:i + n], self.buf[i + n:]
            t = first >> 4
            pid = None
            if t in (4, 5, 6, 7, 9, 11):
                pid = int.from_bytes(body[:2], "big")
            elif t == 3:
                qos = (first >> 1) & 3
                tl = int.from_bytes(body[:2], "big")
                if qos:
                    pid = int.from_bytes(body[2 + tl:4 + tl], "big")
                    self.frame(ack(0x40 if qos == 1 else 0x50, pid))
                self.delivered.append((body[2:2 + tl].decode(), qos))
            if t == 6:
                self.frame(ack(0x70, pid))  # PUBREL from the broker: PUBCOMP
            self.seen.append((t, pid))

    def until(self, cond, what):
        deadline = time.time() + 10
        while not cond():
            if time.time() > deadline:
                sys.exit(f"{self.cid}: timed out waiting for {what}; seen {self.seen}")
            self.pump()

    def has(self, t, pid=None):
        return lambda: any(x == t and (pid is None or p == pid) for x, p in self.seen)


# --- connection A: 3.1.1 on 8080, frame boundaries anywhere
a = Conn("ws-frames-a", 8080, 4)
a.frame(connect(a.cid, 4, 60))
a.until(a.has(2), "CONNACK")
a.ws.ping("ping-1")
a.until(lambda: a.pongs, "pong")
sub = pkt(0x82, (1).to_bytes(2, "big") + s("raw/#") + b"\x02")
a.frame(sub[:5], fin=0)  # binary, no FIN
a.frame(sub[5:], ABNF.OPCODE_CONT, fin=1)
a.until(a.has(9, 1), "SUBACK")
big = b"".join(b"split payload line %04d .......................\n" % i for i in range(70))[:3000]
p1 = publish("raw/split", big, 1, pid=2)
for part in (p1[:2], p1[2:1500], p1[1500:]):  # 3 messages; the 1st cuts the remaining length
    a.frame(part)
a.until(a.has(4, 2), "PUBACK")
a.frame(publish("raw/pair", b"qos 2 and a PINGREQ in one frame", 2, pid=3) + b"\xc0\x00")
a.until(a.has(5, 3), "PUBREC")
a.frame(ack(0x62, 3))
a.until(lambda: a.has(7, 3)() and a.has(13)() and len(a.delivered) == 2 and a.has(6)(),
        "PUBCOMP, PINGRESP and both deliveries")
time.sleep(0.2)  # the last PUBCOMP reaches the broker
# DISCONNECT and the close frame in one write, so the broker reads both before
# it drops the connection for the DISCONNECT (else it may FIN first and reset
# the late close frame)
a.ws.sock.sendall(ABNF.create_frame(b"\xe0\x00", ABNF.OPCODE_BINARY).format() +
                  ABNF.create_frame((1000).to_bytes(2, "big") + b"bye", ABNF.OPCODE_CLOSE).format())
while a.ws.sock.recv(4096):  # the broker's close frame, then its FIN
    pass
a.ws.shutdown()
print(f"ws-frames-a: pong {a.pongs}, deliveries {a.delivered}", file=sys.stderr)

# --- connection B: 5.0 on 9001, given up by the broker after its keepalive
time.sleep(0.3)
b = Conn("ws-frames-b", 9001, 5)
b.frame(connect(b.cid, 5, 1))
b.until(b.has(2), "CONNACK")
b.frame(publish("raw/idle", b"then silence", 0, v5=True))
t0 = time.time()
try:
    while b.closed is None and time.time() - t0 < 5:
        b.pump()
except websocket.WebSocketConnectionClosedException:
    pass
print(f"ws-frames-b: after {time.time() - t0:.1f} s: seen {b.seen}, close from broker {b.closed!r}",
      file=sys.stderr)
b.ws.shutdown()

# --- connection C: 3.1.1 on 8080, one unmasked client frame
time.sleep(0.3)
c = Conn("ws-frames-c", 8080, 4)
c.frame(connect(c.cid, 4, 60))
c.until(c.has(2), "CONNACK")
c.ws.sock.send(ABNF(1, 0, 0, 0, ABNF.OPCODE_BINARY, 0, b"\xc0\x00").format())  # PINGREQ, mask bit 0
c.until(c.has(13), "PINGRESP to the unmasked PINGREQ")
c.ws.close(status=1001, reason=b"going away", timeout=3)  # no MQTT DISCONNECT first
print("ws-frames-c: the broker answered an unmasked frame", file=sys.stderr)
