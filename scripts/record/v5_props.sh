#!/usr/bin/env bash
# v5_props.pcapng: MQTT 5.0 with properties, recorded with dumpcap (native
# pcapng: section header, interface description with nanosecond resolution,
# interface statistics) on the broker's side of an Ethernet veth link.
# usage: scripts/record/v5_props.sh   (root; writes samples/v5_props.*)
. "$(dirname "$0")/lib.sh"
rec_init v5p

C=mqi-v5p-c B=mqi-v5p-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24
start_broker $B

pub5() { in_ns $C timeout 60 mosquitto_pub -h $H -p "$PORT" -V mqttv5 "$@"; sleep 0.2; }

dumpcap_start $B eth0 "$WORK/v5_props.pcapng"

# Subscriber: CONNECT with session expiry, receive maximum, maximum packet
# size and a user property; SUBSCRIBE and UNSUBSCRIBE with user properties.
bg_ns $C timeout 60 mosquitto_sub -h $H -p "$PORT" -V mqttv5 -i sub-v5 -q 2 \
    -t 'v5/#' -t 'tmp/#' -U 'tmp/#' -C 6 -F '%t %p' \
    -D connect session-expiry-interval 120 -D connect receive-maximum 10 \
    -D connect maximum-packet-size 65536 -D connect user-property role subscriber \
    -D subscribe user-property purpose demo -D unsubscribe user-property purpose cleanup \
    >"$WORK/sub-v5.out"
SUB=$BG_PID
wait_log "Received UNSUBSCRIBE from sub-v5"
sleep 0.2

# QoS 2, two messages on one connection: the second PUBLISH carries only the
# topic alias (empty topic name). Payload format indicator + content type.
printf 'open\nclose\n' | pub5 -i pub-v5-q2 -q 2 -l -t v5/cmd/valve \
    -D connect session-expiry-interval 30 \
    -D publish topic-alias 3 -D publish payload-format-indicator 1 \
    -D publish content-type text/plain -D publish user-property origin console

# QoS 1, three messages on one connection with topic alias 1, message expiry,
# response topic, correlation data and user properties.
printf '21.5\n21.6\n21.7\n' | pub5 -i pub-v5-q1 -q 1 -l -t v5/sensors/room1/temp \
    -D connect session-expiry-interval 60 -D connect receive-maximum 5 \
    -D publish topic-alias 1 -D publish message-expiry-interval 300 \
    -D publish content-type text/plain -D publish response-topic v5/reply/room1 \
    -D publish correlation-data req-42 -D publish user-property unit celsius \
    -D publish user-property sensor bme280

# QoS 0 with a user property, last so the subscriber leaves after it.
pub5 -i pub-v5-q0 -q 0 -t v5/status -m online -D publish user-property seq 6

wait $SUB || die "subscriber failed"
cap_stop

finish v5_props.pcapng --format pcapng --link EN10MB --protos 5 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 4 --alias \
    --props "$(printf 'mqtt.property_id==%s,' 0x01 0x02 0x03 0x08 0x09 0x11 0x21 0x23 0x26 0x27)"
