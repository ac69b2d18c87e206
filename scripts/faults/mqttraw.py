"""A deliberately tiny MQTT codec for scripted peers that must misbehave.

Real clients and brokers refuse to send most protocol faults, so the fault
captures need peers whose every byte is chosen by hand. This module builds
those bytes (fixed header, remaining-length varint, length-prefixed strings)
and reads packets back just far enough to react to them. It checks nothing:
that is the point.
"""
import socket
import struct
import threading
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15
NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
         12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}

HOST, PORT = "127.0.0.1", 1883


# --- encoding -------------------------------------------------------------

def varint(n):
    """MQTT variable byte integer (remaining length, property lengths)."""
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def s(text):
    """Two-byte-length-prefixed UTF-8 string."""
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(raw)) + raw


def u16(n):
    return struct.pack(">H", n)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def props(*items):
    """Property block for MQTT 5: items are already-encoded (id byte + value)."""
    block = b"".join(items)
    return varint(len(block)) + block


def connect(client_id, keepalive=60, clean=True, version=4, properties=b""):
    body = s("MQTT") + bytes([version, 0x02 if clean else 0x00]) + u16(keepalive)
    if version == 5:
        body += properties or props()
    return packet(CONNECT, 0, body + s(client_id))


def connack(session_present=False, code=0, version=4, properties=b""):
    body = bytes([1 if session_present else 0, code])
    if version == 5:
        body += properties or props()
    return packet(CONNACK, 0, body)


def publish(topic, payload, qos=0, pid=None, dup=False, retain=False, version=4, qos_bits=None):
    """qos_bits overrides the two QoS bits of the header (to send QoS 3)."""
    bits = qos if qos_bits is None else qos_bits
    flags = (0x08 if dup else 0) | (bits << 1) | (1 if retain else 0)
    body = s(topic)
    if pid is not None:
        body += u16(pid)
    if version == 5:
        body += props()
    return packet(PUBLISH, flags, body + (payload.encode() if isinstance(payload, str) else payload))


def ack(ptype, pid):
    """PUBACK / PUBREC / PUBREL / PUBCOMP (PUBREL carries the mandatory flags 0b0010)."""
    return packet(ptype, 0x02 if ptype == PUBREL else 0, u16(pid))


def subscribe(pid, filters, version=4):
    body = u16(pid) + (props() if version == 5 else b"")
    for flt, qos in filters:
        body += s(flt) + bytes([qos])
    return packet(SUBSCRIBE, 0x02, body)


def suback(pid, codes, version=4):
    return packet(SUBACK, 0, u16(pid) + (props() if version == 5 else b"") + bytes(codes))


def pingreq():
    return packet(PINGREQ, 0, b"")


def pingresp():
    return packet(PINGRESP, 0, b"")


def disconnect():
    return packet(DISCONNECT, 0, b"")


# --- decoding (just enough to react) ---------------------------------------

class Packet:
    def __init__(self, ptype, flags, body, version=4):
        self.type, self.flags, self.body = ptype, flags, body
        self.name = NAMES.get(ptype, str(ptype))
        self.qos = (flags >> 1) & 3 if ptype == PUBLISH else None
        self.dup = bool(flags & 0x08) if ptype == PUBLISH else None
        self.topic = None
        self.pid = None
        if ptype == PUBLISH:
            tlen = struct.unpack(">H", body[:2])[0]
            self.topic = body[2:2 + tlen].decode(errors="replace")
            if self.qos:
                self.pid = struct.unpack(">H", body[2 + tlen:4 + tlen])[0]
        elif ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK) and len(body) >= 2:
            self.pid = struct.unpack(">H", body[:2])[0]

    def __repr__(self):
        extra = f" qos={self.qos} dup={int(self.dup)}" if self.type == PUBLISH else ""
        return f"<{self.name}{extra} pid={self.pid} topic={self.topic}>"


class Conn:
    """A blocking MQTT byte pipe with a lock so that timers can send too."""

    def __init__(self, sock, label):
        self.sock, self.label = sock, label
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lock = threading.Lock()
        self.buf = b""

    @classmethod
    def dial(cls, label, host=HOST, port=PORT):
        return cls(socket.create_connection((host, port)), label)

    def send(self, data, pause=0.05):
        """Send bytes, then pause so that each packet gets its own TCP segment."""
        with self.lock:
            self.sock.sendall(data)
        log(self.label, "sent", data[:1].hex(), len(data), "bytes")
        if pause:
            time.sleep(pause)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError from None
            if not chunk:
                raise EOFError
            self.buf += chunk

    def recv(self, timeout=5.0):
        """Next packet; TimeoutError when none came in time, EOFError on close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill(2, deadline)
        mult, length, i = 1, 0, 1
        while True:
            self._fill(i + 1, deadline)
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        self._fill(i + length, deadline)
        first, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        p = Packet(first >> 4, first & 0x0F, body)
        log(self.label, "got", p)
        return p

    def expect(self, ptype, timeout=5.0):
        p = self.recv(timeout)
        if p.type != ptype:
            raise RuntimeError(f"{self.label}: expected {NAMES[ptype]}, got {p}")
        return p

    def wait_closed(self, timeout=5.0):
        """Read until the peer closes; True if it did within the timeout."""
        try:
            while True:
                self.recv(timeout)
        except EOFError:
            return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def listen(host=HOST, port=PORT):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(8)
    return srv


def accept(srv, label="broker", timeout=10.0):
    srv.settimeout(timeout)
    sock, _ = srv.accept()
    sock.settimeout(None)
    return Conn(sock, label)


T0 = time.monotonic()


def log(*parts):
    print(f"[{time.monotonic() - T0:7.3f}]", *parts, flush=True)
