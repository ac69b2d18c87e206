#!/usr/bin/env bash
# other_port.pcap: plain MQTT 3.1.1 on TCP port 11883, which no tool treats
# as MQTT by its number: a broker listening only there, a subscriber and
# publishers at QoS 0, 1 and 2 (the basic exchange). Found by content.
# usage: scripts/record/other_port.sh   (root; writes samples/other_port.*)
. "$(dirname "$0")/lib.sh"
rec_init oport
PORT=11883
TRUTH_PORTS="1883 8883 11883"

C=mqi-oport-c B=mqi-oport-b
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24
start_broker $B

cap_start $B eth0 "$WORK/other_port.pcap"
basic_exchange $C 192.0.2.10 mqttv311 op-
cap_stop

finish other_port.pcap --format pcap --link EN10MB --protos 4 --mqtt-port 11883 --port 11883 \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
