#!/usr/bin/env bash
# ws_deflate.pcap: MQTT over WebSocket with permessage-deflate (RFC 7692).
# mosquitto 2.0.11's libwebsockets never negotiates it, so a real WebSocket
# server (python3-websockets 10.4, permessage-deflate on by default) stands
# in front of mosquitto in the broker's namespace, port 9002, and joins each
# WebSocket to a TCP connection to mosquitto on the broker's loopback (not
# captured). Clients: python3-websockets writing MQTT 3.1.1 bytes
# (scripts/record/ws_deflate.py): one connection with context takeover, one
# with client_/server_no_context_takeover; QoS 0/1/2 both ways and an
# 80,000-byte message.
# No --complete: tshark 4.0 misreads the broker's compressed 80,000-byte
# delivery (frame 35 of the committed file) and so misses the PUBACK in it;
# see samples/README.md.
# usage: scripts/record/ws_deflate.sh   (root; apt-get install python3-websockets)
. "$(dirname "$0")/lib.sh"
rec_init wsd
TRUTH=$REC_DIR/tshark_truth_layers.py
TRUTH_PORTS="1883 -d tcp.port==9002,http"

C=mqi-wsd-c B=mqi-wsd-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24
"$PY" -c 'import websockets' 2>/dev/null || die "needs python3-websockets"

cat >"$WORK/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 1883
bg_ns $B "$PY" "$REC_DIR/ws_deflate.py" proxy 9002
for _ in $(seq 50); do
    if in_ns $B ss -Hltn "sport = :9002" | grep -q LISTEN; then break; fi
    sleep 0.1
done
in_ns $B ss -Hltn "sport = :9002" | grep -q LISTEN || die "the WebSocket proxy does not listen"

cap_start $B eth0 "$WORK/ws_deflate.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/ws_deflate.py" clients $H 9002 | tee "$WORK/clients.txt" >&2
cap_stop

finish ws_deflate.pcap --format pcap --link EN10MB --protos 4 --decode-as tcp.port==9002,http --ws-lua \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,DISCONNECT \
    --handshakes --min-conns 2 --websocket 2
