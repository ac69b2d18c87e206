#!/usr/bin/env bash
# Writes tshark's TCP conversation table (`tshark -q -z conv,tcp`) of every
# capture in ../shared/corpus to tests/data/corpus/, at the capture's path
# below the corpus with `.conv.txt` for its extension
# (wild/X.pcap -> tests/data/corpus/wild/X.conv.txt). tests/tcp_agreement.rs
# compares our segments per direction with them. These are our derived
# files; the captures themselves are never copied into the repository.
#
# usage: tests/data/corpus/regenerate.sh [CORPUS_DIR]   (default ../shared/corpus)
# needs: tshark (4.0.17 wrote the committed files)
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "${1:-$out/../../../../shared/corpus}" && pwd)
cd "$corpus"
n=0
while IFS= read -r cap; do
  dest="$out/${cap%.*}.conv.txt"
  mkdir -p "$(dirname "$dest")"
  tshark -r "$cap" -q -z conv,tcp >"$dest" 2>/dev/null
  n=$((n + 1))
done < <(find . -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sed 's|^\./||' | sort)
echo "wrote $n conversation tables under $out"
