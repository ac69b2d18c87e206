#!/usr/bin/env bash
# v6_ipv6.pcap: the v311_basic conversation over IPv6 (documentation prefix
# 2001:db8::/64) on an Ethernet veth link, so the capture also holds the
# neighbour discovery that precedes the first connection.
# usage: scripts/record/v6_ipv6.sh   (root; writes samples/v6_ipv6.*)
. "$(dirname "$0")/lib.sh"
rec_init v6

C=mqi-v6-c B=mqi-v6-b
ns_new $C
ns_new $B
V6=1 veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
# IPv4 is simply never configured; no router solicitations either.
for ns in $C $B; do
    in_ns $ns sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
    in_ns $ns sysctl -qw net.ipv6.conf.eth0.accept_ra=0
done
if_up $C eth0 2001:db8::1/64
if_up $B eth0 2001:db8::10/64
start_broker $B
sleep 1  # initial MLD reports go out before the capture starts

cap_start $B eth0 "$WORK/v6_ipv6.pcap"
basic_exchange $C 2001:db8::10 mqttv311 v6-
cap_stop

finish v6_ipv6.pcap --format pcap --link EN10MB --protos 4 --ipv6 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
