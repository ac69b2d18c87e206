#!/usr/bin/env bash
# Record one fault capture: samples/faults/NAME.pcap (+ NAME.truth.json).
#
# usage: scripts/faults/record.sh NAME      (NAME: a scenario in scenarios.py)
#
# A private network namespace (mqf-NAME) with only its loopback up; tcpdump
# on that loopback; the scenario's peers inside it on 127.0.0.1:1883. tcpdump
# is stopped with SIGINT after a short wait so that the file is complete.
# Then /work/shared/tools/tshark_truth.py writes Wireshark's view beside the
# capture and check.py asserts from it that the intended fault is there.
# Re-running overwrites the capture; a namespace left over by an interrupted
# run is removed first. KEEP_TMP=1 keeps the work directory (raw recording,
# mosquitto and client logs).
set -euo pipefail

name=${1:?usage: record.sh NAME}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/samples/faults
truth_tool=${TSHARK_TRUTH:-/work/shared/tools/tshark_truth.py}
ns=mqf-${name//_/-}
ns=${ns:0:40}
tmp=$(mktemp -d "/tmp/mqf-$name.XXXXXX")
tcpdump_pid=

drop_ns() {
    if ip netns list | grep -qx "$ns\( (id: [0-9]*)\)\?"; then
        # only processes started inside this namespace by this script
        for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    fi
}

cleanup() {
    local rc=$?
    if [[ -n $tcpdump_pid ]]; then kill -INT "$tcpdump_pid" 2>/dev/null || true; wait "$tcpdump_pid" || true; fi
    drop_ns
    if [[ $rc -ne 0 ]]; then
        echo "record.sh $name failed (rc $rc); logs:" >&2
        for f in "$tmp"/*.log; do [[ -e $f ]] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
    fi
    if [[ -n ${KEEP_TMP:-} ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_ns
ip netns add "$ns"
ip -n "$ns" link set lo up
# No tail loss probes: on loopback they fire before the peer's delayed ACK and
# put spurious TCP retransmissions into the captures (namespace-local setting).
ip netns exec "$ns" sysctl -qw net.ipv4.tcp_early_retrans=0

ip netns exec "$ns" tcpdump -i lo --immediate-mode -s 65535 -B 65536 -U -w "$tmp/raw.pcap" 'tcp port 1883' 2>"$tmp/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.log" && break; sleep 0.05; done
grep -q "listening on" "$tmp/tcpdump.log" || { echo "tcpdump did not start" >&2; exit 1; }

ip netns exec "$ns" /usr/bin/python3 "$here/scenarios.py" "$name" "$tmp" | tee "$tmp/scenario.log"

sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
cat "$tmp/tcpdump.log"
captured=$(sed -n 's/^\([0-9]*\) packets\? captured$/\1/p' "$tmp/tcpdump.log")
seen=$(sed -n 's/^\([0-9]*\) packets\? received by filter$/\1/p' "$tmp/tcpdump.log")
# on lo the filter sees each packet twice (outgoing and incoming) and keeps one
[[ $((captured * 2)) == "$seen" ]] || { echo "tcpdump wrote $captured of $((seen / 2)) packets" >&2; exit 1; }
grep -qx "0 packets dropped by kernel" "$tmp/tcpdump.log" || { echo "tcpdump lost packets" >&2; exit 1; }

mkdir -p "$out"
if [[ $name == tcp_gap ]]; then
    # delete the segment that carried the client's QoS 0 PUBLISH on gap/dropped
    frame=$(tshark -r "$tmp/raw.pcap" -d tcp.port==1883,mqtt \
        -Y 'mqtt.topic == "gap/dropped" && tcp.dstport == 1883' -T fields -e frame.number)
    [[ $frame =~ ^[0-9]+$ ]] || { echo "tcp_gap: no single frame to drop: '$frame'" >&2; exit 1; }
    echo "tcp_gap: deleting frame $frame of the recording"
    editcap "$tmp/raw.pcap" "$out/$name.pcap" "$frame"
    echo "$frame" >"$out/$name.removed-frame"
else
    cp "$tmp/raw.pcap" "$out/$name.pcap"
fi
chmod 644 "$out/$name.pcap"

if ! "$truth_tool" "$out/$name.pcap" 1883; then
    # tshark_truth.py (tshark 4.0) stops on a frame where tshark lists a bare
    # "[Malformed Packet]" string among the MQTT PDUs; skip such entries.
    echo "WARNING: $truth_tool failed; using a copy that skips non-object MQTT PDUs" >&2
    sed 's/^    for pdu in (m if isinstance(m, list) else \[m\]):$/&\n        if not isinstance(pdu, dict): continue/' \
        "$truth_tool" >"$tmp/tshark_truth_patched.py"
    grep -q "if not isinstance(pdu, dict): continue" "$tmp/tshark_truth_patched.py"
    python3 "$tmp/tshark_truth_patched.py" "$out/$name.pcap" 1883
fi
/usr/bin/python3 "$here/check.py" "$name" "$out/$name.pcap"
