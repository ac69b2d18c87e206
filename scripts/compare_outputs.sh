#!/usr/bin/env bash
# Byte-for-byte comparison of two builds' output on every capture we have.
#
#   scripts/compare_outputs.sh BASE [NEW]
#
# BASE and NEW are each a git revision (built in a temporary worktree with
# its own target directory) or the path of an mqtt-inspect binary; NEW
# defaults to the working tree's release build. Both run on every capture in
# samples/ and ../shared/corpus/ (when it is there) as
#   text:  analyze --packets --color never
#   json:  analyze --format json
#   jsonl: analyze --format jsonl
# and the outputs (stdout, stderr and exit code) are diffed. Prints one line
# per capture and format that differs, the first lines of each diff, and a
# total; exits 1 when anything differs. Options after `--` are passed to
# both runs (e.g. `-- --port 1883,17501`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

base=${1:?usage: scripts/compare_outputs.sh BASE [NEW] [-- OPTIONS]}
shift
new=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    new=$1
    shift
fi
extra=()
if [ $# -gt 0 ] && [ "$1" = "--" ]; then
    shift
    extra=("$@")
fi

work=$(mktemp -d /tmp/mqi-compare.XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "outputs kept in $work" >&2 || rm -rf "$work"; git -C "$repo" worktree prune' EXIT

# binary_for REV_OR_PATH NAME: prints the path of a binary for it.
binary_for() {
    local what=$1 name=$2
    if [ -x "$what" ] && [ -f "$what" ]; then
        printf '%s\n' "$(cd "$(dirname "$what")" && pwd)/$(basename "$what")"
        return
    fi
    local tree=$work/tree-$name
    git -C "$repo" worktree add -q --detach "$tree" "$what" >&2
    (cd "$tree" && CARGO_TARGET_DIR=$work/target-$name cargo build --release --quiet >&2)
    printf '%s\n' "$work/target-$name/release/mqtt-inspect"
}

base_bin=$(binary_for "$base" base)
if [ -n "$new" ]; then
    new_bin=$(binary_for "$new" new)
else
    cargo build --release --quiet
    new_bin=${CARGO_TARGET_DIR:-$repo/target}/release/mqtt-inspect
fi

mapfile -t captures < <(
    {
        find samples -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' \)
        if [ -d ../shared/corpus ]; then
            find ../shared/corpus -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' \)
        fi
    } | sort
)

run() { # BIN OUTDIR CAPTURE TAG ARGS...
    local bin=$1 dir=$2 cap=$3 tag=$4
    shift 4
    local f
    f=$dir/$(printf '%s' "$cap" | tr '/' '_').$tag
    set +e
    "$bin" analyze "$@" "${extra[@]}" "$cap" >"$f.out" 2>"$f.err"
    echo "exit $?" >>"$f.err"
    set -e
}

mkdir -p "$work/base" "$work/new"
for cap in "${captures[@]}"; do
    for side in base new; do
        bin=$base_bin
        [ "$side" = new ] && bin=$new_bin
        run "$bin" "$work/$side" "$cap" text --packets --color never
        run "$bin" "$work/$side" "$cap" json --format json
        run "$bin" "$work/$side" "$cap" jsonl --format jsonl
    done
done

differ=0
for f in "$work"/base/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$work/new/$name"; then
        differ=$((differ + 1))
        echo "== differs: $name"
        diff "$f" "$work/new/$name" | head -n 12 || true
    fi
done
runs=$((${#captures[@]} * 3))
echo "compared ${#captures[@]} captures × 3 formats ($runs runs, stdout and stderr each): $differ files differ"
[ "$differ" -eq 0 ]
