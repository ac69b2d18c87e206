#!/usr/bin/env bash
# tls_8883.pcap: MQTT 3.1.1 inside TLS on port 8883. A mosquitto listener
# with a throwaway CA and server certificate (made here with openssl, kept
# only in the temp dir), a subscriber and three publishers (QoS 0, 1, 2)
# that verify the broker with --cafile. The capture holds TLS handshakes
# and encrypted records only: no MQTT byte is visible. The clients end
# their connections with a TCP RST (they close their socket while the
# broker's close_notify is still on the way).
# usage: scripts/record/tls_8883.sh   (root; writes samples/tls_8883.*)
. "$(dirname "$0")/lib.sh"
rec_init tls
PORT=8883
# Not 8883: "-d tcp.port==8883,mqtt" would make tshark read the TLS records
# as MQTT (dozens of bogus packets). Left alone, tshark decodes 8883 as TLS,
# so the truth file lists the connections and no MQTT packet.
TRUTH_PORTS="1883 11883"
command -v openssl >/dev/null || die "missing tool: openssl"

C=mqi-tls-c B=mqi-tls-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24

# A CA and a server certificate for the broker's address (the clients check
# the subjectAltName against the host they connect to).
P=$WORK/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=mqtt-inspect sample CA" -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$H" -keyout "$P/server.key" -out "$P/server.csr" 2>/dev/null
printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$H" >"$P/server.ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
    -days 2 -extfile "$P/server.ext" -out "$P/server.crt" 2>/dev/null
chmod 755 "$P"
chmod 644 "$P"/*  # mosquitto may read them after dropping root

BROKER_LOG=$WORK/mosquitto.log
cat >"$WORK/mosquitto.conf" <<CONF
listener $PORT
cafile $P/ca.crt
certfile $P/server.crt
keyfile $P/server.key
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
bg_ns $B mosquitto -c "$WORK/mosquitto.conf" 2>"$BROKER_LOG"
BROKER_PID=$BG_PID
for _ in $(seq 50); do
    in_ns $B ss -Hltn "sport = :$PORT" | grep -q LISTEN && break
    kill -0 "$BROKER_PID" 2>/dev/null || die "mosquitto exited: $(cat "$BROKER_LOG")"
    sleep 0.1
done
in_ns $B ss -Hltn "sport = :$PORT" | grep -q LISTEN || die "mosquitto did not start listening"

tls=(-h "$H" -p "$PORT" --cafile "$P/ca.crt" -V mqttv311)
cap_start $B eth0 "$WORK/tls_8883.pcap"
bg_ns $C timeout 60 mosquitto_sub "${tls[@]}" -i tls-sub -q 2 -t 'secure/#' -C 3 -v >"$WORK/sub.out"
SUB=$BG_PID
wait_log "Received SUBSCRIBE from tls-sub"
sleep 0.2
for q in 0 1 2; do
    in_ns $C timeout 60 mosquitto_pub "${tls[@]}" -i tls-pub -q $q -t secure/room1/temp -m "2$q.5"
    sleep 0.2
done
wait "$SUB" || die "subscriber failed"
cap_stop
[ "$(wc -l <"$WORK/sub.out")" = 3 ] || die "subscriber got $(wc -l <"$WORK/sub.out") of 3 messages"

finish tls_8883.pcap --format pcap --link EN10MB --require "" --min-conns 4 --handshakes --allow-rst \
    --port 8883 --tls 8883
