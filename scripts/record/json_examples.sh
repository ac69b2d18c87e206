#!/usr/bin/env bash
# json_examples.pcap: the MQTT 5.0 capture behind the examples in
# docs/json.md that no sample has (CONNECT with will, reason codes in acks,
# SUBSCRIBE options, DISCONNECT with a reason, AUTH): the peers of
# scripts/record/json_examples.py against a real mosquitto, on the loopback
# of one namespace. Not a test fixture: it is written to $OUT_DIR (default
# /tmp/mqtt-inspect-docs), and docs/json.md shows what mqtt-inspect prints.
# usage: scripts/record/json_examples.sh   (root)
OUT_DIR=${OUT_DIR:-/tmp/mqtt-inspect-docs}
. "$(dirname "$0")/lib.sh"
rec_init docs

ns_new mqi-docs
start_broker mqi-docs
cap_start mqi-docs lo "$WORK/json_examples.pcap"
in_ns mqi-docs timeout 60 "$PY" "$REC_DIR/json_examples.py" 127.0.0.1 "$PORT" >"$WORK/peers.log" ||
    die "peers failed: $(tail -5 "$WORK/peers.log")"
cap_stop
grep "auth: broker" "$WORK/peers.log" >&2 || true

finish json_examples.pcap --format pcap --protos 5 \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT,AUTH \
    --complete --min-conns 3
