#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the sample captures.

    fuzz/make_corpus.py            # every target
    fuzz/make_corpus.py mqtt_parse # one target

Needs tshark (to take the TCP payloads out of the captures) and editcap.
The seeds are derived from samples/ each time, so only this script is kept
in git; fuzz/corpus/ is ignored.

- capture:     the sample files themselves (up to 64 KiB each);
- pipeline:    [link type pick] + the pcap records of each sample, the form
               fuzz_targets/pipeline.rs expects;
- mqtt_parse:  [preview size] + one MQTT packet, for every distinct packet
               of every sample;
- mqtt_framer: [mode, cap, preview] + ops replaying each TCP connection's
               segments in capture order (fuzz_targets/mqtt_framer.rs);
- websocket:   [mode 0] + the same ops for each connection of the ws_*
               samples, handshake included (fuzz_targets/websocket.rs);
- tls_record:  [mode 0] + ops with two-byte lengths for each connection of
               the TLS samples (fuzz_targets/tls_record.rs);
- tls_handshake: [0] + each ClientHello body, [1] + each ServerHello body of
               the TLS samples, [3] + each sample key log (key logs of the
               samples' throwaway keys, committed on purpose).
"""
import hashlib
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
PIPELINE_LINKS = [1, 113, 276, 0, 101, 228, 229]  # as in fuzz_targets/pipeline.rs
MQTT_PORTS = ("1883", "8883", "11883")


def samples():
    out = []
    for d, _, files in os.walk(os.path.join(ROOT, "samples")):
        for f in sorted(files):
            if f.endswith((".pcap", ".pcapng")):
                out.append(os.path.join(d, f))
    return sorted(out)


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def as_pcap(path):
    """The capture as classic pcap bytes (pcapng converted with editcap)."""
    if path.endswith(".pcap"):
        with open(path, "rb") as fh:
            return fh.read()
    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        subprocess.run(["editcap", "-F", "pcap", path, tmp.name], check=True)
        with open(tmp.name, "rb") as fh:
            return fh.read()


def segments(path):
    """(stream, client_to_server, payload) of every TCP segment with data, in
    capture order; the client is the side that sent the SYN, else the side
    not on an MQTT port."""
    fields = ["tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags.syn",
              "tcp.flags.ack", "tcp.payload"]
    cmd = ["tshark", "-r", path, "-Y", "tcp", "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    rows = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    clients = {}
    out = []
    for line in rows.splitlines():
        stream, sport, dport, syn, ack, payload = (line.split("\t") + [""] * 6)[:6]
        if syn in ("1", "True") and ack not in ("1", "True"):
            clients.setdefault(stream, sport)
        if not payload:
            continue
        if stream not in clients:
            clients[stream] = sport if dport in MQTT_PORTS else dport
        out.append((stream, sport == clients[stream], bytes.fromhex(payload.replace(":", ""))))
    return out


def split_packets(stream):
    """Whole MQTT packets at the start of a byte stream (stops at the first
    thing that does not frame)."""
    p = 0
    while p + 2 <= len(stream):
        length, mult, k = 0, 1, 1
        while True:
            if p + k >= len(stream) or k > 4:
                return
            b = stream[p + k]
            length += (b & 0x7F) * mult
            mult *= 128
            k += 1
            if b & 0x80 == 0:
                break
        end = p + k + length
        if end > len(stream):
            return
        yield stream[p:end]
        p = end


def seed_capture(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) <= 64 * 1024:
        put("capture", data)


def seed_pipeline(path):
    pcap = as_pcap(path)
    link = int.from_bytes(pcap[20:24], "little")
    if link in PIPELINE_LINKS and len(pcap) <= 64 * 1024:
        put("pipeline", bytes([PIPELINE_LINKS.index(link)]) + pcap[24:])


def seed_mqtt(path, wanted):
    streams = {}
    for stream, c2s, payload in segments(path):
        streams.setdefault((stream, c2s), bytearray()).extend(payload)
    seen = set()
    for data in streams.values():
        for pkt in split_packets(bytes(data)):
            if "mqtt_parse" in wanted and pkt not in seen and len(pkt) <= 4096:
                seen.add(pkt)
                put("mqtt_parse", bytes([64]) + pkt)
    conns = {}
    for stream, c2s, payload in segments(path):
        conns.setdefault(stream, []).append((c2s, payload))
    for segs in conns.values():
        if "mqtt_framer" not in wanted:
            break
        ops = bytearray([0, 6, 64])  # handshake seen, 1 KiB buffer, 64-byte preview
        for c2s, payload in segs:
            for k in range(0, len(payload), 255):
                chunk = payload[k:k + 255]
                ops += bytes([0 if c2s else 1, len(chunk)]) + chunk
            if len(ops) > 8192:
                break
        put("mqtt_framer", bytes(ops))


def connections(path):
    conns = {}
    for stream, c2s, payload in segments(path):
        conns.setdefault(stream, []).append((c2s, payload))
    return conns.values()


def seed_websocket(path):
    for segs in connections(path):
        ops = bytearray([0])
        for c2s, payload in segs:
            for k in range(0, len(payload), 255):
                chunk = payload[k:k + 255]
                ops += bytes([0 if c2s else 1, len(chunk)]) + chunk
            if len(ops) > 16384:
                break
        put("websocket", bytes(ops))


def seed_tls(path, wanted):
    for segs in connections(path):
        ops = bytearray([0])
        for c2s, payload in segs:
            ops += bytes([0 if c2s else 1]) + len(payload).to_bytes(2, "little") + payload
            if len(ops) > 32768:
                break
        if "tls_record" in wanted:
            put("tls_record", bytes(ops))
        if "tls_handshake" in wanted:
            for c2s, payload in segs[:4]:
                if payload[:1] == b"\x16" and len(payload) > 9 and payload[5] in (1, 2):
                    put("tls_handshake", bytes([payload[5] - 1]) + payload[9:])
    keys = os.path.splitext(path)[0] + ".keys"
    if "tls_handshake" in wanted and os.path.exists(keys):
        with open(keys, "rb") as fh:
            put("tls_handshake", b"\x03" + fh.read())


def main():
    wanted = set(sys.argv[1:]) or {"capture", "pipeline", "mqtt_parse", "mqtt_framer",
                                   "websocket", "tls_record", "tls_handshake"}
    for path in samples():
        name = os.path.basename(path)
        if "websocket" in wanted and name.startswith("ws_"):
            seed_websocket(path)
        if wanted & {"tls_record", "tls_handshake"} and name.startswith(("tls", "wss")):
            seed_tls(path, wanted)
        if "capture" in wanted:
            seed_capture(path)
        if "pipeline" in wanted:
            seed_pipeline(path)
        if wanted & {"mqtt_parse", "mqtt_framer"}:
            seed_mqtt(path, wanted)
    for t in sorted(wanted):
        d = os.path.join(CORPUS, t)
        n = len(os.listdir(d)) if os.path.isdir(d) else 0
        print(f"{t}: {n} seeds in {d}")


if __name__ == "__main__":
    main()
