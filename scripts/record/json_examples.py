#!/usr/bin/env python3
"""MQTT 5.0 peers for the capture behind docs/json.md's examples.

usage: json_examples.py HOST PORT   (run inside the recording namespace)

Raw sockets (scripts/faults/mqttraw.py) so that every field the examples
show is chosen: a CONNECT with will, will properties, user name and
password; PUBLISHes with properties and a topic alias; acks with reason
codes (a real mosquitto answers "No matching subscribers" to a PUBLISH
nobody wants); SUBSCRIBE options; UNSUBACK reason codes; DISCONNECT with a
reason (the will is sent); and an AUTH packet, after which mosquitto 2.0
(no authentication plugin) closes the connection.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "faults"))
import mqttraw as m  # noqa: E402
from mqttraw import packet, s, u16, varint  # noqa: E402


def prop_u8(pid, v):
    return bytes([pid, v])


def prop_u16(pid, v):
    return bytes([pid]) + u16(v)


def prop_u32(pid, v):
    return bytes([pid]) + struct.pack(">I", v)


def prop_str(pid, text):
    return bytes([pid]) + s(text)


def prop_varint(pid, v):
    return bytes([pid]) + varint(v)


def user(k, v):
    return bytes([0x26]) + s(k) + s(v)


def props(*items):
    block = b"".join(items)
    return varint(len(block)) + block


def connect5(client_id, properties, flags=0x02, keepalive=30, tail=b""):
    body = s("MQTT") + bytes([5, flags]) + u16(keepalive) + properties + s(client_id) + tail
    return packet(m.CONNECT, 0, body)


def publish5(topic, payload, qos, pid=None, properties=b""):
    body = s(topic) + (u16(pid) if qos else b"") + (properties or props())
    return packet(m.PUBLISH, qos << 1, body + payload)


def ack5(ptype, pid, code=None, properties=b""):
    body = u16(pid)
    if code is not None:
        body += bytes([code]) + (properties or props())
    return packet(ptype, 0x02 if ptype == m.PUBREL else 0, body)


def main():
    host, port = sys.argv[1], int(sys.argv[2])

    sub = m.Conn.dial("sub", host, port)
    sub.send(connect5("docs-sub", props(prop_u16(0x21, 20), prop_u16(0x22, 5))))
    sub.expect(m.CONNACK)
    # filter 1: QoS 1, no local, retain as published, retain handling 1
    # (0x1d); filter 2: QoS 2, retain handling 2 (0x22)
    body = u16(1) + props(prop_varint(0x0B, 7), user("team", "docs"))
    body += s("docs/will/#") + bytes([0x1D]) + s("docs/alias/#") + bytes([0x22])
    sub.send(packet(m.SUBSCRIBE, 0x02, body))
    sub.expect(m.SUBACK)

    # user name, password, will QoS 1, clean start: 0xce
    will = props(prop_u32(0x18, 0), prop_u8(0x01, 1), prop_str(0x03, "text/plain"),
                 prop_u32(0x02, 300))
    tail = will + s("docs/will/docs-pub") + s("docs-pub went away") + s("docs") + s("s3cret!")
    pub = m.Conn.dial("pub", host, port)
    pub.send(connect5("docs-pub", props(prop_u32(0x11, 120), prop_u16(0x22, 3)),
                      flags=0xCE, tail=tail))
    pub.expect(m.CONNACK)

    def delivered(qos):
        p = sub.expect(m.PUBLISH)
        if qos == 1:
            sub.send(ack5(m.PUBACK, p.pid))
        return p

    full = props(prop_u16(0x23, 1), prop_u8(0x01, 1), prop_str(0x03, "text/plain"),
                 prop_str(0x08, "docs/reply"), bytes([0x09]) + s(b"\x01\x02"),
                 user("unit", "C"))
    pub.send(publish5("docs/alias/temp", b"21.5", 1, 1, full))
    pub.expect(m.PUBACK)
    delivered(1)
    pub.send(publish5("", b"21.6", 1, 2, props(prop_u16(0x23, 1))))
    pub.expect(m.PUBACK)
    delivered(1)
    pub.send(publish5("docs/alias/raw", b"\x00\x01\xfe\xff", 0))
    delivered(0)

    # nobody subscribes to docs/nobody: reason code 0x10 in PUBACK and PUBREC
    pub.send(publish5("docs/nobody", b"lost", 1, 3))
    pub.expect(m.PUBACK)
    pub.send(publish5("docs/nobody", b"lost too", 2, 4))
    pub.expect(m.PUBREC)
    pub.send(ack5(m.PUBREL, 4))
    pub.expect(m.PUBCOMP)

    body = u16(2) + props(user("why", "docs")) + s("docs/alias/#") + s("docs/never")
    sub.send(packet(m.UNSUBSCRIBE, 0x02, body))
    sub.expect(m.UNSUBACK)
    sub.send(m.pingreq())
    sub.expect(m.PINGRESP)

    # 0x04: disconnect with will message; the broker sends the will to sub
    pub.send(packet(m.DISCONNECT, 0, bytes([0x04]) + props(prop_str(0x1F, "docs example"))))
    pub.wait_closed()
    pub.close()
    delivered(1)

    # AUTH without an authentication method in CONNECT
    auth = m.Conn.dial("auth", host, port)
    auth.send(connect5("docs-auth", props()))
    auth.expect(m.CONNACK)
    auth.send(packet(m.AUTH, 0, bytes([0x19]) + props(prop_str(0x15, "SCRAM-SHA-256"),
                                                       bytes([0x16]) + s(b"n,,n=docs,r=x1"))))
    try:
        reply = auth.recv()
        m.log("auth: broker answered", reply, reply.body.hex())
        auth.wait_closed()
    except (EOFError, ConnectionResetError):
        m.log("auth: broker closed the connection")
    auth.close()

    sub.send(m.disconnect())
    sub.wait_closed()
    sub.close()


if __name__ == "__main__":
    main()
