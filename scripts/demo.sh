#!/usr/bin/env bash
# The demo: installs and builds darkscope (release), writes a two-day darknet-like capture towards two sensors,
# ingests it and prints the top services and the traffic classes. Everything it writes is under demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --preset release

bin=build/release/darkscope
mkdir -p demo
if [[ ! -s demo/demo.pcap ]]; then
    echo "demo.sh: writing demo/demo.pcap (200k packets over 2 days, 2024-10-01..02)"
    python3 tools/make_demo_pcap.py -o demo/demo.pcap
fi
rm -f demo/darkscope.db demo/darkscope.db-*  # a fresh store, so that the demo shows the same numbers every time

set -x
"$bin" ingest --sensors examples/sensors.toml --store demo/darkscope.db demo/demo.pcap
"$bin" summary --store demo/darkscope.db --by service --top 10
"$bin" summary --store demo/darkscope.db --by class
