#!/usr/bin/env bash
# Side-by-side benchmarks of `iotrust watch` (issue 5); figures in docs/benchmarks.md.
#
#   scripts/bench-watch.sh [netflow|pcap|latency|state|all]     (default: all)
#
# netflow  NetFlow v9 and IPFIX over UDP on loopback, stepped rates: records received by
#          `iotrust watch --netflow`, nfcapd (nfdump) and FastNetMon from the same paced
#          stream (crates/iotrust-flow/examples/flow_sender.rs), each tool alone in turn.
#          A step is lossless when the tool counted every record sent.
# pcap     packets/s of `iotrust watch --pcap` (every detector) against
#          `tcpdump -r FILE -w /dev/null 'tcp[tcpflags] & tcp-syn != 0'` on the same file:
#          with every address treated as a subscriber's (the worst case: each spoofed source
#          gets state), and with `--local` (state only for subscribers, as deployed).
# latency  stream-time detection latency of a 160 SYN/s scanner, unsampled and 1:1000
#          (the `latency` integration test of iotrust-watch, which prints the figures).
# state    bytes of state per tracked host.
#
# Needs root (a private network namespace; net.core.rmem_{max,default} are raised to 64/32 MiB
# for the netflow part, as in shared/facts/botnets.md §7.4 — FastNetMon has no socket-buffer
# option — and restored on exit) and the Debian
# packages in scripts/bench-watch-packages.txt. Traffic stays on the namespace's loopback.
# Env: RATES (records/s, space-separated), SECS (per step), THREADS (watch --threads; for
# netflow a list, e.g. "1 2", runs watch once per count),
# TOOLS (netflow: which of "watch nfcapd fastnetmon" run, default all three; with
# REPEAT=N each step N times), BIN / SENDER (prebuilt binaries), PCAP (the capture to
# multiply), COPIES, BIG (pcap: keep the multiplied file at this path, for profiling), LOCAL
# (pcap: the subscribers' prefixes for the `watch-local` rows; default 10.10.10.0/24 for the
# default capture, none for another).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PART=${1:-all}

if [ -z "${IN_NETNS:-}" ]; then
  # net.core.rmem_* are not per namespace here: raised outside it, restored afterwards
  OLD_RMEM_MAX=$(sysctl -n net.core.rmem_max)
  OLD_RMEM_DEFAULT=$(sysctl -n net.core.rmem_default)
  if [ "$PART" = netflow ] || [ "$PART" = all ]; then
    trap 'sysctl -qw net.core.rmem_max=$OLD_RMEM_MAX net.core.rmem_default=$OLD_RMEM_DEFAULT' EXIT
    sysctl -qw net.core.rmem_max=67108864 net.core.rmem_default=33554432
  fi
  unshare --net env IN_NETNS=1 "$0" "$@"
  exit $?
fi
ip link set lo up

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release/iotrust}
SENDER=${SENDER:-$TARGET/release/examples/flow_sender}
if [ ! -x "$BIN" ] || [ ! -x "$SENDER" ]; then
  cargo build --release -p iotrust-cli
  cargo build --release -p iotrust-flow --features testing --example flow_sender
fi
RATES=${RATES:-"250000 500000 1000000 1500000 2000000 3000000"}
SECS=${SECS:-5}
THREADS=${THREADS:-"1 2"}
TMP=$(mktemp -d /tmp/bench-watch.XXXXXX)
# nfcapd's flow files go to memory (tmpfs) when there is one: its figures are then its own
# work, not the disk's (hundreds of MB a step; on the project's VM writing them to ext4
# cost nfcapd three times the CPU and made it lossy from 2 M records/s)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  NFDIR=$(mktemp -d /dev/shm/bench-watch-nfcapd.XXXXXX)
else
  NFDIR=$TMP/nf
fi
trap 'rm -rf "$TMP" "$NFDIR"' EXIT

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(uname -r)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

send() { # proto rate port
  "$SENDER" --to "127.0.0.1:$3" --proto "$1" --rate "$2" --seconds "$SECS" --seed 7
}

bench_watch() { # proto rate [threads]
  local port=21055 threads=${3:-1}
  "$BIN" watch --netflow 127.0.0.1:$port --duration $((SECS * 3 + 3)) --threads "$threads" \
    --local 10.1.0.0/16 -o /dev/null 2>"$TMP/watch.err" &
  local pid=$!
  sleep 1
  local sent
  sent=$(send "$1" "$2" $port)
  local ticks
  ticks=$(cpu_ticks $pid)
  wait $pid
  local got
  got=$(sed -n 's/^watch: collector: [0-9]* datagrams, \([0-9]*\) records.*/\1/p' "$TMP/watch.err")
  report "watch-t$threads" "$1" "$2" "$sent" "${got:-0}" "$ticks"
}

bench_nfcapd() { # proto rate
  local port=21056
  rm -rf "$NFDIR" && mkdir -p "$NFDIR"
  nfcapd -w "$NFDIR" -b 127.0.0.1 -p $port -B 33554432 -t 3600 >"$TMP/nfcapd.log" 2>&1 &
  local pid=$!
  sleep 1
  local sent
  sent=$(send "$1" "$2" $port)
  sleep 1
  local ticks
  ticks=$(cpu_ticks $pid)
  kill -TERM $pid
  wait $pid || true
  local got
  got=$(nfdump -R "$NFDIR" -I 2>/dev/null | awk '/^Flows:/ {s += $2} END {print s + 0}')
  rm -rf "$NFDIR"
  report nfcapd "$1" "$2" "$sent" "$got" "$ticks"
}

bench_fastnetmon() { # proto rate
  local port=21057
  sed -e 's/^disable_usage_report = .*/disable_usage_report = on/' \
      -e 's/^netflow = .*/netflow = on/' \
      -e "s/^netflow_port = .*/netflow_port = $port/" \
      -e 's/^netflow_host = .*/netflow_host = 127.0.0.1/' \
      -e 's/^sflow = .*/sflow = off/' \
      -e "s|^networks_list_path = .*|networks_list_path = $TMP/networks|" \
      -e 's/^enable_api = .*/enable_api = off/' \
      -e 's|^notify_script_path = .*|notify_script_path = /bin/true|' \
      /etc/fastnetmon.conf >"$TMP/fastnetmon.conf"
  echo 10.1.0.0/16 >"$TMP/networks"
  fastnetmon --configuration_file "$TMP/fastnetmon.conf" --log_file "$TMP/fastnetmon.log" \
    --disable_pid_logic >/dev/null 2>&1 &
  local pid=$!
  local metric
  if [ "$1" = ipfix ]; then metric=fastnetmon_ipfix_total_flows; else metric=fastnetmon_netflow_v9_total_flows; fi
  for _ in $(seq 50); do
    curl -sf http://127.0.0.1:9209/metrics >/dev/null 2>&1 && break
    sleep 0.2
  done
  local before
  before=$(curl -sf http://127.0.0.1:9209/metrics | awk -v m="$metric" '$1 == m {print $2}')
  local sent
  sent=$(send "$1" "$2" $port)
  sleep 2
  local ticks
  ticks=$(cpu_ticks $pid)
  local after
  after=$(curl -sf http://127.0.0.1:9209/metrics | awk -v m="$metric" '$1 == m {print $2}')
  kill -TERM $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  report fastnetmon "$1" "$2" "$sent" $(( ${after:-0} - ${before:-0} )) "$ticks"
}

report() { # tool proto rate sent-json received cpu-ticks
  local sent achieved sender_cpu
  sent=$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' <<<"$4")
  achieved=$(sed -n 's/.*"achieved_rate":\([0-9]*\).*/\1/p' <<<"$4")
  sender_cpu=$(sed -n 's/.*"cpu_seconds":\([0-9.]*\).*/\1/p' <<<"$4")
  local pct
  pct=$(awk -v g="$5" -v s="$sent" 'BEGIN {printf "%.2f", s ? 100 * g / s : 0}')
  local lossless=no
  [ "$5" -ge "$sent" ] && lossless=yes
  # the tool's CPU (user + system, its kernel receive work included) per record received
  local ns
  ns=$(awk -v t="$6" -v g="$5" 'BEGIN {printf "%.0f", g ? t * 1e7 / g : 0}')
  printf "%-14s %-6s target %9s/s achieved %9s/s sent %10s received %10s %7s%% lossless %-3s cpu %5.2f s (%4s ns/record) sender cpu %s s\n" \
    "$1" "$2" "$3" "$achieved" "$sent" "$5" "$pct" "$lossless" "$(awk -v t="$6" 'BEGIN {print t / 100}')" "$ns" "${sender_cpu:-?}"
}

part_netflow() {
  echo "## NetFlow v9 / IPFIX over loopback, $SECS s per step, watch --threads $THREADS," \
    "rmem_max $(sysctl -n net.core.rmem_max) rmem_default $(sysctl -n net.core.rmem_default)"
  for proto in v9 ipfix; do
    for rate in $RATES; do
      for _ in $(seq "${REPEAT:-1}"); do
        for tool in ${TOOLS:-watch nfcapd fastnetmon}; do
          if [ "$tool" = watch ]; then
            for t in $THREADS; do bench_watch $proto "$rate" "$t"; done
          else
            "bench_$tool" $proto "$rate"
          fi
        done
      done
    done
  done
}

part_pcap() {
  local src=${PCAP:-/work/shared/data/pcap/stopddos-synflood-spoofed.pcap}
  local copies=${COPIES:-30}
  local big=${BIG:-$TMP/big.pcap}
  # the capture `copies` times over, copy c shifted by 60c + 17c² s (irregular gaps: the
  # same sources at a fixed period would be, rightly, beacons)
  python3 - "$src" "$big" "$copies" <<'EOF'
import struct, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
hdr, body = data[:24], data[24:]
magic = struct.unpack('<I', hdr[:4])[0]
e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
recs, off = [], 0
while off + 16 <= len(body):
    sec, frac, incl, orig = struct.unpack(e + 'IIII', body[off:off + 16])
    recs.append((sec, frac, incl, orig, body[off + 16:off + 16 + incl]))
    off += 16 + incl
with open(dst, 'wb') as f:
    f.write(hdr)
    for c in range(copies):
        for sec, frac, incl, orig, pkt in recs:
            f.write(struct.pack(e + 'IIII', sec + 60 * c + 17 * c * c, frac, incl, orig))
            f.write(pkt)
EOF
  local packets
  packets=$("$BIN" watch --pcap "$big" --threads 1 -o /dev/null 2>&1 | sed -n 's/^watch: {"records":\([0-9]*\).*/\1/p')
  echo "## pcap: $big = $src x $copies, $packets packets, $(du -h "$big" | cut -f1)"
  best() { # command... ; prints the best wall time of 3 runs
    local b=999999
    for _ in 1 2 3; do
      local s e
      s=$(date +%s.%N)
      "$@" >/dev/null 2>&1
      e=$(date +%s.%N)
      b=$(awk -v b="$b" -v t="$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')" 'BEGIN {print (t < b) ? t : b}')
    done
    echo "$b"
  }
  local t_tcpdump t_w1 t_w2 t_w3
  t_tcpdump=$(best tcpdump -r "$big" -w /dev/null 'tcp[tcpflags] & tcp-syn != 0')
  t_w1=$(best "$BIN" watch --pcap "$big" --threads 1 -o /dev/null)
  t_w2=$(best "$BIN" watch --pcap "$big" --threads 2 -o /dev/null)
  # three shards on two cores: the victim's shard (all the flood's inbound work) then holds
  # a third of the sources' outbound work instead of half
  t_w3=$(best "$BIN" watch --pcap "$big" --threads 3 -o /dev/null)
  # as deployed: state only for the subscribers' addresses (`--local`; the default capture's
  # victim is 10.10.10.10), so the flood's spoofed sources get none
  local rows=("tcpdump-syn-filter $t_tcpdump" "watch-threads-1 $t_w1" "watch-threads-2 $t_w2"
    "watch-threads-3 $t_w3")
  local nets=${LOCAL-}
  [ -z "${PCAP:-}" ] && nets=${LOCAL-10.10.10.0/24}
  if [ -n "$nets" ]; then
    rows+=("watch-local-threads-1 $(best "$BIN" watch --pcap "$big" --threads 1 --local "$nets" -o /dev/null)")
    rows+=("watch-local-threads-2 $(best "$BIN" watch --pcap "$big" --threads 2 --local "$nets" -o /dev/null)")
  fi
  for row in "${rows[@]}"; do
    set -- $row
    awk -v n="$1" -v t="$2" -v p="$packets" -v base="$t_tcpdump" \
      'BEGIN {printf "%-22s %7.3f s %10.0f packets/s  %.2fx tcpdump\n", n, t, p / t, base / t}'
  done
}

part_latency() {
  echo "## detection latency (stream time)"
  cargo test --release -p iotrust-watch --test latency -- --nocapture 2>&1 | grep -E '^latency|test result'
}

part_state() {
  echo "## state per tracked host"
  "$BIN" watch --pcap /work/shared/data/pcap/stopddos-synflood-spoofed.pcap -o /dev/null 2>&1 \
    | sed -n 's/^watch: \({"records".*\)/\1/p' \
    | python3 -c 'import json,sys; s=json.load(sys.stdin); print("bytes_per_host %d, hosts %d, state_bytes %d (%.0f bytes/host incl. table slack)" % (s["bytes_per_host"], s["hosts"], s["state_bytes"], s["state_bytes"] / max(s["hosts"], 1)))'
}

case $PART in
  netflow) part_netflow ;;
  pcap) part_pcap ;;
  latency) part_latency ;;
  state) part_state ;;
  all) part_state; part_pcap; part_latency; part_netflow ;;
  *) echo "usage: $0 [netflow|pcap|latency|state|all]" >&2; exit 2 ;;
esac
