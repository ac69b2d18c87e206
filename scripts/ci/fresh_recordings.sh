#!/usr/bin/env bash
# Records fresh real traffic — a mosquitto broker and real clients in network
# namespaces this script creates, captured with tcpdump / dumpcap — and
# checks mqtt-inspect against tshark on it: TCP connections, every MQTT
# packet, every QoS flow and its latency (the same checks as on the committed
# samples, on captures no one has seen before).
#
# Needs root and: iproute2 ethtool mosquitto mosquitto-clients tcpdump tshark
# nftables python3-paho-mqtt (Debian packages; .ci/run installs them).
# usage: scripts/ci/fresh_recordings.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d /tmp/mqi-fresh.XXXXXX)
trap 'rm -rf "$out"' EXIT
chmod 755 "$out"
export OUT_DIR=$out
TRUTH=$(cd ../shared/tools && pwd)/tshark_truth.py
export TRUTH
for rec in clients_many v5_props large_payload v311_basic v6_ipv6; do
  echo "== recording $rec"
  timeout 300 "scripts/record/$rec.sh"
done
ls -l "$out"
MQTT_INSPECT_FRESH_CAPTURES=$out cargo test --test tcp_agreement --test mqtt_agreement --test flows_agreement -- --ignored fresh
