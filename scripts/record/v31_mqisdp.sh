#!/usr/bin/env bash
# v31_mqisdp.pcap: MQTT 3.1 (protocol name "MQIsdp", level 3) on the loopback
# interface of a single namespace (Ethernet link type with all-zero MACs),
# written as a nanosecond-resolution pcap (magic a1b23c4d).
# usage: scripts/record/v31_mqisdp.sh   (root; writes samples/v31_mqisdp.*)
. "$(dirname "$0")/lib.sh"
rec_init v31

N=mqi-v31
ns_new $N
start_broker $N

cap_start $N lo "$WORK/v31_mqisdp.pcap" --time-stamp-precision nano
basic_exchange $N 127.0.0.1 mqttv31 v31-
cap_stop

finish v31_mqisdp.pcap --format pcap --link EN10MB --tsres ns --protos 3 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
