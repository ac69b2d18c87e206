#!/usr/bin/env bash
# tls13_keylog.pcap + tls13_keylog.keys: MQTT inside TLS 1.3, with the
# clients' TLS secrets in an NSS key log, so TLS can be decrypted. Python's
# ssl module cannot pick TLS 1.3 suites, so the broker does: three mosquitto
# listeners with "tls_version tlsv1.3" and one "ciphers_tls1.3" each,
# 8883 TLS_AES_128_GCM_SHA256 (paho 3.1.1 client), 8884 TLS_AES_256_GCM_SHA384
# (5.0, with a 20,000-byte message: several TLS records) and 8885
# TLS_CHACHA20_POLY1305_SHA256 (5.0). Throwaway P-256 CA and server
# certificate as in tls12_keylog.sh. Each client subscribes to its own
# topics and publishes QoS 0/1/2 to them: QoS 1 and 2 flows both ways.
# The key log holds throwaway keys of this sample traffic only.
# usage: scripts/record/tls13_keylog.sh   (root; writes samples/tls13_keylog.*)
. "$(dirname "$0")/lib.sh"
rec_init tls13
TRUTH=$REC_DIR/tshark_truth_layers.py
PORT=8883
KEYS=$WORK/tls13_keylog.keys
# tshark decodes 8883 as TLS and hands the decrypted bytes to MQTT by itself;
# 8884 and 8885 it must be told: TCP -> TLS, then TLS -> MQTT
DEC="-d tcp.port==8884,tls -d tls.port==8884,mqtt -d tcp.port==8885,tls -d tls.port==8885,mqtt"
TRUTH_PORTS="1883 --keylog $KEYS $DEC"

C=mqi-tls13-c B=mqi-tls13-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24
make_pki $H

cat >"$WORK/mosquitto.conf" <<CONF
listener 8883
tls_version tlsv1.3
ciphers_tls1.3 TLS_AES_128_GCM_SHA256
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
listener 8884
tls_version tlsv1.3
ciphers_tls1.3 TLS_AES_256_GCM_SHA384
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
listener 8885
tls_version tlsv1.3
ciphers_tls1.3 TLS_CHACHA20_POLY1305_SHA256
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 8883 8884 8885

cap_start $B eth0 "$WORK/tls13_keylog.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/layers_clients.py" tls13 $H --cafile "$PKI/ca.crt" --keylog "$KEYS" |
    tee "$WORK/clients.txt" >&2
cap_stop
[ "$(grep -c CLIENT_TRAFFIC_SECRET_0 "$KEYS")" = 3 ] || die "key log: expected 3 CLIENT_TRAFFIC_SECRET_0 lines"

finish tls13_keylog.pcap --format pcap --link EN10MB --protos 4,5 --keylog "$KEYS" \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,DISCONNECT \
    --complete --both-directions --handshakes --allow-rst --min-conns 3 --decrypted \
    --decode-as tcp.port==8884,tls --decode-as tls.port==8884,mqtt --decode-as tcp.port==8885,tls --decode-as tls.port==8885,mqtt \
    --suites TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256
