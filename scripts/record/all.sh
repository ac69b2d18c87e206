#!/usr/bin/env bash
# Re-record every sample in samples/ (capture + .truth.json + .conv.txt).
# Needs root, iproute2, ethtool, mosquitto, mosquitto-clients, tcpdump,
# tshark/dumpcap, nftables, openssl and python3 with python3-paho-mqtt (and
# python3-websocket for ws_frames). Tests never run this: the committed
# files (and the TLS samples' .keys) are the fixtures. Captures are not
# byte-reproducible (timestamps, ports, sequence numbers, loss and reorder
# patterns change), so commit the regenerated truth/conv files with them.
# usage: scripts/record/all.sh [NAME...]   (default: all of them)
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(v311_basic v311_any_sll2 v5_props v6_ipv6 v31_mqisdp large_payload
    midstream clients_many lossy_retrans reorder tls_8883 other_port ws_mqtt ws_frames tls12_keylog
    tls13_keylog wss_keylog)
failed=()
for n in "${names[@]}"; do
    echo "=== $n" >&2
    "$dir/$n.sh" || failed+=("$n")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "all ${#names[@]} samples recorded" >&2
