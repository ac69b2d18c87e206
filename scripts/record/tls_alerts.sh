#!/usr/bin/env bash
# tls_alerts.pcap + tls_alerts.keys: TLS on 8883 that fails, and a large
# message inside TLS 1.3. mosquitto's TLS listener (TLS 1.2 and 1.3) with a
# throwaway P-256 CA; three paho clients (scripts/record/layers_clients.py
# alerts), each logging its keys:
#   - alert-tls12: TLS 1.2, trusts a *second* throwaway CA, so it rejects the
#     broker's certificate and sends a fatal unknown_ca alert in the clear;
#   - alert-tls13: the same in TLS 1.3, where the alert is encrypted under
#     the client's handshake traffic key (readable only with the key log);
#   - tls13-big: TLS 1.3, subscribes alerts/tls13-big/# (QoS 2), publishes
#     QoS 0/1/2 and one 100,000-byte QoS 1 message (> 64 KiB: seven TLS
#     records each way), receives them back.
# The key log holds throwaway keys of this sample traffic only.
# usage: scripts/record/tls_alerts.sh   (root; writes samples/tls_alerts.*)
. "$(dirname "$0")/lib.sh"
rec_init tlsa
TRUTH=$REC_DIR/tshark_truth_layers.py
KEYS=$WORK/tls_alerts.keys
TRUTH_PORTS="1883 --keylog $KEYS"

C=mqi-tlsa-c B=mqi-tlsa-b H=192.0.2.10
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 $H/24
make_pki $H
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=another sample CA" -keyout "$PKI/other.key" -out "$PKI/other.crt" 2>/dev/null
chmod 644 "$PKI"/*

cat >"$WORK/mosquitto.conf" <<CONF
listener 8883
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
CONF
start_broker_conf $B 8883

cap_start $B eth0 "$WORK/tls_alerts.pcap"
in_ns $C timeout 60 "$PY" "$REC_DIR/layers_clients.py" alerts $H --cafile "$PKI/ca.crt" \
    --wrong-ca "$PKI/other.crt" --keylog "$KEYS" | tee "$WORK/clients.txt" >&2
cap_stop
# tshark's view of the alerts (with the key log): one per failed connection
tshark -r "$WORK/tls_alerts.pcap" -o "tls.keylog_file:$KEYS" -Y tls.alert_message \
    -T fields -e frame.number -e tcp.stream -e tls.record.version -e tls.alert_message.desc >&2

finish tls_alerts.pcap --format pcap --link EN10MB --max-kb 1024 --protos 5 --keylog "$KEYS" \
    --require CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,DISCONNECT \
    --complete --both-directions --allow-rst --min-conns 3 --port 8883
