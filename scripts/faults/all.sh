#!/usr/bin/env bash
# Re-record every fault capture in samples/faults/ (about a minute: late_ack
# waits 12 s, keepalive_exceeded 5 s). Each capture's check output is
# collected in samples/faults/checks.txt, beside the captures it describes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../samples/faults
names=(
    missing_ack_broker_killed missing_ack_qos2_stalled late_ack duplicate_publish
    packet_id_in_use unexpected_ack wrong_ack_type invalid_qos dup_on_qos0
    packet_id_zero qos_exceeds_grant receive_maximum_exceeded protocol_violation
    malformed_packet keepalive_exceeded tcp_gap session_redelivery session_lost_clean
)
mkdir -p "$out"
: >"$out/checks.txt.new"
for name in "${names[@]}"; do
    echo "=== $name"
    "$here/record.sh" "$name" >"$out/$name.log.tmp" 2>&1 || { cat "$out/$name.log.tmp"; rm -f "$out/$name.log.tmp"; exit 1; }
    sed -n "/^$name: [0-9]* TCP connections/,/^$name: OK\$/p" "$out/$name.log.tmp" | tee -a "$out/checks.txt.new"
    rm -f "$out/$name.log.tmp"
done
mv "$out/checks.txt.new" "$out/checks.txt"
