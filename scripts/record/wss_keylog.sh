#!/usr/bin/env bash
# wss_keylog.pcap + wss_keylog.keys: MQTT over WebSocket inside TLS ("wss"),
# with the clients' TLS secrets in an NSS key log. A mosquitto websockets
# listener on 8081 with cafile/certfile/keyfile (libwebsockets does the TLS;
# throwaway P-256 CA and server certificate made here, kept only in the temp
# dir); two paho clients with transport="websockets", path /mqtt, and a
# Python ssl context that logs its keys: a 3.1.1 one that leaves the TLS
# version to the peers (TLS 1.3) and a 5.0 one limited to TLS 1.2 with
# ECDHE-ECDSA-AES128-GCM-SHA256, which also sends a 20,000-byte message (more
# than one TLS record). Each subscribes to its own topics and publishes QoS
# 0/1/2 to them: QoS 1 and 2 flows both ways.
# The key log holds throwaway keys of this sample traffic only.
# usage: scripts/record/wss_keylog.sh   (root; writes samples/wss_keylog.*)
. "$(dirname "$0")/lib.sh"
rec_init wss
TRUTH=$REC_DIR/tshark_truth_layers.py
PORT=8081
KEYS=$WORK/wss_keylog.keys
# tshark must be told: TCP 8081 -> TLS, decrypted TLS -> HTTP (the upgrade),
# and (mqtt_ws.lua, always loaded by the truth script) WebSocket -> MQTT
DEC="-d tcp.port==8081,tls -d tls.port==8081,http"
TRUTH_PORTS="1883 --keylog $KEYS $DEC"

C=mqi-wss-c B=mqi-wss-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24
make_pki $H

# mosquitto 2.0.11 exits with "Unable to start any listening sockets" when
# every listener is a websockets one, so a plain MQTT listener stays on the
# broker's loopback (no client uses it; the capture is on eth0).
cat >"$WORK/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
listener 8081
protocol websockets
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 8081

cap_start $B eth0 "$WORK/wss_keylog.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/layers_clients.py" wss $H --cafile "$PKI/ca.crt" --keylog "$KEYS" |
    tee "$WORK/clients.txt" >&2
cap_stop

finish wss_keylog.pcap --format pcap --link EN10MB --protos 4,5 --keylog "$KEYS" --ws-lua \
    --decode-as tcp.port==8081,tls --decode-as tls.port==8081,http \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,DISCONNECT \
    --complete --both-directions --handshakes --allow-rst --min-conns 2 --port 8081 --decrypted --websocket 2 \
    --suites TLS_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
