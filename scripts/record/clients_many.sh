#!/usr/bin/env bash
# clients_many.pcap: five concurrent paho-mqtt clients (two MQTT 3.1.1, three
# MQTT 5.0) with +/# wildcard subscriptions and QoS 0/1/2 in both
# directions; every flow completes. The clients sit in their own namespace
# behind a veth link and the capture is on the broker's side, so paho's
# internal loopback socket pairs stay out of the recording.
# usage: scripts/record/clients_many.sh   (root; writes samples/clients_many.*)
. "$(dirname "$0")/lib.sh"
rec_init many

C=mqi-many-c B=mqi-many-b
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24
start_broker $B

cap_start $B eth0 "$WORK/clients_many.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/clients_many.py" 192.0.2.10 "$PORT"
cap_stop

finish clients_many.pcap --format pcap --link EN10MB --protos 4,5 --mqtt-packets 100:300 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 5
