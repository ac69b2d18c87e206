#!/usr/bin/env bash
# tls12_keylog.pcap + tls12_keylog.keys: MQTT inside TLS 1.2 on 8883, with
# the clients' TLS secrets in an NSS key log, so TLS can be decrypted.
# mosquitto's listener is "tls_version tlsv1.2" with a throwaway P-256 CA and
# server certificate (made here, kept only in the temp dir); three paho
# clients, each with a Python ssl context that logs its keys
# (keylog_filename) and allows one cipher suite: ECDHE-ECDSA-AES128-GCM-SHA256
# (3.1.1, with a 20,000-byte message: several TLS records), -AES256-GCM-SHA384
# (5.0) and -CHACHA20-POLY1305 (5.0). Each subscribes to its own topics and
# publishes QoS 0/1/2 to them, so QoS 1 and 2 flows run both ways.
# The key log holds throwaway keys of this sample traffic only.
# usage: scripts/record/tls12_keylog.sh   (root; writes samples/tls12_keylog.*)
. "$(dirname "$0")/lib.sh"
rec_init tls12
TRUTH=$REC_DIR/tshark_truth_layers.py
PORT=8883
KEYS=$WORK/tls12_keylog.keys
# tshark decodes 8883 as TLS and hands the decrypted bytes to MQTT by itself
TRUTH_PORTS="1883 --keylog $KEYS"

C=mqi-tls12-c B=mqi-tls12-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24
make_pki $H

cat >"$WORK/mosquitto.conf" <<CONF
listener 8883
tls_version tlsv1.2
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 8883

cap_start $B eth0 "$WORK/tls12_keylog.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/layers_clients.py" tls12 $H --cafile "$PKI/ca.crt" --keylog "$KEYS" |
    tee "$WORK/clients.txt" >&2
cap_stop
[ "$(grep -c CLIENT_RANDOM "$KEYS")" = 3 ] || die "key log: expected 3 CLIENT_RANDOM lines"

finish tls12_keylog.pcap --format pcap --link EN10MB --protos 4,5 --keylog "$KEYS" \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,DISCONNECT \
    --complete --both-directions --handshakes --allow-rst --min-conns 3 --port 8883 --tls 8883 --decrypted \
    --suites TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
