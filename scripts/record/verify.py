#!/usr/bin/env python3
"""Check that a freshly recorded sample holds what samples/README.md claims.

usage: verify.py CAPTURE [checks...]   (CAPTURE.truth.json must exist beside it)

The truth file is tshark's decode (tshark_truth.py); the TCP-level checks ask
tshark directly. Any failed check exits non-zero, so a recorder never
publishes a sample that lost its point (no retransmission in the lossy one,
an unfinished QoS flow in the clean one, and so on).
"""
import argparse
import json
import os
import struct
import subprocess
import sys

LINKTYPES = {1: "EN10MB", 113: "LINUX_SLL", 276: "LINUX_SLL2"}


def file_format(path):
    """(format, linktype name, timestamp resolution) from the file header."""
    with open(path, "rb") as f:
        head = f.read(64)
    magic = head[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        link = struct.unpack_from("<I", head, 20)[0]
        return "pcap", LINKTYPES.get(link, str(link)), "ns" if magic == b"\x4d\x3c\xb2\xa1" else "us"
    if magic == b"\x0a\x0d\x0d\x0a":
        shb_len = struct.unpack_from("<I", head, 4)[0]
        with open(path, "rb") as f:
            f.seek(shb_len)
            idb = f.read(16)
        btype, _, link = struct.unpack_from("<IIH", idb, 0)
        if btype != 1:
            return "pcapng", "?", "?"
        return "pcapng", LINKTYPES.get(link, str(link)), "idb"
    return "unknown", "?", "?"


# "-d tcp.port==P,mqtt" for ports tshark does not decode as MQTT by itself (--mqtt-port).
DECODE_AS = []


def tshark_count(path, display_filter):
    out = subprocess.run(["tshark", "-r", path, "-Y", display_filter, "-T", "fields", "-e", "frame.number"] + DECODE_AS,
                         capture_output=True, text=True, check=True).stdout
    return len(out.split())


def tshark_fields(path, display_filter, *fields):
    args = ["tshark", "-r", path, "-Y", display_filter, "-T", "fields"] + DECODE_AS
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--format", choices=["pcap", "pcapng"])
    ap.add_argument("--link")
    ap.add_argument("--tsres", choices=["us", "ns"])
    ap.add_argument("--max-kb", type=int, default=100)
    ap.add_argument("--protos", help="comma list of CONNECT protocol levels that must all appear, e.g. 4,5")
    ap.add_argument("--require", default="CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,DISCONNECT",
                    help="MQTT packet types that must appear")
    ap.add_argument("--mqtt-packets", help="MIN:MAX number of MQTT PDUs")
    ap.add_argument("--min-conns", type=int, default=1)
    ap.add_argument("--complete", action="store_true", help="no QoS 1/2 flow left incomplete")
    ap.add_argument("--both-directions", action="store_true",
                    help="complete QoS 1 and QoS 2 flows in both directions")
    ap.add_argument("--handshakes", action="store_true", help="every connection has SYN/SYN-ACK and a FIN close")
    ap.add_argument("--allow-rst", action="store_true", help="with --handshakes: an RST close is fine too")
    ap.add_argument("--midstream", action="store_true", help="no SYN at all and at least one connection without CONNECT")
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--min-retrans", type=int)
    ap.add_argument("--min-ooo", type=int)
    ap.add_argument("--min-segments", type=int, help="largest reassembled MQTT PDU spans at least this many TCP segments")
    ap.add_argument("--alias", action="store_true", help="a PUBLISH with a topic alias and an empty topic")
    ap.add_argument("--props", help="comma list of tshark display filters (e.g. mqtt.property_id==0x26) that must match")
    ap.add_argument("--mqtt-port", type=int, action="append", default=[],
                    help="also decode this TCP port as MQTT in the tshark checks (repeatable)")
    ap.add_argument("--port", type=int, help="every connection has this server port")
    ap.add_argument("--tls", type=int, metavar="PORT",
                    help="TLS on PORT: Client Hellos and application data, and no cleartext MQTT there")
    ap.add_argument("--decode-as", action="append", default=[], metavar="SPEC",
                    help='extra "tshark -d SPEC" for the tshark checks, e.g. tcp.port==9001,http (repeatable)')
    ap.add_argument("--keylog", help="TLS key log for the tshark checks (-o tls.keylog_file:FILE)")
    ap.add_argument("--ws-lua", action="store_true",
                    help="load mqtt_ws.lua (MQTT for WebSocket subprotocol mqtt) in the tshark checks")
    ap.add_argument("--websocket", type=int, metavar="N",
                    help="N WebSocket upgrades (101) and MQTT in WebSocket frames on every one of them")
    ap.add_argument("--decrypted", action="store_true",
                    help="every TLS connection in the truth file carries MQTT that tshark decrypted")
    ap.add_argument("--suites", help="comma list of TLS cipher suite names the connections must cover")
    a = ap.parse_args()
    for p in a.mqtt_port:
        DECODE_AS.extend(["-d", f"tcp.port=={p},mqtt"])
    for d in a.decode_as:
        DECODE_AS.extend(["-d", d])
    if a.ws_lua:
        DECODE_AS.extend(["-X", "lua_script:" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqtt_ws.lua")])
    if a.keylog:
        DECODE_AS.extend(["-o", f"tls.keylog_file:{a.keylog}"])

    cap = a.capture
    truth = json.load(open(cap.rsplit(".", 1)[0] + ".truth.json"))
    fails = []

    def check(ok, what):
        print(("  ok   " if ok else "  FAIL ") + what)
        if not ok:
            fails.append(what)

    fmt, link, tsres = file_format(cap)
    size = os.path.getsize(cap)
    print(f"{os.path.basename(cap)}: {fmt}, {link}, {size} bytes, {truth['frames']} frames, "
          f"{len(truth['packets'])} MQTT PDUs, {len(truth['connections'])} connections")
    check(size <= a.max_kb * 1024, f"size {size} <= {a.max_kb} KiB")
    if a.format:
        check(fmt == a.format, f"format {fmt} == {a.format}")
    if a.link:
        check(link == a.link, f"link type {link} == {a.link}")
    if a.tsres:
        check(tsres == a.tsres, f"timestamp resolution {tsres} == {a.tsres}")

    types = {p["type"] for p in truth["packets"]}
    for t in filter(None, a.require.split(",")):
        check(t in types, f"has {t}")
    if a.mqtt_packets:
        lo, hi = (int(x) for x in a.mqtt_packets.split(":"))
        check(lo <= len(truth["packets"]) <= hi, f"{len(truth['packets'])} MQTT PDUs in [{lo}, {hi}]")
    check(len(truth["connections"]) >= a.min_conns, f"{len(truth['connections'])} connections >= {a.min_conns}")

    if a.protos:
        seen = {r[0] for r in tshark_fields(cap, "mqtt.msgtype == 1", "mqtt.ver")}
        for want in a.protos.split(","):
            check(want in seen, f"CONNECT with protocol level {want} (seen {sorted(seen)})")

    complete = truth["flows_complete"]
    if a.complete:
        check(not truth["flows_incomplete"], f"no incomplete flow ({len(truth['flows_incomplete'])})")
        # every QoS 1/2 PUBLISH that is not a DUP resend starts a complete flow
        starts = {f["frames"][0] for f in complete}
        pubs = [p for p in truth["packets"] if p["type"] == "PUBLISH" and p["qos"] in (1, 2) and not p["dup"]]
        missing = [p["frame"] for p in pubs if p["frame"] not in starts]
        check(not missing, f"every QoS 1/2 PUBLISH is paired (unpaired frames: {missing[:10]})")
    if a.both_directions:
        for d in ("client_to_server", "server_to_client"):
            for q in (1, 2):
                n = sum(1 for f in complete if f["direction"] == d and f["qos"] == q)
                check(n > 0, f"{n} complete QoS {q} flows {d}")
    if a.handshakes:
        for c in truth["connections"]:
            if not c["mqtt"]:
                continue
            closes = ("fin", "rst") if a.allow_rst else ("fin",)
            check(c["handshake"] and c["close"] in closes,
                  f"stream {c['stream']}: handshake={c['handshake']} close={c['close']}")
    if a.midstream:
        syns = tshark_count(cap, "tcp.flags.syn == 1")
        check(syns == 0, f"{syns} SYN segments == 0")
        with_connect = {p["stream"] for p in truth["packets"] if p["type"] == "CONNECT"}
        without = [c["stream"] for c in truth["connections"] if c["stream"] not in with_connect]
        check(bool(without), f"connections without CONNECT: {without}")
    if a.ipv6:
        v6 = tshark_count(cap, "ipv6 && mqtt")
        v4 = tshark_count(cap, "ip")
        check(v6 > 0 and v4 == 0, f"{v6} MQTT frames over IPv6, {v4} IPv4 frames")
    if a.min_retrans is not None:
        n = tshark_count(cap, "tcp.analysis.retransmission || tcp.analysis.fast_retransmission")
        check(n >= a.min_retrans, f"{n} TCP retransmissions >= {a.min_retrans}")
    if a.min_ooo is not None:
        n = tshark_count(cap, "tcp.analysis.out_of_order")
        check(n >= a.min_ooo, f"{n} out-of-order segments >= {a.min_ooo}")
    if a.min_segments is not None:
        counts = [int(r[0]) for r in tshark_fields(cap, "mqtt && tcp.segment.count", "tcp.segment.count") if r[0]]
        best = max(counts, default=0)
        check(best >= a.min_segments, f"largest reassembled MQTT PDU spans {best} segments >= {a.min_segments}")
    if a.alias:
        rows = tshark_fields(cap, "mqtt.msgtype == 3 && mqtt.property.topic_alias", "frame.number", "mqtt.topic_len")
        empty = [r[0] for r in rows if "0" in r[1].split(",")]
        check(bool(rows) and bool(empty), f"PUBLISH with topic alias: {len(rows)} frames, empty topic in {empty}")
    if a.props:
        for prop in filter(None, a.props.split(",")):
            n = tshark_count(cap, prop)
            check(n > 0, f"{n} frames with {prop}")

    if a.port is not None:
        ports = {c["server"][1] for c in truth["connections"]}
        check(ports == {a.port}, f"server ports {sorted(ports)} == [{a.port}]")
    if a.tls is not None:
        on = f"tcp.port == {a.tls}"
        hellos = tshark_count(cap, f"{on} && tls.handshake.type == 1")
        check(hellos >= a.min_conns, f"{hellos} TLS Client Hellos on {a.tls} >= {a.min_conns}")
        app = tshark_count(cap, f"{on} && tls.app_data")
        check(app > 0, f"{app} frames with TLS application data on {a.tls}")
        clear = tshark_count(cap, f"{on} && mqtt && !tls")
        check(clear == 0, f"{clear} frames of cleartext MQTT on {a.tls} == 0")

    if a.websocket is not None:
        ws = [c for c in truth["connections"] if c.get("websocket", {}).get("status") == 101]
        check(len(ws) == a.websocket, f"{len(ws)} WebSocket upgrades == {a.websocket}")
        for c in ws:
            inside = [p for p in truth["packets"] if p["stream"] == c["stream"] and "websocket" in p["layers"]]
            check(c["websocket"]["subprotocol"] == "mqtt" and bool(inside),
                  f"stream {c['stream']}: subprotocol {c['websocket']['subprotocol']}, "
                  f"{len(inside)} MQTT PDUs in WebSocket frames")
    if a.decrypted:
        tls = [c for c in truth["connections"] if "tls" in c]
        check(bool(tls), f"{len(tls)} TLS connections")
        for c in tls:
            inside = [p for p in truth["packets"] if p["stream"] == c["stream"] and "tls" in p["layers"]]
            check(bool(inside), f"stream {c['stream']} ({c['tls']['version']} {c['tls']['cipher']}): "
                                f"{len(inside)} decrypted MQTT PDUs")
    if a.suites:
        seen = {c["tls"]["cipher"] for c in truth["connections"] if "tls" in c}
        for want in a.suites.split(","):
            check(want in seen, f"a connection with {want}")

    if fails:
        print(f"{len(fails)} check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
