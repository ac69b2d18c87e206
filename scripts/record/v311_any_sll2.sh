#!/usr/bin/env bash
# v311_any_sll2.pcap: the v311_basic conversation recorded with
# `tcpdump -i any` in the broker's namespace: Linux cooked v2 (LINUX_SLL2)
# headers carrying interface index and packet direction, pcap format.
# usage: scripts/record/v311_any_sll2.sh   (root; writes samples/v311_any_sll2.*)
. "$(dirname "$0")/lib.sh"
rec_init sll2

ns_new mqi-sll2-c
ns_new mqi-sll2-b
veth_link mqi-sll2-c mqi-sll2-b 02:00:00:00:00:01 02:00:00:00:00:10
if_up mqi-sll2-c eth0 192.0.2.1/24
if_up mqi-sll2-b eth0 192.0.2.10/24
start_broker mqi-sll2-b

cap_start mqi-sll2-b any "$WORK/v311_any_sll2.pcap"
basic_exchange mqi-sll2-c 192.0.2.10 mqttv311
cap_stop

finish v311_any_sll2.pcap --format pcap --link LINUX_SLL2 --protos 4 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
