#!/usr/bin/env python3
"""Ground truth from tshark's decode, for MQTT under WebSocket and/or TLS.

usage: tshark_truth_layers.py CAPTURE [PORT...] [--keylog FILE] [-d SPEC]... [-o PREF]...
  PORT      decode TCP port PORT as plain MQTT (as tshark_truth.py does; default 1883)
  --keylog  NSS key log for TLS decryption (adds -o tls.keylog_file:FILE)
  -d SPEC   passed to tshark as "-d SPEC", e.g. tcp.port==9001,http (WebSocket
            handshake on a port tshark does not take for HTTP) or
            tcp.port==8884,tls / tls.port==8884,mqtt (MQTT in TLS off 8883)
  -o PREF   passed to tshark as "-o PREF"
  --no-ws-lua  do not load mqtt_ws.lua (beside this script); by default it is
            loaded, since stock tshark 4.0 does not decode MQTT in WebSocket
-> writes CAPTURE-stem.truth.json

The format is that of the shared tshark_truth.py (this project's copy of its
logic): connections, every MQTT PDU tshark decodes, QoS 1/2 flows paired here
with latencies in ms. Added, and only from tshark's decode:
  connections[].tls        {"version", "cipher"} from the Server Hello
  connections[].websocket  {"path", "subprotocol", "status"} from the HTTP upgrade
  packets[].layers         what the PDU was found in: "tcp", "tls", "websocket", "tls+websocket"
  packets_untrusted        PDUs tshark decoded in a frame where its decode cannot be
                           right (a malformed or reserved-type PDU, or a packet type
                           the sender's side never sends, e.g. CONNACK from the
                           client): every PDU of such a frame lands here, with
                           "why", instead of in packets; they are left out of flows.
                           (tshark 4.0 parses each WebSocket message as if an MQTT
                           packet started there, so an MQTT packet split over
                           several messages comes out as such garbage.)
  websocket_frames         every WebSocket frame tshark shows: frame, stream,
                           direction, opcode, fin, masked, payload_len, close code/reason
"""
import argparse
import json
import os
import subprocess
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("capture")
ap.add_argument("ports", nargs="*", type=int)
ap.add_argument("--keylog")
ap.add_argument("-d", "--decode-as", action="append", default=[])
ap.add_argument("-o", "--option", action="append", default=[])
ap.add_argument("--no-ws-lua", action="store_true")
A = ap.parse_args()

cap = A.capture
ports = A.ports or [1883]
opts = ["-o", "tcp.desegment_tcp_streams:TRUE"]
if not A.no_ws_lua:
    opts += ["-X", "lua_script:" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqtt_ws.lua")]
for p in ports:
    opts += ["-d", f"tcp.port=={p},mqtt"]
for d in A.decode_as:
    opts += ["-d", d]
if A.keylog:
    opts += ["-o", f"tls.keylog_file:{A.keylog}"]
for o in A.option:
    opts += ["-o", o]
# ports named in -d specs count as server ports too (for connections without SYN)
for d in A.decode_as:
    try:
        ports.append(int(d.split("==", 1)[1].split(",", 1)[0]))
    except (IndexError, ValueError):
        pass


def tshark(*args):
    r = subprocess.run(["tshark", "-r", cap] + opts + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"tshark failed: {r.stderr.strip()}")
    return r.stdout


def fields(display_filter, *names):
    args = ["-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for n in names:
        args += ["-e", n]
    return [line.split("\t") for line in tshark(*args).splitlines() if line]


REPEATED = ("mqtt", "mqtt.topic", "tls", "websocket", "http")


def _pairs(kv):  # tshark repeats a layer key for several PDUs in one frame
    d = {}
    for k, v in kv:
        if k in d and k in REPEATED:
            d[k] = (d[k] if isinstance(d[k], list) else [d[k]]) + [v]
        else:
            d[k] = v
    return d


frames = json.loads(tshark("-T", "json"), object_pairs_hook=_pairs)
TYPES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
         8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
         14: "DISCONNECT", 15: "AUTH"}
conns = {}
packets = []
for fr in frames:
    L = fr["_source"]["layers"]
    if "tcp" not in L:
        continue
    n = int(L["frame"]["frame.number"])
    ts = float(L["frame"]["frame.time_epoch"])
    ipl = L.get("ip") or L.get("ipv6")
    src = ipl.get("ip.src") or ipl.get("ipv6.src")
    dst = ipl.get("ip.dst") or ipl.get("ipv6.dst")
    t = L["tcp"]
    s = int(t["tcp.stream"])
    sp, dp = int(t["tcp.srcport"]), int(t["tcp.dstport"])
    fl = t.get("tcp.flags_tree", {})
    syn, ack, fin, rst = (fl.get("tcp.flags.syn") == "1", fl.get("tcp.flags.ack") == "1",
                          fl.get("tcp.flags.fin") == "1", fl.get("tcp.flags.reset") == "1")
    c = conns.setdefault(s, {"stream": s, "a": [src, sp], "b": [dst, dp], "client": None, "syn": False,
                             "synack": False, "fin": False, "rst": False, "first_frame": n, "mqtt": False})
    if syn and not ack and c["client"] is None:
        c["client"] = [src, sp]
        c["syn"] = True
    if syn and ack:
        c["synack"] = True
    c["fin"] |= fin
    c["rst"] |= rst
    c["last_frame"] = n
    m = L.get("mqtt")
    if m is None:
        continue
    malformed = "_ws.malformed" in L or any(
        not isinstance(pdu, dict) or "_ws.malformed" in pdu for pdu in (m if isinstance(m, list) else [m]))
    layers = "+".join(x for x in ("tls", "websocket") if x in L) or "tcp"
    for pdu in (m if isinstance(m, list) else [m]):
        if not isinstance(pdu, dict):
            continue  # e.g. a bare "[Malformed Packet]" string
        h = pdu.get("mqtt.hdrflags_tree", {})
        if "mqtt.msgtype" not in h:
            continue
        c["mqtt"] = True
        packets.append({"frame": n, "ts": ts, "stream": s, "src": [src, sp],
                        "type": TYPES.get(int(h["mqtt.msgtype"]), h["mqtt.msgtype"]),
                        "qos": int(h["mqtt.qos"]) if "mqtt.qos" in h else None,
                        "dup": h.get("mqtt.dupflag") == "1" if "mqtt.dupflag" in h else None,
                        "retain": h.get("mqtt.retain") == "1" if "mqtt.retain" in h else None,
                        "packet_id": int(pdu["mqtt.msgid"]) if "mqtt.msgid" in pdu else None,
                        "topic": None, "len": int(pdu.get("mqtt.len", 0)), "layers": layers,
                        "_malformed": malformed})
        tp = pdu.get("mqtt.topic")
        tps = tp if isinstance(tp, list) else ([tp] if tp is not None else [])
        if packets[-1]["type"] in ("SUBSCRIBE", "UNSUBSCRIBE"):
            packets[-1]["topics"] = tps
        else:
            packets[-1]["topic"] = tps[0] if tps else None

for c in conns.values():
    if c["client"] is None:  # no SYN: the side that sent CONNECT, else the non-MQTT port
        cp = next((p["src"] for p in packets if p["stream"] == c["stream"] and p["type"] == "CONNECT"), None)
        c["client"] = cp or (c["a"] if c["b"][1] in ports else c["b"])
    c["server"] = c["b"] if c["client"] == c["a"] else c["a"]
    c["handshake"] = c["syn"] and c["synack"]
    c["close"] = "rst" if c["rst"] else ("fin" if c["fin"] else "open")
    del c["a"], c["b"]


def side(stream, addr, port):
    return "client_to_server" if conns[stream]["client"] == [addr, port] else "server_to_client"


for p in packets:
    p["direction"] = side(p["stream"], *p["src"])

# frames whose decode is impossible go to packets_untrusted, all their PDUs
FROM_CLIENT = {"CONNECT", "SUBSCRIBE", "UNSUBSCRIBE", "PINGREQ"}
FROM_SERVER = {"CONNACK", "SUBACK", "UNSUBACK", "PINGRESP"}
why = {}
for p in packets:
    if p["_malformed"]:
        why.setdefault(p["frame"], "tshark marks the frame malformed")
    elif not isinstance(p["type"], str) or p["type"] not in TYPES.values():
        why.setdefault(p["frame"], f"reserved packet type {p['type']}")
    elif p["type"] in (FROM_SERVER if p["direction"] == "client_to_server" else FROM_CLIENT):
        why.setdefault(p["frame"], f"{p['type']} sent {p['direction'].replace('_', ' ')}")
untrusted = []
for p in packets:
    del p["_malformed"]
    if p["frame"] in why:
        p["why"] = why[p["frame"]]
        untrusted.append(p)
packets = [p for p in packets if p["frame"] not in why]

# TLS version and suite per connection, from the Server Hello (TLS 1.3 names
# itself in the supported_versions extension; its legacy version says 1.2).
TLS_VERSIONS = {"0x0303": "TLS 1.2", "0x0304": "TLS 1.3"}
for stream, ver, sup, suite in fields("tls.handshake.type == 2", "tcp.stream", "tls.handshake.version",
                                      "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite"):
    v = sup.split("|")[0] if sup else ver.split("|")[0]
    conns[int(stream)]["tls"] = {"version": TLS_VERSIONS.get(v, v), "cipher": suite.split("|")[0]}
# names of the suites (tshark -T fields prints the number only)
names = {}
for line in tshark("-Y", "tls.handshake.type == 2", "-V").splitlines():
    line = line.strip()
    if line.startswith("Cipher Suite: ") and "(0x" in line:
        name, code = line[len("Cipher Suite: "):].rsplit(" (", 1)
        names[code.rstrip(")")] = name
for c in conns.values():
    if "tls" in c:
        c["tls"]["cipher"] = names.get(c["tls"]["cipher"], c["tls"]["cipher"])

# the WebSocket upgrade: request path and subprotocol, response status
for stream, uri, proto, code in fields("http.upgrade || http.response.code == 101", "tcp.stream",
                                       "http.request.uri", "http.sec_websocket_protocol", "http.response.code"):
    w = conns[int(stream)].setdefault("websocket", {"path": None, "subprotocol": None, "status": None})
    if uri:
        w["path"] = uri.split("|")[0]
    if code:
        w["status"] = int(code.split("|")[0])
        if proto:
            w["subprotocol"] = proto.split("|")[0]  # the one the server accepted

# every WebSocket frame (several may share a TCP segment: aggregated with "|")
OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
ws_frames = []
for row in fields("websocket", "frame.number", "tcp.stream", "ip.src", "tcp.srcport", "websocket.opcode",
                  "websocket.fin", "websocket.mask", "websocket.payload_length",
                  "websocket.payload_length_ext_16", "websocket.payload_length_ext_64",
                  "websocket.payload.close.status_code", "websocket.payload.close.reason"):
    n, stream, src, sport, ops, fins, masks, l7, l16, l64, codes, reasons = (row + [""] * 12)[:12]
    ops, fins, masks, l7 = ops.split("|"), fins.split("|"), masks.split("|"), l7.split("|")
    l16, l64 = [int(x) for x in l16.split("|") if x], [int(x) for x in l64.split("|") if x]
    codes, reasons = [int(x) for x in codes.split("|") if x], [x for x in reasons.split("|") if x]
    for i, op in enumerate(ops):
        length = int(l7[i])
        if length == 126:
            length = l16.pop(0)
        elif length == 127:
            length = l64.pop(0)
        f = {"frame": int(n), "stream": int(stream), "direction": side(int(stream), src, int(sport)),
             "opcode": OPCODES.get(int(op), int(op)), "fin": fins[i] in ("1", "True"),
             "masked": masks[i] in ("1", "True"), "payload_len": length}
        if int(op) == 8:
            f["close_code"] = codes.pop(0) if codes else None
            f["close_reason"] = reasons.pop(0) if reasons else None
        ws_frames.append(f)

# QoS 1/2 pairing, per (stream, direction of the PUBLISH, packet id)
open_, flows = {}, []
for p in packets:
    d, s, pid = p["direction"], p["stream"], p["packet_id"]
    other = "server_to_client" if d == "client_to_server" else "client_to_server"
    if p["type"] == "PUBLISH" and p["qos"] in (1, 2) and pid:
        if (s, d, pid) in open_ and p["dup"]:
            continue
        open_[(s, d, pid)] = {"stream": s, "direction": d, "packet_id": pid, "qos": p["qos"],
                              "frames": [p["frame"]], "t": [p["ts"]], "stage": "PUBLISH"}
    elif p["type"] in ("PUBACK", "PUBREC", "PUBCOMP"):
        f = open_.get((s, other, pid))
        if not f:
            continue
        want = {"PUBLISH": "PUBACK" if f["qos"] == 1 else "PUBREC", "PUBREL": "PUBCOMP"}.get(f["stage"])
        if p["type"] != want:
            continue
        f["frames"].append(p["frame"])
        f["t"].append(p["ts"])
        f["stage"] = p["type"]
        if p["type"] in ("PUBACK", "PUBCOMP"):
            flows.append(open_.pop((s, other, pid)))
    elif p["type"] == "PUBREL":
        f = open_.get((s, d, pid))
        if f and f["stage"] == "PUBREC":
            f["frames"].append(p["frame"])
            f["t"].append(p["ts"])
            f["stage"] = "PUBREL"
lat = defaultdict(list)
for f in flows:
    t = f.pop("t")
    if f["qos"] == 1:
        f["latency_ms"] = {"puback": (t[1] - t[0]) * 1e3}
    else:
        f["latency_ms"] = {"pubrec": (t[1] - t[0]) * 1e3, "pubrel": (t[2] - t[1]) * 1e3,
                           "pubcomp": (t[3] - t[2]) * 1e3, "qos2_total": (t[3] - t[0]) * 1e3}
    for k, v in f["latency_ms"].items():
        lat[k].append(v)
incomplete = [dict((k, v) for k, v in f.items() if k != "t") for f in open_.values()]
out = {"capture": os.path.basename(cap), "frames": len(frames),
       "connections": sorted(conns.values(), key=lambda c: c["first_frame"]), "packets": packets,
       "flows_complete": flows, "flows_incomplete": incomplete,
       "latency_ms": {k: {"count": len(v), "min": min(v), "max": max(v), "mean": sum(v) / len(v)}
                      for k, v in lat.items()}}
if untrusted:
    out["packets_untrusted"] = untrusted
if ws_frames:
    out["websocket_frames"] = ws_frames
stem = cap.rsplit(".", 1)[0]
json.dump(out, open(stem + ".truth.json", "w"), indent=1)
print(f"{cap}: {len(out['connections'])} conns, {len(packets)} mqtt pdus, {len(flows)} complete flows, "
      f"{len(incomplete)} incomplete, {len(ws_frames)} websocket frames, "
      f"{len(untrusted)} untrusted pdus in {len(why)} frames")
