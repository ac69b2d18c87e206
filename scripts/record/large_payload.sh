#!/usr/bin/env bash
# large_payload.pcap: a 300 KiB QoS 1 PUBLISH (3-byte remaining length) that
# crosses an MTU 1500 Ethernet veth link with segmentation offloads off, so
# each direction carries it in ~200 real TCP segments; recorded on the
# broker's side. A small QoS 2 message before it keeps the QoS 2 path in.
# usage: scripts/record/large_payload.sh   (root; writes samples/large_payload.*)
. "$(dirname "$0")/lib.sh"
rec_init large

C=mqi-large-c B=mqi-large-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24
in_ns $C ip link set eth0 mtu 1500
in_ns $B ip link set eth0 mtu 1500
start_broker $B

# 307200 bytes of numbered text lines: easy to eyeball in a hex dump.
"$PY" -c '
import sys
out = b"".join(b"line %06d of the large MQTT payload sample ........\n" % i for i in range(6000))
sys.stdout.buffer.write(out[:307200])' >"$WORK/payload.bin"

cap_start $B eth0 "$WORK/large_payload.pcap"
bg_ns $C timeout 60 mosquitto_sub -h $H -p "$PORT" -V mqttv311 -i sub-large -q 2 -t 'bulk/#' -C 2 -N \
    >"$WORK/received.bin"
SUB=$BG_PID
wait_log "Received SUBSCRIBE from sub-large"
sleep 0.2
in_ns $C timeout 60 mosquitto_pub -h $H -p "$PORT" -V mqttv311 -i pub-large -q 2 -t bulk/meta -m 'firmware 1.2.3 follows'
sleep 0.2
in_ns $C timeout 60 mosquitto_pub -h $H -p "$PORT" -V mqttv311 -i pub-large -q 1 -t bulk/firmware -f "$WORK/payload.bin"
wait $SUB || die "subscriber failed"
cap_stop

want=$(( 307200 + $(printf 'firmware 1.2.3 follows' | wc -c) ))
[ "$(stat -c %s "$WORK/received.bin")" = "$want" ] || die "subscriber did not get the whole payload"

finish large_payload.pcap --format pcap --link EN10MB --protos 4 --max-kb 1024 \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 3 --min-segments 100
