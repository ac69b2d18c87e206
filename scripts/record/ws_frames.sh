#!/usr/bin/env bash
# ws_frames.pcap: MQTT over WebSocket with the frame boundaries placed by
# hand (scripts/record/ws_frames.py, python3-websocket): a WebSocket
# ping/pong, a fragmented message (binary without FIN + continuation), one
# MQTT packet spread over three WebSocket messages (cut inside its remaining
# length), two MQTT packets in one frame, a client close with status 1000,
# and a connection that the broker drops for keepalive (broker-sent close).
# Same broker set-up as ws_mqtt.sh (websockets listeners 8080 and 9001).
# usage: scripts/record/ws_frames.sh   (root; writes samples/ws_frames.*)
. "$(dirname "$0")/lib.sh"
rec_init wsf
TRUTH=$REC_DIR/tshark_truth_layers.py
# tshark takes 8080 for HTTP by itself, not 9001: without "-d" the
# handshake and frames on 9001 stay undecoded TCP payload.
TRUTH_PORTS="1883 -d tcp.port==9001,http"

C=mqi-wsf-c B=mqi-wsf-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24

# mosquitto 2.0.11 exits with "Unable to start any listening sockets" when
# every listener is a websockets one, so a plain MQTT listener stays on the
# broker's loopback (no client uses it; the capture is on eth0).
cat >"$WORK/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
listener 8080
protocol websockets
listener 9001
protocol websockets
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 8080 9001

cap_start $B eth0 "$WORK/ws_frames.pcap"
"$PY" -c 'import websocket' 2>/dev/null || die "needs python3-websocket (apt-get install python3-websocket)"
in_ns $C timeout 60 "$PY" "$REC_DIR/ws_frames.py" $H | tee "$WORK/clients.txt" >&2
cap_stop

finish ws_frames.pcap --format pcap --link EN10MB --max-kb 1536 --protos 4,5 --decode-as tcp.port==9001,http --ws-lua \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --handshakes --min-conns 3 --websocket 3
