#!/usr/bin/python3
"""The traffic of each fault capture. Run inside the recording namespace.

usage: scenarios.py NAME TMPDIR

Each scenario produces exactly one kind of MQTT fault, with ordinary traffic
before (and where the peer allows it, after) it. Real peers are used where
they can produce the fault: mosquitto 2.0 as broker, mosquitto_sub /
mosquitto_pub / paho-mqtt as clients. Where only a misbehaving peer can, a
scripted one built on mqttraw speaks the bytes. Everything listens and
connects on 127.0.0.1:1883 of the namespace's loopback.
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mqttraw import (CONNACK, CONNECT, DISCONNECT, PINGREQ, PUBACK, PUBCOMP, PUBLISH, PUBREC,  # noqa: E402
                     PUBREL, SUBACK, SUBSCRIBE, Conn, accept, ack, connack, connect, disconnect, listen,
                     log, packet, pingresp, props, publish, s, suback, subscribe, u16, HOST, PORT)

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# --- real peers --------------------------------------------------------------

def wait_listening(port=PORT, timeout=5.0):
    """Wait for a LISTEN socket on the port by reading /proc, without connecting
    (a probe connection would show up in the capture)."""
    want = f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1].endswith(want) and cols[3] == "0A":
                    return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Mosquitto:
    """mosquitto 2.0 with a throw-away config: no persistence, anonymous, loopback only."""

    def __init__(self, tmp):
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {PORT} {HOST}\nallow_anonymous true\npersistence false\n"
                    "log_dest stderr\nlog_type all\nlog_timestamp_format %H:%M:%S\n")
        self.log = open(os.path.join(tmp, "mosquitto.log"), "w")
        self.proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=self.log, stderr=self.log)
        wait_listening()
        log("mosquitto", "pid", self.proc.pid)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_client(tmp, label, argv):
    """Start a mosquitto_sub / mosquitto_pub; output to TMP/LABEL.log."""
    out = open(os.path.join(tmp, f"{label}.log"), "w")
    log(label, " ".join(argv))
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def finish(proc, timeout=5.0):
    """Let a client end by itself; stop it (SIGTERM) if it does not."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(5)


def paho_client(client_id, version=4):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311 if version == 4 else mqtt.MQTTv5)
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect(HOST, PORT, keepalive=60)
    c.loop_start()
    if not connected.wait(5):
        raise RuntimeError("paho: no CONNACK")
    return c


# --- fake brokers -------------------------------------------------------------

class FakeBroker:
    """Accepts connections one after another and hands each to a handler."""

    def __init__(self, handler, conns=1):
        self.srv = listen()
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(handler, conns), daemon=True)
        self.thread.start()

    def _run(self, handler, conns):
        try:
            for _ in range(conns):
                c = accept(self.srv)
                try:
                    handler(c)
                finally:
                    c.close()
        except Exception as e:  # reported by join()
            self.error = e
        finally:
            self.srv.close()

    def join(self, timeout=30):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError("fake broker still running")
        if self.error:
            raise self.error


def serve(conn, on_publish=None, on_pubrel=None, on_other=None, idle=15.0):
    """Broker loop: CONNACK, then react to packets until DISCONNECT or close."""
    conn.expect(CONNECT)
    conn.send(connack())
    while True:
        try:
            p = conn.recv(idle)
        except (EOFError, ConnectionResetError, TimeoutError):
            return
        if p.type == PUBLISH:
            if on_publish:
                on_publish(conn, p)
            elif p.qos == 1:
                conn.send(ack(PUBACK, p.pid))
            elif p.qos == 2:
                conn.send(ack(PUBREC, p.pid))
        elif p.type == PUBREL:
            (on_pubrel or (lambda c, q: c.send(ack(PUBCOMP, q.pid))))(conn, p)
        elif p.type == PINGREQ:
            conn.send(pingresp())
        elif p.type == DISCONNECT:
            return
        elif on_other:
            on_other(conn, p)


def later(delay, fn):
    t = threading.Timer(delay, fn)
    t.start()
    return t


# --- scenarios ----------------------------------------------------------------

@scenario
def missing_ack_broker_killed(tmp):
    """mosquitto acks a first burst, then freezes (SIGSTOP) so that the cut is
    reproducible, receives a second burst it never answers, and is SIGKILLed."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "burst-sub", "-q", "1", "-t", "burst/#", "-v"])
    time.sleep(0.5)
    c = Conn.dial("pub")
    c.send(connect("burst-pub"))
    c.expect(CONNACK)
    # burst 1: QoS 1 ids 1-6, QoS 2 ids 7-9, all answered
    for pid in range(1, 7):
        c.send(publish("burst/q1", f"msg {pid}", 1, pid), pause=0)
    for pid in range(7, 10):
        c.send(publish("burst/q2", f"msg {pid}", 2, pid), pause=0)
    want = {(PUBACK, p) for p in range(1, 7)} | {(PUBREC, p) for p in range(7, 10)}
    while want:
        p = c.recv()
        want.discard((p.type, p.pid))
    for pid in (7, 8):
        c.send(ack(PUBREL, pid), pause=0)
    for _ in (7, 8):
        c.expect(PUBCOMP)
    time.sleep(0.5)  # the subscriber gets and acks its copies
    b.proc.send_signal(signal.SIGSTOP)
    log("broker", "SIGSTOP")
    time.sleep(0.1)
    # burst 2: PUBREL 9, QoS 1 ids 10-17, QoS 2 ids 18-20, none answered
    c.send(ack(PUBREL, 9), pause=0)
    for pid in range(10, 18):
        c.send(publish("burst/q1", f"msg {pid}", 1, pid), pause=0)
    for pid in range(18, 21):
        c.send(publish("burst/q2", f"msg {pid}", 2, pid), pause=0)
    time.sleep(0.3)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    log("broker", "SIGKILL")
    time.sleep(0.2)
    sub.terminate()  # before libmosquitto's reconnect (1 s) knocks on a closed port
    sub.wait(5)
    c.wait_closed(2)
    c.close()


@scenario
def missing_ack_qos2_stalled(tmp):
    """Fake broker: PUBREC for every QoS 2 PUBLISH, but after the second
    PUBREL it never sends PUBCOMP. Client: paho, which gives up and disconnects."""
    rels = []

    def on_pubrel(conn, p):
        rels.append(p.pid)
        if len(rels) == 1:
            conn.send(ack(PUBCOMP, p.pid))
        else:
            log("broker", "stalling: no PUBCOMP for", p.pid)

    fb = FakeBroker(lambda c: serve(c, on_pubrel=on_pubrel))
    cl = paho_client("stall-client")
    cl.publish("stall/q1", "one", qos=1).wait_for_publish(5)
    cl.publish("stall/q2", "two", qos=2).wait_for_publish(5)
    info = cl.publish("stall/q2", "three", qos=2)
    info.wait_for_publish(3)
    assert not info.is_published()
    cl.disconnect()
    cl.loop_stop()
    fb.join()


@scenario
def late_ack(tmp):
    """Fake broker PUBACKs the second QoS 1 PUBLISH 12 s late. Client: paho."""
    def on_publish(conn, p):
        if p.qos == 1 and p.pid == 2:
            later(12.0, lambda: conn.send(ack(PUBACK, p.pid)))
        elif p.qos == 1:
            conn.send(ack(PUBACK, p.pid))

    fb = FakeBroker(lambda c: serve(c, on_publish=on_publish, idle=30))
    cl = paho_client("late-client")
    cl.publish("late/a", "on time", qos=1).wait_for_publish(5)
    info = cl.publish("late/b", "late", qos=1)
    info.wait_for_publish(20)
    assert info.is_published()
    cl.publish("late/c", "on time again", qos=1).wait_for_publish(5)
    cl.disconnect()
    cl.loop_stop()
    fb.join()


def delayed_acker(delays):
    """on_publish: one PUBACK per packet id in flight, after delays.get(pid, 0) s."""
    pending = set()

    def on_publish(conn, p):
        if p.qos != 1:
            return
        if p.pid in pending:
            log("broker", "id", p.pid, "already in flight: no second PUBACK")
            return
        pending.add(p.pid)

        def send():
            pending.discard(p.pid)
            conn.send(ack(PUBACK, p.pid))
        if delays.get(p.pid, 0):
            later(delays[p.pid], send)
        else:
            send()
    return on_publish


@scenario
def duplicate_publish(tmp):
    """Raw client re-sends PUBLISH id 2 with DUP=1 while the fake broker holds its PUBACK."""
    fb = FakeBroker(lambda c: serve(c, on_publish=delayed_acker({2: 2.0})))
    c = Conn.dial("client")
    c.send(connect("dup-client"))
    c.expect(CONNACK)
    c.send(publish("dup/a", "first", 1, 1))
    c.expect(PUBACK)
    c.send(publish("dup/b", "second", 1, 2))
    time.sleep(1.0)
    c.send(publish("dup/b", "second", 1, 2, dup=True))
    c.expect(PUBACK, timeout=5)
    c.send(publish("dup/c", "third", 1, 3))
    c.expect(PUBACK)
    c.send(disconnect())
    c.close()
    fb.join()


@scenario
def packet_id_in_use(tmp):
    """Raw client sends two different QoS 1 PUBLISHes (DUP=0) with id 7 before
    the fake broker's (delayed, single) PUBACK 7."""
    fb = FakeBroker(lambda c: serve(c, on_publish=delayed_acker({7: 1.0})))
    c = Conn.dial("client")
    c.send(connect("reuse-client"))
    c.expect(CONNACK)
    c.send(publish("reuse/a", "six", 1, 6))
    c.expect(PUBACK)
    c.send(publish("reuse/b", "seven, first", 1, 7))
    c.send(publish("reuse/c", "seven, second", 1, 7), pause=0.2)
    c.expect(PUBACK, timeout=5)
    c.send(publish("reuse/d", "eight", 1, 8))
    c.expect(PUBACK)
    c.send(disconnect())
    c.close()
    fb.join()


@scenario
def unexpected_ack(tmp):
    """Fake broker sends PUBACK 4242 (never used by the client) and PUBREL 4343
    (no PUBLISH/PUBREC before it; paho answers it with PUBCOMP 4343). Client: paho."""
    def on_publish(conn, p):
        conn.send(ack(PUBACK, p.pid))
        if p.pid == 1:
            conn.send(ack(PUBACK, 4242), pause=0.2)
            conn.send(ack(PUBREL, 4343), pause=0.2)

    fb = FakeBroker(lambda c: serve(c, on_publish=on_publish, on_other=lambda c, p: None))
    cl = paho_client("unexp-client")
    cl.publish("unexp/a", "one", qos=1).wait_for_publish(5)
    time.sleep(1.0)
    cl.publish("unexp/b", "two", qos=1).wait_for_publish(5)
    cl.disconnect()
    cl.loop_stop()
    fb.join()


@scenario
def wrong_ack_type(tmp):
    """Fake broker answers the first QoS 2 PUBLISH with PUBACK; paho takes it as done."""
    seen = []

    def on_publish(conn, p):
        if p.qos == 1:
            conn.send(ack(PUBACK, p.pid))
        elif p.qos == 2:
            seen.append(p.pid)
            conn.send(ack(PUBACK if len(seen) == 1 else PUBREC, p.pid))

    fb = FakeBroker(lambda c: serve(c, on_publish=on_publish))
    cl = paho_client("wrongack-client")
    cl.publish("wrong/a", "qos1", qos=1).wait_for_publish(5)
    cl.publish("wrong/b", "qos2 acked with PUBACK", qos=2).wait_for_publish(5)
    cl.publish("wrong/c", "qos2 done right", qos=2).wait_for_publish(5)
    cl.disconnect()
    cl.loop_stop()
    fb.join()


def raw_to_mosquitto(tmp, prefix, client_id, fault, n_sub):
    """mosquitto + a mosquitto_sub on PREFIX/#; a raw client publishes a QoS 0
    and a QoS 1 message (id 1), then sends FAULT bytes. If mosquitto does not
    close the connection within 1 s, the client goes on with one more QoS 0
    PUBLISH and a DISCONNECT."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", f"{prefix}-sub", "-q", "1",
                                  "-t", f"{prefix}/#", "-v", "-C", str(n_sub)])
    time.sleep(0.5)
    c = Conn.dial("client")
    c.send(connect(client_id))
    c.expect(CONNACK)
    c.send(publish(f"{prefix}/ok", "qos0", 0))
    c.send(publish(f"{prefix}/ok", "qos1", 1, 1))
    c.expect(PUBACK)
    time.sleep(0.2)
    c.send(fault)
    closed = c.wait_closed(1.0)
    log("client", "closed by broker" if closed else "NOT closed by broker: going on")
    if not closed:
        c.send(publish(f"{prefix}/ok", "after", 0))
        c.send(disconnect())
    c.close()
    finish(sub)
    b.kill()
    return closed


@scenario
def invalid_qos(tmp):
    """Raw client sends a PUBLISH with QoS bits 3 (and an id 2) to mosquitto."""
    raw_to_mosquitto(tmp, "iq", "qos3-client", publish("iq/bad", "qos3", pid=2, qos_bits=3), 2)


@scenario
def dup_on_qos0(tmp):
    """Raw client sends a QoS 0 PUBLISH with DUP=1 to mosquitto (2.0.11 takes
    it and forwards it to the subscriber as an ordinary QoS 0 PUBLISH)."""
    raw_to_mosquitto(tmp, "dq", "dup0-client", publish("dq/bad", "qos0 with dup", 0, dup=True), 4)


@scenario
def packet_id_zero(tmp):
    """Connection 1: SUBSCRIBE with id 0. Connection 2: QoS 1 PUBLISH with id 0.
    mosquitto closes each."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "pz-sub", "-q", "1", "-t", "pz/#", "-v", "-C", "2"])
    time.sleep(0.5)
    for n, (cid, fault) in enumerate([("pz-subscribe", subscribe(0, [("pz/x", 1)])),
                                      ("pz-publish", publish("pz/bad", "id zero", 1, 0))], 1):
        c = Conn.dial(f"client{n}")
        c.send(connect(cid))
        c.expect(CONNACK)
        c.send(publish("pz/ok", f"conn {n}", 1, 1))
        c.expect(PUBACK)
        time.sleep(0.2)
        c.send(fault)
        log(c.label, "closed by broker" if c.wait_closed(5) else "NOT closed by broker")
        c.close()
        time.sleep(0.3)
    finish(sub)
    b.kill()


@scenario
def qos_exceeds_grant(tmp):
    """mosquitto_sub asks QoS 1 on a/+, the fake broker grants QoS 0, then
    delivers a QoS 0 and a QoS 1 PUBLISH on a/..."""
    def on_other(conn, p):
        if p.type == SUBSCRIBE:
            conn.send(suback(p.pid, [0]), pause=0.2)
            conn.send(publish("a/x", "qos0 as granted", 0), pause=0.2)
            conn.send(publish("a/y", "qos1 above the grant", 1, 1))
        elif p.type == PUBACK:
            log("broker", "client acked", p.pid)

    fb = FakeBroker(lambda c: serve(c, on_other=on_other))
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "grant-sub", "-q", "1", "-t", "a/+", "-v", "-C", "2"])
    finish(sub)
    fb.join()


@scenario
def receive_maximum_exceeded(tmp):
    """MQTT 5. Fake broker's CONNACK says Receive Maximum 2 and acks each
    PUBLISH 0.5 s late; the raw client has ids 2, 3 and 4 in flight at once."""
    def handler(conn):
        conn.expect(CONNECT)
        conn.send(connack(version=5, properties=props(b"\x21" + u16(2))))
        while True:
            try:
                p = conn.recv(10)
            except (EOFError, TimeoutError):
                return
            if p.type == PUBLISH and p.qos == 1:
                later(0.5, lambda pid=p.pid: conn.send(ack(PUBACK, pid), pause=0))
            elif p.type == DISCONNECT:
                return

    fb = FakeBroker(handler)
    c = Conn.dial("client")
    c.send(connect("rm-client", version=5))
    c.expect(CONNACK)
    c.send(publish("rm/a", "one", 1, 1, version=5))
    c.expect(PUBACK)
    for pid in (2, 3, 4):
        c.send(publish("rm/b", f"burst {pid}", 1, pid, version=5))
    for _ in (2, 3, 4):
        c.expect(PUBACK)
    c.send(packet(DISCONNECT, 0, b""))
    c.close()
    fb.join()


@scenario
def protocol_violation(tmp):
    """Three connections to mosquitto: (1) a second CONNECT, (2) a PUBLISH
    before any CONNECT, (3) a PUBLISH to the wildcard topic a/#."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "pv-sub", "-q", "1", "-t", "pv/#", "-v", "-C", "2"])
    time.sleep(0.5)
    # 1: second CONNECT
    c = Conn.dial("client1")
    c.send(connect("pv-twice"))
    c.expect(CONNACK)
    c.send(publish("pv/ok", "before the second CONNECT", 1, 1))
    c.expect(PUBACK)
    c.send(connect("pv-twice"))
    log(c.label, "closed by broker" if c.wait_closed(5) else "NOT closed by broker")
    c.close()
    time.sleep(0.3)
    # 2: PUBLISH before CONNECT
    c = Conn.dial("client2")
    c.send(publish("pv/early", "no CONNECT yet", 0))
    log(c.label, "closed by broker" if c.wait_closed(5) else "NOT closed by broker")
    c.close()
    time.sleep(0.3)
    # 3: wildcard in a PUBLISH topic
    c = Conn.dial("client3")
    c.send(connect("pv-wildcard"))
    c.expect(CONNACK)
    c.send(publish("pv/ok", "before the wildcard", 1, 1))
    c.expect(PUBACK)
    c.send(publish("a/#", "wildcard topic", 0))
    log(c.label, "closed by broker" if c.wait_closed(5) else "NOT closed by broker")
    c.close()
    finish(sub)
    b.kill()


@scenario
def malformed_packet(tmp):
    """(1) remaining length with five bytes, (2) SUBSCRIBE whose topic length
    runs past the packet end, each after a valid CONNECT; (3) valid traffic."""
    b = Mosquitto(tmp)
    bad_len = bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) + s("mp/x") + b"junk"
    sub_body = u16(1) + u16(200) + b"mp/y" + b"\x01"   # says 200 bytes of topic, has 5
    bad_sub = bytes([0x82]) + bytes([len(sub_body)]) + sub_body
    for n, (cid, fault) in enumerate([("mp-varint", bad_len), ("mp-subscribe", bad_sub)], 1):
        c = Conn.dial(f"client{n}")
        c.send(connect(cid))
        c.expect(CONNACK)
        c.send(publish("mp/ok", f"conn {n}", 1, 1))
        c.expect(PUBACK)
        c.send(fault)
        log(c.label, "closed by broker" if c.wait_closed(5) else "NOT closed by broker")
        c.close()
        time.sleep(0.3)
    c = Conn.dial("client3")
    c.send(connect("mp-valid"))
    c.expect(CONNACK)
    c.send(subscribe(1, [("mp/#", 1)]))
    c.expect(SUBACK)
    c.send(publish("mp/ok", "valid again", 1, 2))
    got = {c.recv().type for _ in range(2)}  # PUBACK 2 and our own message back
    assert got == {PUBACK, PUBLISH}, got
    c.send(ack(PUBACK, 1))
    c.send(disconnect())
    c.close()
    time.sleep(0.2)
    b.kill()


@scenario
def keepalive_exceeded(tmp):
    """Raw client CONNECTs with keepalive 2 s, publishes once, then stays
    silent; mosquitto closes it after 1.5 x keepalive."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "ka-sub", "-q", "1", "-t", "ka/#", "-v", "-C", "1"])
    time.sleep(0.5)
    c = Conn.dial("client")
    c.send(connect("ka-silent", keepalive=2))
    c.expect(CONNACK)
    c.send(publish("ka/ok", "then silence", 1, 1))
    c.expect(PUBACK)
    t = time.monotonic()
    closed = c.wait_closed(8)
    log("client", f"closed by broker after {time.monotonic() - t:.2f} s" if closed else "NOT closed")
    c.close()
    finish(sub)
    b.kill()


@scenario
def tcp_gap(tmp):
    """Ordinary traffic; record.sh later deletes the frame that carries the
    QoS 0 PUBLISH on gap/dropped (client to broker) from the capture."""
    b = Mosquitto(tmp)
    sub = run_client(tmp, "sub", ["mosquitto_sub", "-i", "gap-sub", "-q", "1", "-t", "gap/#", "-v", "-C", "6"])
    time.sleep(0.5)
    c = Conn.dial("client")
    c.send(connect("gap-pub"))
    c.expect(CONNACK)
    c.send(publish("gap/a", "first", 1, 1))
    c.expect(PUBACK)
    for t in ("gap/b", "gap/c", "gap/dropped", "gap/d"):
        c.send(publish(t, f"qos0 on {t}", 0), pause=0.1)
    c.send(publish("gap/e", "last", 1, 2))
    c.expect(PUBACK)
    c.send(disconnect())
    c.close()
    finish(sub)
    b.kill()


def session_scenario(tmp, clean):
    """A raw subscriber (client id fixedid) acks the first QoS 1 delivery,
    not the second, and drops its TCP connection without DISCONNECT; then
    mosquitto_sub reconnects as fixedid with the same clean-session flag."""
    b = Mosquitto(tmp)
    c = Conn.dial("sub1")
    c.send(connect("fixedid", clean=clean))
    c.expect(CONNACK)
    c.send(subscribe(1, [("sess/#", 1)]))
    c.expect(SUBACK)
    for n, text in ((1, "acked"), (2, "never acked on this connection")):
        pub = run_client(tmp, f"pub{n}", ["mosquitto_pub", "-i", f"sess-pub{n}", "-q", "1",
                                          "-t", f"sess/m{n}", "-m", text])
        finish(pub)
        p = c.expect(PUBLISH)
        if n == 1:
            c.send(ack(PUBACK, p.pid))
    time.sleep(0.3)
    c.close()  # FIN, no DISCONNECT
    log("sub1", "dropped")
    time.sleep(0.5)
    argv = ["mosquitto_sub", "-i", "fixedid", "-q", "1", "-t", "sess/#", "-v"]
    argv += ["-W", "2"] if clean else ["-c", "-C", "1"]
    finish(run_client(tmp, "sub2", argv), timeout=6)
    time.sleep(0.2)
    b.kill()


@scenario
def session_redelivery(tmp):
    session_scenario(tmp, clean=False)


@scenario
def session_lost_clean(tmp):
    session_scenario(tmp, clean=True)


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
    log("scenario", sys.argv[1], "done")
