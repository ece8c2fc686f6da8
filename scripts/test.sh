#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this). On the 2-core machine it took 23m28s in a fresh clone with
# the packages already installed (2026-12-08, 088c3cc: 637 tests in release and under ASan+UBSan, 19 under TSan, four
# fuzzers for 30 s each), plus the package installation on a fresh machine. Anything else running on the two cores
# stretches it: 31m25s beside benchmarks at c4dd870.
#
#   1. scripts/setup.sh --test: packages (incl. tshark, clang) + the `release` build
#   2. ctest --preset release           unit + e2e (e2e compares darkscope with tshark on ../shared/data)
#   3. the `asan-ubsan` build + ctest   the same tests under AddressSanitizer and UBSan
#      the `tsan` build + ctest         the tests of what runs on several threads, under ThreadSanitizer
#   4. the `fuzz` build (clang)         every tests/fuzz/<name>_fuzz.cpp runs over tests/fuzz/corpus/<name>/
#                                       for FUZZ_SECONDS (default 30) each; a crash fails the run
#
# Options: --no-asan, --no-tsan, --no-fuzz (skip a stage, for a quicker local run). Environment: JOBS (default nproc),
# FUZZ_SECONDS, DARKSCOPE_SHARED_DATA (where the real captures are; e2e tests skip when absent).
# Every stage runs even when an earlier one failed; the summary at the end says which failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
do_asan=1
do_tsan=1
do_fuzz=1
for arg in "$@"; do
    case "$arg" in
        --no-asan) do_asan=0 ;;
        --no-tsan) do_tsan=0 ;;
        --no-fuzz) do_fuzz=0 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

start=$SECONDS
summary=()
failures=0

# record STAGE STATUS DETAIL
record() {
    summary+=("$(printf '%-22s %-8s %s' "$1" "$2" "$3")")
    [[ "$2" == FAILED ]] && failures=$((failures + 1))
    return 0
}

banner() { printf '\n==== %s ====\n' "$*"; }

# ctest_stage PRESET: runs the preset's tests and records passed/failed/skipped from ctest's JUnit file.
ctest_stage() {
    local preset=$1 junit="$root/build/$1/ctest-junit.xml" rc counts
    banner "ctest --preset $preset"
    rm -f "$junit"
    ctest --preset "$preset" --parallel "$JOBS" --output-junit "$junit"
    rc=$?
    counts=$(python3 - "$junit" <<'PY' 2>/dev/null
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
total, failed = int(s.get("tests", 0)), int(s.get("failures", 0)) + int(s.get("errors", 0))
skipped = int(s.get("skipped", 0)) + int(s.get("disabled", 0))
print(f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped (of {total})")
PY
    ) || counts="no JUnit report (ctest exit $rc)"
    if ((rc == 0)); then record "ctest $preset" passed "$counts"; else record "ctest $preset" FAILED "$counts"; fi
}

# build_stage PRESET: configure + build; returns non-zero (and records it) on failure.
build_stage() {
    local preset=$1
    banner "build preset $preset"
    if cmake --preset "$preset" && cmake --build --preset "$preset" --parallel "$JOBS"; then
        record "build $preset" passed ""
    else
        record "build $preset" FAILED "see the compiler output above"
        return 1
    fi
}

# ---- 1 + 2: packages, release build, unit + e2e tests
banner "setup (packages + release build)"
if scripts/setup.sh --test --preset release; then
    record "build release" passed ""
    ctest_stage release
else
    record "build release" FAILED "scripts/setup.sh --test failed"
fi

# ---- 3: sanitizers
if ((do_asan)); then
    build_stage asan-ubsan && ctest_stage asan-ubsan
else
    record "asan-ubsan" skipped "--no-asan"
fi
if ((do_tsan)); then
    build_stage tsan && ctest_stage tsan
else
    record "tsan" skipped "--no-tsan"
fi

# ---- 4: fuzzers over their committed corpora
if ((do_fuzz)); then
    shopt -s nullglob
    fuzz_sources=(tests/fuzz/*_fuzz.cpp)
    if ((${#fuzz_sources[@]} == 0)); then
        record "fuzz" skipped "no tests/fuzz/*_fuzz.cpp yet"
    elif build_stage fuzz; then
        for src in "${fuzz_sources[@]}"; do
            name=$(basename "$src" .cpp)
            exe=build/fuzz/tests/fuzz/$name
            corpus=tests/fuzz/corpus/${name%_fuzz}
            artifacts=build/fuzz/artifacts/$name
            banner "fuzz $name (${FUZZ_SECONDS}s)"
            if [[ ! -x "$exe" ]]; then
                record "fuzz $name" FAILED "$exe was not built"
                continue
            fi
            # New inputs go to a scratch folder (the first corpus argument), never into the committed corpus.
            scratch=$(mktemp -d)
            mkdir -p "$artifacts"
            corpora=("$scratch")
            if [[ -d "$corpus" ]]; then corpora+=("$corpus"); else echo "note: no committed corpus at $corpus"; fi
            # The real captures beside the checkout are seeds too (read only; they are not ours to commit).
            shared_edge=${DARKSCOPE_SHARED_DATA:-../shared/data}/pcap/edge
            if [[ "$name" == capture_reader_fuzz && -d "$shared_edge" ]]; then corpora+=("$shared_edge"); fi
            args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                -artifact_prefix="$artifacts/")
            [[ -f "tests/fuzz/${name%_fuzz}.dict" ]] && args+=(-dict="tests/fuzz/${name%_fuzz}.dict")
            if "$exe" "${args[@]}" "${corpora[@]}"; then
                record "fuzz $name" passed "${FUZZ_SECONDS}s, corpus ${corpus}"
            else
                record "fuzz $name" FAILED "crash input saved under $artifacts/ (keep it as a regression input)"
            fi
            rm -rf "$scratch"
        done
    fi
else
    record "fuzz" skipped "--no-fuzz"
fi

elapsed=$((SECONDS - start))
banner "summary ($((elapsed / 60))m$((elapsed % 60))s)"
printf '%s\n' "${summary[@]}"
if ((failures)); then
    echo "RESULT: FAILED ($failures stage(s))"
    exit 1
fi
echo "RESULT: passed"
