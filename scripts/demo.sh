#!/usr/bin/env bash
# The demo: installs and builds darkscope (release), writes a synthetic two-day darknet capture towards two sensors
# with `darkscope synth --scenario demo` (about 1.3 million packets, with its ground truth and sensors file),
# ingests it and prints the top services, traffic classes, backscatter source ports, sensors, source countries,
# scanner fingerprint tags, signature categories and signature hits by source country; then the detectors'
# events (docs/detectors.md): the multi-sensor DNS campaign, the DoS victims, the new service, the DNS reflection.
# Then the report: two months of the NPA's February 2014 scenario (synth --scenario 2014-02, about 1.3 million
# packets), ingested, run through the detectors and reported as the NPA does, February against January: demo/2014-02.html (open it in a browser: charts, tables),
# demo/2014-02.ja.html in Japanese, demo/2014-02.md, whose first sections it prints.
# Everything it writes is under demo/. After the build it takes a few seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --preset release

bin=build/release/darkscope
mkdir -p demo
# fresh stores, so that the demo shows the same numbers every time
rm -f demo/darkscope.db demo/darkscope.db-* demo/2014-02.db demo/2014-02.db-*

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
"$bin" detect --store demo/darkscope.db
"$bin" events --store demo/darkscope.db --kind new-service --kind surge --kind dns-reflection --kind campaign --kind backscatter

"$bin" synth --scenario 2014-02 --out demo/
"$bin" ingest --sensors demo/2014-02.sensors.toml --store demo/2014-02.db demo/2014-02.pcap
"$bin" detect --store demo/2014-02.db
"$bin" report --store demo/2014-02.db --period 2014-02 --format html -o demo/2014-02.html
"$bin" report --store demo/2014-02.db --period 2014-02 --format html --lang ja -o demo/2014-02.ja.html
"$bin" report --store demo/2014-02.db --period 2014-02 --format md -o demo/2014-02.md
{ set +x; } 2>/dev/null
sed -n '/^## Overview/,/^## Daily series/p' demo/2014-02.md | head -n -1
echo "The whole report: demo/2014-02.html (English), demo/2014-02.ja.html (Japanese), demo/2014-02.md"
