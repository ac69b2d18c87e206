#!/usr/bin/env bash
# Whole-program comparison: mqtt-inspect against tshark on the same capture.
#
#   scripts/bench/compare.sh [COPIES]
#
# Builds a large capture from samples/clients_many.pcap (COPIES replays with
# distinct client addresses, default 2000 = 552 000 frames), then times with
# hyperfine (Debian package `hyperfine`):
#   - mqtt-inspect's summary, its JSON-lines output of every packet,
#   - tshark decoding every MQTT packet to fields, and tshark's TCP
#     conversation table (what mqtt-inspect's summary gives beyond MQTT).
# Needs tshark and hyperfine; prints hyperfine's table.
set -euo pipefail
cd "$(dirname "$0")/../.."
copies=${1:-2000}
cap=$(mktemp --suffix=.pcap)
trap 'rm -f "$cap"' EXIT
cargo build --release --quiet --example synth_capture
cargo build --release --quiet
./target/release/examples/synth_capture samples/clients_many.pcap "$cap" "$copies" 200
bin=./target/release/mqtt-inspect
hyperfine --warmup 1 --runs 5 \
  -n "mqtt-inspect summary" "$bin analyze --color never $cap" \
  -n "mqtt-inspect jsonl" "$bin analyze --format jsonl $cap" \
  -n "tshark mqtt fields" "tshark -r $cap -Y mqtt -T fields -e frame.number -e mqtt.msgtype -e mqtt.msgid -e mqtt.topic" \
  -n "tshark conv,tcp" "tshark -r $cap -q -z conv,tcp"
