#!/usr/bin/env bash
# Evaluates `iotrust watch` on the labelled corpus (docs/evaluation.md).
#
#   scripts/eval-watch.sh [OUTDIR] [--seed N] [--markdown FILE] [--json FILE]
#
# Builds iotrust and watch-corpus (release), writes the corpus under OUTDIR/corpus
# (default OUTDIR: target/eval), runs `iotrust watch` with default settings on every
# scenario input and again with the scenario's C2 addresses as --indicators (outputs in
# OUTDIR/runs), and prints per scenario and host the truth, TP/FP/FN/TN, detectors,
# severity, incidents opened and time to detect, then the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/eval
seed=1
markdown=""
json=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --markdown) markdown="$2"; shift 2 ;;
        --json) json="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "eval-watch: unknown option $1" >&2; exit 2 ;;
        *) out="$1"; shift ;;
    esac
done
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p iotrust-cli --bin iotrust -p iotrust-corpus --bin watch-corpus
rm -rf "$out/corpus" "$out/runs"
mkdir -p "$out"
"$target/release/watch-corpus" "$out/corpus" --seed "$seed" > /dev/null
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), seed $seed, corpus $(du -sh "$out/corpus" | cut -f1)"
args=(--corpus "$out/corpus" --iotrust "$target/release/iotrust" --runs "$out/runs")
[ -n "$markdown" ] && args+=(--markdown "$markdown")
[ -n "$json" ] && args+=(--json "$json")
python3 scripts/eval_watch.py "${args[@]}"
