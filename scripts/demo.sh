#!/usr/bin/env bash
# The demo: installs and builds darkscope (release), writes a synthetic two-day darknet capture towards two sensors
# with `darkscope synth --scenario demo` (about 1.3 million packets, with its ground truth and sensors file),
# ingests it and prints the top services, traffic classes, backscatter source ports, sensors, source countries,
# scanner fingerprint tags, signature categories and signature hits by source country.
# Everything it writes is under demo/. After the build it takes a few seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --preset release

bin=build/release/darkscope
mkdir -p demo
rm -f demo/darkscope.db demo/darkscope.db-*  # a fresh store, so that the demo shows the same numbers every time

set -x
"$bin" synth --scenario demo --out demo/
"$bin" ingest --sensors demo/demo.sensors.toml --store demo/darkscope.db demo/demo.pcap
"$bin" summary --store demo/darkscope.db --by service --top 10
"$bin" summary --store demo/darkscope.db --by class
"$bin" summary --store demo/darkscope.db --by srcport --top 5
"$bin" summary --store demo/darkscope.db --by sensor
"$bin" summary --store demo/darkscope.db --by country --top 5
"$bin" summary --store demo/darkscope.db --by tag
"$bin" summary --store demo/darkscope.db --by category
"$bin" summary --store demo/darkscope.db --by signature-country --top 5
