#!/usr/bin/env bash
# Load benchmark of `iotrust serve`, SQLite and PostgreSQL side by side, on loopback:
#   1. fill both with N labelled products (default 100,000) through Registry::submit_many,
#   2. serve each (rate limiting off) and drive it with wrk: product lookups by random id
#      (JSON API), product pages (HTML), label verification (POST a signed label),
#   3. a bulk check of 10,000 models in one request, five times each.
# Report: $CARGO_TARGET_DIR/bench-registry/report.md (raw wrk outputs beside it).
# Packages (Debian): scripts/bench-registry-packages.txt, installed when run as root.
#
#   scripts/bench-registry.sh                      # the full run
#   N=2000 DURATION=5s scripts/bench-registry.sh   # a quick check of the script
set -euo pipefail

N=${N:-100000}
DURATION=${DURATION:-30s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/bench-registry

if [ "$(id -u)" = 0 ]; then
    missing=$(grep -v '^#' "$root/scripts/bench-registry-packages.txt" | while read -r p; do
        [ -n "$p" ] && ! dpkg -s "$p" >/dev/null 2>&1 && echo "$p"; done || true)
    if [ -n "$missing" ]; then
        apt-get install -y -q $missing >/dev/null
    fi
fi
for t in wrk curl python3; do command -v $t >/dev/null || { echo "need $t" >&2; exit 2; }; done

cargo build --release --locked -q -p iotrust-cli
cargo build --release --locked -q -p iotrust-registry --example fill
rm -rf "$out"
mkdir -p "$out"

# --- a private PostgreSQL server
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/iotrust-bench-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$pgdir"
    as_pg=(runuser -u postgres --)
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
}
trap cleanup EXIT
"${as_pg[@]}" "$pgbin/initdb" -A trust -U postgres -E UTF8 --locale=C -D "$pgdir/data" >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -w -D "$pgdir/data" -l "$pgdir/log" \
    -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
"${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres registry
pgurl="postgres://postgres@127.0.0.1:$pgport/registry"

# --- fill
t0=$(date +%s.%N)
"$target/release/examples/fill" "$out" "$N" "$out/registry.sqlite" "$pgurl" 2>"$out/fill.log"
t1=$(date +%s.%N)
fill_s=$(python3 -c "print(f'{$t1-$t0:.0f}')")
tail -2 "$out/fill.log"

cat >"$out/lookup.lua" <<'EOF'
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", os.getenv("PREFIX") .. ids[math.random(#ids)])
end
EOF
cat >"$out/verify.lua" <<'EOF'
local f = assert(io.open(os.getenv("LABEL"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF

serve() { # db port
    "$target/release/iotrust" serve --db "$1" --addr "127.0.0.1:$2" --trust "$out/issuer.pub.json" \
        --tokens "$out/tokens.txt" --rate-limit 0 2>>"$out/serve.log" &
    pids+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/api/v1/openapi.json" >/dev/null && return; sleep 0.1; done
    echo "server on $2 did not start" >&2; exit 1
}

rows=()
bench() { # name db
    local name=$1 db=$2 port
    port=$(free_port)
    serve "$db" "$port"
    local pid=${pids[-1]} base="http://127.0.0.1:$port"
    local line="| $name |"
    for scenario in api page verify; do
        local script=lookup prefix=/api/v1/products/
        [ $scenario = page ] && prefix=/p/
        [ $scenario = verify ] && script=verify
        IDS="$out/ids.txt" PREFIX="$prefix" LABEL="$out/label.json" \
            wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$out/$script.lua" \
            "$base$([ $scenario = verify ] && echo /api/v1/verify || echo /)" >"$out/$name-$scenario.txt"
        local rps p99 errs
        rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$out/$name-$scenario.txt")
        p99=$(awk '$1 == "99%" {print $2}' "$out/$name-$scenario.txt")
        errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out/$name-$scenario.txt" | tr '\n' ' ')
        [ -n "$errs" ] && echo "$name $scenario: $errs" >&2
        line="$line $rps / $p99 |"
    done
    # bulk check of 10,000 models, five times
    local times=()
    curl -sf -X POST -H 'content-type: application/json' --data-binary @"$out/check-10k.json" \
        "$base/api/v1/check" >"$out/$name-check.json"
    python3 - "$out/$name-check.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
assert a["checked"] == 10000, a["checked"]
reg = sum(1 for r in a["results"] if r["registered"])
assert reg == 9000, reg
EOF
    for _ in 1 2 3 4 5; do
        times+=("$(curl -sf -o /dev/null -w '%{time_total}' -X POST -H 'content-type: application/json' \
            --data-binary @"$out/check-10k.json" "$base/api/v1/check")")
    done
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    local rss
    rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
    line="$line $(python3 -c "print(f'{$med*1000:.0f} ms')") | $rss MiB |"
    rows+=("$line")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

bench sqlite "$out/registry.sqlite"
bench postgresql "$pgurl"

{
    echo "# iotrust serve under load ($(date -u +%Y-%m-%d), $(nproc) cores, $N products)"
    echo
    echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency on loopback, client and server on the same machine;"
    echo "requests/s and p99 latency. Fill time for both stores: ${fill_s} s."
    echo
    echo "| store | product lookup (JSON) | product page (HTML) | label verification | bulk check, 10,000 models (median of 5) | server peak RSS |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$out/report.md"
cat "$out/report.md"
