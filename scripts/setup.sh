#!/usr/bin/env bash
# Installs what darkscope needs on Debian 12 (bookworm) and builds it with a CMake preset.
#
#   scripts/setup.sh                 build packages, then configure + build the `release` preset
#   scripts/setup.sh --test          also the test-only packages (tshark, clang, python3, time, chromium)
#   scripts/setup.sh --preset NAME   build NAME instead (debug, release, asan-ubsan, fuzz); repeatable
#   scripts/setup.sh --no-build      packages only
#   scripts/setup.sh --no-geo        skip the country/AS data (npm ci into data/geo, then the AS lookup file)
#
# apt runs only when a package is missing (checked with dpkg-query), so a second run costs seconds.
# Runs as root or through sudo. JOBS sets the build parallelism (default: nproc).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Always: compilers, CMake/Ninja and the libraries CMakeLists.txt finds (tests and benchmarks are built by default).
# python3 is here too for the end-to-end test scripts (tests/e2e/*.py).
BUILD_PACKAGES=(
    cmake g++ ninja-build pkg-config
    libpcap-dev libsqlite3-dev libroaring-dev libcli11-dev libfmt-dev
    libzstd-dev zlib1g-dev liblzma-dev libxxhash-dev libhyperscan-dev libpcre2-dev
    libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libtomlplusplus-dev
    python3
    libmaxminddb-dev libc-ares-dev libpugixml-dev libpsl-dev
)
# The pinned country/AS data (data/geo/package.json) comes from the npm registry, installed by `npm ci`
# at set-up, never at run time. A node/npm already installed (nodesource, nvm) is used as it is:
# Debian's npm package conflicts with nodesource's nodejs.
command -v npm >/dev/null || BUILD_PACKAGES+=(nodejs npm)
# Only for scripts/test.sh: the independent decoder of the e2e tests, the fuzz compiler, /usr/bin/time.
# dnsmasq-base: the local resolvers the reverse-DNS and open-resolver tests start on 127.0.0.x.
# nmap: `darkscope probe devices` runs it; its test scans services the test starts on loopback.
# chromium: the headless browser tests/e2e/report_render.py opens the HTML report in; fonts-ipafont-gothic (3.5 MB)
# so that its screenshots of the Japanese report show the text, not empty boxes.
TEST_PACKAGES=(tshark clang libclang-rt-14-dev python3 time dnsmasq-base nmap chromium fonts-ipafont-gothic)

with_tests=0
no_build=0
no_geo=0
presets=()
while (($#)); do
    case "$1" in
        --test) with_tests=1 ;;
        --no-build) no_build=1 ;;
        --no-geo) no_geo=1 ;;
        --preset)
            [[ $# -ge 2 ]] || { echo "setup.sh: --preset needs a name" >&2; exit 2; }
            presets+=("$2")
            shift
            ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
((${#presets[@]})) || presets=(release)

packages=("${BUILD_PACKAGES[@]}")
((with_tests)) && packages+=("${TEST_PACKAGES[@]}")

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null; then
        echo "setup.sh: missing packages (${missing[*]}) and no apt-get: install them by hand (Debian 12 names)." >&2
        exit 1
    fi
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || { echo "setup.sh: not root and no sudo; run as root." >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "setup.sh: installing ${missing[*]}"
    # tshark asks whether non-root users may capture; answer no, without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup.sh: all ${#packages[@]} packages already installed"
fi

((no_build)) && exit 0

jobs=${JOBS:-$(nproc)}
for preset in "${presets[@]}"; do
    echo "setup.sh: configure + build preset '$preset' (-j$jobs)"
    cmake --preset "$preset"
    cmake --build --preset "$preset" --parallel "$jobs"
done

# Country and AS data: the exact versions data/geo/package-lock.json pins, into data/geo/node_modules
# (git-ignored), then the AS CSV converted once into data/geo/asn.dsrange for `ingest` to read.
if ((!no_geo)); then
    geo=data/geo
    asn_dir=$geo/node_modules/@ip-location-db/asn
    if ! cmp -s $geo/package-lock.json $geo/node_modules/.darkscope-installed-lock.json; then
        echo "setup.sh: npm ci (country and AS data pinned in $geo/package-lock.json)"
        # Without the registry the build still stands: ingest then says it has no country/AS data, and the
        # tests that need the data skip.
        if ! (cd $geo && npm ci --ignore-scripts --no-audit --no-fund && cp package-lock.json node_modules/.darkscope-installed-lock.json); then
            echo "setup.sh: npm ci failed: no country/AS data in $geo (ingest runs without it; give --geoip FILE)" >&2
        fi
    fi
    bin="build/${presets[0]}/darkscope"
    if [[ ! -x "$bin" ]]; then
        echo "setup.sh: $bin is not built yet: the AS lookup ($geo/asn.dsrange) is made by the next set-up with a build"
    elif [[ -f $asn_dir/package.json ]] && [[ ! -f $geo/asn.dsrange || $geo/asn.dsrange -ot $asn_dir/package.json ]]; then
        version=$(node -p "require('./$asn_dir/package.json').version")
        "$bin" geo import-asn "$asn_dir/asn-ipv4.csv" "$asn_dir/asn-ipv6.csv" \
            -o $geo/asn.dsrange \
            --description "npm @ip-location-db/asn $version (CC BY 4.0: RouteViews, DB-IP, and the NRO https://www.nro.net/, via ip-location-db)"
    fi
fi

# The chart library the HTML report inlines (data/web/package.json pins echarts), into data/web/node_modules
# (git-ignored). Without it `report --format html` still writes its tables and says the charts are missing.
web=data/web
if ! cmp -s $web/package-lock.json $web/node_modules/.darkscope-installed-lock.json; then
    echo "setup.sh: npm ci (chart library pinned in $web/package-lock.json)"
    if ! (cd $web && npm ci --ignore-scripts --no-audit --no-fund && cp package-lock.json node_modules/.darkscope-installed-lock.json); then
        echo "setup.sh: npm ci failed: no ECharts in $web (HTML reports come without charts)" >&2
    fi
fi
