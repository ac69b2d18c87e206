#!/usr/bin/python3
"""Assert, from tshark's decode, that a fault capture holds its fault.

usage: check.py NAME CAPTURE     (CAPTURE's NAME.truth.json must exist)

Reads the truth file written by tshark_truth.py plus a few direct tshark
queries (flags the truth file does not carry), asserts the scenario's fault
is there, and prints one line per fact worth writing down (frames, ids).
Exit status 1 with the failed assertion otherwise.
"""
import json
import os
import subprocess
import sys

name, cap = sys.argv[1], sys.argv[2]
truth = json.load(open(cap.rsplit(".", 1)[0] + ".truth.json"))
P = truth["packets"]
CONNS = {c["stream"]: c for c in truth["connections"]}
C2S, S2C = "client_to_server", "server_to_client"


def tshark(filt, *fields):
    """Rows of tshark fields (-T fields) for the frames matching filt."""
    cmd = ["tshark", "-r", cap, "-d", "tcp.port==1883,mqtt", "-Y", filt, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def pk(**kw):
    return [p for p in P if all(p.get(k) == v for k, v in kw.items())]


def one(**kw):
    found = pk(**kw)
    assert len(found) == 1, f"want exactly one {kw}, got {found}"
    return found[0]


def fact(text):
    print(f"  {text}")


def server_closes_after(stream, frame):
    """Frame of the broker's FIN or RST on the stream after the given frame."""
    port = CONNS[stream]["client"][1]
    rows = tshark(f"tcp.stream == {stream} && tcp.srcport == 1883 && tcp.dstport == {port} && "
                  f"(tcp.flags.fin == 1 || tcp.flags.reset == 1) && frame.number > {frame}", "frame.number")
    assert rows, f"broker did not close stream {stream} after frame {frame}"
    return int(rows[0][0])


def nothing_from_client_between(stream, a, b):
    port = CONNS[stream]["client"][1]
    rows = tshark(f"tcp.stream == {stream} && tcp.srcport == {port} && tcp.len > 0 && "
                  f"frame.number > {a} && frame.number < {b}", "frame.number")
    assert not rows, f"client data between {a} and {b}: {rows}"


def incomplete():
    return {(f["packet_id"], f["stage"], f["direction"]): f["frames"] for f in truth["flows_incomplete"]}


def check_missing_ack_broker_killed():
    pub = one(type="CONNECT", direction=C2S, stream=next(
        s for s in CONNS if any(p["type"] == "PUBLISH" and p["direction"] == C2S and p["stream"] == s for p in P)))
    s = pub["stream"]
    inc = incomplete()
    want = {(9, "PUBREL", C2S)} | {(i, "PUBLISH", C2S) for i in range(10, 21)}
    assert set(inc) == want, f"unacknowledged: {sorted(inc)}"
    assert CONNS[s]["close"] == "rst", CONNS[s]["close"]
    q1 = {i: inc[(i, "PUBLISH", C2S)][0] for i in range(10, 18)}
    q2 = {i: inc[(i, "PUBLISH", C2S)][0] for i in range(18, 21)}
    fact(f"publisher = stream {s}; broker RST at frame {server_closes_after(s, 0)}")
    fact(f"PUBREL 9 (frame {inc[(9, 'PUBREL', C2S)][-1]}, QoS 2 flow frames {inc[(9, 'PUBREL', C2S)]}): no PUBCOMP")
    fact("QoS 1 PUBLISH without PUBACK: " + ", ".join(f"id {i} frame {f}" for i, f in q1.items()))
    fact("QoS 2 PUBLISH without PUBREC: " + ", ".join(f"id {i} frame {f}" for i, f in q2.items()))
    done = [f for f in truth["flows_complete"]]
    fact(f"complete flows: {len(done)} (" + ", ".join(
        f"{'pub' if f['direction'] == C2S and f['stream'] == s else 'sub'} id {f['packet_id']} q{f['qos']}"
        for f in done) + ")")


def check_missing_ack_qos2_stalled():
    inc = incomplete()
    assert list(inc) == [(3, "PUBREL", C2S)], inc
    fact(f"QoS 2 id 3: PUBLISH/PUBREC/PUBREL frames {inc[(3, 'PUBREL', C2S)]}, no PUBCOMP")
    d = one(type="DISCONNECT")
    fact(f"client DISCONNECT frame {d['frame']}; broker FIN frame {server_closes_after(d['stream'], d['frame'])}")
    assert CONNS[d["stream"]]["close"] == "fin"


def check_late_ack():
    lat = {f["packet_id"]: f["latency_ms"]["puback"] for f in truth["flows_complete"]}
    assert lat[2] >= 12000 and lat[1] < 1000 and lat[3] < 1000, lat
    f = next(f for f in truth["flows_complete"] if f["packet_id"] == 2)
    fact(f"id 2: PUBLISH frame {f['frames'][0]}, PUBACK frame {f['frames'][1]}, {lat[2]:.1f} ms")
    fact(f"ids 1 and 3 acked in {lat[1]:.2f} / {lat[3]:.2f} ms")


def check_duplicate_publish():
    first = one(type="PUBLISH", packet_id=2, dup=False)
    again = one(type="PUBLISH", packet_id=2, dup=True)
    ackp = one(type="PUBACK", packet_id=2)
    assert first["frame"] < again["frame"] < ackp["frame"]
    fact(f"id 2: PUBLISH frame {first['frame']}, DUP=1 re-send frame {again['frame']}, one PUBACK frame {ackp['frame']}")


def check_packet_id_in_use():
    a, b = pk(type="PUBLISH", packet_id=7, dup=False)
    ackp = one(type="PUBACK", packet_id=7)
    assert a["frame"] < b["frame"] < ackp["frame"] and a["topic"] != b["topic"]
    fact(f"id 7: PUBLISH frame {a['frame']} ({a['topic']}), new PUBLISH DUP=0 frame {b['frame']} "
         f"({b['topic']}), single PUBACK 7 frame {ackp['frame']}")


def check_unexpected_ack():
    pa = one(type="PUBACK", packet_id=4242, direction=S2C)
    pr = one(type="PUBREL", packet_id=4343, direction=S2C)
    pc = one(type="PUBCOMP", packet_id=4343, direction=C2S)
    assert not [p for p in P if p["type"] in ("PUBLISH", "PUBREC") and p["packet_id"] in (4242, 4343)]
    fact(f"PUBACK 4242 (never used) frame {pa['frame']}; PUBREL 4343 without PUBLISH/PUBREC frame {pr['frame']}")
    fact(f"paho answers the stray PUBREL with PUBCOMP 4343 frame {pc['frame']} (equally without a flow)")


def check_wrong_ack_type():
    p = one(type="PUBLISH", packet_id=2, qos=2)
    a = one(type="PUBACK", packet_id=2)
    assert not pk(type="PUBREC", packet_id=2) and a["frame"] > p["frame"]
    fact(f"QoS 2 PUBLISH id 2 frame {p['frame']} answered by PUBACK frame {a['frame']}")


def closed_by_broker(frame_pkt, what):
    f = server_closes_after(frame_pkt["stream"], frame_pkt["frame"])
    fact(f"{what} frame {frame_pkt['frame']} (stream {frame_pkt['stream']}); broker closes at frame {f}")


def check_invalid_qos():
    p = one(type="PUBLISH", qos=3)
    rows = tshark(f"frame.number == {p['frame']}", "tcp.payload")
    assert rows[0][0][:2] == "36", rows  # 0x36: PUBLISH, QoS bits 11
    closed_by_broker(p, "PUBLISH with QoS bits 3 (header byte 0x36, id 2)")


def check_dup_on_qos0():
    p = one(type="PUBLISH", qos=0, dup=True)
    fwd = [q for q in pk(type="PUBLISH", topic=p["topic"]) if q["direction"] == S2C]
    assert len(fwd) == 1 and fwd[0]["dup"] is False
    fact(f"QoS 0 PUBLISH with DUP=1 (header 0x38) frame {p['frame']}, stream {p['stream']}")
    fact(f"mosquitto keeps the connection and forwards it with DUP=0 at frame {fwd[0]['frame']}")


def check_packet_id_zero():
    s = one(type="SUBSCRIBE", packet_id=0)
    p = one(type="PUBLISH", packet_id=0, qos=1)
    closed_by_broker(s, "SUBSCRIBE id 0")
    closed_by_broker(p, "QoS 1 PUBLISH id 0")


def check_qos_exceeds_grant():
    rows = tshark("mqtt.msgtype == 8", "frame.number", "mqtt.topic", "mqtt.sub.qos")
    assert rows == [[rows[0][0], "a/+", "1"]], rows
    g = tshark("mqtt.msgtype == 9", "frame.number", "mqtt.suback.qos")
    assert g[0][1] == "0", g
    p = one(type="PUBLISH", qos=1, direction=S2C)
    q0 = one(type="PUBLISH", qos=0, direction=S2C)
    fact(f"SUBSCRIBE a/+ QoS 1 frame {rows[0][0]}; SUBACK grants QoS 0 frame {g[0][0]}")
    fact(f"QoS 0 PUBLISH a/x frame {q0['frame']} (within the grant); QoS 1 PUBLISH a/y id 1 frame {p['frame']} "
         f"(above it), PUBACK frame {one(type='PUBACK', packet_id=1)['frame']}")


def check_receive_maximum_exceeded():
    ver = tshark("mqtt.msgtype == 1", "mqtt.ver")
    assert ver == [["5"]], ver
    ca = tshark("mqtt.msgtype == 2", "frame.number", "mqtt.property_id", "mqtt.prop_number")
    assert ca[0][1] == "0x21" and ca[0][2] == "2", ca
    first_ack = min(p["frame"] for p in pk(type="PUBACK") if p["packet_id"] != 1)
    burst = [p for p in pk(type="PUBLISH") if p["frame"] < first_ack and p["packet_id"] != 1]
    assert [p["packet_id"] for p in burst] == [2, 3, 4], burst
    fact(f"CONNACK frame {ca[0][0]}: Receive Maximum 2")
    fact("in flight at once: " + ", ".join(f"id {p['packet_id']} frame {p['frame']}" for p in burst)
         + f"; the third (id 4, frame {burst[2]['frame']}) exceeds it; first PUBACK of them frame {first_ack}")


def check_protocol_violation():
    cs = {}
    for p in pk(type="CONNECT"):
        cs.setdefault(p["stream"], []).append(p)
    twice = [s for s, v in cs.items() if len(v) == 2]
    assert len(twice) == 1
    second = cs[twice[0]][1]
    closed_by_broker(second, "(1) second CONNECT")
    early = [p for p in P if p["stream"] not in cs]
    assert len(early) == 1 and early[0]["type"] == "PUBLISH", early
    closed_by_broker(early[0], "(2) PUBLISH before CONNECT (topic pv/early)")
    w = one(type="PUBLISH", topic="a/#")
    closed_by_broker(w, "(3) PUBLISH to a/#")


def check_malformed_packet():
    rows = tshark("tcp.len > 0 && tcp.dstport == 1883", "frame.number", "tcp.stream", "tcp.payload")
    varint = [r for r in rows if r[2].startswith("30ffffffff7f")]
    badsub = [r for r in rows if r[2].startswith("8209000100c8")]
    assert len(varint) == 1 and len(badsub) == 1, rows
    for r, what in ((varint[0], "(1) PUBLISH header with a 5-byte remaining length 30 ff ff ff ff 7f"),
                    (badsub[0], "(2) SUBSCRIBE id 1, remaining length 9, topic length 200")):
        f = server_closes_after(int(r[1]), int(r[0]))
        fact(f"{what}: frame {r[0]} (stream {r[1]}); broker closes at frame {f}")
    last = max(CONNS)
    fact(f"(3) stream {last}: valid CONNECT/SUBSCRIBE/PUBLISH/PUBACK/DISCONNECT, frames "
         f"{min(p['frame'] for p in pk(stream=last))}-{max(p['frame'] for p in pk(stream=last))}")


def check_keepalive_exceeded():
    ka = tshark("mqtt.msgtype == 1 && mqtt.kalive == 2", "frame.number", "tcp.stream")
    assert len(ka) == 1
    s = int(ka[0][1])
    last = max((p for p in pk(stream=s, direction=C2S)), key=lambda p: p["frame"])
    fin = server_closes_after(s, last["frame"])
    nothing_from_client_between(s, last["frame"], fin)
    t = {int(r[0]): float(r[1]) for r in tshark(f"frame.number == {last['frame']} || frame.number == {fin}",
                                                   "frame.number", "frame.time_epoch")}
    gap = t[fin] - t[last["frame"]]
    assert gap > 3.0, gap
    fact(f"CONNECT keepalive 2 frame {ka[0][0]} (stream {s}); client's last packet {last['type']} frame "
         f"{last['frame']}; broker FIN frame {fin}, {gap:.2f} s later (> 1.5 x 2 s)")


def check_tcp_gap():
    removed = int(open(os.path.join(os.path.dirname(cap), "tcp_gap.removed-frame")).read())
    lost = tshark("tcp.analysis.lost_segment", "frame.number", "tcp.stream", "tcp.seq")
    assert len(lost) == 1, lost
    drop = pk(topic="gap/dropped")
    assert len(drop) == 1 and drop[0]["direction"] == S2C
    ackd = tshark("tcp.analysis.ack_lost_segment", "frame.number")
    fact(f"recording frame {removed} (the publisher's QoS 0 PUBLISH gap/dropped, stream {lost[0][1]}) deleted: "
         f"file frames 1-{removed - 1} are the recording's, frame N >= {removed} is the recording's N+1")
    fact(f"the broker ACKs the missing bytes at frame {ackd[0][0]}; the publisher's next data "
         f"segment, frame {lost[0][0]} (tshark: previous segment not captured), starts after the hole")
    fact(f"the broker's copy of gap/dropped to the subscriber is still there: frame {drop[0]['frame']}")


def session_facts(clean):
    c1 = tshark("mqtt.msgtype == 1 && mqtt.clientid == \"fixedid\"", "frame.number", "tcp.stream",
                "mqtt.conflag.cleansess")
    assert len(c1) == 2 and all(r[2] == str(int(clean)) for r in c1), c1
    s1, s2 = int(c1[0][1]), int(c1[1][1])
    inc = incomplete()
    assert list(inc) == [(2, "PUBLISH", S2C)] and inc[(2, "PUBLISH", S2C)][0] in [p["frame"] for p in pk(stream=s1)]
    assert not pk(stream=s1, type="DISCONNECT")
    sp = tshark(f"mqtt.msgtype == 2 && tcp.stream == {s2}", "frame.number", "mqtt.conack.flags.sp")
    fact(f"connection 1 (stream {s1}, clean session {int(clean)}): PUBLISH id 1 acked; PUBLISH id 2 frame "
         f"{inc[(2, 'PUBLISH', S2C)][0]} never acked; the client closes (FIN, no DISCONNECT)")
    fact(f"connection 2 (stream {s2}): CONNECT frame {c1[1][0]}, CONNACK session present = {sp[0][1]} frame {sp[0][0]}")
    return s2, sp[0][1]


def check_session_redelivery():
    s2, sp = session_facts(clean=False)
    assert sp == "1"
    r = one(stream=s2, type="PUBLISH")
    a = one(stream=s2, type="PUBACK")
    assert r["dup"] and r["packet_id"] == 2 and a["packet_id"] == 2 and r["topic"] == "sess/m2"
    fact(f"re-sent PUBLISH id 2 DUP=1 frame {r['frame']}, PUBACK 2 frame {a['frame']}")


def check_session_lost_clean():
    s2, sp = session_facts(clean=True)
    assert sp == "0" and not pk(stream=s2, type="PUBLISH")
    fact("nothing re-sent on connection 2: sess/m2 (id 2) is lost")


tcp_trouble = tshark("tcp.analysis.retransmission || tcp.analysis.fast_retransmission || "
                     "tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order || "
                     "tcp.analysis.lost_segment", "frame.number")
assert len(tcp_trouble) == (1 if name == "tcp_gap" else 0), f"TCP retransmission/loss: {tcp_trouble}"
print(f"{name}: {len(truth['connections'])} TCP connections, {len(P)} MQTT packets, frames 1-{truth['frames']}")
globals()["check_" + name]()
print(f"{name}: OK")
