# shellcheck shell=bash
# Shared plumbing for the sample recorders in this directory.
#
# Every recorder builds its own private network namespaces (nothing is ever
# sent to an address outside them), starts a real mosquitto broker with a
# config file written to a temporary directory, records with tcpdump (or
# dumpcap for pcapng), and tears everything down again on any exit, so a
# failed or interrupted run leaves no namespace, process or half-written
# sample behind. A recorder writes into $OUT_DIR (default: samples/) only
# after its capture passed verify.py.
#
# Needs: root, iproute2, ethtool, mosquitto, mosquitto-clients, tcpdump,
# tshark (+ dumpcap, capinfos), nftables, python3 with python3-paho-mqtt.

set -Eeuo pipefail

REC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$REC_DIR/../.." && pwd)
OUT_DIR=${OUT_DIR:-$REPO_DIR/samples}
PORT=1883
# Debian's python: it carries python3-paho-mqtt (1.6) for the paho clients.
PY=${PY:-/usr/bin/python3}
TRUTH=${TRUTH:-/work/shared/tools/tshark_truth.py}

WORK=""
CAP_PID=""
BG_PID=""
_NSES=()
_PIDS=()

log() { printf '[%s] %s\n' "${REC_NAME:-record}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# rec_init NAME: NAME tags the namespaces and the temp dir of this run.
rec_init() {
    REC_NAME=$1
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, tcpdump)"
    local t
    for t in ip ethtool mosquitto mosquitto_pub mosquitto_sub tcpdump tshark capinfos nft "$PY"; do
        command -v "$t" >/dev/null || die "missing tool: $t"
    done
    [ -r "$TRUTH" ] || die "missing $TRUTH"
    WORK=$(mktemp -d "/tmp/mqi-rec-$REC_NAME.XXXXXX")
    chmod 755 "$WORK"  # tcpdump may drop privileges before it opens its file
    trap _cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$OUT_DIR"
}

_kill_ns_procs() { # NS SIGNAL
    local pid
    for pid in $(ip netns pids "$1" 2>/dev/null); do kill "-$2" "$pid" 2>/dev/null || true; done
}

_cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    local pid ns
    [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
    for pid in "${_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for ns in "${_NSES[@]}"; do _kill_ns_procs "$ns" TERM; done
    sleep 0.3
    for pid in "${_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for ns in "${_NSES[@]}"; do
        _kill_ns_procs "$ns" KILL
        ip netns del "$ns" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ -n "$WORK" ]; then
        log "failed (exit $rc); logs kept in $WORK"
    elif [ -n "$WORK" ]; then
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# ns_new NAME: a fresh namespace with loopback up. A leftover namespace of the
# same name (from a run that was killed hard) is removed first.
ns_new() {
    local ns=$1
    if ip netns list | grep -qw "^$ns"; then
        _kill_ns_procs "$ns" KILL
        ip netns del "$ns"
    fi
    ip netns add "$ns"
    _NSES+=("$ns")
    ip -n "$ns" link set lo up
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# bg_ns NS CMD...: run CMD in NS in the background; its pid lands in BG_PID.
# The explicit <&0 keeps the caller's stdin: without job control bash would
# otherwise hand a background command /dev/null (an instant EOF for -l).
bg_ns() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" <&0 &
    BG_PID=$!
    _PIDS+=("$BG_PID")
}

# _no_offload NS DEV: segments on the wire at MTU size with real checksums,
# as a physical NIC would show them, instead of GSO/TSO super-packets.
_no_offload() {
    in_ns "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
}

# veth_link NS_A NS_B MAC_A MAC_B: an Ethernet link "eth0" <-> "eth0".
# IPv6 stays off unless V6=1, so v4 captures hold no stray ND/MLD frames.
veth_link() {
    local a=$1 b=$2 mac_a=$3 mac_b=$4 ns
    ip link add eth0 netns "$a" address "$mac_a" type veth peer name eth0 netns "$b" address "$mac_b"
    for ns in "$a" "$b"; do
        if [ "${V6:-0}" != 1 ]; then
            in_ns "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
        fi
        _no_offload "$ns" eth0
    done
}

# if_up NS DEV ADDR/PREFIX...
if_up() {
    local ns=$1 dev=$2 addr; shift 2
    for addr in "$@"; do
        case $addr in
            *:*) ip -n "$ns" addr add "$addr" dev "$dev" nodad ;;
            *) ip -n "$ns" addr add "$addr" dev "$dev" ;;
        esac
    done
    ip -n "$ns" link set "$dev" up
    # let duplicate address detection of the link-local address finish, so
    # neighbour discovery does not stall the first connection of a capture
    for _ in $(seq 50); do
        [ -z "$(ip -n "$ns" -6 addr show dev "$dev" tentative)" ] && return 0
        sleep 0.1
    done
}

# start_broker NS: mosquitto 2 on port 1883 (IPv4 and IPv6), anonymous.
start_broker() {
    local ns=$1
    BROKER_LOG=$WORK/mosquitto.log
    cat >"$WORK/mosquitto.conf" <<EOF
listener $PORT
allow_anonymous true
persistence false
log_dest stderr
log_type all
connection_messages true
EOF
    bg_ns "$ns" mosquitto -c "$WORK/mosquitto.conf" 2>"$BROKER_LOG"
    BROKER_PID=$BG_PID
    for _ in $(seq 50); do
        if in_ns "$ns" ss -Hltn "sport = :$PORT" | grep -q LISTEN; then return 0; fi
        kill -0 "$BROKER_PID" 2>/dev/null || die "mosquitto exited: $(cat "$BROKER_LOG")"
        sleep 0.1
    done
    die "mosquitto did not start listening"
}

# wait_log PATTERN [SECONDS]: wait until the broker log shows PATTERN.
wait_log() {
    local pat=$1 secs=${2:-10}
    for _ in $(seq $((secs * 10))); do
        grep -qE "$pat" "$BROKER_LOG" && return 0
        sleep 0.1
    done
    die "broker log never showed: $pat"
}

# cap_start NS IFACE FILE [tcpdump args...]: tcpdump in immediate mode with
# per-packet flushing (-U), so nothing sits in a buffer when it is stopped.
# The 32 MiB ring matters for "-i any": its ring slots are snaplen-sized, and
# the default 2 MiB holds only 8 of them, so a small burst was being dropped.
cap_start() {
    local ns=$1 ifc=$2 file=$3; shift 3
    CAP_ERR=$WORK/capture.err
    CAP_FILE=$file
    ip netns exec "$ns" tcpdump -i "$ifc" --immediate-mode -U -s 0 -B 32768 -w "$file" "$@" 2>"$CAP_ERR" &
    CAP_PID=$!
    _wait_capture "listening on"
}

# dumpcap_start NS IFACE FILE [dumpcap args...]: native pcapng writer.
dumpcap_start() {
    local ns=$1 ifc=$2 file=$3; shift 3
    CAP_ERR=$WORK/capture.err
    CAP_FILE=$file
    ip netns exec "$ns" dumpcap -i "$ifc" -q -w "$file" "$@" 2>"$CAP_ERR" &
    CAP_PID=$!
    _wait_capture "Capturing on"
}

_wait_capture() {
    for _ in $(seq 50); do
        grep -qs "$1" "$CAP_ERR" && { sleep 0.2; return 0; }
        kill -0 "$CAP_PID" 2>/dev/null || die "capture did not start: $(cat "$CAP_ERR")"
        sleep 0.1
    done
    die "capture did not start: $(cat "$CAP_ERR")"
}

# cap_stop: let the last ACKs land, then SIGINT so the file is complete.
cap_stop() {
    sleep "${1:-0.5}"
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
    CAP_PID=""
    log "capture: $(tr '\n' ' ' <"$CAP_ERR")"
    grep -qE "(^| )0 packets dropped by kernel|dropped on interface .*: [0-9]+/0 " "$CAP_ERR" ||
        die "capture reports kernel drops: $(cat "$CAP_ERR")"
}

# finish NAME.EXT VERIFY_ARGS...: truth file and conversation list beside the
# capture, checks, then move all three into $OUT_DIR together.
# TSHARK_PREFS (newline-separated "name: value" lines) is handed to tshark
# through a private WIRESHARK_CONFIG_DIR for the truth file and the checks.
# TRUTH_PORTS (default: $PORT) are the ports the truth file decodes as MQTT.
finish() {
    local name=$1; shift
    local stem=${name%.*}
    [ "$WORK/$name" = "$CAP_FILE" ] || die "finish: $name is not the capture file"
    mkdir -p "$WORK/wireshark"
    printf '%s\n' "${TSHARK_PREFS:-}" >"$WORK/wireshark/preferences"
    # shellcheck disable=SC2086 # TRUTH_PORTS is a list of port numbers
    WIRESHARK_CONFIG_DIR=$WORK/wireshark "$PY" "$TRUTH" "$WORK/$name" ${TRUTH_PORTS:-$PORT} >&2
    tshark -r "$WORK/$name" -q -z conv,tcp >"$WORK/$stem.conv.txt" 2>/dev/null
    WIRESHARK_CONFIG_DIR=$WORK/wireshark "$PY" "$REC_DIR/verify.py" "$WORK/$name" "$@"
    mv -f "$WORK/$name" "$OUT_DIR/$name"
    mv -f "$WORK/$stem.truth.json" "$OUT_DIR/$stem.truth.json"
    mv -f "$WORK/$stem.conv.txt" "$OUT_DIR/$stem.conv.txt"
    # a TLS sample's key log (throwaway keys) travels with its capture
    if [ -e "$WORK/$stem.keys" ]; then mv -f "$WORK/$stem.keys" "$OUT_DIR/$stem.keys"; fi
    log "wrote $OUT_DIR/$name ($(stat -c %s "$OUT_DIR/$name") bytes)"
}

# start_broker_conf NS PORT...: mosquitto with the caller's $WORK/mosquitto.conf
# (which should log to stderr); waits until every PORT listens.
start_broker_conf() {
    local ns=$1 p; shift
    BROKER_LOG=$WORK/mosquitto.log
    bg_ns "$ns" mosquitto -c "$WORK/mosquitto.conf" 2>"$BROKER_LOG"
    BROKER_PID=$BG_PID
    for p in "$@"; do
        for _ in $(seq 50); do
            if in_ns "$ns" ss -Hltn "sport = :$p" | grep -q LISTEN; then break; fi
            kill -0 "$BROKER_PID" 2>/dev/null || die "mosquitto exited: $(cat "$BROKER_LOG")"
            sleep 0.1
        done
        in_ns "$ns" ss -Hltn "sport = :$p" | grep -q LISTEN || die "mosquitto does not listen on $p"
    done
}

# make_pki HOST: a throwaway P-256 CA ($PKI/ca.crt) and a server certificate
# for IP:HOST ($PKI/server.crt, .key), only in the temp dir of this run.
make_pki() {
    local h=$1
    command -v openssl >/dev/null || die "missing tool: openssl"
    PKI=$WORK/pki
    mkdir -p "$PKI"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=mqtt-inspect sample CA" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$h" -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$h" >"$PKI/server.ext"
    openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 2 -extfile "$PKI/server.ext" -out "$PKI/server.crt" 2>/dev/null
    chmod 755 "$PKI"
    chmod 644 "$PKI"/*  # mosquitto may read them after dropping root
}

# basic_exchange NS HOST PROTO [PREFIX]: the reference MQTT conversation.
#  - a subscriber (QoS 2 on sensors/#, plus alerts/# which it unsubscribes
#    again at once), keepalive 5 s, leaves with DISCONNECT after 6 messages;
#  - a publisher connection per message: QoS 0, 1 (retained), 2 on room1,
#    an idle gap longer than the keepalive (PINGREQ/PINGRESP), then QoS 2, 1,
#    0 on room2. The last delivery is QoS 0 so that the subscriber's
#    DISCONNECT cannot race an unfinished QoS 2 handshake.
# PROTO is mqttv31, mqttv311 or mqttv5.
basic_exchange() {
    local ns=$1 host=$2 proto=$3 pfx=${4:-}
    local sub_id=${pfx}sub-basic pub_id=${pfx}pub-basic
    bg_ns "$ns" timeout 60 mosquitto_sub -h "$host" -p "$PORT" -V "$proto" -i "$sub_id" -k 5 \
        -q 2 -t 'sensors/#' -t 'alerts/#' -U 'alerts/#' -C 6 -v >"$WORK/$sub_id.out"
    local sub=$BG_PID
    wait_log "Received UNSUBSCRIBE from $sub_id"
    sleep 0.2
    _pub "$ns" "$host" "$proto" "$pub_id" -q 0 -t sensors/room1/temp -m '21.5'
    _pub "$ns" "$host" "$proto" "$pub_id" -q 1 -r -t sensors/room1/temp -m '21.6'
    _pub "$ns" "$host" "$proto" "$pub_id" -q 2 -t sensors/room1/temp -m '21.7'
    sleep 7  # subscriber idle > keepalive: it sends PINGREQ
    wait_log "Received PINGREQ from $sub_id" 5
    _pub "$ns" "$host" "$proto" "$pub_id" -q 2 -t sensors/room2/humidity -m '48'
    _pub "$ns" "$host" "$proto" "$pub_id" -q 1 -t sensors/room2/humidity -m '47'
    _pub "$ns" "$host" "$proto" "$pub_id" -q 0 -t sensors/room2/humidity -m '46'
    wait "$sub" || die "subscriber failed"
}

_pub() {
    local ns=$1 host=$2 proto=$3 id=$4; shift 4
    in_ns "$ns" timeout 60 mosquitto_pub -h "$host" -p "$PORT" -V "$proto" -i "$id" "$@"
    sleep 0.2
}
