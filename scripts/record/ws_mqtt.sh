#!/usr/bin/env bash
# ws_mqtt.pcap: MQTT over WebSocket (RFC 6455, subprotocol "mqtt", path
# /mqtt) on two mosquitto websockets listeners, 8080 and 9001. paho-mqtt
# clients with transport="websockets": a 5.0 subscriber on 8080, a 3.1.1
# publisher on 8080 (QoS 0/1/2 and a 70,000-byte QoS 1 message: a 64-bit
# WebSocket length, many TCP segments) and a 5.0 publisher on 9001 (QoS 2/1/0,
# keepalive 2 s: PINGREQ/PINGRESP). Client frames are masked, the broker's not.
# usage: scripts/record/ws_mqtt.sh   (root; writes samples/ws_mqtt.*)
. "$(dirname "$0")/lib.sh"
rec_init ws
TRUTH=$REC_DIR/tshark_truth_layers.py
# tshark takes 8080 for HTTP by itself, not 9001: without "-d" the
# handshake and frames on 9001 stay undecoded TCP payload.
TRUTH_PORTS="1883 -d tcp.port==9001,http"

C=mqi-ws-c B=mqi-ws-b H=192.0.2.10
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

cap_start $B eth0 "$WORK/ws_mqtt.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/layers_clients.py" ws $H | tee "$WORK/clients.txt" >&2
cap_stop

finish ws_mqtt.pcap --format pcap --link EN10MB --max-kb 1536 --protos 4,5 --decode-as tcp.port==9001,http --ws-lua \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 3 --websocket 3
