#!/usr/bin/env bash
# reorder.pcap: MQTT 3.1.1 across a link that behaves like
# `netem delay 10ms reorder 25% 50%` (each way): 25% of the frames (50%
# correlated) go through at once, the rest 10 ms later, so frames overtake
# each other. This kernel has no sch_netem, so the link is two TAP devices
# joined by linkem.py, a user-space emulator with the same semantics. The
# capture is on the broker's TAP, where client->broker data arrives out of
# order; 6 KiB payloads put 5 segments in flight at a time. Late ACKs
# after a close draw RSTs from the broker, as they would on a real network.
# tshark needs tcp.reassemble_out_of_order for the truth file here: without
# it, it decodes the payload of out-of-order segments as hundreds of bogus
# MQTT packets.
# usage: scripts/record/reorder.sh   (root; writes samples/reorder.*)
. "$(dirname "$0")/lib.sh"
rec_init reord

C=mqi-reord-c B=mqi-reord-b H=192.0.2.10
ns_new $C
ns_new $B
bg_ns $B "$PY" "$REC_DIR/linkem.py" mqc0 mqb0 "$WORK/linkem.ready" \
    --delay-ms 10 --reorder 25 --reorder-corr 50 --seed 7 2>"$WORK/linkem.log"
LINKEM=$BG_PID
for _ in $(seq 50); do [ -s "$WORK/linkem.ready" ] && break; sleep 0.1; done
[ -s "$WORK/linkem.ready" ] || die "linkem did not start: $(cat "$WORK/linkem.log")"
ip -n $B link set mqc0 netns $C
ip -n $C link set mqc0 address 02:00:00:00:00:01
ip -n $B link set mqb0 address 02:00:00:00:00:10
in_ns $C sysctl -qw net.ipv6.conf.mqc0.disable_ipv6=1
in_ns $B sysctl -qw net.ipv6.conf.mqb0.disable_ipv6=1
_no_offload $C mqc0
_no_offload $B mqb0
if_up $C mqc0 192.0.2.1/24
if_up $B mqb0 192.0.2.10/24
start_broker $B

"$PY" -c '
import sys
sys.stdout.buffer.write(b"".join(b"reading %05d: 0123456789abcdef0123456789abcdef0123456789abcdef\n" % i for i in range(120))[:6144])' \
    >"$WORK/blob.bin"

pubr() { in_ns $C timeout 60 mosquitto_pub -h $H -p "$PORT" -V mqttv311 -i pub-reorder "$@"; sleep 0.2; }

cap_start $B mqb0 "$WORK/reorder.pcap"
bg_ns $C timeout 60 mosquitto_sub -h $H -p "$PORT" -V mqttv311 -i sub-reorder -q 2 \
    -t 'sensors/#' -t 'bulk/#' -C 7 -N >"$WORK/sub.out"
SUB=$BG_PID
wait_log "Received SUBSCRIBE from sub-reorder"
sleep 0.2
pubr -q 0 -t sensors/room1/temp -m '21.5'
pubr -q 1 -t sensors/room1/temp -m '21.6'
pubr -q 2 -t sensors/room1/temp -m '21.7'
pubr -q 1 -t bulk/blob -f "$WORK/blob.bin"
pubr -q 2 -t bulk/blob -f "$WORK/blob.bin"
pubr -q 0 -t bulk/blob -f "$WORK/blob.bin"
pubr -q 0 -t sensors/room2/humidity -m '46'
wait $SUB || die "subscriber failed"
cap_stop 1
kill -TERM $LINKEM; wait $LINKEM || true
log "$(cat "$WORK/linkem.log")"
[ "$(stat -c %s "$WORK/sub.out")" = $(( 3 * 6144 + 4 * 4 - 2 )) ] || die "subscriber output has the wrong size"

TSHARK_PREFS='tcp.reassemble_out_of_order: TRUE' \
finish reorder.pcap --format pcap --link EN10MB --protos 4 --min-ooo 3 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,DISCONNECT \
    --complete --both-directions --handshakes --allow-rst --min-conns 8
