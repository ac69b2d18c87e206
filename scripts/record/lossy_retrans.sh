#!/usr/bin/env bash
# lossy_retrans.pcap: the v311_basic conversation while nftables drops ~10%
# of the MQTT TCP segments (numgen random) on input in both namespaces.
# The capture is on the client's veth end, which sees every segment before
# the receiving side's input hook drops it: the file holds each lost
# original *and* the retransmission TCP sent for it (and duplicate data
# where an ACK was the casualty). netem is not available in this kernel,
# hence nftables. Re-recorded (up to 5 tries) until tshark counts at least
# 3 retransmissions.
# usage: scripts/record/lossy_retrans.sh [LOSS_PERCENT]   (root; default 10)
. "$(dirname "$0")/lib.sh"
rec_init lossy
LOSS=${1:-10}

C=mqi-lossy-c B=mqi-lossy-b
ns_new $C
ns_new $B
veth_link $C $B 02:00:00:00:00:01 02:00:00:00:00:10
if_up $C eth0 192.0.2.1/24
if_up $B eth0 192.0.2.10/24

# drop LOSS% (rounded to 1/N) of the segments each side receives
mod=$(( 100 / LOSS ))
in_ns $C nft -f - <<NFT
table inet mqi_loss {
    chain input { type filter hook input priority 0; policy accept;
        tcp sport $PORT numgen random mod $mod == 0 counter drop
    }
}
NFT
in_ns $B nft -f - <<NFT
table inet mqi_loss {
    chain input { type filter hook input priority 0; policy accept;
        tcp dport $PORT numgen random mod $mod == 0 counter drop
    }
}
NFT

for attempt in 1 2 3 4 5; do
    start_broker $B  # fresh broker each try: no retained message left over
    cap_start $C eth0 "$WORK/lossy_retrans.pcap"
    basic_exchange $C 192.0.2.10 mqttv311
    cap_stop 3  # room for the last retransmissions and the FINs
    kill "$BROKER_PID"; wait "$BROKER_PID" || true
    n=$(tshark -r "$WORK/lossy_retrans.pcap" -Y 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission' 2>/dev/null | wc -l)
    log "try $attempt: $n retransmissions; dropped: client $(in_ns $C nft list ruleset | grep -o 'packets [0-9]*'), broker $(in_ns $B nft list ruleset | grep -o 'packets [0-9]*')"
    [ "$n" -ge 3 ] && break
done

finish lossy_retrans.pcap --format pcap --link EN10MB --protos 4 --min-retrans 3 --require \
    CONNECT,CONNACK,PUBLISH,PUBACK,PUBREC,PUBREL,PUBCOMP,SUBSCRIBE,SUBACK,UNSUBSCRIBE,UNSUBACK,PINGREQ,PINGRESP,DISCONNECT \
    --complete --both-directions --handshakes --min-conns 7
