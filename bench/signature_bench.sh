#!/usr/bin/env bash
# Signature benchmark (issue 7): ingest of one capture without rules, with the built-in set, and with
# the built-in set plus N generated content rules (bench/gen_rules.py); and the time to load and
# compile those rules. Prints the median of RUNS runs of each; every run ingests into a fresh store.
#
#   bench/signature_bench.sh [CAPTURE]   default /tmp/ibr-10m.pcap, else /tmp/ibr-1m.pcap
#   RUNS=5 RULES=3000 THREADS= (darkscope's default) DARKSCOPE=build/release/darkscope
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-5}
RULES=${RULES:-3000}
DARKSCOPE=${DARKSCOPE:-build/release/darkscope}
LOAD_BENCH=${LOAD_BENCH:-build/release/bench/rules_load_bench}
capture=${1:-}
if [[ -z "$capture" ]]; then
    for c in /tmp/ibr-10m.pcap /tmp/ibr-1m.pcap; do [[ -s "$c" ]] && { capture=$c; break; }; done
fi
if [[ -z "$capture" || ! -s "$capture" ]]; then
    echo "signature_bench.sh: no capture: give one, or write /tmp/ibr-1m.pcap with ../shared/bench/gen_ibr.py -n 1000000"
    exit 0
fi
for exe in "$DARKSCOPE" "$LOAD_BENCH"; do
    [[ -x "$exe" ]] || { echo "signature_bench.sh: $exe not found: build the release preset first" >&2; exit 1; }
done
out=bench/out
mkdir -p "$out"
rules=$out/generated-$RULES.rules
python3 bench/gen_rules.py -n "$RULES" -o "$rules"
threads=()
[[ -n "${THREADS:-}" ]] && threads=(--threads "$THREADS")

echo "capture $capture; $RUNS runs each; $(nproc) cores; $(date -u +%FT%TZ)"
"$LOAD_BENCH" "$rules" --runs "$RUNS"

# run LABEL ARGS...: median wall seconds of ingest over RUNS fresh stores.
run() {
    local label=$1 i
    shift
    local times=()
    for ((i = 0; i < RUNS; i++)); do
        rm -f "$out/sigbench.db" "$out/sigbench.db-wal" "$out/sigbench.db-shm"
        local t0 t1
        t0=$(date +%s%N)
        "$DARKSCOPE" ingest --quiet --no-progress --store "$out/sigbench.db" --sensors bench/ibr-sensors.toml \
            "${threads[@]}" "$@" "$capture"
        t1=$(date +%s%N)
        times+=("$(((t1 - t0) / 1000000))")  # ms
    done
    printf '%s\n' "${times[@]}" | sort -g | awk -v label="$label" '{ t[NR] = $1 } END {
        m = t[int((NR + 1) / 2)]; printf "%-34s median %.2f s  (runs:", label, m / 1000; for (i = 1; i <= NR; i++) printf " %.2f", t[i] / 1000; print ")" }'
}
run "no rules (--no-default-rules)" --no-default-rules
run "built-in set"
run "built-in set + $RULES generated" --rules "$rules"
