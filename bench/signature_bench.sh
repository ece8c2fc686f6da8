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

# The three configurations run in turn, round after round, so that a change in the machine's load
# during the benchmark (it is shared) falls on all of them alike. Wall times in ms, per configuration.
labels=("no rules (--no-default-rules)" "built-in set" "built-in set + $RULES generated")
declare -a times0 times1 times2
once() {  # once CONFIG: one ingest into a fresh store; prints its wall time in ms
    local args=()
    case $1 in
        0) args=(--no-default-rules) ;;
        1) args=() ;;
        2) args=(--rules "$rules") ;;
    esac
    rm -f "$out/sigbench.db" "$out/sigbench.db-wal" "$out/sigbench.db-shm"
    local t0 t1
    t0=$(date +%s%N)
    "$DARKSCOPE" ingest --quiet --no-progress --store "$out/sigbench.db" --sensors bench/ibr-sensors.toml \
        "${threads[@]}" "${args[@]}" "$capture"
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
for ((round = 0; round < RUNS; round++)); do
    times0+=("$(once 0)")
    times1+=("$(once 1)")
    times2+=("$(once 2)")
done
report() {  # report LABEL MS...: median and every run, in seconds
    local label=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v label="$label" '{ t[NR] = $1 } END {
        m = t[int((NR + 1) / 2)]; printf "%-34s median %.2f s  (runs:", label, m / 1000; for (i = 1; i <= NR; i++) printf " %.2f", t[i] / 1000; print ")" }'
}
for ((round = 0; round < RUNS; round++)); do
    echo "round $((round + 1)): ${times0[round]} / ${times1[round]} / ${times2[round]} ms" >&2
done
report "${labels[0]}" "${times0[@]}"
report "${labels[1]}" "${times1[@]}"
report "${labels[2]}" "${times2[@]}"
# The speed of each configuration relative to no rules, per round (same load), then the median.
for c in 1 2; do
    ratios=()
    for ((round = 0; round < RUNS; round++)); do
        ref=${times0[round]}
        if ((c == 1)); then t=${times1[round]}; else t=${times2[round]}; fi
        ratios+=("$(awk -v a="$ref" -v b="$t" 'BEGIN { printf "%.3f", a / b }')")
    done
    printf '%s\n' "${ratios[@]}" | sort -g | awk -v label="${labels[c]}" '{ r[NR] = $1 } END {
        printf "%-34s speed vs no rules, median of rounds %.2f  (rounds:", label, r[int((NR + 1) / 2)]; for (i = 1; i <= NR; i++) printf " %.2f", r[i]; print ")" }'
done
