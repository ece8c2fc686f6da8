#!/usr/bin/env bash
# Report benchmark (issue: a quarter's report from a store holding 90 days of a 4096-address telescope at
# 10 million packets a day renders in under 5 seconds). Prints the median wall time and peak RSS of
# `darkscope report --period 2024Q4` per format.
#
#   bench/report_bench.sh     RUNS=5; DISTINCT=3 distinct days; PACKETS=10000000 per day; SHARED=<repo>/../shared
#
# The store: DISTINCT days written by ../shared/bench/gen_ibr.py (each its own seed, so each its own
# sources; about 40 s a day to generate, 10 s to ingest), ingested with bench/ibr-sensors.toml (one /20
# sensor), then their stored daily rows (counters with their heads, and decode events: what a report reads; the hourly rows,
# 130 MB a day here, are not copied) copied day by day until 90 days from 2024-10-01 are filled: day k holds
# the rows of distinct day k mod DISTINCT. The copies
# repeat their sources, so the quarter's distinct sources are those of DISTINCT days (about 0.3 million
# each), not of 90; the per-day work (every day's segments read and united) is the real one. Cached in
# bench/out/ by PACKETS and DISTINCT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
SHARED=${SHARED:-$root/../shared}
RUNS=${RUNS:-5}
DISTINCT=${DISTINCT:-3}
PACKETS=${PACKETS:-10000000}
DAYS=90
DARKSCOPE=${DARKSCOPE:-build/release/darkscope}
out=bench/out
gen=$SHARED/bench/gen_ibr.py
if [[ ! -f "$gen" ]]; then
    echo "report_bench.sh: skipped: $gen not found (set SHARED to the folder holding bench/)"
    exit 0
fi
for tool in python3 sqlite3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "report_bench.sh: $tool is missing" >&2; exit 1; }
done
[[ -x "$DARKSCOPE" ]] || { echo "report_bench.sh: $DARKSCOPE not found: build it first" >&2; exit 1; }
mkdir -p "$out"

store=$out/report-q-$PACKETS-$DISTINCT.db
if [[ ! -s "$store" ]]; then
    rm -f "$store.tmp" "$store.tmp-wal" "$store.tmp-shm"
    for ((i = 0; i < DISTINCT; i++)); do
        day=$(date -u -d "2024-10-01 + $i days" +%F)
        pcap=$out/report-day-$PACKETS-$i.pcap
        if [[ ! -s "$pcap" ]]; then
            echo "generating $pcap ($PACKETS packets on $day, seed $((i + 1)))..." >&2
            python3 "$gen" -n "$PACKETS" --day "$day" --seed $((i + 1)) -o "$pcap.tmp" >&2
            mv "$pcap.tmp" "$pcap"
        fi
        "$DARKSCOPE" ingest --sensors bench/ibr-sensors.toml --store "$store.tmp" "$pcap" >&2
    done
    first=$(sqlite3 "$store.tmp" "select min(period) from counters_daily")
    echo "filling $DAYS days from the $DISTINCT distinct ones..." >&2
    {
        echo "BEGIN;"
        for ((d = DISTINCT; d < DAYS; d++)); do
            src=$((first + d % DISTINCT))
            shift_days=$((d - d % DISTINCT))
            echo "INSERT INTO counters_daily SELECT dim, period + $shift_days, sensor_id, keys, packets, bytes, segment FROM counters_daily WHERE period = $src;"
            echo "INSERT INTO counters_daily_heads SELECT dim, period + $shift_days, sensor_id, heads FROM counters_daily_heads WHERE period = $src;"
            echo "INSERT INTO decode_events SELECT sensor_id, hour + $((shift_days * 24)), event, count FROM decode_events WHERE hour / 24 = $src;"
        done
        echo "COMMIT;"
    } | sqlite3 "$store.tmp"
    mv "$store.tmp" "$store"
fi
echo "store: $store ($(du -h "$store" | cut -f1), $(sqlite3 "$store" "select count(distinct period) from counters_daily") days," \
    "$(sqlite3 "$store" "select sum(packets) from counters_daily where dim = 0") packets)"

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
printf '%-8s %-14s %-10s %s\n' format "median s" "peak MiB" "runs (s)"
for format in json md html csv; do
    target=$out/report-q.$format
    [[ $format == csv ]] && target=$out/report-q-csv
    times=() peak=0
    for ((r = 0; r < RUNS; r++)); do
        /usr/bin/time -f '%e %M' -o "$out/time.txt" "$DARKSCOPE" report --store "$store" --period 2024Q4 \
            --format "$format" -o "$target" 2>/dev/null
        read -r secs kb <"$out/time.txt"
        times+=("$secs")
        ((kb > peak)) && peak=$kb
    done
    printf '%-8s %-14s %-10s %s\n' "$format" "$(printf '%s\n' "${times[@]}" | median)" "$((peak / 1024))" "${times[*]}"
done
