#!/usr/bin/env bash
# `iotrust watch` over NATS JetStream against one process, on the same capture:
#   records/s end to end (inlet -> bus -> workers, until every partition is checkpointed at
#   its last message) with 1 and 2 workers, streams x1 on one server and x3 on a cluster of
#   three (all on loopback), the bus's bytes and CPU per record, and the recovery time
#   after a worker's SIGKILL (until the other worker holds every partition, caught up).
#
#   scripts/bench-bus.sh                  # 3,000,000 records from 65,000 subscribers
#   N=1000000 PARTS="x1" scripts/bench-bus.sh
#
# Needs nats-server (Debian) and python3. Builds the release binaries unless BIN is given.
# Everything listens on 127.0.0.1 only and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000000}
HOSTS=${HOSTS:-65000}
PARTITIONS=${PARTITIONS:-8}
PARTS=${PARTS:-"x1 x3 recovery netflow"}
TARGET=${CARGO_TARGET_DIR:-target}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
command -v nats-server >/dev/null || { echo "bench-bus: needs nats-server (apt-get install nats-server)" >&2; exit 1; }

if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p iotrust-cli
  BIN=$TARGET/release/iotrust
fi
cargo build --release -q -p iotrust-flow --features testing --example bench_pcap --example flow_sender
PCAP=${PCAP:-$TMP/bench.pcap}
[ -f "$PCAP" ] || "$TARGET/release/examples/bench_pcap" "$PCAP" "$N" "$HOSTS"
LOCAL=10.1.0.0/16

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { # pid -> user+system seconds
  awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"
}
now() { date +%s.%N; }

echo "# bench-bus: $N records, $HOSTS subscribers, $PARTITIONS partitions, $(nproc) cores, $(date -u +%FT%TZ)"
echo
echo "## one process"
for t in 1 2; do
  s=$(now)
  "$BIN" watch --pcap "$PCAP" --local $LOCAL --threads $t -o "$TMP/single$t.jsonl" 2>/dev/null
  e=$(now)
  python3 -c "import sys; d=$e-$s; print(f'iotrust watch --threads $t: {d:.2f} s, {$N/d:,.0f} records/s, $(wc -l < "$TMP/single$t.jsonl") events')"
done

start_servers() { # replicas -> sets URL, SERVER_PIDS
  local r=$1
  SERVER_PIDS=()
  if [ "$r" = 1 ]; then
    local p; p=$(port)
    nats-server -js -a 127.0.0.1 -p "$p" -sd "$TMP/js1-$RANDOM" >/dev/null 2>&1 &
    SERVER_PIDS+=($!); PIDS+=($!)
    URL=nats://127.0.0.1:$p
  else
    local cp=() rp=() routes="" urls=""
    for i in 0 1 2; do cp+=("$(port)"); rp+=("$(port)"); done
    for i in 0 1 2; do routes="$routes${routes:+,}nats://127.0.0.1:${rp[$i]}"; urls="$urls${urls:+,}nats://127.0.0.1:${cp[$i]}"; done
    for i in 0 1 2; do
      nats-server -js --server_name "n$i" --cluster_name bench -a 127.0.0.1 -p "${cp[$i]}" \
        --cluster "nats://127.0.0.1:${rp[$i]}" --routes "$routes" -sd "$TMP/js3-$i-$RANDOM" >/dev/null 2>&1 &
      SERVER_PIDS+=($!); PIDS+=($!)
    done
    URL=$urls
  fi
  for _ in $(seq 60); do
    "$BIN" watch status --bus "$URL" --replicas "$r" --connect-wait 2 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "bench-bus: the bus did not come up" >&2; exit 1
}

stop_servers() {
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

caught_up() { # url replicas -> exit 0 when every partition is checkpointed at its last message
  "$BIN" watch status --bus "$1" --replicas "$2" --format json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
d = s["detail"]
ok = d and all(p["last_seq"] > 0 and p["checkpoint_seq"] == p["last_seq"] and p["owner"] for p in d)
sys.exit(0 if ok else 1)'
}

run_bus() { # replicas workers
  local r=$1 w=$2
  start_servers "$r"
  local wp=()
  for i in $(seq "$w"); do
    "$BIN" watch worker --bus "$URL" --replicas "$r" --name "w$i" --lease 5 2>"$TMP/w$i.err" &
    wp+=($!); PIDS+=($!)
  done
  "$BIN" watch sink --bus "$URL" --replicas "$r" -o "$TMP/sink.jsonl" 2>/dev/null &
  local sp=$!; PIDS+=($sp)
  local c0=0; for p in "${SERVER_PIDS[@]}"; do c0=$(python3 -c "print($c0 + $(cpu_of "$p"))"); done
  local s; s=$(now)
  "$BIN" watch inlet --bus "$URL" --replicas "$r" --partitions "$PARTITIONS" --local $LOCAL \
    --pcap "$PCAP" 2>"$TMP/inlet.err"
  local ie; ie=$(now)
  until caught_up "$URL" "$r"; do sleep 0.1; done
  local e; e=$(now)
  local c1=0; for p in "${SERVER_PIDS[@]}"; do c1=$(python3 -c "print($c1 + $(cpu_of "$p"))"); done
  local wcpu=0; for p in "${wp[@]}"; do wcpu=$(python3 -c "print($wcpu + $(cpu_of "$p"))"); done
  local bytes
  bytes=$("$BIN" watch status --bus "$URL" --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["records_bytes"])')
  sleep 1
  python3 - <<EOF
s, ie, e, n = $s, $ie, $e, $N
print(f"x$r, $w worker(s): end to end {e - s:.2f} s, {n / (e - s):,.0f} records/s "
      f"(inlet alone {ie - s:.2f} s, {n / (ie - s):,.0f} records/s); "
      f"bus: {$bytes / n:.1f} bytes a record stored per copy, "
      f"nats-server CPU {($c1 - $c0) * 1e9 / n:.0f} ns a record (all servers), "
      f"workers CPU {$wcpu * 1e9 / n:.0f} ns a record; "
      f"events at the sink: $(wc -l < "$TMP/sink.jsonl")")
EOF
  if [ "${RECOVERY:-0}" = 1 ] && [ "$w" -ge 2 ]; then
    kill -9 "${wp[0]}"
    local k; k=$(now)
    until "$BIN" watch status --bus "$URL" --format json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["detail"]
sys.exit(0 if all(p["owner"] == "w2" for p in d) else 1)'; do sleep 0.1; done
    local o; o=$(now)
    # the new owner replays the partitions it took to their checkpoints
    sleep 0.5
    until caught_up "$URL" "$r"; do sleep 0.1; done
    local c; c=$(now)
    python3 -c "print(f'recovery after SIGKILL of w1 (lease 5 s): w2 holds every partition after {$o - $k:.2f} s, caught up (replay done) after {$c - $k:.2f} s')"
  fi
  for p in "${wp[@]}" "$sp"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  stop_servers
}

run_netflow() { # rate seconds: the collector benchmark's NetFlow v9 stream into an inlet,
  # two workers, x1
  local rate=$1 secs=$2
  start_servers 1
  local wp=()
  for i in 1 2; do
    "$BIN" watch worker --bus "$URL" --name "w$i" --lease 5 2>/dev/null &
    wp+=($!); PIDS+=($!)
  done
  local up; up=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BIN" watch inlet --bus "$URL" --partitions "$PARTITIONS" --local $LOCAL \
    --netflow "127.0.0.1:$up" --duration $((secs + 3)) 2>"$TMP/nf-inlet.err" &
  local ip=$!; PIDS+=($ip)
  sleep 1.5
  local s; s=$(now)
  "$TARGET/release/examples/flow_sender" --to "127.0.0.1:$up" --proto v9 --rate "$rate" --seconds "$secs" >"$TMP/sender.json"
  wait "$ip" || true
  until caught_up "$URL" 1; do sleep 0.1; done
  local e; e=$(now)
  local got; got=$(sed -n 's/.* \([0-9]*\) records published.*/\1/p' "$TMP/nf-inlet.err")
  python3 - <<EOF2
import json
sent = json.load(open("$TMP/sender.json"))
n = sent.get("records", 0)
got = int("${got:-0}" or 0)
print(f"NetFlow v9 at $rate records/s for $secs s into the inlet, 2 workers, x1: {got:,} of {n:,} records published "
      f"({100 * got / max(n, 1):.1f} %); all checkpointed {$e - $s:.2f} s after the sender started "
      f"({got / ($e - $s):,.0f} records/s end to end)")
EOF2
  for p in "${wp[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  stop_servers
}

for part in $PARTS; do
  case $part in
    x1) echo; echo "## bus, streams x1 (one nats-server)"; run_bus 1 1; run_bus 1 2 ;;
    x3) echo; echo "## bus, streams x3 (three nats-servers in one cluster)"; run_bus 3 1; run_bus 3 2 ;;
    recovery) echo; echo "## recovery"; RECOVERY=1 run_bus 1 2 ;;
    netflow) echo; echo "## NetFlow replay"; for r in ${RATES:-500000 1000000}; do run_netflow "$r" "${SECS:-5}"; done ;;
  esac
done
