#!/usr/bin/env bash
# shellcheck disable=SC2016  # the sh -c scripts below read their arguments as $1, $2, ... on purpose
# Ingest benchmark: darkscope beside fixed references, measured in the same run on the same machine
# (see bench/README.md). Prints median wall time, million packets/s and peak RSS per program.
#
#   bench/ingest_bench.sh            RUNS=5 by default; SHARED=<repo>/../shared; DARKSCOPE=build/release/darkscope
#   PACKETS=10000000 TSHARK_PACKETS=1000000 change the capture sizes (cached in bench/out/ by size)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
SHARED=${SHARED:-$root/../shared}
RUNS=${RUNS:-5}
PACKETS=${PACKETS:-10000000}
TSHARK_PACKETS=${TSHARK_PACKETS:-1000000}
DARKSCOPE=${DARKSCOPE:-build/release/darkscope}
out=bench/out
gen=$SHARED/bench/gen_ibr.py
floor_src=$SHARED/bench/floor.cpp

if [[ ! -f "$gen" || ! -f "$floor_src" ]]; then
    echo "ingest_bench.sh: skipped: $gen or $floor_src not found (set SHARED to the folder holding bench/)"
    exit 0
fi
for tool in python3 g++ /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "ingest_bench.sh: $tool is missing (scripts/setup.sh --test installs it)" >&2; exit 1; }
done
if [[ ! -x "$DARKSCOPE" ]]; then
    echo "ingest_bench.sh: $DARKSCOPE not found: build it first (scripts/setup.sh --preset release)" >&2
    exit 1
fi
mkdir -p "$out"

# capture N: bench/out/ibr-<N>.pcap (+ truth-<N>.json), written once; a partial file never keeps the final name.
capture() {
    local n=$1 label
    label=$(python3 -c "n=$n; print(f'{n // 1000000}m' if n % 1000000 == 0 else str(n))")
    local pcap=$out/ibr-$label.pcap
    if [[ ! -s "$pcap" ]]; then
        echo "generating $pcap ($n packets; about 3 s per million)..." >&2
        python3 "$gen" -n "$n" -o "$pcap.tmp" --truth "$out/truth-$label.json" >&2
        mv "$pcap.tmp" "$pcap"
    fi
    echo "$pcap"
}
big=$(capture "$PACKETS")
small=$(capture "$TSHARK_PACKETS")

if [[ ! -x "$out/floor" || "$floor_src" -nt "$out/floor" ]]; then
    echo "building $out/floor" >&2
    g++ -O3 -march=native -std=c++17 -o "$out/floor" "$floor_src" -lpcap
fi

results=$out/results.tsv
: >"$results"
# measure NAME PACKETS RUNS CMD...: wall seconds and peak RSS (KiB) of each run, one line per run.
measure() {
    local name=$1 packets=$2 runs=$3 i
    shift 3
    echo "running $name x$runs" >&2
    for ((i = 0; i < runs; i++)); do
        if ! /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" >"$out/last.log" 2>&1; then
            echo "ingest_bench.sh: $name failed; its output:" >&2
            tail -n 20 "$out/last.log" >&2
            exit 1
        fi
        printf '%s\t%s\t%s\n' "$name" "$packets" "$(tail -n 1 "$out/time.txt")" >>"$results"
    done
}

measure "cat > /dev/null" "$PACKETS" "$RUNS" sh -c 'cat "$1" >/dev/null' _ "$big"
measure "floor read" "$PACKETS" "$RUNS" "$out/floor" read "$big"
measure "floor pcap" "$PACKETS" "$RUNS" "$out/floor" pcap "$big"
# A fresh store each run: ingest is idempotent, so a second run on the same store would skip the file.
# The sensors file names gen_ibr.py's /20, as a telescope operator would.
measure "darkscope ingest" "$PACKETS" "$RUNS" \
    sh -c 'rm -f "$1" "$1"-*; exec "$2" ingest -q --sensors "$4" --store "$1" "$3"' _ "$out/bench.db" "$DARKSCOPE" \
    "$big" bench/ibr-sensors.toml
# Without the stream detectors (scans, DoS backscatter, campaigns: docs/detectors.md): what they cost.
measure "darkscope --no-detect" "$PACKETS" "$RUNS" \
    sh -c 'rm -f "$1" "$1"-*; exec "$2" ingest -q --no-detect --sensors "$4" --store "$1" "$3"' _ "$out/bench.db" \
    "$DARKSCOPE" "$big" bench/ibr-sensors.toml
# Issue 2's own scope: decode, classify and store the counters, without what later issues added (detectors,
# country and AS, the default signatures). The speed target of issue 2 was set for this.
measure "darkscope counters only" "$PACKETS" "$RUNS" \
    sh -c 'rm -f "$1" "$1"-*; exec "$2" ingest -q --no-detect --no-enrich --no-default-rules --sensors "$4" --store "$1" "$3"' \
    _ "$out/bench.db" "$DARKSCOPE" "$big" bench/ibr-sensors.toml
# The same on one thread (no aggregation workers): what one core does, beside the minimal loop on one core.
measure "darkscope --threads 0" "$PACKETS" "$RUNS" \
    sh -c 'rm -f "$1" "$1"-*; exec "$2" ingest -q --threads 0 --sensors "$4" --store "$1" "$3"' _ "$out/bench.db" \
    "$DARKSCOPE" "$big" bench/ibr-sensors.toml
if command -v tshark >/dev/null; then
    # tshark is about 100x slower: once, on the small capture. Counts packets and sources per service, as darkscope.
    measure "tshark -T fields | awk" "$TSHARK_PACKETS" 1 sh -c '
        tshark -n -r "$1" -T fields -E occurrence=f -e ip.src -e ip.proto -e tcp.dstport -e udp.dstport -e icmp.type |
        awk -F"\t" "{ k = \$3 != \"\" ? \$3 \"/TCP\" : \$4 != \"\" ? \$4 \"/UDP\" : \$5 != \"\" ? \$5 \"/ICMP\" : \"proto \" \$2;
                      n[k]++; if (!((k, \$1) in s)) { s[k, \$1] = 1; u[k]++ } }
                    END { for (k in n) print k, n[k], u[k] }" >/dev/null' _ "$small"
else
    echo "tshark not found: its row is left out" >&2
fi

python3 - "$results" "$RUNS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, packets, timing = line.rstrip("\n").split("\t")
    secs, kib = timing.split()
    rows.setdefault(name, (int(packets), [], []))
    rows[name][1].append(float(secs))
    rows[name][2].append(int(kib))
mpps = {n: p / max(statistics.median(s), 1e-3) / 1e6 for n, (p, s, _) in rows.items()}
print(f"\n{'program':<26} {'packets':>10} {'runs':>4} {'median s':>9} {'Mpkt/s':>8} {'peak MiB':>9}")
for name, (packets, secs, kib) in rows.items():
    print(f"{name:<26} {packets:>10} {len(secs):>4} {statistics.median(secs):>9.2f} {mpps[name]:>8.2f} "
          f"{max(kib) / 1024:>9.0f}")
for name in ("darkscope ingest", "darkscope --no-detect", "darkscope counters only", "darkscope --threads 0"):
    for ref in ("floor read", "tshark -T fields | awk"):
        if name in mpps and ref in mpps:
            print(f"{name} vs {ref}: {mpps[name] / mpps[ref]:.2f}x the packets per second")
PY
echo "(raw timings: $results; captures and the floor binary stay cached in $out/)"
