#!/usr/bin/env bash
# v311_basic.pcap: MQTT 3.1.1 over an Ethernet veth link between a client
# namespace and a broker namespace, recorded on the broker's side.
# usage: scripts/record/v311_basic.sh   (root; writes samples/v311_basic.*)
. "$(dirname "$0")/lib.sh"
rec_init v311b

ns_new mqi-v311b-c
ns_new mqi-v311b-b
veth_link mqi-v311b-c mqi-v311b-b 02:00:00:00:00:01 02:00:00:00:00:10
if_up mqi-v311b-c eth0 192.0.2.1/24
if_up mqi-v311b-b eth0 192.0.2.10/24
start_broker mqi-v311b-b

cap_start mqi-v311b-b eth0 "$WORK/v311_basic.pcap"
basic_exchange mqi-v311b-c 192.0.2.10 mqttv311
cap_stop

finish v311_basic.pcap --format pcap --link EN10MB --protos 4 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
