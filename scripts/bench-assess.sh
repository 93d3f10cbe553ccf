#!/usr/bin/env bash
# Bulk assessment benchmark (issue: 100,000 generated profiles against every scheme).
# Prints a Markdown table: wall time, profiles/s, peak memory for parse-only (--check-only)
# and full assessment, at 10k and 100k profiles (memory must stay flat), and the
# instruction-count ratio parse/(parse+evaluate) from callgrind (repeatable on a busy machine).
# Usage: scripts/bench-assess.sh [N=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
DATE=2026-11-22
out=target/bench
mkdir -p "$out"
cargo build -q --release -p iotrust-cli
bin=target/release/iotrust
[ -f "$out/profiles-$N.ndjson" ] || python3 scripts/gen-profiles.py "$N" 1 > "$out/profiles-$N.ndjson"
[ -f "$out/profiles-10000.ndjson" ] || python3 scripts/gen-profiles.py 10000 1 > "$out/profiles-10000.ndjson"
head -n 1000 "$out/profiles-10000.ndjson" > "$out/profiles-1000.ndjson"
cores=$(nproc)

run() { # label file args...
  local label=$1 file=$2; shift 2
  local t
  /usr/bin/time -o "$out/time.txt" -f "%e %M" "$bin" assess - "$@" < "$file" > /dev/null 2>/dev/null
  t=$(tail -1 "$out/time.txt")
  local secs=${t% *} kb=${t#* }
  local n; n=$(wc -l < "$file")
  awk -v l="$label" -v n="$n" -v s="$secs" -v kb="$kb" -v c="$cores" \
    'BEGIN { printf "| %s | %d | %.2f s | %.0f | %.0f | %.1f MiB |\n", l, n, s, n/s, n/s/c, kb/1024 }'
}

echo "| run | profiles | wall | profiles/s | per core | peak RSS |"
echo "|---|---|---|---|---|---|"
run "parse only (--check-only)" "$out/profiles-10000.ndjson" --check-only
run "full assessment" "$out/profiles-10000.ndjson" --date $DATE
run "parse only (--check-only)" "$out/profiles-$N.ndjson" --check-only
run "full assessment" "$out/profiles-$N.ndjson" --date $DATE

if command -v valgrind >/dev/null; then
  ir() { valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bin" assess - --jobs 1 "$@" \
          < "$out/profiles-1000.ndjson" > /dev/null 2>&1; callgrind_annotate "$out/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}'; }
  p=$(ir --check-only); f=$(ir --date $DATE)
  awk -v p="$p" -v f="$f" 'BEGIN { printf "\ninstructions per 1,000 profiles (callgrind, 1 thread): parse only %.0f M, full %.0f M; evaluation = %.2f x parsing; ratio parse/full = %.2f\n", p/1e6, f/1e6, (f-p)/p, p/f }'
fi
