#!/usr/bin/env bash
# midstream.pcap: recording starts after three clients have long connected
# (no SYN, no CONNECT/CONNACK/SUBSCRIBE in the file), then QoS 1 and QoS 2
# traffic in both directions and a PINGREQ/PINGRESP. One publisher leaves
# during the capture (DISCONNECT + FIN); the subscriber and the other
# publisher are still connected when the capture stops.
# usage: scripts/record/midstream.sh   (root; writes samples/midstream.*)
. "$(dirname "$0")/lib.sh"
rec_init mid

C=mqi-mid-c B=mqi-mid-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24
start_broker $B

bg_ns $C timeout 120 mosquitto_sub -h $H -p "$PORT" -V mqttv311 -i sub-mid -q 2 -t 'plant/#' -v \
    >"$WORK/sub.out"
wait_log "Received SUBSCRIBE from sub-mid"
# Persistent publishers: one PUBLISH per line written to their fifo. Only
# this shell holds the write ends (fds 3 and 4, opened read-write so the
# open does not block), so closing fd 3 is an EOF for pub-mid-q1. Every
# child started from here on gets them closed.
mkfifo "$WORK/q1.fifo" "$WORK/q2.fifo"
exec 3<>"$WORK/q1.fifo" 4<>"$WORK/q2.fifo"
bg_ns $C timeout 120 mosquitto_pub -h $H -p "$PORT" -V mqttv311 -i pub-mid-q1 -q 1 -l \
    -t plant/line1/count <"$WORK/q1.fifo" 3>&- 4>&-
PUB1=$BG_PID
bg_ns $C timeout 120 mosquitto_pub -h $H -p "$PORT" -V mqttv311 -i pub-mid-q2 -q 2 -l -k 5 \
    -t plant/line2/state <"$WORK/q2.fifo" 3>&- 4>&-
wait_log "as pub-mid-q1 "
wait_log "as pub-mid-q2 "
sleep 1

cap_start $B eth0 "$WORK/midstream.pcap" 3>&- 4>&-
for i in 1 2 3; do
    echo "count $i" >&3; sleep 0.2
    echo "state $i" >&4; sleep 0.2
done
sleep 6  # pub-mid-q2 idle past its 5 s keepalive: PINGREQ/PINGRESP
wait_log "Received PINGREQ from pub-mid-q2" 5
echo "state 4" >&4; sleep 0.2
echo "count 4" >&3; sleep 0.2
exec 3>&-  # EOF: pub-mid-q1 finishes its flows and disconnects
wait $PUB1 || die "pub-mid-q1 failed"
cap_stop 1
[ "$(wc -l <"$WORK/sub.out")" = 8 ] || die "subscriber got $(wc -l <"$WORK/sub.out") of 8 messages"

finish midstream.pcap --format pcap --link EN10MB --midstream \
    --require PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --min-conns 3
